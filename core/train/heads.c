/* heads.c — head forward/backward and losses. */
#include "train/heads.h"

#include <math.h>
#include <string.h>

#include "tensor/crf.h"
#include "tensor/gemm.h"
#include "train/backward.h"

struct nlp_head_tape {
  size_t cap;
  float *x, *pooled, *p1, *pre, *p2, *d1, *d2;
  uint8_t *m1, *m2;
  float keep;
  bool drop;
};

nlp_head_tape *nlp_head_tape_new(void) { return g_new0(nlp_head_tape, 1); }

void nlp_head_tape_free(nlp_head_tape *t) {
  if (!t) return;
  g_free(t->x); g_free(t->pooled); g_free(t->p1); g_free(t->pre); g_free(t->p2);
  g_free(t->d1); g_free(t->d2); g_free(t->m1); g_free(t->m2);
  g_free(t);
}

static void init_normal(float *w, size_t n, nlp_rng *rng) {
  for (size_t i = 0; i < n; i++) w[i] = 0.02f * nlp_rng_normal(rng);
}

void nlp_train_head_init(nlp_train_head *h, nlp_param_set *set, nlp_rng *rng,
                         const char *pooler_name, const float *pw, const float *pb) {
  size_t H = h->hidden;
  h->pool_w = h->pool_b = h->pre_w = h->pre_b = NULL;
  if (h->kind == NLP_TRAIN_HEAD_SEQUENCE && h->pooler) {
    char *wn = g_strconcat(pooler_name, ".weight", NULL), *bn = g_strconcat(pooler_name, ".bias", NULL);
    h->pool_w = nlp_param_add(set, wn, H, H, true, pw);
    h->pool_b = nlp_param_add(set, bn, H, 0, false, pb);
    g_free(wn);
    g_free(bn);
  }
  if (h->kind == NLP_TRAIN_HEAD_SEQUENCE && h->mlp) {
    h->pre_w = nlp_param_add(set, "pre_classifier.weight", H, H, true, NULL);
    h->pre_b = nlp_param_add(set, "pre_classifier.bias", H, 0, false, NULL);
    init_normal(h->pre_w->w, H * H, rng);
  }
  const char *base = h->kind == NLP_TRAIN_HEAD_QA ? "qa_outputs"
                     : h->kind == NLP_TRAIN_HEAD_SCORER ? "scorer" : "classifier";
  char *wn = g_strconcat(base, ".weight", NULL), *bn = g_strconcat(base, ".bias", NULL);
  h->out_w = nlp_param_add(set, wn, h->n_out, H, true, NULL);
  h->out_b = nlp_param_add(set, bn, h->n_out, 0, false, NULL);
  init_normal(h->out_w->w, h->n_out * H, rng);
  g_free(wn);
  g_free(bn);
  h->crf_trans = h->crf_start = h->crf_end = NULL;
  if (h->kind == NLP_TRAIN_HEAD_TOKEN && h->crf) {
    size_t C = h->n_out;
    /* pytorch-crf initialises all three uniformly in [-0.1, 0.1] */
    h->crf_trans = nlp_param_add(set, "crf.transitions", C, C, false, NULL);
    h->crf_start = nlp_param_add(set, "crf.start_transitions", C, 0, false, NULL);
    h->crf_end = nlp_param_add(set, "crf.end_transitions", C, 0, false, NULL);
    nlp_param *ps[3] = {h->crf_trans, h->crf_start, h->crf_end};
    for (int k = 0; k < 3; k++)
      for (size_t i = 0; i < ps[k]->n; i++) ps[k]->w[i] = 0.2f * nlp_rng_uniform(rng) - 0.1f;
  }
}

static void ensure(nlp_head_tape *t, size_t n, size_t H) {
  if (n * H <= t->cap) return;
  size_t c = n * H;
  float **fs[] = {&t->x, &t->pooled, &t->p1, &t->pre, &t->p2, &t->d1, &t->d2};
  for (size_t i = 0; i < G_N_ELEMENTS(fs); i++) {
    g_free(*fs[i]);
    *fs[i] = g_new(float, c);
  }
  g_free(t->m1);
  g_free(t->m2);
  t->m1 = g_new(uint8_t, c);
  t->m2 = g_new(uint8_t, c);
  t->cap = c;
}

static void dropout(const float *x, float *y, uint8_t *mask, size_t n, float p, float keep,
                    nlp_rng *rng) {
  for (size_t i = 0; i < n; i++) {
    mask[i] = rng ? nlp_rng_uniform(rng) >= p : 1;
    y[i] = mask[i] ? x[i] * keep : 0.0f;
  }
}

void nlp_train_head_forward(const nlp_train_head *h, nlp_head_tape *t, const float *x, size_t n,
                            float p_drop, nlp_rng *rng, float *logits, int threads) {
  size_t H = h->hidden;
  ensure(t, n, H);
  t->drop = rng && p_drop > 0;
  t->keep = t->drop ? 1.0f / (1.0f - p_drop) : 1.0f;
  nlp_rng *r = t->drop ? rng : NULL;
  memcpy(t->x, x, n * H * sizeof(float));
  const float *p = t->x;
  if (h->pool_w) {
    nlp_gemm_linear(t->x, n, H, h->pool_w->w, h->pool_b->w, H, t->pooled, threads);
    for (size_t i = 0; i < n * H; i++) t->pooled[i] = tanhf(t->pooled[i]);
    p = t->pooled;
  }
  if (h->pre_w) {
    dropout(p, t->p1, t->m1, n * H, p_drop, t->keep, r);
    nlp_gemm_linear(t->p1, n, H, h->pre_w->w, h->pre_b->w, H, t->pre, threads);
    for (size_t i = 0; i < n * H; i++) t->pre[i] = t->pre[i] > 0 ? t->pre[i] : 0.0f;
    p = t->pre;
  }
  dropout(p, t->p2, t->m2, n * H, p_drop, t->keep, r);
  nlp_gemm_linear(t->p2, n, H, h->out_w->w, h->out_b->w, h->n_out, logits, threads);
}

/* log-sum-exp cross-entropy of one row; adds W * (softmax - onehot) to D. */
static double ce_row(const float *z, size_t c, size_t stride, int32_t y, double w, float *d,
                     double norm) {
  double mx = -INFINITY;
  for (size_t j = 0; j < c; j++) mx = fmax(mx, z[j * stride]);
  double s = 0.0;
  for (size_t j = 0; j < c; j++) s += exp(z[j * stride] - mx);
  double lse = mx + log(s);
  if (d)
    for (size_t j = 0; j < c; j++)
      d[j * stride] += (float)(w * (exp(z[j * stride] - lse) - (j == (size_t)y)) / norm);
  return w * (lse - z[(size_t)y * stride]);
}

static double bce(double z, double y, float *d, double norm) {
  /* log(1 + e^-|z|) + max(z, 0) - z y: stable for any z */
  double l = fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
  if (d) *d += (float)((1.0 / (1.0 + exp(-z)) - y) / norm);
  return l;
}

static double lse(const double *v, size_t n) {
  double m = -INFINITY, s = 0.0;
  for (size_t i = 0; i < n; i++) m = fmax(m, v[i]);
  for (size_t i = 0; i < n; i++) s += exp(v[i] - m);
  return m + log(s);
}

/* -log p(y | window) of a linear-chain CRF over the rows of Z (n x C) whose label
 * Y is >= 0; adds the gradients (divided by NORM) to DZ and the CRF tensors. */
static double crf_nll(const nlp_train_head *h, const float *z, const int32_t *y, size_t n,
                      float *dz, double norm) {
  size_t C = h->n_out, m = 0;
  size_t *idx = g_new(size_t, n + 1);
  for (size_t i = 0; i < n; i++)
    if (y[i] >= 0) idx[m++] = i;
  if (!m) {
    g_free(idx);
    return 0.0;
  }
  const float *T = h->crf_trans->w, *st = h->crf_start->w, *en = h->crf_end->w;
  double *al = g_new(double, m * C), *be = g_new(double, m * C), *tmp = g_new(double, C);
  for (size_t j = 0; j < C; j++) al[j] = st[j] + z[idx[0] * C + j];
  for (size_t t = 1; t < m; t++)
    for (size_t j = 0; j < C; j++) {
      for (size_t i = 0; i < C; i++) tmp[i] = al[(t - 1) * C + i] + T[i * C + j];
      al[t * C + j] = lse(tmp, C) + z[idx[t] * C + j];
    }
  for (size_t j = 0; j < C; j++) tmp[j] = al[(m - 1) * C + j] + en[j];
  double logz = lse(tmp, C);
  for (size_t j = 0; j < C; j++) be[(m - 1) * C + j] = en[j];
  for (size_t t = m - 1; t-- > 0;)
    for (size_t i = 0; i < C; i++) {
      for (size_t j = 0; j < C; j++) tmp[j] = T[i * C + j] + z[idx[t + 1] * C + j] + be[(t + 1) * C + j];
      be[t * C + i] = lse(tmp, C);
    }
  double gold = st[y[idx[0]]] + en[y[idx[m - 1]]];
  for (size_t t = 0; t < m; t++) {
    gold += z[idx[t] * C + (size_t)y[idx[t]]];
    if (t) gold += T[(size_t)y[idx[t - 1]] * C + (size_t)y[idx[t]]];
  }
  if (dz) {
    float *dT = h->crf_trans->g, *dst = h->crf_start->g, *den = h->crf_end->g;
    for (size_t t = 0; t < m; t++)
      for (size_t j = 0; j < C; j++) {
        double p = exp(al[t * C + j] + be[t * C + j] - logz), g = p - (y[idx[t]] == (int32_t)j);
        dz[idx[t] * C + j] += (float)(g / norm);
        if (t == 0) dst[j] += (float)(g / norm);
        if (t == m - 1) den[j] += (float)(g / norm);
      }
    for (size_t t = 1; t < m; t++) {
      for (size_t i = 0; i < C; i++)
        for (size_t j = 0; j < C; j++) {
          double p = exp(al[(t - 1) * C + i] + T[i * C + j] + z[idx[t] * C + j] + be[t * C + j] - logz);
          dT[i * C + j] += (float)(p / norm);
        }
      dT[(size_t)y[idx[t - 1]] * C + (size_t)y[idx[t]]] -= (float)(1.0 / norm);
    }
  }
  g_free(al);
  g_free(be);
  g_free(tmp);
  g_free(idx);
  return logz - gold;
}

void nlp_train_head_viterbi(const nlp_train_head *h, const float *z, size_t n, const int32_t *mask,
                            int32_t *out) {
  size_t C = h->n_out, m = 0;
  size_t *idx = g_new(size_t, n + 1);
  for (size_t i = 0; i < n; i++) {
    out[i] = -1;
    if (mask[i] >= 0) idx[m++] = i;
  }
  /* the labelled rows, in order, as one chain (the ner plugin decodes the same way) */
  float *e = g_new(float, m * C + 1);
  int32_t *path = g_new(int32_t, m + 1);
  for (size_t t = 0; t < m; t++) memcpy(e + t * C, z + idx[t] * C, C * sizeof(float));
  nlp_crf_viterbi(e, m, C, h->crf_trans->w, h->crf_start->w, h->crf_end->w, path);
  for (size_t t = 0; t < m; t++) out[idx[t]] = path[t];
  g_free(e);
  g_free(path);
  g_free(idx);
}

double nlp_train_head_loss(const nlp_train_head *h, const float *logits, size_t n,
                           const nlp_head_targets *tg, float *d) {
  size_t C = h->n_out;
  if (d) memset(d, 0, n * C * sizeof(float));
  double loss = 0.0;
  if (h->kind == NLP_TRAIN_HEAD_QA) {
    double norm = 2.0 * (double)tg->n_windows;
    for (size_t w = 0; w < tg->n_windows; w++) {
      const float *z = logits + tg->row0[w] * 2;
      float *dz = d ? d + tg->row0[w] * 2 : NULL;
      loss += ce_row(z, tg->rows[w], 2, tg->start[w], 1.0, dz, norm);
      loss += ce_row(z + 1, tg->rows[w], 2, tg->end[w], 1.0, dz ? dz + 1 : NULL, norm);
    }
    return tg->n_windows ? loss / norm : 0.0;
  }
  if (h->kind == NLP_TRAIN_HEAD_TOKEN && h->crf) {
    double norm = (double)(tg->n_windows ? tg->n_windows : 1);
    for (size_t w = 0; w < tg->n_windows; w++)
      loss += crf_nll(h, logits + tg->row0[w] * C, tg->labels + tg->row0[w], tg->rows[w],
                      d ? d + tg->row0[w] * C : NULL, norm);
    return loss / norm;
  }
  if (h->kind == NLP_TRAIN_HEAD_SCORER || h->multi_label) {
    double norm = (double)(n * C);
    for (size_t i = 0; i < n * C; i++) loss += bce(logits[i], tg->soft[i], d ? d + i : NULL, norm);
    return n ? loss / norm : 0.0;
  }
  double norm = 0.0;
  for (size_t i = 0; i < n; i++)
    if (tg->labels[i] >= 0) norm += h->class_weights ? h->class_weights[tg->labels[i]] : 1.0;
  if (norm == 0.0) return 0.0;
  for (size_t i = 0; i < n; i++) {
    int32_t y = tg->labels[i];
    if (y < 0) continue;
    double w = h->class_weights ? h->class_weights[y] : 1.0;
    loss += ce_row(logits + i * C, C, 1, y, w, d ? d + i * C : NULL, norm);
  }
  return loss / norm;
}

static void mask_grad(float *g, const uint8_t *m, size_t n, float keep) {
  for (size_t i = 0; i < n; i++) g[i] = m[i] ? g[i] * keep : 0.0f;
}

void nlp_train_head_backward(const nlp_train_head *h, nlp_head_tape *t, const float *dl, size_t n,
                             float *dx, int threads) {
  size_t H = h->hidden;
  float *g = t->d1, *g2 = t->d2;
  nlp_bwd_linear(t->p2, n, H, h->out_w->w, h->n_out, dl, h->out_w->g, h->out_b->g, g, false,
                 threads);
  mask_grad(g, t->m2, n * H, t->keep);
  if (h->pre_w) {
    for (size_t i = 0; i < n * H; i++) g[i] = t->pre[i] > 0 ? g[i] : 0.0f;
    nlp_bwd_linear(t->p1, n, H, h->pre_w->w, H, g, h->pre_w->g, h->pre_b->g, g2, false, threads);
    mask_grad(g2, t->m1, n * H, t->keep);
    float *s = g; g = g2; g2 = s;
  }
  if (h->pool_w) {
    for (size_t i = 0; i < n * H; i++) g[i] *= 1.0f - t->pooled[i] * t->pooled[i];
    nlp_bwd_linear(t->x, n, H, h->pool_w->w, H, g, h->pool_w->g, h->pool_b->g, dx ? g2 : NULL,
                   false, threads);
    g = g2;
  }
  if (dx) memcpy(dx, g, n * H * sizeof(float));
}
