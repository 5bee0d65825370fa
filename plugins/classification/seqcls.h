/* seqcls.h — the sequence-classification core shared by the classification and
 * sentiment plugins: which head to run, its labels, logits per document from the
 * shared forward pass (windows aggregated), and HF's post-processing.
 *
 * Plugin-side only: it includes nothing of core/ but nlpipe/plugin.h. Both plugins
 * compile seqcls-*.c into their own shared object (sentiment through
 * plugins/sentiment/seqcls-shared.c), so nothing is exported or duplicated.
 *
 * Head folders (`"head": "heads/<name>"` in a pipeline step, written by `nlpipe
 * train`): head.json + head.safetensors.
 *   head.json:  {"task": "text-classification" | "sentiment",
 *                "labels": ["negative", "positive", ...]       (required, index order)
 *                "problem_type": "single_label_classification" | "multi_label_classification"
 *                                | "regression"                (optional, as config.json)
 *                "pooling": "cls" | "pooler" | "mean"          (optional, default "cls":
 *                     the first token's state; "pooler": tanh(pooler.dense(h[CLS])) with the
 *                     backbone's pooler; "mean": mean of the window's non-special tokens)
 *                "activation": "tanh" | "relu" | "gelu"        (optional, for a dense layer)}
 *   tensors:    classifier.weight [labels x H] + classifier.bias [labels]; or, with a dense
 *               layer first, either pre_classifier.{weight,bias} [H' x H] + classifier.*
 *               [labels x H'] (default activation relu, DistilBERT's) or
 *               classifier.dense.{weight,bias} + classifier.out_proj.{weight,bias} (default
 *               activation tanh, RoBERTa's).
 * Without a head folder the model's own HF head is used, chosen by the tensors present:
 *   classifier.out_proj -> classifier.dense + tanh (RoBERTa) / gelu (ELECTRA), out_proj;
 *   pre_classifier      -> relu (DistilBERT), classifier;
 *   classifier          -> tanh(pooler.dense(h[CLS])) (BERT), classifier.
 * Labels: the head folder's, else config.json id2label, else LABEL_<i>. */
#ifndef NLP_PLUGIN_SEQCLS_H
#define NLP_PLUGIN_SEQCLS_H

#include "nlpipe/plugin.h"

typedef enum { SEQCLS_FN_DEFAULT, SEQCLS_FN_SOFTMAX, SEQCLS_FN_SIGMOID, SEQCLS_FN_NONE } seqcls_function;
typedef enum { SEQCLS_AGG_MEAN, SEQCLS_AGG_MAX, SEQCLS_AGG_FIRST } seqcls_aggregation;
typedef enum { SEQCLS_ACT_NONE, SEQCLS_ACT_TANH, SEQCLS_ACT_RELU, SEQCLS_ACT_GELU } seqcls_activation;
typedef enum { SEQCLS_POOL_CLS, SEQCLS_POOL_POOLER, SEQCLS_POOL_MEAN } seqcls_pooling;

/* What the step was configured with; owns its strings. */
typedef struct seqcls {
  const nlp_host *host;
  char *step;                 /* step name, for messages */
  char *where;                /* the head folder or the model folder, for messages */
  char **labels;              /* n_labels names, index order */
  size_t n_labels;
  char *problem_type;         /* NULL when neither config nor head.json says */
  bool from_head_dir;         /* a head folder (pooling/activation from head.json) */
  seqcls_pooling pooling;
  seqcls_activation activation; /* SEQCLS_ACT_NONE: the default of the layer found */
  seqcls_aggregation aggregation;
  char *pair_field;           /* record field holding a second text, or NULL */
  size_t pair_stride;         /* overlap of pair windows; 0 = an eighth of a window */
  size_t max_positions;
  bool electra;               /* ELECTRA's classifier.dense is followed by gelu */
  bool resolved;              /* tensors looked up (needs a batch) */
  const float *dense_w, *dense_b, *out_w, *out_b;
  size_t hidden, dense_out;
  seqcls_activation dense_act;
  const float *pooler_w, *pooler_b; /* SEQCLS_POOL_POOLER */
} seqcls;

/* Reads labels, problem type and head.json settings. NULL with *error (malloc()ed)
 * when the step cannot classify: no head folder and no sequence-classification
 * architecture, an unreadable head.json, no labels. */
seqcls *nlp_seqcls_new(const nlp_host *host, const nlp_step_info *step, char **error);
void nlp_seqcls_free(seqcls *s);

/* Parses an aggregation / function name (the option's enum values). */
seqcls_aggregation nlp_seqcls_parse_aggregation(const char *name);
seqcls_function nlp_seqcls_parse_function(const char *name); /* NULL -> DEFAULT */

/* One row of aggregated logits (n_labels floats) per document of the batch, from
 * the shared pass (or a pair pass for records with a `pair_field`). Returns a
 * malloc()ed [batch_size x n_labels] array, or NULL when the whole batch failed
 * (documents already marked). `ok[d]` says which rows are valid (documents that
 * failed are marked through set_error). */
float *nlp_seqcls_batch_logits(seqcls *s, nlp_batch *batch, bool **ok);

/* HF's default function: none for regression; sigmoid for multi-label or one label;
 * softmax otherwise. */
seqcls_function nlp_seqcls_default_function(const seqcls *s);
/* scores[i] = f(logits[i]) in float32, as HF's numpy post-processing. */
void nlp_seqcls_apply(seqcls_function f, const float *logits, size_t n, float *scores);
/* HF's result for one input: top_k < 0 means "not passed" ({"label","score"} of the
 * best), top_k == 0 means all labels (top_k=None), else the k best, sorted by score
 * (stable). Transfer full. */
struct json_object *nlp_seqcls_result(const seqcls *s, const float *scores, long top_k);

/* A whole batch: per document the aggregated logits, F applied, and RESULT(CTX, scores)
 * stored as its result (transfer full); failed documents stay marked. The process()
 * of both classification and sentiment, which differ only in RESULT. */
nlp_status nlp_seqcls_process(seqcls *s, nlp_batch *batch, seqcls_function f,
                              struct json_object *(*result)(const void *ctx, const float *scores),
                              const void *ctx);

#endif
