/* A well-formed test plugin: upper-cases each text. Covers every option type so
 * the schema validator and `inspect` can be tested against a real descriptor.
 * A text containing FAILME is failed alone; one containing BATCHFAIL fails the
 * whole batch (process returns an error), to test on_error handling. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "nlpipe/plugin.h"

static const nlp_host *host;

static const char *const modes[] = {"upper", "lower", NULL};

static const nlp_option_spec options[] = {
    {"mode", NLP_OPTION_ENUM, 0, "\"upper\"", "upper- or lower-case the text", 0, 0, modes},
    {"top_k", NLP_OPTION_INT, NLP_OPTION_HAS_MIN, "1", "how many", 1, 0, NULL},
    {"threshold", NLP_OPTION_FLOAT, NLP_OPTION_HAS_MIN | NLP_OPTION_HAS_MAX, "0.5",
     "a probability", 0, 1, NULL},
    {"prefix", NLP_OPTION_STRING, 0, "\"\"", "prepended to the result", 0, 0, NULL},
    {"strict", NLP_OPTION_BOOL, 0, "false", "a flag", 0, 0, NULL},
    {"labels", NLP_OPTION_STRING_LIST, 0, "[]", "a list", 0, 0, NULL},
    {"window", NLP_OPTION_INT, NLP_OPTION_HAS_MIN, "8", "window length", 2, 0, NULL},
    {"stride", NLP_OPTION_INT, NLP_OPTION_HAS_MIN, "0", "window overlap, < window", 0, 0, NULL},
};

static const char *const requires_[] = {"text", NULL};
static const char *const produces[] = {"cased", NULL};

typedef struct {
  int upper;
  char *prefix;
} state;

static nlp_status good_init(const nlp_host *h, char **error) {
  (void)error;
  host = h;
  return NLP_STATUS_OK;
}

static nlp_status good_validate(json_object *opts, char **path, char **error) {
  json_object *w = json_object_object_get(opts, "window");
  json_object *s = json_object_object_get(opts, "stride");
  if (json_object_get_int(s) >= json_object_get_int(w)) {
    *path = strdup("stride");
    *error = strdup("expected an integer < window");
    return NLP_STATUS_FAILED;
  }
  return NLP_STATUS_OK;
}

static nlp_status good_create(const nlp_host *h, const nlp_step_info *step, void **out,
                              char **error) {
  (void)h;
  (void)error;
  state *s = calloc(1, sizeof *s);
  s->upper = !strcmp(json_object_get_string(json_object_object_get(step->options, "mode")),
                     "upper");
  s->prefix = strdup(json_object_get_string(json_object_object_get(step->options, "prefix")));
  *out = s;
  return NLP_STATUS_OK;
}

static nlp_status good_process(void *st, nlp_batch *batch) {
  state *s = st;
  size_t n = host->batch_size(batch);
  for (size_t i = 0; i < n; i++)
    if (strstr(host->doc_text(batch, i, NULL), "BATCHFAIL")) return NLP_STATUS_FAILED;
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *text = host->doc_text(batch, i, &len);
    if (strstr(text, "FAILME")) {
      host->set_error(batch, i, "asked to fail");
      continue;
    }
    size_t plen = strlen(s->prefix);
    char *out = malloc(plen + len + 1);
    memcpy(out, s->prefix, plen);
    for (size_t k = 0; k < len; k++)
      out[plen + k] = (char)(s->upper ? toupper((unsigned char)text[k])
                                      : tolower((unsigned char)text[k]));
    out[plen + len] = '\0';
    host->set_result(batch, i, json_object_new_string(out));
    free(out);
  }
  return NLP_STATUS_OK;
}

static void good_destroy(void *st) {
  state *s = st;
  free(s->prefix);
  free(s);
}

static const nlp_plugin_desc desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "test-good",
    .version = "1.2.3",
    .license = "MIT",
    .task = "test",
    .description = "Upper- or lower-cases text (a test fixture).",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .requires = requires_,
    .produces = produces,
    .init = good_init,
    .validate = good_validate,
    .create = good_create,
    .process = good_process,
    .destroy = good_destroy,
};

NLP_PLUGIN_DEFINE(desc)
