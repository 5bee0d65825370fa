/* runner.h — streams documents through a validated pipeline.
 *
 * Reads a batch of records, hands it to each step in order (steps on the same
 * backbone share one tokenization and forward pass per batch), then writes every
 * record of the batch in input order: the input record plus one key per step. A
 * failed record is written per on_error (an "error" field, the reject file, or the
 * end of the run); the others go on. */
#ifndef NLP_PIPELINE_RUNNER_H
#define NLP_PIPELINE_RUNNER_H

#include <glib.h>
#include <stdbool.h>

#include "pipeline/spec.h"

typedef struct nlp_run_stats {
  guint64 records;  /* records read */
  guint64 ok;       /* written with every step's result */
  guint64 failed;   /* written with an error, quarantined, or the one that stopped a fail run */
  guint64 forward_passes; /* encoder passes over all backbones */
  double seconds;
  guint64 resumed_at; /* records already done by an earlier run (0 if fresh) */
  bool aborted;     /* on_error "fail" stopped the run */
} nlp_run_stats;

typedef struct nlp_run_params {
  /* Checkpoint file, saved after every batch; NULL = "<output>.ckpt" when both
   * input and output are files, else none. Removed when the run completes. */
  const char *checkpoint;
  bool resume;      /* continue from the checkpoint, if there is one */
  bool progress;    /* a progress line on stderr (the CLI sets it on a terminal) */
} nlp_run_params;

nlp_run_params nlp_run_default_params(void);

/* Runs the whole input. Returns FALSE with an error for what stops the run as a
 * whole (a step that cannot be created, an output that cannot be written); a
 * record that fails is counted in stats, not an error. */
gboolean nlp_pipeline_run(const nlp_pipeline_spec *spec, const nlp_run_params *params,
                          nlp_run_stats *stats, GError **error);

#endif
