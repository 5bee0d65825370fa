/* model-internal.h — the bound weights of an open model, shared by model.c
 * (loading), encoder.c (forward) and heads.c. Not for use outside core/model. */
#ifndef NLP_MODEL_MODEL_INTERNAL_H
#define NLP_MODEL_MODEL_INTERNAL_H

#include "model/model.h"
#include "tensor/safetensors.h"

/* torch.nn.Linear: w [out x in], b [out] (b may be NULL). packed: w re-laid for
 * nlp_packed_linear (the encoder layers' Linears; NULL elsewhere), inside the
 * model's packed block. */
typedef struct { const float *w, *b; size_t out, in; const float *packed; } nlp_linear;
typedef struct { const float *gamma, *beta; size_t n; } nlp_norm;

typedef struct {
  nlp_linear q, k, v, attn_out, ffn_in, ffn_out;
  nlp_norm attn_norm, out_norm;
} nlp_encoder_layer;

struct nlp_model {
  char *dir;
  nlp_model_config *cfg;
  GPtrArray *shards;      /* nlp_safetensors*, the mappings */
  GHashTable *tensors;    /* name -> nlp_tensor* (owned values, keys borrowed) */
  float *arena;           /* f16/bf16 converted to f32 (and misaligned f32), owned, mmapped */
  size_t arena_floats;
  GHashTable *converted;  /* arena float* -> its nlp_safetensors_entry; until pack_layers */
  /* Arena tensors whose pages were given back after packing (float* -> entry): the
   * next nlp_model_find_tensor of one converts it again, under `lazy`. */
  GHashTable *released;
  GMutex lazy;
  float *packed;          /* the encoder layers' weights in panel form, owned (aligned) */
  const float *word_emb, *pos_emb, *type_emb; /* type_emb NULL for DistilBERT */
  nlp_norm emb_norm;
  nlp_linear emb_project; /* ELECTRA embeddings_project; w NULL when absent */
  nlp_encoder_layer *layers;
  nlp_linear pooler;      /* BERT/ELECTRA pooler.dense; w NULL when absent */
  nlp_linear head_dense;  /* classifier.dense / pre_classifier; w NULL when absent */
  nlp_linear head_out;    /* classifier / classifier.out_proj / qa_outputs */
};

struct nlp_forward_ctx {
  const nlp_model *model;
  int threads;
  size_t cap_tokens, cap_len, cap_seqs;
  float *q, *k, *v, *inter, *scores, *emb; /* per-token buffers, owned */
  float *attn, *tmp;      /* aliases of q and k, see nlp_forward_ctx_ensure */
  float *seq_a, *seq_b;   /* n_seqs x hidden, for the pooled heads */
  size_t *seq_start;      /* n_seqs: first packed token of each sequence */
};

/* Grows CTX's buffers to hold T tokens, N sequences and sequences of L tokens. */
void nlp_forward_ctx_ensure(nlp_forward_ctx *ctx, size_t t, size_t n, size_t l);

/* y = x W^T + b over N rows with the ctx's thread count. */
void nlp_linear_apply(const nlp_forward_ctx *ctx, const nlp_linear *lin, const float *x, size_t n,
                      float *y);

#endif
