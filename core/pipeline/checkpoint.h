/* checkpoint.h — where a run over a file stands, so `nlpipe run --resume` carries
 * on after an interruption without losing or repeating a record.
 *
 * Written after every batch, once that batch's output is flushed: the input byte
 * offset after its last record and the output (and reject file) sizes at that
 * point. Resuming truncates the outputs to those sizes (dropping a half-written
 * batch) and seeks the input to the offset. Saved atomically (write + rename), so
 * a crash leaves the previous checkpoint intact. */
#ifndef NLP_PIPELINE_CHECKPOINT_H
#define NLP_PIPELINE_CHECKPOINT_H

#include <glib.h>

typedef struct nlp_checkpoint {
  char *input;            /* input file, as resolved */
  guint64 input_offset;   /* bytes of input fully processed */
  guint64 records;        /* records read so far */
  guint64 lines;          /* input lines read so far (a TSV header counts) */
  guint64 output_bytes;   /* size of the output file at that point */
  guint64 reject_bytes;   /* size of the reject file, 0 without one */
  guint64 ok, failed;     /* counters, for the final summary */
} nlp_checkpoint;

gboolean nlp_checkpoint_save(const char *path, const nlp_checkpoint *ckpt, GError **error);
/* Reads a checkpoint; NLP_ERROR_PARSE naming the file when it is damaged. */
gboolean nlp_checkpoint_load(const char *path, nlp_checkpoint *ckpt, GError **error);
void nlp_checkpoint_clear(nlp_checkpoint *ckpt);

#endif
