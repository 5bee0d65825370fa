/* test-gemm.c — the BLIS GEMM path against a naive reference across shapes,
 * transposes and thread counts; the vectorised ops against libm / naive code. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/harness.h"
#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "tensor/packed-linear.h"

static void fill(float *x, size_t n, GRand *r) {
  for (size_t i = 0; i < n; i++) x[i] = (float)g_rand_double_range(r, -1, 1);
}

static void test_gemm_shapes(void) {
  static const size_t shapes[][3] = {{1, 1, 1}, {1, 36, 36}, {7, 13, 5}, {33, 52, 36},
                                     {128, 96, 64}, {5, 300, 17}, {200, 9, 130}, {64, 64, 512}};
  GRand *r = g_rand_new_with_seed(7);
  fprintf(stderr, "\n    BLIS arch %s, threading %s", nlp_compute_blis_arch(),
          nlp_compute_blis_threading());
  for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int th = 1; th <= 2; th++) {
          size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
          size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
          float *a = g_new(float, (ta ? k : m) * lda), *b = g_new(float, (tb ? n : k) * ldb);
          float *c = g_new(float, m * ldc), *ref = g_new(float, m * ldc);
          fill(a, (ta ? k : m) * lda, r);
          fill(b, (tb ? n : k) * ldb, r);
          fill(c, m * ldc, r);
          memcpy(ref, c, m * ldc * sizeof(float));
          float beta = (s % 2) ? 0.5f : 0.0f;
          nlp_gemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc, th);
          nlp_gemm_reference(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, ref, ldc);
          double mx = 0;
          for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) mx = fmax(mx, fabs(c[i * ldc + j] - ref[i * ldc + j]));
          CU_ASSERT(mx <= 1e-5 * sqrt((double)k) + 1e-6);
          if (mx > 1e-5 * sqrt((double)k) + 1e-6)
            fprintf(stderr, "\n    %zux%zux%zu ta%d tb%d th%d: %.3e", m, n, k, ta, tb, th, mx);
          g_free(a); g_free(b); g_free(c); g_free(ref);
        }
  g_rand_free(r);
}

static void test_linear(void) {
  GRand *r = g_rand_new_with_seed(3);
  size_t n = 37, in = 52, out = 36;
  float *x = g_new(float, n * in), *w = g_new(float, out * in), *b = g_new(float, out);
  float *y = g_new(float, n * out);
  fill(x, n * in, r); fill(w, out * in, r); fill(b, out, r);
  for (int th = 1; th <= 2; th++) {
    nlp_gemm_linear(x, n, in, w, b, out, y, th);
    double mx = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < out; j++) {
        double s = b[j];
        for (size_t p = 0; p < in; p++) s += (double)x[i * in + p] * w[j * in + p];
        mx = fmax(mx, fabs(s - y[i * out + j]));
      }
    CU_ASSERT(mx < 1e-5);
  }
  g_free(x); g_free(w); g_free(b); g_free(y);
  g_rand_free(r);
}

/* The prepacked Linear against the double-precision reference, on shapes that cross
 * its blocking (6- and 12-row tiles, 16-column panels, 256-deep reduction blocks,
 * 72-row blocks), and its promises: a row's result is bitwise the same whether it is
 * computed alone or among many rows, and with 1 or 2 threads. */
static void test_packed_linear(void) {
  static const size_t shapes[][3] = {{1, 1, 1},     {5, 16, 16},    {7, 17, 33},  {13, 300, 15},
                                     {73, 257, 40}, {150, 513, 97}, {44, 768, 64}, {11, 40, 48},
                                     {84, 70, 31}};
  int other_kernel_checked = 0;
  fprintf(stderr, "\n    kernel %s", nlp_packed_linear_kernel());
  GRand *r = g_rand_new_with_seed(11);
  for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
    size_t n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
    float *x = g_new(float, n * in), *w = g_new(float, out * in), *b = g_new(float, out);
    float *y = g_new(float, n * out), *y2 = g_new(float, n * out), *ref = g_new(float, n * out);
    float *row = g_new(float, out);
    float *packed = g_aligned_alloc(nlp_packed_linear_size(out, in), sizeof(float), 64);
    fill(x, n * in, r);
    fill(w, out * in, r);
    fill(b, out, r);
    nlp_packed_linear_pack(w, out, in, packed);
    nlp_packed_linear(x, n, in, packed, s % 2 ? b : NULL, out, y, 1);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < out; j++) ref[i * out + j] = s % 2 ? b[j] : 0.0f;
    nlp_gemm_reference(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, ref, out);
    double mx = 0;
    for (size_t i = 0; i < n * out; i++) mx = fmax(mx, fabs(y[i] - ref[i]));
    CU_ASSERT(mx <= 1e-5 * sqrt((double)in) + 1e-6);
    nlp_packed_linear(x, n, in, packed, s % 2 ? b : NULL, out, y2, 2);
    CU_ASSERT(memcmp(y, y2, n * out * sizeof(float)) == 0);
    bool alone_same = true;
    for (size_t i = 0; i < n; i += 1 + n / 5) {
      nlp_packed_linear(x + i * in, 1, in, packed, s % 2 ? b : NULL, out, row, 1);
      alone_same = alone_same && memcmp(row, y + i * out, out * sizeof(float)) == 0;
    }
    CU_ASSERT(alone_same);
    /* the other kernel (AVX2 where AVX-512 is in use) gives the same bits */
    if (nlp_packed_linear_use_avx512(false) != nlp_packed_linear_use_avx512(true)) {
      nlp_packed_linear_use_avx512(false);
      nlp_packed_linear(x, n, in, packed, s % 2 ? b : NULL, out, y2, 1);
      nlp_packed_linear_use_avx512(true);
      CU_ASSERT(memcmp(y, y2, n * out * sizeof(float)) == 0);
      other_kernel_checked++;
    }
    g_free(x); g_free(w); g_free(b); g_free(y); g_free(y2); g_free(ref); g_free(row);
    g_aligned_free(packed);
  }
  if (other_kernel_checked) fprintf(stderr, "; avx512 and avx2 kernels: same bits on %d shapes", other_kernel_checked);
  g_rand_free(r);
}

static void test_transcendentals(void) {
  size_t n = 20001;
  float *x = g_new(float, n), *y = g_new(float, n);
  for (size_t i = 0; i < n; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
  nlp_op_erf(x, y, n);
  double me = 0, mx = 0;
  for (size_t i = 0; i < n; i++) me = fmax(me, fabs(y[i] - erf((double)x[i])));
  for (size_t i = 0; i < n; i++) x[i] = -80.0f + 160.0f * (float)i / (float)(n - 1);
  nlp_op_exp(x, y, n);
  for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(y[i] - exp((double)x[i])) / exp((double)x[i]));
  fprintf(stderr, "\n    erf max abs err %.2e, exp max rel err %.2e", me, mx);
  CU_ASSERT(me < 1e-6);
  CU_ASSERT(mx < 1e-6);
  for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
  memcpy(y, x, n * sizeof(float));
  nlp_op_gelu(y, n);
  double mg = 0, mt = 0, mh = 0;
  for (size_t i = 0; i < n; i++)
    mg = fmax(mg, fabs(y[i] - 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)))));
  memcpy(y, x, n * sizeof(float));
  nlp_op_gelu_tanh(y, n);
  for (size_t i = 0; i < n; i++) {
    double u = x[i];
    mt = fmax(mt, fabs(y[i] - 0.5 * u * (1 + tanh(sqrt(2 / M_PI) * (u + 0.044715 * u * u * u)))));
  }
  memcpy(y, x, n * sizeof(float));
  nlp_op_tanh(y, n);
  for (size_t i = 0; i < n; i++) mh = fmax(mh, fabs(y[i] - tanh((double)x[i])));
  fprintf(stderr, "\n    gelu %.2e gelu_tanh %.2e tanh %.2e", mg, mt, mh);
  CU_ASSERT(mg < 5e-6);
  CU_ASSERT(mt < 5e-6);
  CU_ASSERT(mh < 1e-6);
  memcpy(y, x, n * sizeof(float));
  nlp_op_relu(y, n);
  for (size_t i = 0; i < n; i++) CU_ASSERT_EQUAL(y[i], x[i] > 0 ? x[i] : 0.0f);
  g_free(x); g_free(y);
}

static void test_layer_norm_softmax(void) {
  GRand *r = g_rand_new_with_seed(5);
  for (size_t d = 1; d <= 40; d += 3) {
    size_t n = 3;
    float *x = g_new(float, n * d), *res = g_new(float, n * d), *g = g_new(float, d);
    float *b = g_new(float, d), *y = g_new(float, n * d);
    fill(x, n * d, r); fill(res, n * d, r); fill(g, d, r); fill(b, d, r);
    nlp_op_add_layer_norm(x, res, n, d, g, b, 1e-5f, y);
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
      double mean = 0, var = 0;
      for (size_t j = 0; j < d; j++) mean += x[i * d + j] + res[i * d + j];
      mean /= d;
      for (size_t j = 0; j < d; j++) {
        double v = x[i * d + j] + res[i * d + j] - mean;
        var += v * v;
      }
      var /= d;
      for (size_t j = 0; j < d; j++) {
        double e = (x[i * d + j] + res[i * d + j] - mean) / sqrt(var + 1e-5) * g[j] + b[j];
        mx = fmax(mx, fabs(e - y[i * d + j]));
      }
    }
    CU_ASSERT(mx < 1e-5);
    /* softmax rows sum to 1 and match the naive form */
    memcpy(y, x, n * d * sizeof(float));
    nlp_op_softmax(y, n, d, 0.5f);
    for (size_t i = 0; i < n; i++) {
      double mxv = -1e30, s = 0, err = 0;
      for (size_t j = 0; j < d; j++) mxv = fmax(mxv, 0.5 * x[i * d + j]);
      for (size_t j = 0; j < d; j++) s += exp(0.5 * x[i * d + j] - mxv);
      for (size_t j = 0; j < d; j++)
        err = fmax(err, fabs(exp(0.5 * x[i * d + j] - mxv) / s - y[i * d + j]));
      CU_ASSERT(err < 1e-6);
    }
    g_free(x); g_free(res); g_free(g); g_free(b); g_free(y);
  }
  g_rand_free(r);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("gemm", NULL, NULL);
  CU_add_test(s, "BLIS vs reference, shapes x transposes x threads 1/2", test_gemm_shapes);
  CU_add_test(s, "linear with bias", test_linear);
  CU_add_test(s, "prepacked linear: reference, row and thread invariance", test_packed_linear);
  s = CU_add_suite("ops", NULL, NULL);
  CU_add_test(s, "erf, exp, gelu, gelu_tanh, tanh, relu", test_transcendentals);
  CU_add_test(s, "layer norm and softmax, widths 1..40", test_layer_norm_softmax);
}

int main(void) { return nlp_test_main(register_suites); }
