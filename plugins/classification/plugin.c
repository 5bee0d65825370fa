/* plugin.c — the `classification` plugin: HF's text-classification pipeline on the
 * shared forward pass (one encoder pass per batch whatever the number of steps).
 *
 * Per record the result is what HF's pipeline returns for that record inside a
 * batch: {"label","score"} when top_k is not given; a list of {"label","score"}
 * sorted by score for top_k = k (the k best) or null (every label). Scores come from
 * function_to_apply (default from problem_type / num_labels, as HF). A record with a
 * string field `pair_field` ("text_pair") is classified as a (text, text_pair) pair.
 * Texts longer than a window are split into the backbone's windows (models.<m>
 * max_length / stride) and their logits aggregated (mean / max / first) before the
 * function: no silent truncation ("first" is what truncation would give). */
#include <stdlib.h>
#include <string.h>

#include "seqcls.h"

static const char *const functions[] = {"softmax", "sigmoid", "none", NULL};
static const char *const aggregations[] = {"mean", "max", "first", NULL};

static const nlp_option_spec options[] = {
    {"top_k", NLP_OPTION_INT, NLP_OPTION_HAS_MIN | NLP_OPTION_NULLABLE, "\"\"",
     "absent: the best label as {\"label\",\"score\"}; k: a list of the k best; null: all labels "
     "(HF's semantics; the default \"\" is HF's own not-passed marker)",
     1, 0, NULL},
    {"function_to_apply", NLP_OPTION_ENUM, NLP_OPTION_NULLABLE, "null",
     "applied to the logits; null: HF's default (none for regression, sigmoid for multi-label or "
     "one label, else softmax)",
     0, 0, functions},
    {"aggregation", NLP_OPTION_ENUM, 0, "\"mean\"",
     "how the logits of a long text's windows are combined before the function", 0, 0,
     aggregations},
    {"pair_field", NLP_OPTION_STRING, 0, "\"text_pair\"",
     "record field holding a second text; records with it are classified as (text, pair)", 0, 0,
     NULL},
    {"pair_stride", NLP_OPTION_INT, NLP_OPTION_HAS_MIN, "0",
     "tokens of overlap between windows of a long second text (0: an eighth of a window)", 0, 0,
     NULL},
};
static const char *const requires_[] = {"text", "encoder", NULL};
static const char *const produces[] = {"classification", NULL};

typedef struct {
  seqcls *core;
  long top_k; /* -1 not passed, 0 all */
  seqcls_function function;
} state;

static const char *opt_string(struct json_object *opts, const char *key) {
  struct json_object *v = NULL;
  return json_object_object_get_ex(opts, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

static nlp_status create(const nlp_host *host, const nlp_step_info *step, void **out,
                         char **error) {
  seqcls *core = nlp_seqcls_new(host, step, error);
  if (!core) return NLP_STATUS_FAILED;
  state *st = calloc(1, sizeof *st);
  st->core = core;
  struct json_object *v = NULL;
  st->top_k = -1;
  if (json_object_object_get_ex(step->options, "top_k", &v)) {
    if (!v) st->top_k = 0;
    else if (json_object_is_type(v, json_type_int)) st->top_k = (long)json_object_get_int64(v);
  }
  st->function = nlp_seqcls_parse_function(opt_string(step->options, "function_to_apply"));
  if (st->function == SEQCLS_FN_DEFAULT) st->function = nlp_seqcls_default_function(core);
  core->aggregation = nlp_seqcls_parse_aggregation(opt_string(step->options, "aggregation"));
  const char *pf = opt_string(step->options, "pair_field");
  core->pair_field = pf && *pf ? strdup(pf) : NULL;
  if (json_object_object_get_ex(step->options, "pair_stride", &v) && v)
    core->pair_stride = (size_t)json_object_get_int64(v);
  *out = st;
  return NLP_STATUS_OK;
}

static struct json_object *result(const void *ctx, const float *scores) {
  const state *st = ctx;
  return nlp_seqcls_result(st->core, scores, st->top_k);
}

static nlp_status process(void *p, nlp_batch *batch) {
  state *st = p;
  return nlp_seqcls_process(st->core, batch, st->function, result, st);
}

static void destroy(void *p) {
  state *st = p;
  if (!st) return;
  nlp_seqcls_free(st->core);
  free(st);
}

static const nlp_plugin_desc desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "classification",
    .version = "1.0.0",
    .license = "MIT",
    .task = "text-classification",
    .description =
        "Sequence classification (HF text-classification) with the model's own head "
        "(BERT, DistilBERT, RoBERTa, ELECTRA) or a head folder: labels from id2label or "
        "head.json, function_to_apply, top_k, text pairs (pair_field), long texts in windows "
        "aggregated by mean / max / first.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .requires = requires_,
    .produces = produces,
    .create = create,
    .process = process,
    .destroy = destroy,
};
NLP_PLUGIN_DEFINE(desc)
