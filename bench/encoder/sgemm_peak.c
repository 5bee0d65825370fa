/* sgemm_peak.c — the roof for the encoder benchmark: BLIS sgemm GFLOP/s through
 * nlp_gemm (same kernel selection as nlpipe) on 1024^3 and on the encoder's own
 * shapes, and the same shapes through the prepacked Linear the encoder layers use
 * (engine "packed", each kernel the CPU runs: AVX-512 and AVX2), for 1 and 2 threads. Best of 5, weights warm in cache (the real
 * model streams them). One JSON line per measurement. Built by run.sh:
 *   gcc -O2 -march=x86-64-v3 -fopenmp -Icore -I/usr/include/x86_64-linux-gnu \
 *       bench/encoder/sgemm_peak.c core/tensor/gemm.c core/tensor/packed-linear.c \
 *       -lblis -lpthread -o build/sgemm-peak */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <immintrin.h>

#include "tensor/gemm.h"
#include "tensor/packed-linear.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* seconds per call, best of 5 batches of calls worth ~3 GFLOP each */
static double best_time(bool packed, const float *a, size_t m, size_t k, const float *w,
                        const float *wp, size_t n, float *y, int th) {
  int reps = (int)(3e9 / (2.0 * (double)(m * n * k))) + 1;
  double best = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    for (int i = 0; i < reps; i++) {
      if (packed) nlp_packed_linear(a, m, k, wp, NULL, n, y, th);
      else nlp_gemm_linear(a, m, k, w, NULL, n, y, th);
    }
    double t = (now() - t0) / reps;
    if (t < best) best = t;
  }
  return best;
}

/* The core's FMA roof: 12 independent 16-float FMA chains, no memory traffic (what
 * no GEMM can beat; the kernels' efficiency is read against it). */
__attribute__((target("avx512f"))) static double fma_roof(void) {
  __m512 acc[12], b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-9f);
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
  long n = 100000000;
  double t0 = now();
  for (long k = 0; k < n; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  double t = now() - t0;
  float sink = 0;
  for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(acc[i]);
  if (sink == 1.0f) puts(""); /* keeps the chains alive */
  return 12.0 * 32.0 * (double)n / t / 1e9;
}

int main(void) {
  nlp_compute_init(1);
  if (__builtin_cpu_supports("avx512f")) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
      double g = fma_roof();
      best = g > best ? g : best;
    }
    printf("{\"engine\": \"fma\", \"kernel\": \"avx512 register FMA\", \"threads\": 1, "
           "\"m\": 0, \"n\": 0, \"k\": 0, \"gflop_per_s\": %.1f}\n", best);
  }
  static const size_t shapes[][3] = {{1024, 1024, 1024}, {44, 768, 768}, {44, 3072, 768},
                                     {44, 768, 3072}, {1400, 768, 768}, {1400, 3072, 768}};
  for (int th = 1; th <= 2; th++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      float *a = malloc(m * k * 4), *w = malloc(n * k * 4), *y = malloc(m * n * 4);
      for (size_t i = 0; i < m * k; i++) a[i] = (float)(i % 7) * 0.1f;
      for (size_t i = 0; i < n * k; i++) w[i] = (float)(i % 5) * 0.1f;
      float *wp = aligned_alloc(64, (nlp_packed_linear_size(n, k) * 4 + 63) / 64 * 64);
      nlp_packed_linear_pack(w, n, k, wp);
      nlp_gemm_linear(a, m, k, w, NULL, n, y, th);
      nlp_packed_linear(a, m, k, wp, NULL, n, y, th);
      /* BLIS, then the prepacked Linear with each kernel this CPU runs */
      bool wide = nlp_packed_linear_use_avx512(true);
      for (int v = 0; v < (wide ? 3 : 2); v++) {
        bool packed = v > 0;
        if (packed) nlp_packed_linear_use_avx512(v == 1);
        double best = best_time(packed, a, m, k, w, wp, n, y, th);
        printf("{\"engine\": \"%s\", \"kernel\": \"%s\", \"blis_arch\": \"%s\", "
               "\"threading\": \"%s\", \"threads\": %d, \"m\": %zu, \"n\": %zu, \"k\": %zu, "
               "\"gflop_per_s\": %.1f}\n",
               packed ? "packed" : "sgemm", packed ? nlp_packed_linear_kernel() : "blis",
               nlp_compute_blis_arch(), nlp_compute_blis_threading(), th, m, n, k,
               2.0 * (double)(m * n * k) / best / 1e9);
      }
      nlp_packed_linear_use_avx512(true);
      free(wp);
      fflush(stdout);
      free(a); free(w); free(y);
    }
  return 0;
}
