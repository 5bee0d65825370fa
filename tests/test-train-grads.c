/* test-train-grads.c — the backward kernels and heads of core/train against torch
 * autograd (float64) on the fixtures of tests/gen/train/gen_grads.py: every gradient
 * within 1e-3 relative error (||got - want|| / ||want||), one test per layer type
 * (attention, layer norm, GELU, feed-forward, the whole encoder layer) and per head;
 * and the training forward of a whole BERT, RoBERTa, XLM-R and DistilBERT (embeddings +
 * layers, eval mode) against nlp_model_forward; whole RoBERTa and DistilBERT encoders
 * against torch, forward and every gradient. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/harness.h"
#include "model/model.h"
#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "tensor/safetensors.h"
#include "train/backward.h"
#include "util/error.h"
#include "train/embeddings.h"
#include "train/heads.h"
#include "train/layer.h"

#define GRADS "tests/fixtures/train/grads.safetensors"

static nlp_safetensors *fx;

static const float *get(const char *name, size_t *n) {
  const nlp_safetensors_entry *e = nlp_safetensors_find(fx, name);
  if (!e) {
    fprintf(stderr, "\nfixture lacks %s\n", name);
    CU_FAIL_FATAL("fixture tensor missing");
  }
  if (n) *n = e->numel;
  return e->data;
}

/* A copy (the mapping may be unaligned for float access). */
static float *fx_copy(const char *name, size_t *n) {
  size_t k;
  const float *p = get(name, &k);
  if (n) *n = k;
  return g_memdup2(p, k * sizeof(float));
}

/* ||got - want|| / ||want||; *MAX_ABS (if not NULL) gets max |got - want|. */
static double compare(const float *got, const char *want_name, double *max_abs) {
  size_t n;
  float *want = fx_copy(want_name, &n);
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    den += (double)want[i] * want[i];
    if (max_abs) *max_abs = fmax(*max_abs, fabs((double)got[i] - want[i]));
  }
  g_free(want);
  /* a floor for gradients that are zero in exact arithmetic (key and QA biases:
   * softmax ignores a constant shift), where f32 leaves ~1e-8 of noise */
  double e = sqrt(num) / fmax(sqrt(den), 1e-3);
  if (e > 1e-3) fprintf(stderr, "\n%s: relative error %.3g\n", want_name, e);
  return e;
}

static double rel_err(const float *got, const char *want_name) {
  return compare(got, want_name, NULL);
}

#define CHECK(got, name) CU_ASSERT_TRUE(rel_err((got), (name)) <= 1e-3)

static int suite_init(void) {
  fx = nlp_safetensors_open(GRADS, NULL);
  return fx ? 0 : 1;
}
static int suite_clean(void) {
  nlp_safetensors_free(fx);
  return 0;
}

static void test_layer_norm(void) {
  float *x = fx_copy("ln.x", NULL), *g = fx_copy("ln.g", NULL), *b = fx_copy("ln.b", NULL), *r = fx_copy("ln.r", NULL);
  float y[96], xh[96], inv[6], dx[96], dg[16] = {0}, db[16] = {0};
  nlp_fwd_layer_norm(x, NULL, 6, 16, g, b, 1e-5f, y, xh, inv);
  nlp_bwd_layer_norm(r, xh, inv, 6, 16, g, dg, db, dx);
  CHECK(dx, "ln.grad.x");
  CHECK(dg, "ln.grad.g");
  CHECK(db, "ln.grad.b");
  /* the forward agrees with the inference op */
  float y2[96];
  nlp_op_layer_norm(x, 6, 16, g, b, 1e-5f, y2);
  for (int i = 0; i < 96; i++) CU_ASSERT_DOUBLE_EQUAL(y[i], y2[i], 1e-5);
  g_free(x); g_free(g); g_free(b); g_free(r);
}

static void test_gelu(void) {
  float *x = fx_copy("gelu.x", NULL), *r = fx_copy("gelu.r", NULL), dx[40];
  nlp_bwd_gelu(x, r, dx, 40, false);
  CHECK(dx, "gelu.grad.x");
  g_free(x); g_free(r);
}

static void test_attention(void) {
  float *q = fx_copy("attn.q", NULL), *k = fx_copy("attn.k", NULL), *v = fx_copy("attn.v", NULL);
  float *r = fx_copy("attn.r", NULL);
  float probs[25], out[40], scratch[50], dq[40], dk[40], dv[40];
  float scale = 1.0f / sqrtf(8.0f);
  nlp_fwd_attention(q, k, v, 8, 5, 8, scale, probs, NULL, 1.0f, out, scratch);
  nlp_bwd_attention(q, k, v, 8, 5, 8, scale, probs, NULL, 1.0f, r, dq, dk, dv, scratch);
  CHECK(dq, "attn.grad.q");
  CHECK(dk, "attn.grad.k");
  CHECK(dv, "attn.grad.v");
  g_free(q); g_free(k); g_free(v); g_free(r);
}

static void test_feed_forward(void) {
  float *x = fx_copy("ffn.x", NULL), *w1 = fx_copy("ffn.w1", NULL), *b1 = fx_copy("ffn.b1", NULL);
  float *w2 = fx_copy("ffn.w2", NULL), *b2 = fx_copy("ffn.b2", NULL), *r = fx_copy("ffn.r", NULL);
  float pre[144], act[144], y[96], dact[144], dx[96];
  float dw1[384] = {0}, db1[24] = {0}, dw2[384] = {0}, db2[16] = {0};
  nlp_gemm_linear(x, 6, 16, w1, b1, 24, pre, 1);
  memcpy(act, pre, sizeof act);
  nlp_op_gelu(act, 144);
  nlp_gemm_linear(act, 6, 24, w2, b2, 16, y, 1);
  nlp_bwd_linear(act, 6, 24, w2, 16, r, dw2, db2, dact, false, 1);
  nlp_bwd_gelu(pre, dact, dact, 144, false);
  nlp_bwd_linear(x, 6, 16, w1, 24, dact, dw1, db1, dx, false, 1);
  CHECK(dx, "ffn.grad.x");
  CHECK(dw1, "ffn.grad.w1");
  CHECK(db1, "ffn.grad.b1");
  CHECK(dw2, "ffn.grad.w2");
  CHECK(db2, "ffn.grad.b2");
  g_free(x); g_free(w1); g_free(b1); g_free(w2); g_free(b2); g_free(r);
}

static void test_encoder_layer(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_layer L = {.H = 16, .I = 24, .nh = 2, .eps = 1e-12f};
  struct { nlp_param **p; const char *n; size_t d0, d1; } spec[] = {
      {&L.qw, "qw", 16, 16}, {&L.qb, "qb", 16, 0}, {&L.kw, "kw", 16, 16}, {&L.kb, "kb", 16, 0},
      {&L.vw, "vw", 16, 16}, {&L.vb, "vb", 16, 0}, {&L.ow, "ow", 16, 16}, {&L.ob, "ob", 16, 0},
      {&L.ln1g, "ln1g", 16, 0}, {&L.ln1b, "ln1b", 16, 0}, {&L.iw, "iw", 24, 16},
      {&L.ib, "ib", 24, 0}, {&L.fw, "fw", 16, 24}, {&L.fb, "fb", 16, 0},
      {&L.ln2g, "ln2g", 16, 0}, {&L.ln2b, "ln2b", 16, 0}};
  for (size_t i = 0; i < G_N_ELEMENTS(spec); i++) {
    char *n = g_strconcat("layer.", spec[i].n, NULL);
    float *w = fx_copy(n, NULL);
    *spec[i].p = nlp_param_add(set, spec[i].n, spec[i].d0, spec[i].d1, true, w);
    g_free(w);
    g_free(n);
  }
  size_t lens[2] = {5, 3};
  nlp_layer_batch b = {2, lens, 8};
  float *x = fx_copy("layer.x", NULL), *r = fx_copy("layer.r", NULL), y[128], dx[128];
  nlp_layer_tape *t = nlp_layer_tape_new();
  nlp_train_layer_forward(&L, t, &b, x, y, 0.1f, 0.1f, NULL, 1); /* rng NULL: no dropout */
  CHECK(y, "layer.y");
  nlp_train_layer_backward(&L, t, &b, r, dx, 1);
  CHECK(dx, "layer.grad.x");
  for (size_t i = 0; i < G_N_ELEMENTS(spec); i++) {
    char *n = g_strconcat("layer.grad.", spec[i].n, NULL);
    CHECK((*spec[i].p)->g, n);
    g_free(n);
  }
  /* dropout: the same rng stream gives the same masks, so forward is reproducible */
  float y1[128], y2[128];
  nlp_rng r1 = nlp_rng_make(7, 1, 2), r2 = nlp_rng_make(7, 1, 2);
  nlp_train_layer_forward(&L, t, &b, x, y1, 0.3f, 0.3f, &r1, 1);
  nlp_train_layer_forward(&L, t, &b, x, y2, 0.3f, 0.3f, &r2, 1);
  CU_ASSERT_EQUAL(memcmp(y1, y2, sizeof y1), 0);
  CU_ASSERT_NOT_EQUAL(memcmp(y1, y, sizeof y1), 0);
  nlp_layer_tape_free(t);
  nlp_param_set_free(set);
  g_free(x);
  g_free(r);
}

/* dropout gradient by finite differences: with a fixed mask the layer is a smooth
 * function of x, so the analytic dx matches (f(x+h e) - f(x-h e)) / 2h. */
static void test_encoder_layer_dropout_fd(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_layer L = {.H = 16, .I = 24, .nh = 2, .eps = 1e-12f};
  nlp_param **ps[] = {&L.qw, &L.qb, &L.kw, &L.kb, &L.vw, &L.vb, &L.ow, &L.ob, &L.ln1g, &L.ln1b,
                      &L.iw, &L.ib, &L.fw, &L.fb, &L.ln2g, &L.ln2b};
  const char *names[] = {"qw", "qb", "kw", "kb", "vw", "vb", "ow", "ob", "ln1g", "ln1b",
                         "iw", "ib", "fw", "fb", "ln2g", "ln2b"};
  for (size_t i = 0; i < 16; i++) {
    char *n = g_strconcat("layer.", names[i], NULL);
    size_t k;
    float *w = fx_copy(n, &k);
    *ps[i] = nlp_param_add(set, names[i], k, 0, true, w);
    g_free(w);
    g_free(n);
  }
  size_t lens[2] = {5, 3};
  nlp_layer_batch b = {2, lens, 8};
  float *x = fx_copy("layer.x", NULL), *r = fx_copy("layer.r", NULL), y[128], dx[128];
  nlp_layer_tape *t = nlp_layer_tape_new();
  nlp_rng rng = nlp_rng_make(3, 0, 0);
  nlp_train_layer_forward(&L, t, &b, x, y, 0.2f, 0.2f, &rng, 1);
  nlp_train_layer_backward(&L, t, &b, r, dx, 1);
  double worst = 0;
  for (size_t i = 0; i < 128; i += 9) {
    double f[2];
    for (int s = 0; s < 2; s++) {
      float xs[128];
      memcpy(xs, x, sizeof xs);
      xs[i] += s ? -1e-2f : 1e-2f;
      nlp_rng again = nlp_rng_make(3, 0, 0);
      nlp_train_layer_forward(&L, t, &b, xs, y, 0.2f, 0.2f, &again, 1);
      f[s] = 0;
      for (int j = 0; j < 128; j++) f[s] += (double)y[j] * r[j];
    }
    double fd = (f[0] - f[1]) / 2e-2;
    double e = fabs(fd - dx[i]) / fmax(1.0, fabs(fd));
    worst = fmax(worst, e);
  }
  CU_ASSERT_TRUE(worst < 2e-2);
  if (worst >= 2e-2) fprintf(stderr, "\nfinite-difference error %.3g\n", worst);
  nlp_layer_tape_free(t);
  nlp_param_set_free(set);
  g_free(x);
  g_free(r);
}

static void set_param(nlp_param_set *set, nlp_param **dst, const char *pname, const char *fix,
                      size_t d0, size_t d1) {
  float *w = fx_copy(fix, NULL);
  *dst = nlp_param_add(set, pname, d0, d1, true, w);
  g_free(w);
}

static void run_head(nlp_train_head *h, const char *case_name, size_t n, nlp_head_targets *tg) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s.x", case_name);
  float *x = fx_copy(buf, NULL);
  float *logits = g_new(float, n * h->n_out), *dl = g_new(float, n * h->n_out);
  float *dx = g_new(float, n * h->hidden);
  nlp_head_tape *t = nlp_head_tape_new();
  nlp_train_head_forward(h, t, x, n, 0.1f, NULL, logits, 1);
  double loss = nlp_train_head_loss(h, logits, n, tg, dl);
  snprintf(buf, sizeof buf, "%s.loss", case_name);
  CU_ASSERT_DOUBLE_EQUAL(loss, get(buf, NULL)[0], 1e-4 * fabs(get(buf, NULL)[0]) + 1e-6);
  nlp_train_head_backward(h, t, dl, n, dx, 1);
  snprintf(buf, sizeof buf, "%s.grad.x", case_name);
  CHECK(dx, buf);
  snprintf(buf, sizeof buf, "%s.grad.cw", case_name);
  CHECK(h->out_w->g, buf);
  snprintf(buf, sizeof buf, "%s.grad.cb", case_name);
  CHECK(h->out_b->g, buf);
  nlp_head_tape_free(t);
  g_free(x); g_free(logits); g_free(dl); g_free(dx);
}

static int32_t *labels_of(const char *name, size_t *n) {
  float *f = fx_copy(name, n);
  int32_t *l = g_new(int32_t, *n);
  for (size_t i = 0; i < *n; i++) l[i] = (int32_t)lrintf(f[i]);
  g_free(f);
  return l;
}

static void test_head_sequence_mlp(void) {
  nlp_param_set *set = nlp_param_set_new();
  float *w = fx_copy("seq.weights", NULL);
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_SEQUENCE, .hidden = 16, .n_out = 3, .mlp = true,
                      .pooler = true, .class_weights = w};
  set_param(set, &h.pool_w, "pw", "seq.pw", 16, 16);
  set_param(set, &h.pool_b, "pb", "seq.pb", 16, 0);
  set_param(set, &h.pre_w, "qw", "seq.qw", 16, 16);
  set_param(set, &h.pre_b, "qb", "seq.qb", 16, 0);
  set_param(set, &h.out_w, "cw", "seq.cw", 3, 16);
  set_param(set, &h.out_b, "cb", "seq.cb", 3, 0);
  size_t n;
  int32_t *labels = labels_of("seq.labels", &n);
  nlp_head_targets tg = {.labels = labels};
  run_head(&h, "seq", n, &tg);
  CHECK(h.pool_w->g, "seq.grad.pw");
  CHECK(h.pool_b->g, "seq.grad.pb");
  CHECK(h.pre_w->g, "seq.grad.qw");
  CHECK(h.pre_b->g, "seq.grad.qb");
  g_free(labels);
  g_free(w);
  nlp_param_set_free(set);
}

static void test_head_sequence_linear(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_SEQUENCE, .hidden = 16, .n_out = 3};
  set_param(set, &h.out_w, "cw", "seqlin.cw", 3, 16);
  set_param(set, &h.out_b, "cb", "seqlin.cb", 3, 0);
  size_t n;
  int32_t *labels = labels_of("seqlin.labels", &n);
  nlp_head_targets tg = {.labels = labels};
  run_head(&h, "seqlin", n, &tg);
  g_free(labels);
  nlp_param_set_free(set);
}

static void test_head_multi_label(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_SEQUENCE, .hidden = 16, .n_out = 3, .multi_label = true};
  set_param(set, &h.out_w, "cw", "multi.cw", 3, 16);
  set_param(set, &h.out_b, "cb", "multi.cb", 3, 0);
  float *t = fx_copy("multi.targets", NULL);
  nlp_head_targets tg = {.soft = t};
  run_head(&h, "multi", 6, &tg);
  g_free(t);
  nlp_param_set_free(set);
}

static void test_head_token(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_TOKEN, .hidden = 16, .n_out = 5};
  set_param(set, &h.out_w, "cw", "tok.cw", 5, 16);
  set_param(set, &h.out_b, "cb", "tok.cb", 5, 0);
  size_t n;
  int32_t *labels = labels_of("tok.labels", &n);
  nlp_head_targets tg = {.labels = labels};
  run_head(&h, "tok", n, &tg);
  g_free(labels);
  nlp_param_set_free(set);
}

static void test_head_token_crf(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_TOKEN, .hidden = 16, .n_out = 4, .crf = true};
  set_param(set, &h.out_w, "cw", "crf.cw", 4, 16);
  set_param(set, &h.out_b, "cb", "crf.cb", 4, 0);
  set_param(set, &h.crf_trans, "trans", "crf.trans", 4, 4);
  set_param(set, &h.crf_start, "start", "crf.start", 4, 0);
  set_param(set, &h.crf_end, "end", "crf.end", 4, 0);
  size_t n;
  int32_t *labels = labels_of("crf.labels", &n);
  size_t row0[2] = {0, 5}, rows[2] = {5, 4};
  nlp_head_targets tg = {.labels = labels, .n_windows = 2, .row0 = row0, .rows = rows};
  run_head(&h, "crf", n, &tg);
  CHECK(h.crf_trans->g, "crf.grad.trans");
  CHECK(h.crf_start->g, "crf.grad.start");
  CHECK(h.crf_end->g, "crf.grad.end");
  /* Viterbi: with transitions that forbid everything but staying, the path is constant */
  float z[6] = {5, 0, 0, 1, 0, 3}; /* 3 rows x 2 tags */
  float tr[4] = {0, -100, -100, 0}, se[2] = {0, 0};
  nlp_param pt = {.w = tr}, ps = {.w = se}, pe = {.w = se};
  nlp_train_head v = {.kind = NLP_TRAIN_HEAD_TOKEN, .n_out = 2, .crf = true,
                      .crf_trans = &pt, .crf_start = &ps, .crf_end = &pe};
  int32_t mask[3] = {0, -100, 0}, out[3];
  nlp_train_head_viterbi(&v, z, 3, mask, out);
  CU_ASSERT_EQUAL(out[0], 0); /* 5 + 0 beats 0 + 3 */
  CU_ASSERT_EQUAL(out[1], -1);
  CU_ASSERT_EQUAL(out[2], 0);
  g_free(labels);
  nlp_param_set_free(set);
}

static void test_head_qa(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_QA, .hidden = 16, .n_out = 2};
  set_param(set, &h.out_w, "cw", "qa.cw", 2, 16);
  set_param(set, &h.out_b, "cb", "qa.cb", 2, 0);
  size_t row0[2] = {0, 5}, rows[2] = {5, 3};
  int32_t start[2] = {2, 0}, end[2] = {3, 1};
  nlp_head_targets tg = {.n_windows = 2, .row0 = row0, .rows = rows, .start = start, .end = end};
  run_head(&h, "qa", 8, &tg);
  nlp_param_set_free(set);
}

static void test_head_scorer(void) {
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_head h = {.kind = NLP_TRAIN_HEAD_SCORER, .hidden = 16, .n_out = 1};
  set_param(set, &h.out_w, "cw", "score.cw", 1, 16);
  set_param(set, &h.out_b, "cb", "score.cb", 1, 0);
  float *t = fx_copy("score.targets", NULL);
  nlp_head_targets tg = {.soft = t};
  run_head(&h, "score", 7, &tg);
  g_free(t);
  nlp_param_set_free(set);
}

/* AdamW against torch.optim.AdamW over three updates. */
static void test_adamw(void) {
  nlp_param_set *set = nlp_param_set_new();
  float *w0 = fx_copy("adamw.w0", NULL), *gs = fx_copy("adamw.grads", NULL);
  nlp_param *p = nlp_param_add(set, "w", 10, 0, true, w0);
  nlp_adamw opt = nlp_adamw_default();
  opt.weight_decay = 0.1f;
  for (int k = 0; k < 3; k++) {
    memcpy(p->g, gs + 10 * k, 10 * sizeof(float));
    nlp_adamw_step(&opt, set, 1e-2f);
  }
  CHECK(p->w, "adamw.w3");
  /* warm-up then linear decay */
  CU_ASSERT_DOUBLE_EQUAL(nlp_lr_linear(1.0f, 0, 4, 10), 0.25, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(nlp_lr_linear(1.0f, 3, 4, 10), 1.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(nlp_lr_linear(1.0f, 4, 4, 10), 1.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(nlp_lr_linear(1.0f, 7, 4, 10), 0.5, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(nlp_lr_linear(1.0f, 10, 4, 10), 0.0, 1e-7);
  /* clipping scales to the max norm */
  for (int i = 0; i < 10; i++) p->g[i] = 3.0f;
  double norm = nlp_param_clip_grad(set, 1.0);
  CU_ASSERT_DOUBLE_EQUAL(norm, sqrt(90.0), 1e-5);
  double sq = 0;
  for (int i = 0; i < 10; i++) sq += p->g[i] * p->g[i];
  CU_ASSERT_DOUBLE_EQUAL(sqrt(sq), 1.0, 1e-5);
  g_free(w0);
  g_free(gs);
  nlp_param_set_free(set);
}

/* The training forward (embeddings + every layer, eval mode) equals the model's. */
static void test_training_forward_matches_model(void) {
  const char *dirs[] = {"tests/fixtures/encoder/bert-seqcls-f32",
                        "tests/fixtures/encoder/bert-tokcls-f16",
                        "tests/fixtures/encoder/bert-bare-bf16",
                        "tests/fixtures/encoder/roberta-seqcls-f32",
                        "tests/fixtures/encoder/xlmr-tokcls-sharded",
                        "tests/fixtures/encoder/distilbert-seqcls-f32",
                        "tests/fixtures/encoder/distilbert-qa-bf16",
                        "tests/fixtures/encoder/electra-seqcls-f32"};
  for (size_t d = 0; d < G_N_ELEMENTS(dirs); d++) {
    GError *err = NULL;
    nlp_model *m = nlp_model_open(dirs[d], &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const nlp_model_config *c = nlp_model_get_config(m);
    size_t lens[3] = {7, 1, 12}, T = 20, H = c->hidden_size;
    int32_t ids[20], types[20];
    for (size_t i = 0; i < T; i++) {
      ids[i] = (int32_t)((i * 37 + 5) % c->vocab_size);
      types[i] = c->type_vocab_size > 1 && i > 15; /* RoBERTa has one token type */
    }
    /* RoBERTa: a padding token inside a sequence takes row pad_token_id and the positions
     * after it go on from the last non-padding one */
    if (c->position_offset) ids[3] = c->pad_token_id;
    nlp_forward_input in = {3, lens, ids, types};
    float *want = g_new(float, T * H), *x = g_new(float, T * H), *y = g_new(float, T * H);
    nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, 1);
    CU_ASSERT_TRUE(nlp_model_forward(m, ctx, &in, want, &err));
    CU_ASSERT_TRUE(nlp_train_embed(m, &in, x, &err));
    nlp_param_set *set = nlp_param_set_new();
    nlp_layer_tape *t = nlp_layer_tape_new();
    nlp_layer_batch b = {3, lens, T};
    for (size_t l = 0; l < c->num_layers; l++) {
      nlp_train_layer L;
      bool bound = nlp_train_layer_from_model(&L, set, m, l, &err);
      if (!bound) fprintf(stderr, "\n%s\n", err->message);
      CU_ASSERT_TRUE_FATAL(bound);
      nlp_train_layer_forward(&L, t, &b, x, y, 0, 0, NULL, 1);
      memcpy(x, y, T * H * sizeof(float));
    }
    double worst = 0;
    for (size_t i = 0; i < T * H; i++) worst = fmax(worst, fabs(x[i] - want[i]));
    CU_ASSERT_TRUE(worst < 1e-4);
    if (worst >= 1e-4) fprintf(stderr, "\n%s: max abs diff %.3g\n", dirs[d], worst);
    nlp_layer_tape_free(t);
    nlp_param_set_free(set);
    nlp_forward_ctx_free(ctx);
    nlp_model_free(m);
    g_free(want); g_free(x); g_free(y);
  }
}

/* The trainable embedding block: its forward is the frozen one's, and its gradients
 * (LayerNorm, then rows scattered to the word / position / type tables, a word that
 * occurs twice summing both) match central finite differences of
 * loss = sum(out * R) for a fixed random R. */
static double emb_loss(nlp_train_embeddings *e, const size_t *lens, const int32_t *ids,
                       const int32_t *types, const float *r, size_t T, float *out) {
  nlp_train_embeddings_forward(e, 2, lens, ids, types, out);
  double l = 0;
  for (size_t i = 0; i < T * e->H; i++) l += (double)out[i] * r[i];
  return l;
}

static void check_embeddings(const char *dir) {
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  size_t H = nlp_model_get_config(m)->hidden_size, lens[2] = {4, 3}, T = 7;
  int32_t ids[7] = {2, 17, 9, 17, 3, 9, 5}, types[7] = {0, 0, 0, 0, 1, 1, 1};
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_embeddings e;
  CU_ASSERT_TRUE_FATAL(nlp_train_embeddings_from_model(&e, set, m, &err));
  size_t E = e.E; /* the tables' width: H, or ELECTRA's narrower embedding_size */
  float *out = g_new(float, T * H), *want = g_new(float, T * H), *r = g_new(float, T * H);
  nlp_forward_input in = {2, lens, ids, types};
  CU_ASSERT_TRUE_FATAL(nlp_train_embed(m, &in, want, &err));
  nlp_train_embeddings_forward(&e, 2, lens, ids, types, out);
  double fwd = 0; /* the training LayerNorm keeps its tape: same maths, other rounding */
  for (size_t i = 0; i < T * H; i++) fwd = fmax(fwd, fabs(out[i] - want[i]));
  CU_ASSERT(fwd <= 1e-5);
  GRand *g = g_rand_new_with_seed(5);
  for (size_t i = 0; i < T * H; i++) r[i] = (float)g_rand_double_range(g, -1, 1);
  g_rand_free(g);
  nlp_param_zero_grad(set);
  emb_loss(&e, lens, ids, types, r, T, out);
  memcpy(want, r, T * H * sizeof(float));
  nlp_train_embeddings_backward(&e, 2, lens, ids, types, want);
  /* (tensor, element): word 17 (twice), word 9 (in both sequences), an unused word,
   * position 0 (both sequences), type 1, LayerNorm gamma and beta, and ELECTRA's
   * projection (weight, bias) where there is one */
  struct { nlp_param *p; size_t i; } probe[] = {
      {e.word, 17 * E + 1}, {e.word, 9 * E + E - 1}, {e.word, 40 * E}, {e.pos, 2},
      {e.type, E + 3},      {e.ln_g, 4},             {e.ln_b, 5},      {e.proj_w, 3 * E + 7},
      {e.proj_b, 6}};
  double worst = 0;
  size_t probed = 0;
  for (size_t k = 0; k < G_N_ELEMENTS(probe); k++) {
    if (!probe[k].p) continue;
    float *w = probe[k].p->w + probe[k].i, keep = *w, h = 1e-2f;
    *w = keep + h;
    double lp = emb_loss(&e, lens, ids, types, r, T, out);
    *w = keep - h;
    double lm = emb_loss(&e, lens, ids, types, r, T, out);
    *w = keep;
    double fd = (lp - lm) / (2.0 * h), got = probe[k].p->g[probe[k].i];
    worst = fmax(worst, fabs(got - fd) / fmax(fabs(fd), 1e-2));
    probed++;
  }
  fprintf(stderr, "\n    %s: %zu probes, worst relative error vs finite differences %.2g", dir, probed, worst);
  CU_ASSERT(worst < 2e-2);
  CU_ASSERT(e.word->g[40 * E] == 0.0f); /* a word the batch does not use gets nothing */
  nlp_train_embeddings_clear(&e);
  nlp_param_set_free(set);
  nlp_model_free(m);
  g_free(out); g_free(want); g_free(r);
}

static void test_embeddings(void) {
  check_embeddings("tests/fixtures/encoder/bert-seqcls-f32");
  /* ELECTRA: 24-wide tables, LayerNorm at 24, embeddings_project up to the layers' 36 */
  check_embeddings("tests/fixtures/encoder/electra-seqcls-f32");
}

/* A whole RoBERTa / DistilBERT encoder (tests/fixtures/train/grads-*) against torch:
 * embeddings and every layer, forward in eval mode, then the backward of sum(y * r)
 * into every tensor of the checkpoint, found by its HF name (train/arch.h), each within
 * the relative error of the BERT cases. */
static void check_model(const char *dir, const char *c) {
  GError *err = NULL;
  nlp_model *m = nlp_model_open(dir, &err);
  if (!m) fprintf(stderr, "\n%s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const nlp_model_config *cfg = nlp_model_get_config(m);
  size_t H = cfg->hidden_size, NL = cfg->num_layers, n, T;
  char name[256];
  snprintf(name, sizeof name, "%s.lens", c);
  int32_t *lens32 = labels_of(name, &n);
  snprintf(name, sizeof name, "%s.ids", c);
  int32_t *ids = labels_of(name, &T), *types = g_new0(int32_t, T);
  size_t *lens = g_new(size_t, n);
  for (size_t i = 0; i < n; i++) lens[i] = (size_t)lens32[i];
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_embeddings e;
  bool ok = nlp_train_embeddings_from_model(&e, set, m, &err);
  nlp_train_layer *layers = g_new(nlp_train_layer, NL);
  nlp_layer_tape **tapes = g_new0(nlp_layer_tape *, NL);
  for (size_t l = 0; l < NL && ok; l++) {
    ok = nlp_train_layer_from_model(&layers[l], set, m, l, &err);
    tapes[l] = nlp_layer_tape_new();
  }
  if (!ok) fprintf(stderr, "\n%s\n", err->message);
  CU_ASSERT_TRUE_FATAL(ok);
  float *x = g_new(float, T * H), *y = g_new(float, T * H);
  nlp_train_embeddings_forward(&e, n, lens, ids, types, x);
  nlp_layer_batch b = {n, lens, T};
  for (size_t l = 0; l < NL; l++) {
    nlp_train_layer_forward(&layers[l], tapes[l], &b, x, y, 0.1f, 0.1f, NULL, 1);
    memcpy(x, y, T * H * sizeof(float));
  }
  snprintf(name, sizeof name, "%s.y", c);
  double y_abs = 0;
  CU_ASSERT_TRUE(compare(x, name, &y_abs) <= 1e-3);
  snprintf(name, sizeof name, "%s.r", c);
  float *dy = fx_copy(name, NULL);
  nlp_param_zero_grad(set);
  for (size_t l = NL; l-- > 0;) nlp_train_layer_backward(&layers[l], tapes[l], &b, dy, dy, 1);
  nlp_train_embeddings_backward(&e, n, lens, ids, types, dy);
  double worst = 0, max_abs = 0;
  for (guint i = 0; i < set->items->len; i++) {
    nlp_param *p = set->items->pdata[i];
    snprintf(name, sizeof name, "%s.grad.%s", c, p->name);
    double r = compare(p->g, name, &max_abs);
    CU_ASSERT(r <= 1e-3);
    worst = fmax(worst, r);
  }
  /* every tensor torch has a gradient for is one the trainer learns */
  snprintf(name, sizeof name, "%s.grad.", c);
  size_t want = 0;
  for (size_t i = 0; i < fx->n_entries; i++) want += g_str_has_prefix(fx->entries[i].name, name);
  CU_ASSERT_EQUAL(set->items->len, want);
  fprintf(stderr, "\n    %s: output max |diff| %.2g; %u tensors, gradient max |diff| %.2g, worst "
          "relative error %.2g", c, y_abs, set->items->len, max_abs, worst);
  for (size_t l = 0; l < NL; l++) nlp_layer_tape_free(tapes[l]);
  g_free(tapes);
  g_free(layers);
  nlp_train_embeddings_clear(&e);
  nlp_param_set_free(set);
  nlp_model_free(m);
  g_free(lens32); g_free(ids); g_free(types); g_free(lens); g_free(x); g_free(y); g_free(dy);
}

static void test_roberta(void) { check_model("tests/fixtures/train/grads-roberta", "rob"); }
static void test_distilbert(void) { check_model("tests/fixtures/train/grads-distilbert", "distil"); }

/* DistilBERT's block drops the feed-forward output but not the attention output: with
 * only hidden dropout, the forward consumes the rng for one mask (BERT: two), and the
 * backward of the dropped forward still matches finite differences. */
static void test_distilbert_dropout(void) {
  GError *err = NULL;
  nlp_model *m = nlp_model_open("tests/fixtures/train/grads-distilbert", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  nlp_param_set *set = nlp_param_set_new();
  nlp_train_layer L;
  CU_ASSERT_TRUE_FATAL(nlp_train_layer_from_model(&L, set, m, 1, &err));
  CU_ASSERT_TRUE(L.no_attn_output_dropout);
  size_t H = L.H, lens[2] = {5, 3}, T = 8;
  nlp_layer_batch b = {2, lens, T};
  float *x = g_new(float, T * H), *y = g_new(float, T * H), *r = g_new(float, T * H);
  float *dx = g_new(float, T * H);
  GRand *g = g_rand_new_with_seed(11);
  for (size_t i = 0; i < T * H; i++) {
    x[i] = (float)g_rand_double_range(g, -1, 1);
    r[i] = (float)g_rand_double_range(g, -1, 1);
  }
  g_rand_free(g);
  nlp_layer_tape *t = nlp_layer_tape_new();
  nlp_rng rng = nlp_rng_make(5, 0, 0), count = nlp_rng_make(5, 0, 0);
  nlp_train_layer_forward(&L, t, &b, x, y, 0.3f, 0.0f, &rng, 1);
  for (size_t i = 0; i < T * H; i++) nlp_rng_uniform(&count); /* the one mask */
  CU_ASSERT_EQUAL(nlp_rng_uniform(&rng), nlp_rng_uniform(&count));
  nlp_param_zero_grad(set);
  nlp_train_layer_backward(&L, t, &b, r, dx, 1);
  double worst = 0;
  for (size_t i = 0; i < T * H; i += 7) {
    double f[2];
    for (int s = 0; s < 2; s++) {
      float keep = x[i];
      x[i] += s ? -1e-2f : 1e-2f;
      nlp_rng again = nlp_rng_make(5, 0, 0);
      nlp_train_layer_forward(&L, t, &b, x, y, 0.3f, 0.0f, &again, 1);
      x[i] = keep;
      f[s] = 0;
      for (size_t j = 0; j < T * H; j++) f[s] += (double)y[j] * r[j];
    }
    double fd = (f[0] - f[1]) / 2e-2;
    worst = fmax(worst, fabs(fd - dx[i]) / fmax(1.0, fabs(fd)));
  }
  CU_ASSERT_TRUE(worst < 2e-2);
  if (worst >= 2e-2) fprintf(stderr, "\nfinite-difference error %.3g\n", worst);
  nlp_layer_tape_free(t);
  nlp_param_set_free(set);
  nlp_model_free(m);
  g_free(x); g_free(y); g_free(r); g_free(dx);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("train: gradients vs torch autograd", suite_init, suite_clean);
  CU_add_test(s, "layer norm", test_layer_norm);
  CU_add_test(s, "GELU", test_gelu);
  CU_add_test(s, "attention", test_attention);
  CU_add_test(s, "feed-forward", test_feed_forward);
  CU_add_test(s, "whole encoder layer", test_encoder_layer);
  CU_add_test(s, "encoder layer with dropout (finite differences)", test_encoder_layer_dropout_fd);
  CU_add_test(s, "head: pooler + MLP + weighted CE", test_head_sequence_mlp);
  CU_add_test(s, "head: linear CE", test_head_sequence_linear);
  CU_add_test(s, "head: multi-label BCE", test_head_multi_label);
  CU_add_test(s, "head: token classification", test_head_token);
  CU_add_test(s, "head: token classification + CRF", test_head_token_crf);
  CU_add_test(s, "head: QA start/end", test_head_qa);
  CU_add_test(s, "head: summary scorer", test_head_scorer);
  CU_add_test(s, "AdamW, schedule, clipping", test_adamw);
  s = CU_add_suite("train: forward", NULL, NULL);
  CU_add_test(s, "training forward == nlp_model_forward", test_training_forward_matches_model);
  CU_add_test(s, "trainable embeddings (BERT; ELECTRA's projection): forward, gradients by finite differences",
              test_embeddings);
  s = CU_add_suite("train: RoBERTa and DistilBERT vs torch autograd", suite_init, suite_clean);
  CU_add_test(s, "RoBERTa encoder: embeddings (positions from pad + 1) + layers", test_roberta);
  CU_add_test(s, "DistilBERT encoder: embeddings (no token types) + layers", test_distilbert);
  CU_add_test(s, "DistilBERT: no dropout on the attention output", test_distilbert_dropout);
}

int main(void) { return nlp_test_main(register_suites); }
