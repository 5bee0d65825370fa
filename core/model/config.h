/* config.h — what config.json says about an encoder, validated.
 *
 * config.json decides the architecture: model_type picks the family (bert and
 * BERT-shaped models such as MiniLM, distilbert, roberta, xlm-roberta, electra);
 * architectures[0] picks the head (…Model, …ForSequenceClassification,
 * …ForTokenClassification, …ForQuestionAnswering; any other known-family class
 * loads as a bare encoder). Unsupported families or options are refused with
 * NLP_ERROR_UNSUPPORTED naming the file and the key. */
#ifndef NLP_MODEL_CONFIG_H
#define NLP_MODEL_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
  NLP_ARCH_BERT,
  NLP_ARCH_ROBERTA,     /* also xlm-roberta and camembert: positions offset by pad id */
  NLP_ARCH_DISTILBERT,
  NLP_ARCH_ELECTRA,
} nlp_arch;

typedef enum { NLP_ACT_GELU, NLP_ACT_GELU_TANH, NLP_ACT_RELU } nlp_activation;

typedef enum {
  NLP_HEAD_NONE,
  NLP_HEAD_SEQUENCE_CLASSIFICATION,
  NLP_HEAD_TOKEN_CLASSIFICATION,
  NLP_HEAD_QUESTION_ANSWERING,
} nlp_head_kind;

typedef struct nlp_model_config {
  char *model_type;    /* as written ("bert", "xlm-roberta", ...) */
  char *architecture;  /* architectures[0], or "<Family>Model" when absent */
  nlp_arch arch;
  nlp_head_kind head;
  size_t vocab_size, hidden_size, num_layers, num_heads, intermediate_size;
  size_t max_positions, type_vocab_size;
  size_t embedding_size;  /* ELECTRA's may differ from hidden_size; else = hidden */
  int pad_token_id;       /* -1 when absent */
  /* position id of the first token: 0, or pad_token_id + 1 for RoBERTa-family
   * models (HF create_position_ids_from_input_ids) */
  int position_offset;
  float layer_norm_eps;
  nlp_activation hidden_act;
  size_t num_labels;      /* from id2label / num_labels, 2 when neither is given */
  char **labels;          /* num_labels strings, "LABEL_i" where id2label has none */
  char *id2label_json;    /* id2label object as JSON text, NULL when absent */
  char *problem_type;     /* NULL when absent */
} nlp_model_config;

/* Parses DIR/config.json (PATH is the file). Ownership: new object, free with
 * nlp_model_config_free (NULL is a no-op). */
nlp_model_config *nlp_model_config_load(const char *path, GError **error);
void nlp_model_config_free(nlp_model_config *cfg);

const char *nlp_arch_name(nlp_arch arch);

#endif
