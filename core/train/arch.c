/* arch.c — the per-architecture table of arch.h. */
#include "train/arch.h"

#include <string.h>

#include "util/error.h"

#define BERT_LAYER                                                                         \
  {"attention.self.query", "attention.self.key", "attention.self.value",                 \
   "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",         \
   "output.dense", "output.LayerNorm"}
#define BERT_EMB                                                                           \
  {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",         \
   "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",             \
   "embeddings.LayerNorm.bias"}

static const nlp_train_arch table[] = {
    {NLP_ARCH_BERT, "bert.", "encoder.layer.", BERT_LAYER, BERT_EMB, false},
    /* also XLM-RoBERTa and CamemBERT, whose checkpoints use the same names */
    {NLP_ARCH_ROBERTA, "roberta.", "encoder.layer.", BERT_LAYER, BERT_EMB, false},
    {NLP_ARCH_DISTILBERT, "distilbert.", "transformer.layer.",
     {"attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
      "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"},
     {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", NULL,
      "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"},
     true},
    /* its layers are BERT's; its embeddings may be narrower than the layers, behind
     * embeddings_project (train/embeddings.c applies and trains it) */
    {NLP_ARCH_ELECTRA, "electra.", "encoder.layer.", BERT_LAYER, BERT_EMB, false},
};

const nlp_train_arch *nlp_train_arch_get(const nlp_model *m) {
  nlp_arch arch = nlp_model_get_config(m)->arch;
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
    if (table[i].arch == arch) return &table[i];
  g_assert_not_reached(); /* config.c opens no other architecture */
  return NULL;
}

const char *nlp_train_arch_prefix(const nlp_model *m) {
  const nlp_train_arch *a = nlp_train_arch_get(m);
  char *probe = g_strconcat(a->family, a->emb[NLP_TRAIN_EMB_WORD], NULL);
  bool has = nlp_model_find_tensor(m, probe) != NULL;
  g_free(probe);
  return has ? a->family : "";
}

const nlp_tensor *nlp_train_arch_find(const nlp_model *m, const char *name, char **found) {
  const nlp_tensor *t = nlp_model_find_tensor(m, name);
  if (t) {
    *found = g_strdup(name);
    return t;
  }
  const char *old = g_str_has_suffix(name, "LayerNorm.weight") ? "gamma"
                    : g_str_has_suffix(name, "LayerNorm.bias") ? "beta" : NULL;
  if (!old) return NULL;
  size_t keep = strlen(name) - strlen(g_str_has_suffix(name, ".weight") ? "weight" : "bias");
  char *alt = g_strdup_printf("%.*s%s", (int)keep, name, old);
  if ((t = nlp_model_find_tensor(m, alt))) {
    *found = alt;
    return t;
  }
  g_free(alt);
  return NULL;
}
