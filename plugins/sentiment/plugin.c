/* plugin.c — the `sentiment` plugin: sequence classification (the same head code as
 * `classification`, on the shared forward pass) whose labels are normalised to
 * "positive" / "negative" / "neutral" (polarity.h states the rule). Result per record:
 * {"label", "score"}. The score of a polarity is the sum of the softmax probabilities
 * of the head labels mapped to it (e.g. "4 stars" + "5 stars"); with a sigmoid head
 * (multi-label) the largest of them; a one-label head gives p / 1 - p. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../classification/seqcls.h"
#include "polarity.h"

static const char *const aggregations[] = {"mean", "max", "first", NULL};

static const nlp_option_spec options[] = {
    {"aggregation", NLP_OPTION_ENUM, 0, "\"mean\"",
     "how the logits of a long text's windows are combined", 0, 0, aggregations},
};
static const char *const requires_[] = {"text", "encoder", NULL};
static const char *const produces[] = {"sentiment", NULL};

typedef struct {
  seqcls *core;
  seqcls_function function;
  polarity *map; /* per head label */
} state;

static nlp_status create(const nlp_host *host, const nlp_step_info *step, void **out,
                         char **error) {
  seqcls *core = nlp_seqcls_new(host, step, error);
  if (!core) return NLP_STATUS_FAILED;
  state *st = calloc(1, sizeof *st);
  st->core = core;
  /* A one-label head is read as P(positive), whatever its problem_type says. */
  st->function = core->n_labels == 1 ? SEQCLS_FN_SIGMOID : nlp_seqcls_default_function(core);
  st->map = calloc(core->n_labels, sizeof(polarity));
  struct json_object *v = NULL;
  if (json_object_object_get_ex(step->options, "aggregation", &v))
    core->aggregation = nlp_seqcls_parse_aggregation(json_object_get_string(v));
  if (core->n_labels > 1) {
    size_t bad = nlp_polarity_map_labels(core->labels, core->n_labels, st->map);
    if (bad < core->n_labels) {
      char buf[512];
      snprintf(buf, sizeof buf,
               "%s: label \"%s\" (id %zu of %zu) cannot be mapped to positive / negative / "
               "neutral (expected names containing pos / neg / neu, \"N stars\", or 2-3 "
               "unnamed LABEL_i)",
               core->where, core->labels[bad], bad, core->n_labels);
      *error = strdup(buf);
      free(st->map);
      free(st);
      nlp_seqcls_free(core);
      return NLP_STATUS_FAILED;
    }
  }
  *out = st;
  return NLP_STATUS_OK;
}

static struct json_object *result(const void *ctx, const float *scores) {
  const state *st = ctx;
  size_t n = st->core->n_labels;
  float p[3] = {0, 0, 0};
  bool present[3] = {false, false, false};
  if (n == 1) {
    p[POLARITY_POSITIVE] = scores[0];
    p[POLARITY_NEGATIVE] = 1.0f - scores[0];
    present[POLARITY_POSITIVE] = present[POLARITY_NEGATIVE] = true;
  } else {
    for (size_t i = 0; i < n; i++) {
      polarity k = st->map[i];
      if (st->function == SEQCLS_FN_SOFTMAX) p[k] += scores[i];
      else if (!present[k] || scores[i] > p[k]) p[k] = scores[i];
      present[k] = true;
    }
  }
  int best = -1;
  for (int k = 0; k < 3; k++)
    if (present[k] && (best < 0 || p[k] > p[best])) best = k;
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "label", json_object_new_string(nlp_polarity_names[best]));
  json_object_object_add(o, "score", json_object_new_double((double)p[best]));
  return o;
}

static nlp_status process(void *p, nlp_batch *batch) {
  state *st = p;
  return nlp_seqcls_process(st->core, batch, st->function, result, st);
}

static void destroy(void *p) {
  state *st = p;
  if (!st) return;
  nlp_seqcls_free(st->core);
  free(st->map);
  free(st);
}

static const nlp_plugin_desc desc = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_plugin_desc),
    .name = "sentiment",
    .version = "1.0.0",
    .license = "MIT",
    .task = "sentiment-analysis",
    .description =
        "Sentiment: a classification head (the model's own or a head folder) whose labels are "
        "normalised to positive / negative / neutral; {\"label\",\"score\"} per record.",
    .options = options,
    .n_options = sizeof options / sizeof options[0],
    .requires = requires_,
    .produces = produces,
    .create = create,
    .process = process,
    .destroy = destroy,
};
NLP_PLUGIN_DEFINE(desc)
