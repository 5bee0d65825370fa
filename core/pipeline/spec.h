/* spec.h — a pipeline file, parsed and validated before any weights load.
 *
 * Format (every key optional unless marked; unknown keys are errors):
 *
 *   {
 *     "models":   { "<name>": "<folder>" | {"path": "<folder>" (required),
 *                                           "max_length": int, "stride": int} },
 *     "steps":    [ {"name": str (required), "plugin": str (required),
 *                    "model": "<models key>", "head": "<folder>",
 *                    "options": {...per the plugin's schema...}} ],   (required)
 *     "input":    {"format": "text"|"jsonl"|"tsv", "path": file|"-",
 *                  "text_field": str, "columns": [str], "header": bool},
 *     "output":   {"path": file|"-", "reject_path": file},
 *     "on_error": "skip"|"fail"|"quarantine",
 *     "batch_size": int >= 1, "threads": int >= 0 (0 = all cores)
 *   }
 *
 * Relative paths resolve against the folder of the pipeline file. Validation
 * collects every problem it finds, each as "<json path>: <what was expected>", so a
 * user fixes a file in one pass; the GError carries them one per line. */
#ifndef NLP_PIPELINE_SPEC_H
#define NLP_PIPELINE_SPEC_H

#include <glib.h>
#include <json-c/json.h>

#include "pipeline/reader.h"
#include "pipeline/registry.h"

typedef enum {
  NLP_ON_ERROR_SKIP,       /* write the record with an "error" field, go on */
  NLP_ON_ERROR_FAIL,       /* stop at the first failed record */
  NLP_ON_ERROR_QUARANTINE, /* write the record to reject_path instead, go on */
} nlp_on_error;

typedef struct nlp_model_spec {
  char *name;
  char *path;        /* absolute or relative to the cwd, resolved */
  gint64 max_length; /* tokens per window; 0 = the model's max positions */
  gint64 stride;     /* overlap of windows over long texts; -1 = default */
} nlp_model_spec;

typedef struct nlp_step_spec {
  char *name;
  char *plugin_name;
  const nlp_plugin *plugin; /* resolved by validation (borrowed from the registry) */
  char *model;              /* key into models, or NULL */
  char *head;               /* resolved head folder, or NULL */
  json_object *options;     /* validated, defaults filled in (owned) */
} nlp_step_spec;

typedef struct nlp_pipeline_spec {
  char *file;  /* the pipeline file, as given */
  char *dir;   /* its folder: base of relative paths */
  GPtrArray *models; /* nlp_model_spec* */
  GPtrArray *steps;  /* nlp_step_spec* */
  nlp_input_spec input;
  char *output_path;
  char *reject_path;
  nlp_on_error on_error;
  gint64 batch_size;
  gint64 threads;
} nlp_pipeline_spec;

/* Command-line overrides applied before validation (NULL / -1 = keep the file's). */
typedef struct nlp_spec_overrides {
  const char *input_path;
  const char *output_path;
  gint64 batch_size;
  gint64 threads;
} nlp_spec_overrides;

/* Parses the file (malformed JSON: NLP_ERROR_PARSE with line and column). */
nlp_pipeline_spec *nlp_spec_load(const char *file, GError **error);
/* Parses a pipeline from a string; `dir` is the base for relative paths. */
nlp_pipeline_spec *nlp_spec_parse(const char *json, const char *file, const char *dir,
                                  GError **error);
void nlp_spec_apply_overrides(nlp_pipeline_spec *spec, const nlp_spec_overrides *ov);
/* Checks plugins, options, models and the requires/produces chain; resolves the
 * plugins and fills option defaults. NLP_ERROR_CONFIG listing every problem. */
gboolean nlp_spec_validate(nlp_pipeline_spec *spec, nlp_registry *reg, GError **error);
void nlp_spec_free(nlp_pipeline_spec *spec);

const nlp_model_spec *nlp_spec_find_model(const nlp_pipeline_spec *spec, const char *name);

#endif
