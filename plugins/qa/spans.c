/* spans.c — see spans.h. */
#include "spans.h"

#include <math.h>
#include <stdlib.h>

/* The masked logit HF uses; exp(-10000 - max) is 0 in float32. */
#define QA_MASKED_LOGIT (-10000.0f)

/* Softmax over a window in float32 with masked positions at -10000, like numpy's
 * exp(x - max) / sum on a float32 array (the sum is done in double: closer to
 * numpy's pairwise float32 sum than a naive float32 loop). */
static void softmax_masked(const float *logits, const bool *allowed, size_t n, float *p) {
  float max = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    p[i] = allowed[i] ? logits[i] : QA_MASKED_LOGIT;
    if (p[i] > max) max = p[i];
  }
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    p[i] = expf(p[i] - max);
    sum += p[i];
  }
  float total = (float)sum;
  for (size_t i = 0; i < n; i++) p[i] /= total;
}

/* Highest score first; equal scores in (start, end) row-major order. */
static int span_cmp(const void *a, const void *b) {
  const qa_span *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return (x->end > y->end) - (x->end < y->end);
}

size_t qa_spans_decode(const float *start_logits, const float *end_logits, const bool *allowed,
                       size_t n, size_t max_answer_len, size_t n_best, qa_span *out,
                       float *null_score) {
  *null_score = 0.0f;
  if (!n || !n_best) return 0;
  float *ps = malloc(2 * n * sizeof(float));
  if (!ps) return (size_t)-1;
  float *pe = ps + n;
  softmax_masked(start_logits, allowed, n, ps);
  softmax_masked(end_logits, allowed, n, pe);
  *null_score = ps[0] * pe[0];
  ps[0] = pe[0] = 0.0f; /* [CLS] is never a span end, only the null answer */

  /* Every span with a positive score: at most n * max_answer_len of them. */
  size_t cap = 64, count = 0;
  qa_span *cand = malloc(cap * sizeof(qa_span));
  if (!cand) {
    free(ps);
    return (size_t)-1;
  }
  for (size_t s = 1; s < n; s++) {
    if (ps[s] == 0.0f) continue; /* masked, or [CLS] */
    size_t last = s + max_answer_len - 1 < n ? s + max_answer_len - 1 : n - 1;
    for (size_t e = s; e <= last; e++) {
      if (!allowed[e]) continue;
      float score = ps[s] * pe[e];
      if (score <= 0.0f) continue;
      if (count == cap) {
        qa_span *grown = realloc(cand, 2 * cap * sizeof(qa_span));
        if (!grown) {
          free(cand);
          free(ps);
          return (size_t)-1;
        }
        cand = grown, cap *= 2;
      }
      cand[count++] = (qa_span){s, e, score};
    }
  }
  qsort(cand, count, sizeof(qa_span), span_cmp);
  size_t kept = count < n_best ? count : n_best;
  for (size_t i = 0; i < kept; i++) out[i] = cand[i];
  free(cand);

  /* Fewer positive spans than asked: HF's top-k over the whole score matrix then
   * takes zero-score entries whose ends are allowed; numpy's nonzero() on its 2-D
   * mask also lets index 0 through, whatever token is there. */
  for (size_t s = 0; s < n && kept < n_best; s++) {
    if (!(allowed[s] || s == 0)) continue;
    for (size_t e = 0; e < n && kept < n_best; e++) {
      if (!(allowed[e] || e == 0)) continue;
      bool positive = e >= s && e - s < max_answer_len && ps[s] * pe[e] > 0.0f;
      if (!positive) out[kept++] = (qa_span){s, e, 0.0f};
    }
  }
  free(ps);
  return kept;
}
