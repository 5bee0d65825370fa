/* packed-linear.h — y = x W^T + b with W re-laid once, at model load, for the FMA kernel.
 *
 * BLIS 0.9 packs the weight operand into its panel layout on every call. For the
 * short inputs an online encoder sees (one sentence: 10-130 rows against a 768 x 768
 * or 768 x 3072 weight) that repacking costs a quarter of the product, which is where
 * ONNX Runtime (it prepacks once) was ahead at batch 1. Here the weight is packed once
 * into 16-column panels, and a register-blocked FMA kernel (AVX2 6 x 16, or AVX-512
 * 12 x 16 where the CPU has it) multiplies them with row blocks of the activations.
 *
 * Every output row is summed in the same order whatever the number of rows in the
 * call and whatever the thread count (threads split the 16-column panels), so a
 * sequence's numbers do not depend on the batch it lands in. */
#ifndef NLP_TENSOR_PACKED_LINEAR_H
#define NLP_TENSOR_PACKED_LINEAR_H

#include <stdbool.h>
#include <stddef.h>

/* Floats of the packed form of an [out x in] weight. */
size_t nlp_packed_linear_size(size_t out, size_t in);

/* Packs W [out x in] (row-major, as PyTorch stores nn.Linear.weight) into DST, which
 * holds nlp_packed_linear_size(out, in) floats and is 32-byte aligned. */
void nlp_packed_linear_pack(const float *w, size_t out, size_t in, float *dst);

/* y[n x out] = x[n x in] W^T + b (b may be NULL), W given packed. y must not alias
 * x. threads <= 1 runs on the calling thread. */
void nlp_packed_linear(const float *x, size_t n, size_t in, const float *packed, const float *b,
                       size_t out, float *y, int threads);

/* The kernel in use: "avx512 12x16" where the CPU has AVX-512F, else "avx2 6x16"
 * (both give the same bits). nlp_packed_linear_use_avx512(false) forces AVX2 (tests,
 * benchmarks); it returns whether AVX-512 is now in use. Not thread-safe: call it
 * before any product runs. */
const char *nlp_packed_linear_kernel(void);
bool nlp_packed_linear_use_avx512(bool on);

#endif
