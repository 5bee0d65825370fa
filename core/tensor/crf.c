/* crf.c — Viterbi decoding of a linear-chain CRF (see the header). */
#include "tensor/crf.h"

#include <glib.h>
#include <math.h>

void nlp_crf_viterbi(const float *z, size_t n, size_t C, const float *T, const float *st,
                     const float *en, int32_t *path) {
  if (!n || !C) return;
  double *sc = g_new(double, n * C);
  int32_t *bp = g_new(int32_t, n * C);
  for (size_t j = 0; j < C; j++) sc[j] = st[j] + z[j];
  for (size_t t = 1; t < n; t++)
    for (size_t j = 0; j < C; j++) {
      double best = -INFINITY;
      int32_t arg = 0;
      for (size_t i = 0; i < C; i++) {
        double v = sc[(t - 1) * C + i] + T[i * C + j];
        if (v > best) best = v, arg = (int32_t)i;
      }
      sc[t * C + j] = best + z[t * C + j];
      bp[t * C + j] = arg;
    }
  double best = -INFINITY;
  int32_t arg = 0;
  for (size_t j = 0; j < C; j++)
    if (sc[(n - 1) * C + j] + en[j] > best) best = sc[(n - 1) * C + j] + en[j], arg = (int32_t)j;
  for (size_t t = n; t-- > 0;) {
    path[t] = arg;
    if (t) arg = bp[t * C + (size_t)arg];
  }
  g_free(sc);
  g_free(bp);
}
