/* embeddings.h — the embedding block as a trainable piece (training option
 * "train_embeddings"): word + position (+ token-type) rows summed, then LayerNorm,
 * then (ELECTRA with embeddings narrower than its layers) embeddings_project; backward
 * scatters the gradient into the rows the batch used. The rows are those the
 * inference encoder reads (model/embed-rows.h: RoBERTa counts positions from
 * pad_token_id + 1); DistilBERT has no token types (train/arch.h).
 *
 * Why: the bundled backbones are pretrained on little text, so their word vectors
 * carry little of what a task needs; with every layer unfrozen, letting the word
 * vectors move too is what full fine-tuning in transformers does. Only with every
 * encoder layer trainable: the frozen feature cache holds the embeddings' output. */
#ifndef NLP_TRAIN_EMBEDDINGS_H
#define NLP_TRAIN_EMBEDDINGS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/embed-rows.h"
#include "model/model.h"
#include "train/param.h"

typedef struct nlp_train_embeddings {
  nlp_param *word, *pos, *type, *ln_g, *ln_b; /* type NULL: none (DistilBERT) */
  nlp_param *proj_w, *proj_b; /* ELECTRA's embeddings_project [H x E], [H]; NULL: E = H */
  nlp_position_rule positions;
  size_t H, E; /* the layers' width, the tables' width */
  float eps;
  /* tape of the last forward: normalised rows and 1/std per token; with a projection
   * also its input (the LayerNorm output) and room for its gradient (tokens x E) */
  float *xhat, *inv, *normed, *dnormed;
  size_t cap;
} nlp_train_embeddings;

/* Frozen embeddings (word + position (+ type), then LayerNorm, then ELECTRA's
 * embeddings_project when the embeddings are narrower than the layers) of MODEL, as
 * core/model computes them: OUT gets tokens x H. False with ERROR naming a missing
 * tensor. */
bool nlp_train_embed(const nlp_model *model, const nlp_forward_input *in, float *out,
                     GError **error);

/* Copies MODEL's embedding tensors (and ELECTRA's embeddings_project) into SET under
 * the checkpoint's names. Returns false with ERROR as nlp_train_embed. */
bool nlp_train_embeddings_from_model(nlp_train_embeddings *e, nlp_param_set *set,
                                     const nlp_model *model, GError **error);
void nlp_train_embeddings_clear(nlp_train_embeddings *e);

/* OUT [T x H] = LN(word[ids] + pos[p] + type[types]) for N_SEQS sequences of LENGTHS
 * (positions restart in each, p as e->positions says); TYPES may be NULL (all 0). */
void nlp_train_embeddings_forward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                  const int32_t *ids, const int32_t *types, float *out);
/* Accumulates the gradients for DY [T x H] (the gradient of the last forward's OUT;
 * DY may be overwritten). */
void nlp_train_embeddings_backward(nlp_train_embeddings *e, size_t n_seqs, const size_t *lengths,
                                   const int32_t *ids, const int32_t *types, float *dy);

#endif
