/* arch.h — what training through the encoder needs to know about each architecture:
 * the Hugging Face names of its embedding and layer tensors, and the few places its
 * maths differ from BERT's. One table (arch.c) instead of tests on the architecture
 * scattered through the trainer.
 *
 * Parameters are copied under the checkpoint's own names (the family prefix when the
 * checkpoint has one, old gamma/beta LayerNorm spellings as found), so a fine-tuned
 * backbone is written back with exactly the names it was read with and loads in the
 * runtime and in transformers unchanged. */
#ifndef NLP_TRAIN_ARCH_H
#define NLP_TRAIN_ARCH_H

#include <glib.h>
#include <stdbool.h>

#include "model/model.h"

/* The modules of one encoder layer, in the order nlp_train_layer holds them; each has
 * a .weight and a .bias. */
enum {
  NLP_TRAIN_Q, NLP_TRAIN_K, NLP_TRAIN_V, NLP_TRAIN_ATTN_OUT, NLP_TRAIN_ATTN_NORM,
  NLP_TRAIN_FFN_IN, NLP_TRAIN_FFN_OUT, NLP_TRAIN_OUT_NORM, NLP_TRAIN_LAYER_MODULES
};

/* The embedding tensors, in the order they join a parameter set. */
enum { NLP_TRAIN_EMB_WORD, NLP_TRAIN_EMB_POS, NLP_TRAIN_EMB_TYPE, NLP_TRAIN_EMB_NORM_W,
       NLP_TRAIN_EMB_NORM_B, NLP_TRAIN_EMB_TENSORS };

typedef struct nlp_train_arch {
  nlp_arch arch;
  /* The prefix of every encoder tensor in task-model checkpoints ("bert."); bare
   * *Model checkpoints have none. */
  const char *family;
  /* Layer i's modules are <prefix><layers><i>.<layer[k]>. */
  const char *layers;
  const char *layer[NLP_TRAIN_LAYER_MODULES];
  /* Without the prefix; NULL: the architecture has no such table (DistilBERT's token
   * types). */
  const char *emb[NLP_TRAIN_EMB_TENSORS];
  /* DistilBERT applies no dropout to the attention output before its residual (only
   * to the attention probabilities and the feed-forward output). */
  bool no_attn_output_dropout;
} nlp_train_arch;

/* MODEL's entry (every architecture the runtime opens has one). */
const nlp_train_arch *nlp_train_arch_get(const nlp_model *model);

/* The prefix of MODEL's encoder tensors: the family's, or "" in a bare checkpoint. */
const char *nlp_train_arch_prefix(const nlp_model *model);

/* The tensor NAME of MODEL, or its old spelling (LayerNorm gamma/beta for
 * weight/bias, which HF renames on load as core/model does); *FOUND (newly
 * allocated) gets the name it is stored under. NULL when neither exists. */
const nlp_tensor *nlp_train_arch_find(const nlp_model *model, const char *name, char **found);

#endif
