/* encoder.c — the transformer encoder forward pass on packed sequences.
 *
 * Tokens of all sequences are packed into one T x H matrix, so every Linear is a
 * single product over T rows (no padding rows; the layers' weights prepacked, see
 * tensor/packed-linear.h, the others through BLIS), while attention runs per
 * sequence and head on its true length L (an L x L score block): a batch costs
 * exactly the sum of its sequences, and a sequence's numbers do not depend on its
 * neighbours. Post-LN blocks as in BERT: x = LN(x + Attn(x)); x = LN(x + FFN(x)). */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "model/embed-rows.h"
#include "model/model-internal.h"
#include "tensor/gemm.h"
#include "tensor/packed-linear.h"
#include "tensor/ops.h"
#include "util/error.h"

nlp_forward_ctx *nlp_forward_ctx_new(const nlp_model *model, int threads) {
  nlp_forward_ctx *ctx = g_new0(nlp_forward_ctx, 1);
  ctx->model = model;
  ctx->threads = threads > 0 ? threads : nlp_compute_default_threads();
  return ctx;
}

void nlp_forward_ctx_free(nlp_forward_ctx *ctx) {
  if (!ctx) return;
  g_free(ctx->q); g_free(ctx->k); g_free(ctx->v);
  g_free(ctx->inter); g_free(ctx->scores); g_free(ctx->emb);
  g_free(ctx->seq_a); g_free(ctx->seq_b); g_free(ctx->seq_start);
  g_free(ctx);
}

void nlp_forward_ctx_ensure(nlp_forward_ctx *ctx, size_t t, size_t n, size_t l) {
  const nlp_model_config *c = ctx->model->cfg;
  size_t H = c->hidden_size, I = c->intermediate_size, E = c->embedding_size;
  if (t > ctx->cap_tokens) {
    /* grow geometrically so a slowly rising batch size reallocates rarely */
    size_t cap = MAX(t, ctx->cap_tokens + ctx->cap_tokens / 2);
    g_free(ctx->q); g_free(ctx->k); g_free(ctx->v);
    g_free(ctx->inter); g_free(ctx->emb);
    ctx->q = g_new(float, cap * H);
    ctx->k = g_new(float, cap * H);
    ctx->v = g_new(float, cap * H);
    /* Aliases that keep the workspace at 3 T x H + T x I floats: attention writes
     * head h of sequence s over q's block for (s, h), which it has just finished
     * reading; after attention K is dead, so the Linear outputs go there. */
    ctx->attn = ctx->q;
    ctx->tmp = ctx->k;
    ctx->inter = g_new(float, cap * MAX(I, 2));
    /* only ELECTRA with embedding_size != hidden needs the pre-projection buffer */
    ctx->emb = ctx->model->emb_project.w ? g_new(float, cap * E) : NULL;
    ctx->cap_tokens = cap;
  }
  if (l > ctx->cap_len) {
    g_free(ctx->scores);
    /* one L x L score block per thread: attention runs heads in parallel */
    ctx->scores = g_new(float, (size_t)ctx->threads * l * l);
    ctx->cap_len = l;
  }
  if (n > ctx->cap_seqs) {
    size_t cap = MAX(n, ctx->cap_seqs * 2);
    g_free(ctx->seq_a); g_free(ctx->seq_b); g_free(ctx->seq_start);
    ctx->seq_a = g_new(float, cap * H);
    ctx->seq_b = g_new(float, cap * H);
    ctx->seq_start = g_new(size_t, cap);
    ctx->cap_seqs = cap;
  }
}

void nlp_forward_ctx_reserve(nlp_forward_ctx *ctx, size_t max_tokens, size_t max_seqs,
                             size_t max_len) {
  nlp_forward_ctx_ensure(ctx, max_tokens, max_seqs, max_len);
}

void nlp_linear_apply(const nlp_forward_ctx *ctx, const nlp_linear *lin, const float *x, size_t n,
                      float *y) {
  if (lin->packed)
    nlp_packed_linear(x, n, lin->in, lin->packed, lin->b, lin->out, y, ctx->threads);
  else
    nlp_gemm_linear(x, n, lin->in, lin->w, lin->b, lin->out, y, ctx->threads);
}

/* word + position (+ token type) embeddings (model/embed-rows.h: RoBERTa positions
 * follow HF create_position_ids_from_input_ids), then LayerNorm. */
static void embed(const nlp_model *m, const nlp_forward_input *in, float *out) {
  const nlp_model_config *c = m->cfg;
  size_t E = c->embedding_size;
  nlp_position_rule rule = nlp_position_rule_of(c);
  size_t t = nlp_embed_rows(m->word_emb, m->pos_emb, m->type_emb, E, &rule, in->n_seqs, in->lengths,
                            in->ids, in->type_ids, out);
  nlp_op_layer_norm(out, t, E, m->emb_norm.gamma, m->emb_norm.beta, c->layer_norm_eps, out);
}

static int thread_index(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* With threads inside the products (ctx->threads > 1) the steps between them are
 * threaded too, else they would be the serial part that caps the speed-up at batch
 * 1. Each (sequence, head) block and each row is computed by one thread exactly as
 * it would be alone, so the numbers do not depend on the thread count. */

/* softmax(Q K^T / sqrt(d)) V for each sequence and head, on its own length; the
 * (sequence, head) pairs are shared among the threads, each with its own scores. */
static void attention(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_forward_input *in) {
  const nlp_model_config *c = m->cfg;
  size_t H = c->hidden_size, nh = c->num_heads, d = H / nh, pairs = in->n_seqs * nh;
  float scale = 1.0f / sqrtf((float)d);
  bool parallel = ctx->threads > 1 && pairs > 1;
  (void)parallel; /* read only by the pragma */
#pragma omp parallel for num_threads(ctx->threads) schedule(dynamic, 1) if (parallel)
  for (size_t p = 0; p < pairs; p++) {
    size_t s = p / nh, h = p % nh, L = in->lengths[s], off = ctx->seq_start[s];
    float *scores = ctx->scores + (size_t)thread_index() * ctx->cap_len * ctx->cap_len;
    const float *q = ctx->q + off * H + h * d, *k = ctx->k + off * H + h * d;
    const float *v = ctx->v + off * H + h * d;
    nlp_gemm(false, true, L, L, d, 1.0f, q, H, k, H, 0.0f, scores, L, 1);
    nlp_op_softmax(scores, L, L, scale);
    nlp_gemm(false, false, L, d, L, 1.0f, scores, L, v, H, 0.0f, ctx->attn + off * H + h * d, H,
             1);
  }
}

static void activation(nlp_activation act, float *x, size_t n) {
  switch (act) {
  case NLP_ACT_GELU: nlp_op_gelu(x, n); break;
  case NLP_ACT_GELU_TANH: nlp_op_gelu_tanh(x, n); break;
  case NLP_ACT_RELU: nlp_op_relu(x, n); break;
  }
}

/* Below this many floats a fork/join costs more than the second thread saves. */
#define PARALLEL_MIN_FLOATS 16384

/* the activation over T rows of I, rows split among the threads */
static void activation_rows(const nlp_forward_ctx *ctx, nlp_activation act, float *x, size_t t,
                            size_t I) {
  int nw = ctx->threads > 1 && t * I >= PARALLEL_MIN_FLOATS ? ctx->threads : 1;
#pragma omp parallel for num_threads(nw) schedule(static) if (nw > 1)
  for (int w = 0; w < nw; w++) {
    size_t r0 = t * (size_t)w / (size_t)nw, r1 = t * (size_t)(w + 1) / (size_t)nw;
    activation(act, x + r0 * I, (r1 - r0) * I);
  }
}

/* x = LN(x + y) over T rows of H, rows split among the threads */
static void add_layer_norm_rows(const nlp_forward_ctx *ctx, const float *y, float *x, size_t t,
                                const nlp_norm *norm) {
  const nlp_model_config *c = ctx->model->cfg;
  size_t H = c->hidden_size;
  int nw = ctx->threads > 1 && t * H >= PARALLEL_MIN_FLOATS ? ctx->threads : 1;
#pragma omp parallel for num_threads(nw) schedule(static) if (nw > 1)
  for (int w = 0; w < nw; w++) {
    size_t r0 = t * (size_t)w / (size_t)nw, r1 = t * (size_t)(w + 1) / (size_t)nw;
    nlp_op_add_layer_norm(y + r0 * H, x + r0 * H, r1 - r0, H, norm->gamma, norm->beta,
                          c->layer_norm_eps, x + r0 * H);
  }
}

static void encoder_layer(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_encoder_layer *L,
                          const nlp_forward_input *in, size_t t, float *x) {
  const nlp_model_config *c = m->cfg;
  nlp_linear_apply(ctx, &L->q, x, t, ctx->q);
  nlp_linear_apply(ctx, &L->k, x, t, ctx->k);
  nlp_linear_apply(ctx, &L->v, x, t, ctx->v);
  attention(m, ctx, in);
  nlp_linear_apply(ctx, &L->attn_out, ctx->attn, t, ctx->tmp);
  add_layer_norm_rows(ctx, ctx->tmp, x, t, &L->attn_norm);
  nlp_linear_apply(ctx, &L->ffn_in, x, t, ctx->inter);
  activation_rows(ctx, c->hidden_act, ctx->inter, t, c->intermediate_size);
  nlp_linear_apply(ctx, &L->ffn_out, ctx->inter, t, ctx->tmp);
  add_layer_norm_rows(ctx, ctx->tmp, x, t, &L->out_norm);
}

static bool check_input(const nlp_model *m, const nlp_forward_input *in, size_t *tokens,
                        size_t *max_len, GError **error) {
  const nlp_model_config *c = m->cfg;
  size_t t = 0, ml = 0;
  size_t limit = c->max_positions - (size_t)MIN((size_t)c->position_offset, c->max_positions);
  for (size_t s = 0; s < in->n_seqs; s++) {
    size_t L = in->lengths[s];
    if (L == 0 || L > limit) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                  "%s: sequence %zu has %zu tokens; this model takes 1 to %zu", m->dir, s, L,
                  limit);
      return false;
    }
    for (size_t i = 0; i < L; i++, t++) {
      if (in->ids[t] < 0 || (size_t)in->ids[t] >= c->vocab_size) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                    "%s: sequence %zu token %zu: id %d outside the vocabulary (0..%zu)", m->dir,
                    s, i, in->ids[t], c->vocab_size - 1);
        return false;
      }
      if (in->type_ids && m->type_emb &&
          (in->type_ids[t] < 0 || (size_t)in->type_ids[t] >= c->type_vocab_size)) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                    "%s: sequence %zu token %zu: token type %d outside 0..%zu", m->dir, s, i,
                    in->type_ids[t], c->type_vocab_size - 1);
        return false;
      }
    }
    ml = MAX(ml, L);
  }
  *tokens = t;
  *max_len = ml;
  return true;
}

bool nlp_model_forward(const nlp_model *m, nlp_forward_ctx *ctx, const nlp_forward_input *in,
                       float *hidden, GError **error) {
  size_t t, max_len;
  if (!check_input(m, in, &t, &max_len, error)) return false;
  if (t == 0) return true;
  nlp_forward_ctx_ensure(ctx, t, in->n_seqs, max_len);
  for (size_t s = 0, off = 0; s < in->n_seqs; off += in->lengths[s++]) ctx->seq_start[s] = off;
  const nlp_model_config *c = m->cfg;
  if (m->emb_project.w) {
    embed(m, in, ctx->emb);
    nlp_linear_apply(ctx, &m->emb_project, ctx->emb, t, hidden);
  } else {
    embed(m, in, hidden);
  }
  for (size_t l = 0; l < c->num_layers; l++) encoder_layer(m, ctx, &m->layers[l], in, t, hidden);
  return true;
}
