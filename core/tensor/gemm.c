/* gemm.c — BLIS behind nlp_gemm, and the one-time kernel/thread selection. */
#include "tensor/gemm.h"

#include <blis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t compute_once = PTHREAD_ONCE_INIT;
static int default_threads = 1;

static bool cpu_has_avx512_skx(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

static void compute_init_once(void) {
  /* BLIS reads BLIS_ARCH_TYPE once, when its global kernel structure is first
   * initialised (the first BLIS call); this runs before that. "0" is skx in
   * Debian's BLIS 0.9 arch_t enum. We do not override the user's choice. */
  if (!getenv("BLIS_ARCH_TYPE") && cpu_has_avx512_skx()) setenv("BLIS_ARCH_TYPE", "0", 0);
  bli_init();
}

void nlp_compute_init(int threads) {
  pthread_once(&compute_once, compute_init_once);
  if (threads > 0) __atomic_store_n(&default_threads, threads, __ATOMIC_RELAXED);
}

int nlp_compute_default_threads(void) {
  return __atomic_load_n(&default_threads, __ATOMIC_RELAXED);
}

const char *nlp_compute_blis_arch(void) {
  nlp_compute_init(0);
  return bli_arch_string(bli_arch_query_id());
}

const char *nlp_compute_blis_threading(void) {
  nlp_compute_init(0);
  if (bli_info_get_enable_openmp()) return "openmp";
  if (bli_info_get_enable_pthreads()) return "pthreads";
  return "single";
}

static void gemm_impl(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                      const float *a, size_t lda, const float *b, size_t ldb, float beta,
                      float *c, size_t ldc, int threads, bool allow_sup) {
  if (m == 0 || n == 0) return;
  nlp_compute_init(0);
  if (threads <= 0) threads = nlp_compute_default_threads();
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  bli_rntm_set_num_threads(threads, &rntm);
  if (!allow_sup) bli_rntm_disable_l3_sup(&rntm);
  /* Row-major operands are expressed through BLIS's general strides, so no
   * transposed copy is ever made: op(X)^T is just swapped strides. */
  inc_t rsa = trans_a ? 1 : (inc_t)lda, csa = trans_a ? (inc_t)lda : 1;
  inc_t rsb = trans_b ? 1 : (inc_t)ldb, csb = trans_b ? (inc_t)ldb : 1;
  bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
               (float *)a, rsa, csa, (float *)b, rsb, csb, &beta, c, (inc_t)ldc, 1, NULL,
               &rntm);
}

void nlp_gemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb, float beta,
              float *c, size_t ldc, int threads) {
  gemm_impl(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, true);
}

void nlp_gemm_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                     size_t out, float *y, int threads) {
  float beta = 0.0f;
  if (b) {
    for (size_t i = 0; i < n; i++) memcpy(y + i * out, b, out * sizeof(float));
    beta = 1.0f;
  }
  /* Always BLIS's packed path, never its small-matrix 'sup' kernels: (1) a row's
   * result must not depend on how many rows share the call (batch invariance), and
   * the two paths sum in different orders; (2) with W^T stored by columns, sup uses
   * the dot-product kernel that re-reads W for every 3 rows of x, measured 17-55%
   * slower than packing for 44-128 rows of a BERT-base layer (zen3; within noise
   * below ~32 rows). */
  gemm_impl(false, true, n, out, in, 1.0f, x, in, w, in, beta, y, out, threads, false);
}

void nlp_gemm_reference(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda, const float *b, size_t ldb, float beta,
                        float *c, size_t ldc) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0.0;
      for (size_t p = 0; p < k; p++) {
        float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        s += (double)av * bv;
      }
      float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      c[i * ldc + j] = (float)(alpha * s) + prev;
    }
}
