/* load-pipeline.h — what `run` and `validate` share: find the plugins, parse the
 * pipeline file, apply command-line overrides, validate; errors go to stderr. */
#ifndef NLP_CLI_LOAD_PIPELINE_H
#define NLP_CLI_LOAD_PIPELINE_H

#include "pipeline/registry.h"
#include "pipeline/spec.h"

/* A registry searching `plugin_path` (':'-separated, may be NULL), then
 * NLPIPE_PLUGIN_PATH, then the defaults. */
nlp_registry *nlp_cli_registry_new(const char *plugin_path);

/* Returns the validated spec, or NULL after printing every problem to stderr. */
nlp_pipeline_spec *nlp_cli_load_pipeline(const char *file, const nlp_spec_overrides *ov,
                                         nlp_registry *reg);

#endif
