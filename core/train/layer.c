/* layer.c — training forward/backward of an encoder layer (see layer.h). */
#include "train/layer.h"

#include <math.h>
#include <string.h>

#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "train/arch.h"
#include "train/backward.h"
#include "util/error.h"

struct nlp_layer_tape {
  size_t cap_t, cap_p, cap_l;
  float *x, *q, *k, *v, *ctx, *xhat1, *inv1, *y1, *pre, *act, *xhat2, *inv2;
  float *probs, *scratch, *tmp, *dq, *dk, *dv, *dint, *dh, *dh2;
  uint8_t *m1, *m2, *pmask;
  bool dropout;
  bool drop_attn_out; /* m1 was applied to the attention output */
  float keep_h, keep_a;
};

nlp_layer_tape *nlp_layer_tape_new(void) { return g_new0(nlp_layer_tape, 1); }

void nlp_layer_tape_free(nlp_layer_tape *t) {
  if (!t) return;
  float *fs[] = {t->x, t->q, t->k, t->v, t->ctx, t->xhat1, t->inv1, t->y1, t->pre, t->act,
                 t->xhat2, t->inv2, t->probs, t->scratch, t->tmp, t->dq, t->dk, t->dv,
                 t->dint, t->dh, t->dh2};
  for (size_t i = 0; i < G_N_ELEMENTS(fs); i++) g_free(fs[i]);
  g_free(t->m1);
  g_free(t->m2);
  g_free(t->pmask);
  g_free(t);
}

static void tape_ensure(nlp_layer_tape *t, size_t T, size_t H, size_t I, size_t P, size_t Lmax) {
  if (T > t->cap_t) {
    float **th[] = {&t->x, &t->q, &t->k, &t->v, &t->ctx, &t->xhat1, &t->y1, &t->xhat2,
                    &t->tmp, &t->dq, &t->dk, &t->dv, &t->dh, &t->dh2};
    for (size_t i = 0; i < G_N_ELEMENTS(th); i++) {
      g_free(*th[i]);
      *th[i] = g_new(float, T * H);
    }
    float **ti[] = {&t->pre, &t->act, &t->dint};
    for (size_t i = 0; i < G_N_ELEMENTS(ti); i++) {
      g_free(*ti[i]);
      *ti[i] = g_new(float, T * I);
    }
    g_free(t->inv1);
    g_free(t->inv2);
    t->inv1 = g_new(float, T);
    t->inv2 = g_new(float, T);
    g_free(t->m1);
    g_free(t->m2);
    t->m1 = g_new(uint8_t, T * H);
    t->m2 = g_new(uint8_t, T * H);
    t->cap_t = T;
  }
  if (P > t->cap_p) {
    g_free(t->probs);
    g_free(t->pmask);
    t->probs = g_new(float, P);
    t->pmask = g_new(uint8_t, P);
    t->cap_p = P;
  }
  if (Lmax > t->cap_l) {
    g_free(t->scratch);
    t->scratch = g_new(float, 2 * Lmax * Lmax);
    t->cap_l = Lmax;
  }
}

/* Copies the tensor NAME (d0 x d1, d1 = 0 for a vector) into SET under the name it is
 * stored under; NULL with ERROR when missing or of another size. */
static nlp_param *copy_tensor(nlp_param_set *set, const nlp_model *m, const char *name,
                              size_t d0, size_t d1, bool decay, GError **error) {
  if (error && *error) return NULL;
  char *found = NULL;
  const nlp_tensor *t = nlp_train_arch_find(m, name, &found);
  nlp_param *p = NULL;
  if (!t || t->numel != d0 * (d1 ? d1 : 1))
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "backbone: tensor '%s' %s", name,
                t ? "has an unexpected shape" : "is missing");
  else
    p = nlp_param_add(set, found, d0, d1, decay, t->data);
  g_free(found);
  return p;
}

bool nlp_train_layer_from_model(nlp_train_layer *L, nlp_param_set *set, const nlp_model *m,
                                size_t index, GError **error) {
  const nlp_train_arch *a = nlp_train_arch_get(m);
  const char *prefix = nlp_train_arch_prefix(m);
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t H = c->hidden_size, I = c->intermediate_size;
  memset(L, 0, sizeof *L);
  L->H = H;
  L->I = I;
  L->nh = c->num_heads;
  L->eps = c->layer_norm_eps;
  L->act = c->hidden_act;
  L->no_attn_output_dropout = a->no_attn_output_dropout;
  /* weight then bias of each module; weight decay on the matrices only (HF's grouping) */
  struct { nlp_param **w, **b; size_t d0, d1; } spec[NLP_TRAIN_LAYER_MODULES] = {
      [NLP_TRAIN_Q] = {&L->qw, &L->qb, H, H},
      [NLP_TRAIN_K] = {&L->kw, &L->kb, H, H},
      [NLP_TRAIN_V] = {&L->vw, &L->vb, H, H},
      [NLP_TRAIN_ATTN_OUT] = {&L->ow, &L->ob, H, H},
      [NLP_TRAIN_ATTN_NORM] = {&L->ln1g, &L->ln1b, H, 0},
      [NLP_TRAIN_FFN_IN] = {&L->iw, &L->ib, I, H},
      [NLP_TRAIN_FFN_OUT] = {&L->fw, &L->fb, H, I},
      [NLP_TRAIN_OUT_NORM] = {&L->ln2g, &L->ln2b, H, 0},
  };
  GError *err = NULL;
  for (size_t k = 0; k < NLP_TRAIN_LAYER_MODULES; k++) {
    char *base = g_strdup_printf("%s%s%zu.%s.", prefix, a->layers, index, a->layer[k]);
    char *wn = g_strconcat(base, "weight", NULL), *bn = g_strconcat(base, "bias", NULL);
    *spec[k].w = copy_tensor(set, m, wn, spec[k].d0, spec[k].d1, spec[k].d1 != 0, &err);
    *spec[k].b = copy_tensor(set, m, bn, spec[k].d0, 0, false, &err);
    g_free(base);
    g_free(wn);
    g_free(bn);
  }
  if (err) {
    g_propagate_error(error, err);
    return false;
  }
  return true;
}

static void draw_mask(uint8_t *mask, size_t n, float p, nlp_rng *rng) {
  for (size_t i = 0; i < n; i++) mask[i] = nlp_rng_uniform(rng) >= p;
}

static void apply_mask(float *x, const uint8_t *mask, size_t n, float keep_scale) {
  for (size_t i = 0; i < n; i++) x[i] = mask[i] ? x[i] * keep_scale : 0.0f;
}

void nlp_train_layer_forward(const nlp_train_layer *L, nlp_layer_tape *t, const nlp_layer_batch *b,
                             const float *x, float *y, float p_hidden, float p_attn, nlp_rng *rng,
                             int threads) {
  size_t H = L->H, I = L->I, nh = L->nh, d = H / nh, T = b->tokens, P = 0, Lmax = 0;
  for (size_t s = 0; s < b->n_seqs; s++) {
    P += b->lengths[s] * b->lengths[s] * nh;
    if (b->lengths[s] > Lmax) Lmax = b->lengths[s];
  }
  tape_ensure(t, T, H, I, P, Lmax);
  t->dropout = rng && (p_hidden > 0 || p_attn > 0);
  t->keep_h = p_hidden < 1 ? 1.0f / (1.0f - p_hidden) : 0.0f;
  t->keep_a = p_attn < 1 ? 1.0f / (1.0f - p_attn) : 0.0f;
  bool drop_h = rng && p_hidden > 0, drop_a = rng && p_attn > 0;
  memcpy(t->x, x, T * H * sizeof(float));
  nlp_gemm_linear(x, T, H, L->qw->w, L->qb->w, H, t->q, threads);
  nlp_gemm_linear(x, T, H, L->kw->w, L->kb->w, H, t->k, threads);
  nlp_gemm_linear(x, T, H, L->vw->w, L->vb->w, H, t->v, threads);
  float scale = 1.0f / sqrtf((float)d);
  size_t off = 0, poff = 0;
  for (size_t s = 0; s < b->n_seqs; s++) {
    size_t n = b->lengths[s];
    for (size_t h = 0; h < nh; h++) {
      uint8_t *mask = NULL;
      if (drop_a) {
        mask = t->pmask + poff;
        draw_mask(mask, n * n, p_attn, rng);
      }
      nlp_fwd_attention(t->q + off * H + h * d, t->k + off * H + h * d, t->v + off * H + h * d,
                        H, n, d, scale, t->probs + poff, mask, t->keep_a,
                        t->ctx + off * H + h * d, t->scratch);
      poff += n * n;
    }
    off += n;
  }
  t->dropout = drop_a; /* remembers whether pmask is valid */
  nlp_gemm_linear(t->ctx, T, H, L->ow->w, L->ob->w, H, t->tmp, threads);
  if (!drop_h) t->keep_h = 1.0f; /* backward's masks are then the identity */
  t->drop_attn_out = drop_h && !L->no_attn_output_dropout;
  if (t->drop_attn_out) {
    draw_mask(t->m1, T * H, p_hidden, rng);
    apply_mask(t->tmp, t->m1, T * H, t->keep_h);
  }
  nlp_fwd_layer_norm(t->tmp, x, T, H, L->ln1g->w, L->ln1b->w, L->eps, t->y1, t->xhat1, t->inv1);
  nlp_gemm_linear(t->y1, T, H, L->iw->w, L->ib->w, I, t->pre, threads);
  memcpy(t->act, t->pre, T * I * sizeof(float));
  if (L->act == NLP_ACT_GELU_TANH) nlp_op_gelu_tanh(t->act, T * I);
  else if (L->act == NLP_ACT_RELU) nlp_op_relu(t->act, T * I);
  else nlp_op_gelu(t->act, T * I);
  nlp_gemm_linear(t->act, T, I, L->fw->w, L->fb->w, H, t->tmp, threads);
  if (drop_h) {
    draw_mask(t->m2, T * H, p_hidden, rng);
    apply_mask(t->tmp, t->m2, T * H, t->keep_h);
  } else {
    memset(t->m2, 1, T * H);
  }
  nlp_fwd_layer_norm(t->tmp, t->y1, T, H, L->ln2g->w, L->ln2b->w, L->eps, y, t->xhat2, t->inv2);
}

void nlp_train_layer_backward(const nlp_train_layer *L, nlp_layer_tape *t, const nlp_layer_batch *b,
                              const float *dy, float *dx, int threads) {
  size_t H = L->H, I = L->I, nh = L->nh, d = H / nh, T = b->tokens;
  float *dz = t->dh, *dy1 = t->dh2;
  /* LN2: dz2 = LN'(dy); the residual sends dz2 to y1 and (through dropout) to f */
  nlp_bwd_layer_norm(dy, t->xhat2, t->inv2, T, H, L->ln2g->w, L->ln2g->g, L->ln2b->g, dz);
  memcpy(dy1, dz, T * H * sizeof(float));
  apply_mask(dz, t->m2, T * H, t->keep_h);
  nlp_bwd_linear(t->act, T, I, L->fw->w, H, dz, L->fw->g, L->fb->g, t->dint, false, threads);
  if (L->act == NLP_ACT_RELU)
    for (size_t i = 0; i < T * I; i++) t->dint[i] = t->pre[i] > 0 ? t->dint[i] : 0.0f;
  else nlp_bwd_gelu(t->pre, t->dint, t->dint, T * I, L->act == NLP_ACT_GELU_TANH);
  nlp_bwd_linear(t->y1, T, H, L->iw->w, I, t->dint, L->iw->g, L->ib->g, dy1, true, threads);
  /* LN1: dz1 goes to x (residual) and through dropout to the attention output */
  nlp_bwd_layer_norm(dy1, t->xhat1, t->inv1, T, H, L->ln1g->w, L->ln1g->g, L->ln1b->g, dz);
  float *dxx = dy1; /* dy1 is free again: it becomes the running dx */
  memcpy(dxx, dz, T * H * sizeof(float));
  if (t->drop_attn_out) apply_mask(dz, t->m1, T * H, t->keep_h);
  float *dctx = t->tmp;
  nlp_bwd_linear(t->ctx, T, H, L->ow->w, H, dz, L->ow->g, L->ob->g, dctx, false, threads);
  float scale = 1.0f / sqrtf((float)d);
  size_t off = 0, poff = 0;
  for (size_t s = 0; s < b->n_seqs; s++) {
    size_t n = b->lengths[s];
    for (size_t h = 0; h < nh; h++) {
      size_t o = off * H + h * d;
      nlp_bwd_attention(t->q + o, t->k + o, t->v + o, H, n, d, scale, t->probs + poff,
                        t->dropout ? t->pmask + poff : NULL, t->keep_a, dctx + o, t->dq + o,
                        t->dk + o, t->dv + o, t->scratch);
      poff += n * n;
    }
    off += n;
  }
  nlp_bwd_linear(t->x, T, H, L->qw->w, H, t->dq, L->qw->g, L->qb->g, dxx, true, threads);
  nlp_bwd_linear(t->x, T, H, L->kw->w, H, t->dk, L->kw->g, L->kb->g, dxx, true, threads);
  nlp_bwd_linear(t->x, T, H, L->vw->w, H, t->dv, L->vw->g, L->vb->g, dxx, true, threads);
  memmove(dx, dxx, T * H * sizeof(float));
}
