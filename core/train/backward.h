/* backward.h — gradients of the encoder's ops, next to their forward in tensor/ops.h.
 *
 * Conventions: dy is the gradient of the loss w.r.t. the op's output; weight
 * gradients are ACCUMULATED (+=) so that several uses of a tensor add up; input
 * gradients are written (=) unless the name says _acc. All large products run on
 * nlp_gemm (BLIS). Rows are contiguous f32. */
#ifndef NLP_TRAIN_BACKWARD_H
#define NLP_TRAIN_BACKWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* y = x W^T + b (W [out x in]). dW += dy^T x, db += colsum(dy) (db may be NULL),
 * dx = dy W (dx may be NULL; with ACC_DX, dx += dy W). */
void nlp_bwd_linear(const float *x, size_t n, size_t in, const float *w, size_t out,
                    const float *dy, float *dw, float *db, float *dx, bool acc_dx, int threads);

/* Layer norm of N rows of width D, forward saving what backward needs: y = xhat *
 * gamma + beta, XHAT (n x d) and INV (n, 1/sqrt(var + eps)). X may equal Y. With R
 * non-NULL it normalises x + r (the post-LN residual). */
void nlp_fwd_layer_norm(const float *x, const float *r, size_t n, size_t d, const float *gamma,
                        const float *beta, float eps, float *y, float *xhat, float *inv);
/* dx = LN'(dy) (written; may alias dy), dgamma += sum dy*xhat, dbeta += sum dy. */
void nlp_bwd_layer_norm(const float *dy, const float *xhat, const float *inv, size_t n, size_t d,
                        const float *gamma, float *dgamma, float *dbeta, float *dx);

/* dx = dy * gelu'(x) for the erf GELU (TANH_APPROX: the "gelu_new" form), in place
 * in DY allowed. X is the pre-activation. */
void nlp_bwd_gelu(const float *x, const float *dy, float *dx, size_t n, bool tanh_approx);

/* Attention of one sequence of L tokens and one head of width d (rows of stride
 * LD in q/k/v/out): P = softmax(scale q k^T) saved in PROBS (L x L), then
 * out = drop(P) v. DROP_MASK (L x L bytes, 1 = kept) may be NULL; KEEP_SCALE =
 * 1 / (1 - p). */
void nlp_fwd_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                       size_t d, float scale, float *probs, const uint8_t *drop_mask,
                       float keep_scale, float *out, float *scratch);
/* Backward of the above: dq, dk, dv (rows of stride LD) written. SCRATCH holds
 * 2 L*L floats. */
void nlp_bwd_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                       size_t d, float scale, const float *probs, const uint8_t *drop_mask,
                       float keep_scale, const float *dout, float *dq, float *dk, float *dv,
                       float *scratch);

#endif
