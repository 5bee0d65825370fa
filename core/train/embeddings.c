/* embeddings.c — see embeddings.h. */
#include "train/embeddings.h"

#include <string.h>

#include "tensor/gemm.h"
#include "tensor/ops.h"
#include "train/arch.h"
#include "train/backward.h"
#include "util/error.h"

enum { WORD = NLP_TRAIN_EMB_WORD, POS = NLP_TRAIN_EMB_POS, TYPE = NLP_TRAIN_EMB_TYPE,
       LN_G = NLP_TRAIN_EMB_NORM_W, LN_B = NLP_TRAIN_EMB_NORM_B, N_TABLES = NLP_TRAIN_EMB_TENSORS };

/* MODEL's embedding tensors and the names they are stored under (both NULL for a table
 * the architecture lacks) and its position rule; false with ERROR naming a missing
 * tensor. */
static bool find_tables(const nlp_model *m, const nlp_tensor *t[N_TABLES], char *found[N_TABLES],
                        nlp_position_rule *positions, GError **error) {
  const nlp_train_arch *a = nlp_train_arch_get(m);
  const char *prefix = nlp_train_arch_prefix(m);
  for (int i = 0; i < N_TABLES; i++) {
    t[i] = NULL;
    found[i] = NULL;
    if (!a->emb[i]) continue;
    char *name = g_strconcat(prefix, a->emb[i], NULL);
    t[i] = nlp_train_arch_find(m, name, &found[i]);
    if (!t[i]) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "backbone: tensor '%s' is missing", name);
      g_free(name);
      for (int j = 0; j < i; j++) g_free(found[j]);
      return false;
    }
    g_free(name);
  }
  *positions = nlp_position_rule_of(nlp_model_get_config(m));
  return true;
}

/* ELECTRA's embeddings_project (embedding_size -> hidden_size): *W, *B and their
 * names (NAMES[0], [1], newly allocated when NAMES is given), all NULL when the
 * embeddings are as wide as the layers. */
static bool find_projection(const nlp_model *m, const nlp_tensor **w, const nlp_tensor **b, char **names,
                            GError **error) {
  const nlp_model_config *c = nlp_model_get_config(m);
  *w = *b = NULL;
  if (c->embedding_size == c->hidden_size) return true;
  char *wn = g_strconcat(nlp_train_arch_prefix(m), "embeddings_project.weight", NULL);
  char *bn = g_strconcat(nlp_train_arch_prefix(m), "embeddings_project.bias", NULL);
  *w = nlp_model_find_tensor(m, wn);
  *b = nlp_model_find_tensor(m, bn);
  bool ok = *w && *b;
  if (!ok) g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "backbone: tensor '%s' is missing", *w ? bn : wn);
  if (ok && names) {
    names[0] = wn;
    names[1] = bn;
  } else {
    g_free(wn);
    g_free(bn);
  }
  return ok;
}

bool nlp_train_embed(const nlp_model *m, const nlp_forward_input *in, float *out, GError **error) {
  const nlp_tensor *t[N_TABLES], *pw, *pb;
  char *found[N_TABLES];
  nlp_position_rule ps;
  if (!find_tables(m, t, found, &ps, error)) return false;
  for (int i = 0; i < N_TABLES; i++) g_free(found[i]);
  if (!find_projection(m, &pw, &pb, NULL, error)) return false;
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t E = c->embedding_size, T = 0;
  for (size_t s = 0; s < in->n_seqs; s++) T += in->lengths[s];
  /* HF: sum of the rows, LayerNorm at the embedding width, then the projection */
  float *e = pw ? g_new(float, T * E + 1) : out;
  nlp_embed_rows(t[WORD]->data, t[POS]->data, t[TYPE] ? t[TYPE]->data : NULL, E, &ps, in->n_seqs, in->lengths,
                 in->ids, in->type_ids, e);
  nlp_op_layer_norm(e, T, E, t[LN_G]->data, t[LN_B]->data, c->layer_norm_eps, e);
  if (pw) {
    nlp_gemm_linear(e, T, E, pw->data, pb->data, c->hidden_size, out, 1);
    g_free(e);
  }
  return true;
}

bool nlp_train_embeddings_from_model(nlp_train_embeddings *e, nlp_param_set *set,
                                     const nlp_model *m, GError **error) {
  const nlp_tensor *t[N_TABLES];
  char *found[N_TABLES];
  memset(e, 0, sizeof *e);
  const nlp_model_config *c = nlp_model_get_config(m);
  const nlp_tensor *pw, *pb;
  char *proj[2] = {NULL, NULL};
  if (!find_tables(m, t, found, &e->positions, error)) return false;
  if (!find_projection(m, &pw, &pb, proj, error)) {
    for (int i = 0; i < N_TABLES; i++) g_free(found[i]);
    return false;
  }
  e->H = c->hidden_size;
  e->E = c->embedding_size;
  e->eps = c->layer_norm_eps;
  nlp_param *p[N_TABLES] = {NULL};
  for (int i = 0; i < N_TABLES; i++) {
    if (!t[i]) continue;
    /* weight decay on the tables, none on LayerNorm (HF's grouping) */
    p[i] = nlp_param_add(set, found[i], (size_t)t[i]->shape[0],
                         t[i]->ndim > 1 ? (size_t)t[i]->shape[1] : 0, i < LN_G, t[i]->data);
    g_free(found[i]);
  }
  e->word = p[WORD];
  e->pos = p[POS];
  e->type = p[TYPE];
  e->ln_g = p[LN_G];
  e->ln_b = p[LN_B];
  if (pw) { /* a Linear: weight decay on the weight, none on the bias */
    e->proj_w = nlp_param_add(set, proj[0], e->H, e->E, true, pw->data);
    e->proj_b = nlp_param_add(set, proj[1], e->H, 0, false, pb->data);
  }
  g_free(proj[0]);
  g_free(proj[1]);
  return true;
}

void nlp_train_embeddings_clear(nlp_train_embeddings *e) {
  g_free(e->xhat);
  g_free(e->inv);
  g_free(e->normed);
  g_free(e->dnormed);
  e->xhat = e->inv = e->normed = e->dnormed = NULL;
  e->cap = 0;
}

void nlp_train_embeddings_forward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                  const int32_t *ids, const int32_t *types, float *out) {
  size_t E = e->E, T = 0;
  for (size_t s = 0; s < n_seqs; s++) T += lengths[s];
  if (T > e->cap) {
    nlp_train_embeddings_clear(e);
    e->xhat = g_new(float, T * E);
    e->inv = g_new(float, T);
    if (e->proj_w) {
      e->normed = g_new(float, T * E);
      e->dnormed = g_new(float, T * E);
    }
    e->cap = T;
  }
  float *x = e->proj_w ? e->normed : out;
  nlp_embed_rows(e->word->w, e->pos->w, e->type ? e->type->w : NULL, E, &e->positions, n_seqs, lengths,
                 ids, types, x);
  nlp_fwd_layer_norm(x, NULL, T, E, e->ln_g->w, e->ln_b->w, e->eps, x, e->xhat, e->inv);
  if (e->proj_w) nlp_gemm_linear(x, T, E, e->proj_w->w, e->proj_b->w, e->H, out, 1);
}

void nlp_train_embeddings_backward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                   const int32_t *ids, const int32_t *types, float *dy) {
  size_t H = e->H, E = e->E, T = 0;
  for (size_t s = 0; s < n_seqs; s++) T += lengths[s];
  float *d = dy;
  if (e->proj_w) {
    /* out = normed W^T + b: dW += dy^T normed, db += the column sums of dy,
     * d(normed) = dy W */
    nlp_gemm(true, false, H, E, T, 1.0f, dy, H, e->normed, E, 1.0f, e->proj_w->g, E, 1);
    for (size_t t = 0; t < T; t++)
      for (size_t j = 0; j < H; j++) e->proj_b->g[j] += dy[t * H + j];
    nlp_gemm(false, false, T, E, H, 1.0f, dy, H, e->proj_w->w, E, 0.0f, e->dnormed, E, 1);
    d = e->dnormed;
  }
  nlp_bwd_layer_norm(d, e->xhat, e->inv, T, E, e->ln_g->w, e->ln_g->g, e->ln_b->g, d);
  size_t t = 0;
  for (size_t s = 0; s < n_seqs; s++) {
    size_t count = 0;
    for (size_t i = 0; i < lengths[s]; i++, t++) {
      const float *dt = d + t * E;
      float *gw = e->word->g + (size_t)ids[t] * E;
      float *gp = e->pos->g + nlp_position_row(&e->positions, ids[t], i, &count) * E;
      float *gt = e->type ? e->type->g + (size_t)(types ? types[t] : 0) * E : NULL;
      for (size_t j = 0; j < E; j++) {
        gw[j] += dt[j];
        gp[j] += dt[j];
      }
      if (gt)
        for (size_t j = 0; j < E; j++) gt[j] += dt[j];
    }
  }
}
