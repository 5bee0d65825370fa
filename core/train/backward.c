/* backward.c — the op gradients, checked against torch autograd in
 * tests/test-train-grads.c (fixtures from tests/gen/train/gen_grads.py). */
#include "train/backward.h"

#include <math.h>
#include <string.h>

#include "tensor/gemm.h"
#include "tensor/ops.h"

void nlp_bwd_linear(const float *x, size_t n, size_t in, const float *w, size_t out,
                    const float *dy, float *dw, float *db, float *dx, bool acc_dx, int threads) {
  if (n == 0) return;
  if (dw) nlp_gemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in, threads);
  if (db)
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < out; j++) db[j] += dy[i * out + j];
  if (dx) nlp_gemm(false, false, n, in, out, 1.0f, dy, out, w, in, acc_dx ? 1.0f : 0.0f, dx, in,
                   threads);
}

void nlp_fwd_layer_norm(const float *x, const float *r, size_t n, size_t d, const float *gamma,
                        const float *beta, float eps, float *y, float *xhat, float *inv) {
  for (size_t i = 0; i < n; i++) {
    const float *xr = x + i * d, *rr = r ? r + i * d : NULL;
    float *xh = xhat + i * d, *yr = y + i * d;
    double mean = 0.0;
    for (size_t j = 0; j < d; j++) {
      xh[j] = xr[j] + (rr ? rr[j] : 0.0f);
      mean += xh[j];
    }
    mean /= (double)d;
    double var = 0.0;
    for (size_t j = 0; j < d; j++) {
      double c = xh[j] - mean;
      var += c * c;
    }
    float iv = (float)(1.0 / sqrt(var / (double)d + eps));
    inv[i] = iv;
    for (size_t j = 0; j < d; j++) {
      xh[j] = (float)(xh[j] - mean) * iv;
      yr[j] = xh[j] * gamma[j] + beta[j];
    }
  }
}

void nlp_bwd_layer_norm(const float *dy, const float *xhat, const float *inv, size_t n, size_t d,
                        const float *gamma, float *dgamma, float *dbeta, float *dx) {
  for (size_t i = 0; i < n; i++) {
    const float *g = dy + i * d, *xh = xhat + i * d;
    double sg = 0.0, sgx = 0.0;
    for (size_t j = 0; j < d; j++) {
      float gg = g[j] * gamma[j];
      sg += gg;
      sgx += (double)gg * xh[j];
      if (dgamma) dgamma[j] += g[j] * xh[j];
      if (dbeta) dbeta[j] += g[j];
    }
    float mg = (float)(sg / (double)d), mgx = (float)(sgx / (double)d);
    float *o = dx + i * d;
    for (size_t j = 0; j < d; j++) o[j] = inv[i] * (g[j] * gamma[j] - mg - xh[j] * mgx);
  }
}

void nlp_bwd_gelu(const float *x, const float *dy, float *dx, size_t n, bool tanh_approx) {
  for (size_t i = 0; i < n; i++) {
    double v = x[i], dg;
    if (tanh_approx) {
      double c = 0.7978845608028654, u = c * (v + 0.044715 * v * v * v), t = tanh(u);
      dg = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v);
    } else {
      dg = 0.5 * (1.0 + erf(v * 0.7071067811865476)) + v * exp(-0.5 * v * v) * 0.3989422804014327;
    }
    dx[i] = (float)(dy[i] * dg);
  }
}

void nlp_fwd_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                       size_t d, float scale, float *probs, const uint8_t *drop_mask,
                       float keep_scale, float *out, float *scratch) {
  nlp_gemm(false, true, L, L, d, 1.0f, q, ld, k, ld, 0.0f, probs, L, 1);
  nlp_op_softmax(probs, L, L, scale);
  const float *p = probs;
  if (drop_mask) {
    for (size_t i = 0; i < L * L; i++) scratch[i] = drop_mask[i] ? probs[i] * keep_scale : 0.0f;
    p = scratch;
  }
  nlp_gemm(false, false, L, d, L, 1.0f, p, L, v, ld, 0.0f, out, ld, 1);
}

void nlp_bwd_attention(const float *q, const float *k, const float *v, size_t ld, size_t L,
                       size_t d, float scale, const float *probs, const uint8_t *drop_mask,
                       float keep_scale, const float *dout, float *dq, float *dk, float *dv,
                       float *scratch) {
  float *dp = scratch, *pd = scratch + L * L;
  const float *p = probs;
  if (drop_mask) {
    for (size_t i = 0; i < L * L; i++) pd[i] = drop_mask[i] ? probs[i] * keep_scale : 0.0f;
    p = pd;
  }
  /* dv = P'^T dout; dP' = dout v^T */
  nlp_gemm(true, false, L, d, L, 1.0f, p, L, dout, ld, 0.0f, dv, ld, 1);
  nlp_gemm(false, true, L, L, d, 1.0f, dout, ld, v, ld, 0.0f, dp, L, 1);
  /* through dropout, then softmax: dS = P (dP - rowsum(dP P)), times the scale */
  for (size_t i = 0; i < L; i++) {
    float *row = dp + i * L;
    const float *pr = probs + i * L;
    if (drop_mask)
      for (size_t j = 0; j < L; j++) row[j] = drop_mask[i * L + j] ? row[j] * keep_scale : 0.0f;
    double s = 0.0;
    for (size_t j = 0; j < L; j++) s += (double)row[j] * pr[j];
    for (size_t j = 0; j < L; j++) row[j] = pr[j] * (row[j] - (float)s) * scale;
  }
  nlp_gemm(false, false, L, d, L, 1.0f, dp, L, k, ld, 0.0f, dq, ld, 1);
  nlp_gemm(true, false, L, d, L, 1.0f, dp, L, q, ld, 0.0f, dk, ld, 1);
}
