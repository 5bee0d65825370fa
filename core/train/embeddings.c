/* embeddings.c — see embeddings.h. */
#include "train/embeddings.h"

#include <string.h>

#include "tensor/ops.h"
#include "train/backward.h"
#include "train/layer.h"
#include "util/error.h"

enum { WORD, POS, TYPE, LN_G, LN_B, N_TABLES };
static const char *const names[N_TABLES] = {
    "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias"};
/* old checkpoints name LayerNorm's tensors gamma/beta */
static const char *const old_names[N_TABLES] = {NULL, NULL, NULL, "embeddings.LayerNorm.gamma",
                                                "embeddings.LayerNorm.beta"};

/* MODEL's five embedding tensors and their names; false with ERROR naming one missing. */
static bool find_tables(const nlp_model *m, const nlp_tensor *t[N_TABLES],
                        char *found[N_TABLES], GError **error) {
  const char *prefix = nlp_train_model_prefix(m, error);
  if (!prefix) return false;
  for (int i = 0; i < N_TABLES; i++) {
    found[i] = g_strconcat(prefix, names[i], NULL);
    t[i] = nlp_model_find_tensor(m, found[i]);
    if (!t[i] && old_names[i]) {
      char *alt = g_strconcat(prefix, old_names[i], NULL);
      if ((t[i] = nlp_model_find_tensor(m, alt))) {
        g_free(found[i]);
        found[i] = alt;
      } else {
        g_free(alt);
      }
    }
    if (!t[i]) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "backbone: tensor '%s' is missing", found[i]);
      for (int j = 0; j <= i; j++) g_free(found[j]);
      return false;
    }
  }
  return true;
}

/* out[t] = word[ids[t]] + pos[position of t in its sequence] + type[types[t]] */
static size_t sum_rows(const float *word, const float *pos, const float *type, size_t H,
                       size_t n_seqs, const size_t *lengths, const int32_t *ids,
                       const int32_t *types, float *out) {
  size_t t = 0;
  for (size_t s = 0; s < n_seqs; s++)
    for (size_t i = 0; i < lengths[s]; i++, t++) {
      const float *w = word + (size_t)ids[t] * H, *p = pos + i * H;
      const float *ty = type + (size_t)(types ? types[t] : 0) * H;
      float *o = out + t * H;
      for (size_t j = 0; j < H; j++) o[j] = w[j] + ty[j] + p[j];
    }
  return t;
}

bool nlp_train_embed(const nlp_model *m, const nlp_forward_input *in, float *out, GError **error) {
  const nlp_tensor *t[N_TABLES];
  char *found[N_TABLES];
  if (!find_tables(m, t, found, error)) return false;
  for (int i = 0; i < N_TABLES; i++) g_free(found[i]);
  const nlp_model_config *c = nlp_model_get_config(m);
  size_t H = c->hidden_size;
  size_t T = sum_rows(t[WORD]->data, t[POS]->data, t[TYPE]->data, H, in->n_seqs, in->lengths,
                      in->ids, in->type_ids, out);
  nlp_op_layer_norm(out, T, H, t[LN_G]->data, t[LN_B]->data, c->layer_norm_eps, out);
  return true;
}

bool nlp_train_embeddings_from_model(nlp_train_embeddings *e, nlp_param_set *set,
                                     const nlp_model *m, GError **error) {
  const nlp_tensor *t[N_TABLES];
  char *found[N_TABLES];
  if (!find_tables(m, t, found, error)) return false;
  memset(e, 0, sizeof *e);
  const nlp_model_config *c = nlp_model_get_config(m);
  e->H = c->hidden_size;
  e->eps = c->layer_norm_eps;
  nlp_param *p[N_TABLES];
  for (int i = 0; i < N_TABLES; i++) {
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
  return true;
}

void nlp_train_embeddings_clear(nlp_train_embeddings *e) {
  g_free(e->xhat);
  g_free(e->inv);
  e->xhat = e->inv = NULL;
  e->cap = 0;
}

void nlp_train_embeddings_forward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                  const int32_t *ids, const int32_t *types, float *out) {
  size_t H = e->H, T = 0;
  for (size_t s = 0; s < n_seqs; s++) T += lengths[s];
  if (T > e->cap) {
    g_free(e->xhat);
    g_free(e->inv);
    e->xhat = g_new(float, T * H);
    e->inv = g_new(float, T);
    e->cap = T;
  }
  sum_rows(e->word->w, e->pos->w, e->type->w, H, n_seqs, lengths, ids, types, out);
  nlp_fwd_layer_norm(out, NULL, T, H, e->ln_g->w, e->ln_b->w, e->eps, out, e->xhat, e->inv);
}

void nlp_train_embeddings_backward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                   const int32_t *ids, const int32_t *types, float *dy) {
  size_t H = e->H, T = 0;
  for (size_t s = 0; s < n_seqs; s++) T += lengths[s];
  nlp_bwd_layer_norm(dy, e->xhat, e->inv, T, H, e->ln_g->w, e->ln_g->g, e->ln_b->g, dy);
  size_t t = 0;
  for (size_t s = 0; s < n_seqs; s++)
    for (size_t i = 0; i < lengths[s]; i++, t++) {
      const float *d = dy + t * H;
      float *gw = e->word->g + (size_t)ids[t] * H, *gp = e->pos->g + i * H;
      float *gt = e->type->g + (size_t)(types ? types[t] : 0) * H;
      for (size_t j = 0; j < H; j++) {
        gw[j] += d[j];
        gp[j] += d[j];
        gt[j] += d[j];
      }
    }
}
