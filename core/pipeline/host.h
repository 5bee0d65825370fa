/* host.h — the nlp_host services table the host hands to plugins, and the batch
 * object those services work on. */
#ifndef NLP_PIPELINE_HOST_H
#define NLP_PIPELINE_HOST_H

#include "nlpipe/plugin.h"
#include "pipeline/backbone.h"
#include "pipeline/doc.h"

/* The process-wide services table (static storage; transfer none). */
const nlp_host *nlp_host_get(void);

/* What a step sees of a batch: the documents still fine when it runs. */
struct nlp_batch {
  nlp_doc **docs;       /* visible documents, in input order */
  size_t n;
  const char *step_name;     /* results are stored under this key */
  nlp_backbone *backbone;    /* the step's backbone, or NULL */
  const char *head_dir;      /* the step's head folder, or NULL */
  const char *plugin_name;   /* for log lines */
  /* Windows handed out by batch_windows, remapped to visible indices. */
  GArray *windows;           /* nlp_window */
};

#endif
