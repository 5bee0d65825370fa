/* heads.c — pooled output and the HF task heads, on packed hidden states. */
#include <string.h>

#include "model/model-internal.h"
#include "tensor/ops.h"
#include "util/error.h"

static size_t total_tokens(const nlp_forward_input *in) {
  size_t t = 0;
  for (size_t s = 0; s < in->n_seqs; s++) t += in->lengths[s];
  return t;
}

static bool need_head(const nlp_model *m, nlp_head_kind kind, const char *what, GError **error) {
  if (m->cfg->head == kind && m->head_out.w) return true;
  g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
              "%s: %s needs a model with that head; config.json architectures[0] is '%s'",
              m->dir, what, m->cfg->architecture);
  return false;
}

bool nlp_model_pooled(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                      const float *hidden, float *pooled, GError **error) {
  (void)error;
  const nlp_model_config *c = m->cfg;
  size_t H = c->hidden_size, n = in->n_seqs, off = 0;
  nlp_forward_ctx_ensure(ctx, 0, n, 0);
  /* first token of each sequence: [CLS] / <s> */
  for (size_t s = 0; s < n; s++) {
    memcpy(ctx->seq_a + s * H, hidden + off * H, H * sizeof(float));
    off += in->lengths[s];
  }
  if (c->head == NLP_HEAD_SEQUENCE_CLASSIFICATION && m->head_dense.w) {
    nlp_linear_apply(ctx, &m->head_dense, ctx->seq_a, n, pooled);
    if (c->arch == NLP_ARCH_DISTILBERT) nlp_op_relu(pooled, n * H);
    else if (c->arch == NLP_ARCH_ELECTRA) nlp_op_gelu(pooled, n * H);
    else nlp_op_tanh(pooled, n * H);
  } else if (m->pooler.w) {
    nlp_linear_apply(ctx, &m->pooler, ctx->seq_a, n, pooled);
    nlp_op_tanh(pooled, n * H);
  } else {
    memcpy(pooled, ctx->seq_a, n * H * sizeof(float));
  }
  return true;
}

bool nlp_model_sequence_logits(const nlp_model *m, nlp_forward_ctx *ctx,
                               const nlp_forward_input *in, const float *hidden, float *logits,
                               GError **error) {
  if (!need_head(m, NLP_HEAD_SEQUENCE_CLASSIFICATION, "sequence classification", error))
    return false;
  nlp_forward_ctx_ensure(ctx, 0, in->n_seqs, 0);
  if (!nlp_model_pooled(m, ctx, in, hidden, ctx->seq_b, error)) return false;
  nlp_linear_apply(ctx, &m->head_out, ctx->seq_b, in->n_seqs, logits);
  return true;
}

bool nlp_model_token_logits(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                            const float *hidden, float *logits, GError **error) {
  if (!need_head(m, NLP_HEAD_TOKEN_CLASSIFICATION, "token classification", error)) return false;
  nlp_linear_apply(ctx, &m->head_out, hidden, total_tokens(in), logits);
  return true;
}

bool nlp_model_qa_logits(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                         const float *hidden, float *start, float *end, GError **error) {
  if (!need_head(m, NLP_HEAD_QUESTION_ANSWERING, "question answering", error)) return false;
  size_t t = total_tokens(in);
  nlp_forward_ctx_ensure(ctx, t, 0, 0);
  nlp_linear_apply(ctx, &m->head_out, hidden, t, ctx->inter); /* t x 2 */
  for (size_t i = 0; i < t; i++) {
    start[i] = ctx->inter[2 * i];
    end[i] = ctx->inter[2 * i + 1];
  }
  return true;
}
