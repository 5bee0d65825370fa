/* gemm.h — every large matrix product of nlpipe goes through here, into BLIS.
 *
 * nlp_compute_init() must run before the first BLIS call of the process (the
 * functions below call it themselves with threads=0 if nobody did): Debian's
 * BLIS 0.9 does not recognise recent AMD CPUs (Zen 5) and silently falls back to
 * its 'generic' kernels, ~6x slower than 'skx'. When the CPU has AVX-512
 * F/DQ/BW/VL and the user did not set BLIS_ARCH_TYPE, we set it to skx (id 0 in
 * BLIS 0.9) before BLIS reads it; the user's own setting always wins.
 *
 * Threads: each call states how many BLIS threads it may use (a per-call rntm_t,
 * nothing global), so a caller that runs several forward passes side by side can
 * give each one thread while a lone caller gives GEMM all of them.
 * All matrices are row-major float32; ld* are row strides in elements. */
#ifndef NLP_TENSOR_GEMM_H
#define NLP_TENSOR_GEMM_H

#include <stdbool.h>
#include <stddef.h>

/* Once per process (later calls only change the default thread count when
 * threads > 0). threads = 0 keeps the current default (initially 1). */
void nlp_compute_init(int threads);

/* Default BLIS thread count for calls that pass threads = 0. */
int nlp_compute_default_threads(void);

/* Name of the BLIS sub-configuration in use ("skx", "generic", ...). */
const char *nlp_compute_blis_arch(void);

/* Name of the threading model of the linked libblis ("openmp", "pthreads",
 * "single"). */
const char *nlp_compute_blis_threading(void);

/* C[m x n] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T. A is m x k
 * (k x m if trans_a) with row stride lda, B is k x n (n x k if trans_b).
 * threads <= 0 means nlp_compute_default_threads(). */
void nlp_gemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb, float beta,
              float *c, size_t ldc, int threads);

/* The torch.nn.Linear product: y[n x out] = x[n x in] W^T + b, W stored [out x in]
 * as in PyTorch/HF checkpoints, b may be NULL. y must not alias x. */
void nlp_gemm_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                     size_t out, float *y, int threads);

/* Plain triple-loop reference of nlp_gemm (double accumulation), for tests. */
void nlp_gemm_reference(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                        const float *a, size_t lda, const float *b, size_t ldb, float beta,
                        float *c, size_t ldc);

#endif
