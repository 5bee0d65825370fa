/* options.h — checks a step's "options" object against its plugin's option schema
 * and fills in defaults. Also renders a schema for `nlpipe inspect`. */
#ifndef NLP_PIPELINE_OPTIONS_H
#define NLP_PIPELINE_OPTIONS_H

#include <glib.h>
#include <json-c/json.h>

#include "nlpipe/plugin.h"

/* Validates `given` (an object or NULL) found at JSON path `path` ("steps[2].options").
 * Problems go to `problems`. Returns a new object holding every option of the
 * schema (given values, else defaults) with PATH values resolved against base_dir,
 * or NULL when there were problems. */
json_object *nlp_options_check(const nlp_plugin_desc *desc, json_object *given,
                               const char *path, const char *base_dir, GPtrArray *problems);

/* "integer >= 1", "one of \"none\", \"simple\"", ... (newly allocated). */
char *nlp_option_describe_type(const nlp_option_spec *opt);

#endif
