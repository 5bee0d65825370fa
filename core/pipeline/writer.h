/* writer.h — writes JSON records as JSONL (one compact object per line).
 *
 * Non-ASCII text is written as UTF-8, not \u escapes, and '/' is not escaped, so
 * output stays readable and compact. Writes are buffered; nlp_writer_flush makes
 * everything written so far durable in the file (for checkpoints). */
#ifndef NLP_PIPELINE_WRITER_H
#define NLP_PIPELINE_WRITER_H

#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>

typedef struct nlp_writer nlp_writer;

/* Opens `path` for writing ("-" = stdout); append when `append` is set, after
 * cutting the file to `keep_bytes` (a resumed run drops a half-written batch). */
nlp_writer *nlp_writer_open(const char *path, gboolean append, guint64 keep_bytes,
                            GError **error);
/* Wraps an open stream (not closed by the writer). */
nlp_writer *nlp_writer_new_from_stream(FILE *stream, const char *display_name);

gboolean nlp_writer_write(nlp_writer *w, json_object *record, GError **error);
gboolean nlp_writer_flush(nlp_writer *w, GError **error);
/* Bytes in the file after everything written so far is flushed (0 for stdout). */
guint64 nlp_writer_tell(nlp_writer *w);
/* Flushes, closes (if owned) and frees; reports a failed final write. NULL is a no-op. */
gboolean nlp_writer_close(nlp_writer *w, GError **error);

#endif
