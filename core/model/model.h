/* model.h — Hugging Face encoder checkpoints (BERT family) loaded and run.
 *
 * A model is a local folder in HF layout: config.json + model.safetensors (or
 * shards listed in model.safetensors.index.json). The weights are memory-mapped:
 * f32 tensors are used in place, f16/bf16 are converted once to f32 at open.
 * Supported: BERT (and BERT-shaped models like MiniLM), RoBERTa / XLM-RoBERTa /
 * CamemBERT, DistilBERT, ELECTRA (discriminator); heads *ForSequenceClassification,
 * *ForTokenClassification, *ForQuestionAnswering with HF's tensor names.
 *
 * Usage:
 *   nlp_model *m = nlp_model_open(dir, &err);
 *   nlp_forward_ctx *ctx = nlp_forward_ctx_new(m, 1);    // one per thread
 *   nlp_forward_input in = {n_seqs, lengths, ids, type_ids};  // packed, no padding
 *   float *hidden = malloc(total_tokens * H * sizeof *hidden);
 *   nlp_model_forward(m, ctx, &in, hidden, &err);
 *   nlp_model_sequence_logits(m, ctx, &in, hidden, logits, &err);
 *
 * Threads: a model is immutable after open and may be shared by any number of
 * threads, each with its own nlp_forward_ctx. The ctx says how many BLIS threads
 * its GEMMs use. Call nlp_compute_init() (tensor/gemm.h) once before any thread
 * starts; nlp_model_open calls it too.
 *
 * Numbers: f32 throughout; a sequence's outputs do not depend on the other
 * sequences of its batch (no padding: attention runs on each true length). */
#ifndef NLP_MODEL_MODEL_H
#define NLP_MODEL_MODEL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "tensor/tensor.h"

typedef struct nlp_model nlp_model;
typedef struct nlp_forward_ctx nlp_forward_ctx;

/* Opens DIR (config.json + weights), validates every tensor the architecture needs
 * (name and shape, error naming the file and the tensor). Ownership: new object,
 * nlp_model_free (NULL is a no-op) unmaps everything; tensors and config borrowed
 * from it die with it. */
nlp_model *nlp_model_open(const char *dir, GError **error);
void nlp_model_free(nlp_model *model);

const nlp_model_config *nlp_model_get_config(const nlp_model *model);

/* The f32 view of an HF tensor by its full name as stored
 * ("bert.encoder.layer.0.attention.self.query.weight"); NULL if absent or not a
 * floating-point tensor. Borrowed. */
const nlp_tensor *nlp_model_find_tensor(const nlp_model *model, const char *hf_name);

/* The checkpoint's weight files as opened: model.safetensors, or the shards that
 * model.safetensors.index.json lists, in that order (each with its path and entries in
 * header order). For whoever must see every stored tensor, e.g. the trainer writing a
 * whole fine-tuned backbone. Borrowed. */
struct nlp_safetensors;
size_t nlp_model_n_weight_files(const nlp_model *model);
const struct nlp_safetensors *nlp_model_weight_file(const nlp_model *model, size_t i);

/* Size of the vector nlp_model_pooled writes per sequence (hidden size). */
size_t nlp_model_hidden_size(const nlp_model *model);

/* A batch: N_SEQS sequences packed back to back (no padding), LENGTHS[i] >= 1
 * tokens each, IDS / TYPE_IDS of sum(LENGTHS) entries. TYPE_IDS may be NULL (all 0). */
typedef struct nlp_forward_input {
  size_t n_seqs;
  const size_t *lengths;
  const int32_t *ids;
  const int32_t *type_ids;
} nlp_forward_input;

/* Per-thread reusable workspace. It grows to the largest batch seen and is then
 * reused: no allocation per call in steady state. THREADS = BLIS threads of its
 * GEMMs (0 = nlp_compute_default_threads()). Ownership: new, nlp_forward_ctx_free. */
nlp_forward_ctx *nlp_forward_ctx_new(const nlp_model *model, int threads);
void nlp_forward_ctx_free(nlp_forward_ctx *ctx);
/* Pre-sizes CTX for batches of up to MAX_TOKENS tokens, MAX_SEQS sequences and
 * sequences of up to MAX_LEN tokens (optional; forward grows it on demand). */
void nlp_forward_ctx_reserve(nlp_forward_ctx *ctx, size_t max_tokens, size_t max_seqs,
                             size_t max_len);

/* Encoder forward: HIDDEN_OUT receives sum(lengths) x hidden_size floats (the last
 * hidden state, packed like the input). Refuses (NLP_ERROR_INPUT) ids outside the
 * vocabulary, type ids outside type_vocab_size, empty sequences and sequences
 * longer than the position table allows. */
bool nlp_model_forward(const nlp_model *model, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                       float *hidden_out, GError **error);

/* The heads, on HIDDEN from nlp_model_forward of the same IN.
 * pooled: n_seqs x hidden. BERT/ELECTRA with a pooler: tanh(pooler.dense(h[CLS]));
 *   a sequence-classification model's own pre-logit vector where HF has one
 *   (RoBERTa: tanh(classifier.dense(h[<s>])), DistilBERT: relu(pre_classifier(h[CLS])),
 *   ELECTRA: gelu(classifier.dense(h[CLS]))); otherwise h[CLS] itself.
 * sequence_logits: n_seqs x num_labels (needs a *ForSequenceClassification model).
 * token_logits: sum(lengths) x num_labels (needs *ForTokenClassification).
 * qa_logits: start and end, sum(lengths) each (needs *ForQuestionAnswering).
 * They fail with NLP_ERROR_UNSUPPORTED when the model lacks that head. */
bool nlp_model_pooled(const nlp_model *model, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                      const float *hidden, float *pooled, GError **error);
bool nlp_model_sequence_logits(const nlp_model *model, nlp_forward_ctx *ctx,
                               const nlp_forward_input *in, const float *hidden, float *logits,
                               GError **error);
bool nlp_model_token_logits(const nlp_model *model, nlp_forward_ctx *ctx,
                            const nlp_forward_input *in, const float *hidden, float *logits,
                            GError **error);
bool nlp_model_qa_logits(const nlp_model *model, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                         const float *hidden, float *start_logits, float *end_logits,
                         GError **error);

#endif
