/* reader.h — turns an input stream into documents, one record at a time.
 *
 * Formats: `text` (one document per line), `jsonl` (one JSON object per line, the
 * text in a configurable field) and `tsv` (tab-separated columns, named by a header
 * line or by the pipeline). Lines end in LF or CRLF; the last line may lack one;
 * lines may be of any length. A record that cannot be used (invalid UTF-8, malformed
 * JSON, missing or empty text, wrong column count) still becomes a document, marked
 * failed with the reason and its line number, so no record is silently lost and
 * output lines stay aligned with input records. */
#ifndef NLP_PIPELINE_READER_H
#define NLP_PIPELINE_READER_H

#include <glib.h>
#include <stdio.h>

#include "pipeline/doc.h"

typedef enum { NLP_INPUT_TEXT, NLP_INPUT_JSONL, NLP_INPUT_TSV } nlp_input_format;

typedef struct nlp_input_spec {
  nlp_input_format format;
  char *path;        /* a file, or "-" for stdin */
  char *text_field;  /* jsonl/tsv: field holding the text (default "text") */
  char **columns;    /* tsv: column names (NULL-terminated) or NULL when header */
  gboolean header;   /* tsv: the first line names the columns */
} nlp_input_spec;

typedef struct nlp_reader nlp_reader;

/* Opens spec->path ("-" = stdin). The spec must outlive the reader. */
nlp_reader *nlp_reader_open(const nlp_input_spec *spec, GError **error);
/* Same, over an already open stream (not closed by the reader). */
nlp_reader *nlp_reader_new_from_stream(const nlp_input_spec *spec, FILE *stream,
                                       const char *display_name);
void nlp_reader_free(nlp_reader *reader);

/* Fills *doc with the next record. Returns 1 for a record (possibly a failed
 * one), 0 at end of input, -1 on an I/O error (set in *error). */
int nlp_reader_next(nlp_reader *reader, nlp_doc *doc, GError **error);

/* Bytes consumed so far: the resume point after the last returned record. */
guint64 nlp_reader_offset(const nlp_reader *reader);
/* Lines read so far (a TSV header line included). */
guint64 nlp_reader_lines(const nlp_reader *reader);

/* Continues a file input from a checkpoint: the next record read is the one at
 * byte OFFSET, numbered RECORDS (0-based) and found on line LINES + 1. A TSV
 * header is read again first. Fails on stdin or when the file is shorter. */
gboolean nlp_reader_seek(nlp_reader *reader, guint64 offset, guint64 records, guint64 lines,
                         GError **error);

const char *nlp_input_format_name(nlp_input_format f);
gboolean nlp_input_format_parse(const char *name, nlp_input_format *out);

#endif
