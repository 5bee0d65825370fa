/* layer.h — an encoder layer that can learn: forward saving activations ("tape"),
 * and backward through attention, layer norm, GELU and feed-forward.
 *
 * Used for --unfreeze-top N: the top N layers of a backbone are copied into a
 * parameter set under their HF names and run here; the frozen layers below run
 * once, through the same code in eval mode, to fill the feature cache with the
 * input of the first trainable layer. Checked against nlp_model_forward in
 * tests/test-train-grads.c (same numbers as core/model to ~1e-5) and against torch
 * autograd for the gradients.
 *
 * Post-LN block, packed sequences (no padding), as core/model/encoder.c; BERT's,
 * which RoBERTa shares and DistilBERT has under other names (train/arch.h):
 *   a = drop(Wo attn(x) + bo); y1 = LN1(x + a); f = drop(W2 gelu(W1 y1 + b1) + b2);
 *   y = LN2(y1 + f), with attention-probability dropout inside attn(). DistilBERT
 * does not drop a. */
#ifndef NLP_TRAIN_LAYER_H
#define NLP_TRAIN_LAYER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "train/param.h"
#include "train/rng.h"

typedef struct nlp_train_layer {
  nlp_param *qw, *qb, *kw, *kb, *vw, *vb, *ow, *ob, *ln1g, *ln1b, *iw, *ib, *fw, *fb, *ln2g,
      *ln2b;
  size_t H, I, nh;
  float eps;
  nlp_activation act; /* gelu (erf), gelu_new (tanh) or relu, from config.json */
  bool no_attn_output_dropout; /* DistilBERT's block: a is not dropped */
} nlp_train_layer;

/* Copies layer INDEX of MODEL into SET under the checkpoint's names
 * ("bert.encoder.layer.<i>....", "distilbert.transformer.layer.<i>...."; train/arch.h).
 * Returns false with ERROR naming the architecture when it cannot be trained, or
 * the missing tensor. */
bool nlp_train_layer_from_model(nlp_train_layer *layer, nlp_param_set *set,
                                const nlp_model *model, size_t index, GError **error);

/* Activations of one forward pass, reused across steps (grows on demand). */
typedef struct nlp_layer_tape nlp_layer_tape;
nlp_layer_tape *nlp_layer_tape_new(void);
void nlp_layer_tape_free(nlp_layer_tape *tape);

typedef struct nlp_layer_batch {
  size_t n_seqs;
  const size_t *lengths;
  size_t tokens;
} nlp_layer_batch;

/* Y (tokens x H) = layer(X). RNG NULL = evaluation (no dropout); otherwise hidden
 * dropout P_HIDDEN and attention dropout P_ATTN with masks drawn from RNG and kept
 * on the tape for backward. X may not alias Y. */
void nlp_train_layer_forward(const nlp_train_layer *layer, nlp_layer_tape *tape,
                             const nlp_layer_batch *b, const float *x, float *y, float p_hidden,
                             float p_attn, nlp_rng *rng, int threads);
/* DX = d loss / d x from DY, accumulating the weight gradients into the set. Must
 * follow the forward of the same batch on the same tape. DX may alias DY. */
void nlp_train_layer_backward(const nlp_train_layer *layer, nlp_layer_tape *tape,
                              const nlp_layer_batch *b, const float *dy, float *dx, int threads);


#endif
