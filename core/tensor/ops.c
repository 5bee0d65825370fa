/* ops.c — layer norm, activations and softmax on 8-lane vectors.
 *
 * GCC at -O2 only vectorises loops whose vector code fully replaces the scalar
 * code, so the kernels are written on explicit 8-float vectors (one AVX2 register
 * under -march=x86-64-v3, two SSE registers otherwise) with a scalar-free tail:
 * the last partial vector is loaded into a zero-padded copy. Transcendentals are
 * our own polynomial versions (libm's are scalar): exp is Cephes' expf (~1 ulp),
 * erf the rational approximation used by Eigen/XLA (~1e-7 absolute), checked
 * against libm in tests/test-gemm.c. */
#include "tensor/ops.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define V8(c) ((v8f){c, c, c, c, c, c, c, c})

static inline v8f vload(const float *p) {
  v8f v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float *p, v8f v) { memcpy(p, &v, sizeof v); }
/* partial load/store for the tail (n < 8) */
static inline v8f vload_n(const float *p, size_t n, float fill) {
  float t[8] = {fill, fill, fill, fill, fill, fill, fill, fill};
  memcpy(t, p, n * sizeof(float));
  return vload(t);
}
static inline void vstore_n(float *p, v8f v, size_t n) {
  float t[8];
  vstore(t, v);
  memcpy(p, t, n * sizeof(float));
}
static inline v8f vselect(v8i m, v8f a, v8f b) { return (v8f)((m & (v8i)a) | (~m & (v8i)b)); }
static inline v8f vmin(v8f a, v8f b) { return vselect(a < b, a, b); }
static inline v8f vmax(v8f a, v8f b) { return vselect(a > b, a, b); }
static inline float vsum(v8f v) {
  /* fixed pairwise order: the same for every row, whatever the batch */
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}
static inline float vhmax(v8f v) {
  float m = v[0];
  for (int i = 1; i < 8; i++) m = v[i] > m ? v[i] : m;
  return m;
}

/* Cephes expf: range reduction by ln 2 (split in two constants), degree-5 poly. */
static inline v8f vexp(v8f x) {
  x = vmin(vmax(x, V8(-87.33654f)), V8(88.3762626647949f));
  v8f t = x * V8(1.44269504088896341f) + V8(0.5f);
  v8i ni = __builtin_convertvector(t, v8i);
  v8f n = __builtin_convertvector(ni, v8f);
  v8i gt = n > t; /* conversion truncates toward zero: floor for negatives */
  n = n - vselect(gt, V8(1.0f), V8(0.0f));
  ni = __builtin_convertvector(n, v8i);
  v8f r = x - n * V8(0.693359375f) - n * V8(-2.12194440e-4f);
  v8f p = V8(1.9875691500E-4f);
  p = p * r + V8(1.3981999507E-3f);
  p = p * r + V8(8.3334519073E-3f);
  p = p * r + V8(4.1665795894E-2f);
  p = p * r + V8(1.6666665459E-1f);
  p = p * r + V8(5.0000001201E-1f);
  p = p * r * r + r + V8(1.0f);
  v8i e = (ni + 127) << 23;
  return p * (v8f)e;
}

/* erf(x) = x P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 in f32 beyond). */
static inline v8f verf(v8f x) {
  x = vmin(vmax(x, V8(-4.0f)), V8(4.0f));
  v8f x2 = x * x;
  v8f p = x2 * V8(-2.72614225801306e-10f) + V8(2.77068142495902e-08f);
  p = x2 * p + V8(-2.10102402082508e-06f);
  p = x2 * p + V8(-5.69250639462346e-05f);
  p = x2 * p + V8(-7.34990630326855e-04f);
  p = x2 * p + V8(-2.95459980854025e-03f);
  p = x2 * p + V8(-1.60960333262415e-02f);
  p = x * p;
  v8f q = x2 * V8(-1.45660718464996e-05f) + V8(-2.13374055278905e-04f);
  q = x2 * q + V8(-1.68282697438203e-03f);
  q = x2 * q + V8(-7.37332916720468e-03f);
  q = x2 * q + V8(-1.42647390514189e-02f);
  return p / q;
}

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|): no cancellation for large
 * |x|; for tiny |x| the relative error stays ~1e-7 absolute, enough here. */
static inline v8f vtanh(v8f x) {
  v8f ax = vselect(x < V8(0.0f), -x, x);
  v8f e = vexp(V8(-2.0f) * ax);
  v8f t = (V8(1.0f) - e) / (V8(1.0f) + e);
  return vselect(x < V8(0.0f), -t, t);
}

#define MAP_INPLACE(fn, x, n)                                                  \
  do {                                                                         \
    size_t i_ = 0;                                                             \
    for (; i_ + 8 <= (n); i_ += 8) vstore((x) + i_, fn(vload((x) + i_)));      \
    if (i_ < (n)) vstore_n((x) + i_, fn(vload_n((x) + i_, (n) - i_, 0.0f)), (n) - i_); \
  } while (0)

static inline v8f vgelu(v8f x) {
  return x * V8(0.5f) * (V8(1.0f) + verf(x * V8(0.70710678118654752f)));
}
static inline v8f vgelu_tanh(v8f x) {
  v8f u = V8(0.7978845608028654f) * (x + V8(0.044715f) * x * x * x);
  return V8(0.5f) * x * (V8(1.0f) + vtanh(u));
}
static inline v8f vrelu(v8f x) { return vmax(x, V8(0.0f)); }

void nlp_op_gelu(float *x, size_t n) { MAP_INPLACE(vgelu, x, n); }
void nlp_op_gelu_tanh(float *x, size_t n) { MAP_INPLACE(vgelu_tanh, x, n); }
void nlp_op_relu(float *x, size_t n) { MAP_INPLACE(vrelu, x, n); }
void nlp_op_tanh(float *x, size_t n) { MAP_INPLACE(vtanh, x, n); }

void nlp_op_erf(const float *x, float *y, size_t n) {
  if (y != x) memmove(y, x, n * sizeof(float));
  MAP_INPLACE(verf, y, n);
}
void nlp_op_exp(const float *x, float *y, size_t n) {
  if (y != x) memmove(y, x, n * sizeof(float));
  MAP_INPLACE(vexp, y, n);
}

static void layer_norm_row(const float *x, const float *r, size_t d, const float *gamma,
                           const float *beta, float eps, float *y) {
  /* two passes (mean, then centred variance), as torch does, for accuracy */
  v8f acc = V8(0.0f);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) acc += r ? vload(x + i) + vload(r + i) : vload(x + i);
  if (i < d) acc += r ? vload_n(x + i, d - i, 0) + vload_n(r + i, d - i, 0) : vload_n(x + i, d - i, 0);
  float mean = vsum(acc) / (float)d;
  v8f vm = V8(mean), var = V8(0.0f);
  for (i = 0; i + 8 <= d; i += 8) {
    v8f v = (r ? vload(x + i) + vload(r + i) : vload(x + i)) - vm;
    var += v * v;
  }
  if (i < d) {
    size_t k = d - i;
    v8f v = (r ? vload_n(x + i, k, mean) + vload_n(r + i, k, 0) : vload_n(x + i, k, mean)) - vm;
    var += v * v;
  }
  float inv = 1.0f / sqrtf(vsum(var) / (float)d + eps);
  v8f vi = V8(inv);
  for (i = 0; i + 8 <= d; i += 8) {
    v8f v = (r ? vload(x + i) + vload(r + i) : vload(x + i)) - vm;
    vstore(y + i, v * vi * vload(gamma + i) + vload(beta + i));
  }
  if (i < d) {
    size_t k = d - i;
    v8f v = (r ? vload_n(x + i, k, 0) + vload_n(r + i, k, 0) : vload_n(x + i, k, 0)) - vm;
    vstore_n(y + i, v * vi * vload_n(gamma + i, k, 0) + vload_n(beta + i, k, 0), k);
  }
}

void nlp_op_layer_norm(const float *x, size_t n, size_t d, const float *gamma,
                       const float *beta, float eps, float *y) {
  for (size_t r = 0; r < n; r++) layer_norm_row(x + r * d, NULL, d, gamma, beta, eps, y + r * d);
}

void nlp_op_add_layer_norm(const float *x, const float *res, size_t n, size_t d,
                           const float *gamma, const float *beta, float eps, float *y) {
  for (size_t r = 0; r < n; r++)
    layer_norm_row(x + r * d, res + r * d, d, gamma, beta, eps, y + r * d);
}

void nlp_op_softmax(float *x, size_t n, size_t d, float scale) {
  for (size_t r = 0; r < n; r++) {
    float *row = x + r * d;
    v8f vmx = V8(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= d; i += 8) vmx = vmax(vmx, vload(row + i));
    if (i < d) vmx = vmax(vmx, vload_n(row + i, d - i, -INFINITY));
    float mx = vhmax(vmx) * scale;
    v8f vs = V8(scale), vmm = V8(mx), sum = V8(0.0f);
    /* scale > 0, so max(scale * x) = scale * max(x) */
    for (i = 0; i + 8 <= d; i += 8) {
      v8f e = vexp(vload(row + i) * vs - vmm);
      sum += e;
      vstore(row + i, e);
    }
    if (i < d) {
      size_t k = d - i;
      v8f e = vexp(vload_n(row + i, k, 0) * vs - vmm);
      e = vselect((v8i){0, 1, 2, 3, 4, 5, 6, 7} < (v8i){(int)k, (int)k, (int)k, (int)k, (int)k,
                                                        (int)k, (int)k, (int)k}, e, V8(0.0f));
      sum += e;
      vstore_n(row + i, e, k);
    }
    v8f inv = V8(1.0f / vsum(sum));
    for (i = 0; i + 8 <= d; i += 8) vstore(row + i, vload(row + i) * inv);
    if (i < d) vstore_n(row + i, vload_n(row + i, d - i, 0) * inv, d - i);
  }
}
