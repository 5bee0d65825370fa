/* seqcls-output.c — HF text-classification post-processing: the function applied to
 * the logits (float32, as numpy) and the result's shape for top_k. */
#include <math.h>
#include <stdlib.h>

#include "seqcls.h"

void nlp_seqcls_apply(seqcls_function f, const float *logits, size_t n, float *scores) {
  if (f == SEQCLS_FN_SOFTMAX) {
    float max = logits[0];
    for (size_t i = 1; i < n; i++) max = logits[i] > max ? logits[i] : max;
    float sum = 0;
    for (size_t i = 0; i < n; i++) sum += scores[i] = expf(logits[i] - max);
    for (size_t i = 0; i < n; i++) scores[i] /= sum;
  } else if (f == SEQCLS_FN_SIGMOID) {
    for (size_t i = 0; i < n; i++) scores[i] = 1.0f / (1.0f + expf(-logits[i]));
  } else {
    for (size_t i = 0; i < n; i++) scores[i] = logits[i];
  }
}

static struct json_object *entry(const char *label, float score) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "label", json_object_new_string(label));
  json_object_object_add(o, "score", json_object_new_double((double)score));
  return o;
}

struct json_object *nlp_seqcls_result(const seqcls *s, const float *scores, long top_k) {
  size_t n = s->n_labels;
  if (top_k < 0) { /* not passed: argmax (the first of equal maxima), as numpy */
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
      if (scores[i] > scores[best]) best = i;
    return entry(s->labels[best], scores[best]);
  }
  /* Stable sort by descending score (Python's list.sort(reverse=True) keeps ties in
   * label order); insertion sort: label sets are small. */
  size_t *order = malloc(n * sizeof(size_t));
  for (size_t i = 0; i < n; i++) {
    size_t j = i;
    while (j > 0 && scores[order[j - 1]] < scores[i]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  size_t k = top_k == 0 || (size_t)top_k > n ? n : (size_t)top_k;
  struct json_object *list = json_object_new_array_ext((int)k);
  for (size_t i = 0; i < k; i++)
    json_object_array_add(list, entry(s->labels[order[i]], scores[order[i]]));
  free(order);
  return list;
}

nlp_status nlp_seqcls_process(seqcls *s, nlp_batch *batch, seqcls_function f,
                              struct json_object *(*result)(const void *ctx, const float *scores),
                              const void *ctx) {
  const nlp_host *host = s->host;
  size_t n = host->batch_size(batch), L = s->n_labels;
  bool *ok = NULL;
  float *logits = nlp_seqcls_batch_logits(s, batch, &ok);
  float *scores = malloc(L * sizeof(float));
  for (size_t d = 0; d < n; d++) {
    if (!ok[d]) continue;
    nlp_seqcls_apply(f, logits + d * L, L, scores);
    host->set_result(batch, d, result(ctx, scores));
  }
  free(scores);
  free(logits);
  free(ok);
  return NLP_STATUS_OK;
}
