/* ops.h — the elementwise and row-wise layer math of the encoder, one function per
 * op so that a backward pass (training) can be written next to each.
 *
 * All rows are contiguous float32. Results for one row never depend on other rows
 * (batch invariance), and the vector code paths are fixed-width (8 lanes, GCC vector
 * extensions), so they vectorise at -O2 without -ffast-math. */
#ifndef NLP_TENSOR_OPS_H
#define NLP_TENSOR_OPS_H

#include <stddef.h>

/* y[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta for each of N rows of width
 * D (biased variance, as torch.nn.LayerNorm). y may equal x. */
void nlp_op_layer_norm(const float *x, size_t n, size_t d, const float *gamma,
                       const float *beta, float eps, float *y);

/* y = LayerNorm(x + r): the post-LN residual. y may equal x or r. */
void nlp_op_add_layer_norm(const float *x, const float *r, size_t n, size_t d,
                           const float *gamma, const float *beta, float eps, float *y);

/* In place over N values. gelu: x * 0.5 * (1 + erf(x / sqrt 2)) (HF "gelu");
 * gelu_tanh: HF "gelu_new"/"gelu_pytorch_tanh"; relu; tanh. */
void nlp_op_gelu(float *x, size_t n);
void nlp_op_gelu_tanh(float *x, size_t n);
void nlp_op_relu(float *x, size_t n);
void nlp_op_tanh(float *x, size_t n);

/* Row-wise softmax of N rows of width D, in place, after scaling by SCALE. */
void nlp_op_softmax(float *x, size_t n, size_t d, float scale);

/* Vectorised erf and exp used above, exposed for the kernel tests. */
void nlp_op_erf(const float *x, float *y, size_t n);
void nlp_op_exp(const float *x, float *y, size_t n);

#endif
