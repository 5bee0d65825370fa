/* batch.c — one batch through the trainable part: embeddings and unfrozen layers
 * (when they learn), the head, the loss, and the backward pass into the parameter
 * gradients. */
#include <string.h>

#include "train/internal.h"

static void buf_ensure(batch_buf *b, size_t T, size_t nF, size_t ns, size_t H, size_t C) {
  if (T > b->cap_t) {
    g_free(b->x); g_free(b->y); g_free(b->dy); g_free(b->ids); g_free(b->types);
    b->x = g_new(float, T * H);
    b->y = g_new(float, T * H);
    b->dy = g_new(float, T * H);
    b->ids = g_new(int32_t, T);
    b->types = g_new(int32_t, T);
    b->cap_t = T;
  }
  if (nF > b->cap_f) {
    g_free(b->f); g_free(b->logits); g_free(b->dl); g_free(b->df); g_free(b->labels); g_free(b->soft);
    b->f = g_new(float, nF * H);
    b->df = g_new(float, nF * H);
    b->logits = g_new(float, nF * (C + 2));
    b->dl = g_new(float, nF * (C + 2));
    b->labels = g_new(int32_t, nF);
    b->soft = g_new(float, nF * (C + 1));
    b->cap_f = nF;
  }
  if (ns > b->cap_s) {
    g_free(b->lengths); g_free(b->row0); g_free(b->rows); g_free(b->start); g_free(b->end);
    b->lengths = g_new(size_t, ns);
    b->row0 = g_new(size_t, ns);
    b->rows = g_new(size_t, ns);
    b->start = g_new(int32_t, ns);
    b->end = g_new(int32_t, ns);
    b->cap_s = ns;
  }
}

void nlp_tr_buf_free(batch_buf *b) {
  g_free(b->x); g_free(b->y); g_free(b->dy); g_free(b->ids); g_free(b->types); g_free(b->f); g_free(b->df); g_free(b->logits);
  g_free(b->dl); g_free(b->labels); g_free(b->soft); g_free(b->lengths); g_free(b->row0);
  g_free(b->rows); g_free(b->start); g_free(b->end);
}

/* Forward of sequences IDX[0..n): fills b->logits (and targets); RNG NULL = eval. */
void nlp_tr_batch_forward(trainer *t, const featset *fs, const size_t *idx, size_t n,
                          nlp_rng *rng, batch_buf *b) {
  size_t H = t->H, C = t->head.n_out, T = 0, nF = 0;
  for (size_t i = 0; i < n; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    T += s->n_rows;
    nF += s->n_feat;
  }
  buf_ensure(b, T, nF, n, H, C);
  b->T = T;
  b->nF = nF;
  b->n_seq = n;
  size_t r = 0, fo = 0;
  for (size_t i = 0; i < n; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    if (t->train_emb) { /* rows are tokens: embed them below, with the current tables */
      memcpy(b->ids + r, &g_array_index(fs->ids, int32_t, s->tok0), s->n_rows * sizeof(int32_t));
      memcpy(b->types + r, &g_array_index(fs->types, int32_t, s->tok0), s->n_rows * sizeof(int32_t));
    } else {
      for (size_t k = 0; k < s->n_rows; k++) nlp_tr_row_get(fs, s->row0 + k, H, b->x + (r + k) * H);
    }
    b->lengths[i] = s->n_rows;
    b->row0[i] = fo;
    b->rows[i] = s->n_feat;
    b->start[i] = s->start;
    b->end[i] = s->end;
    const nlp_train_example *e = fs->data->examples->pdata[s->ex];
    switch (t->task) {
    case NLP_TASK_CLASSIFICATION:
      b->labels[fo] = e->label;
      if (t->head.multi_label) memcpy(b->soft + fo * C, e->multi, C * sizeof(float));
      break;
    case NLP_TASK_TOKEN_CLASSIFICATION:
      memcpy(b->labels + fo, &g_array_index(fs->tok_label, int32_t, s->tok0), s->n_tok * sizeof(int32_t));
      break;
    case NLP_TASK_SUMMARY:
      memcpy(b->soft + fo, &g_array_index(fs->feat_soft, float, s->feat0), s->n_feat * sizeof(float));
      break;
    case NLP_TASK_QUESTION_ANSWERING: break;
    }
    r += s->n_rows;
    fo += s->n_feat;
  }
  if (t->train_emb) nlp_train_embeddings_forward(&t->emb, n, b->lengths, b->ids, b->types, b->x);
  if (t->unfreeze) {
    nlp_layer_batch lb = {n, b->lengths, T};
    float *in = b->x, *out = b->y;
    for (int l = 0; l < t->unfreeze; l++) {
      nlp_train_layer_forward(&t->layers[l], t->tapes[l], &lb, in, out,
                              rng ? (float)t->dropout : 0.0f, rng ? (float)t->attn_dropout : 0.0f,
                              rng, t->threads);
      float *sw = in; in = out; out = sw;
    }
    /* in = top hidden states; pool to features */
    if (in != b->y) memcpy(b->y, in, T * H * sizeof(float));
    size_t off = 0, f = 0;
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
      const float *base = b->y + off * H;
      if (nlp_tr_ranged(t)) {
        for (size_t k = 0; k < s->n_feat; k++) {
          size_t a = g_array_index(fs->feat_a, size_t, s->feat0 + k), m = g_array_index(fs->feat_n, size_t, s->feat0 + k);
          float *o = b->f + (f + k) * H;
          memset(o, 0, H * sizeof(float));
          for (size_t q = a; q < a + m; q++)
            for (size_t j = 0; j < H; j++) o[j] += base[q * H + j];
          for (size_t j = 0; j < H; j++) o[j] /= (float)m;
        }
      } else if (t->task == NLP_TASK_CLASSIFICATION) {
        memcpy(b->f + f * H, base, H * sizeof(float));
      } else {
        memcpy(b->f + f * H, base, s->n_tok * H * sizeof(float));
      }
      off += s->n_tok;
      f += s->n_feat;
    }
    b->feat = b->f;
  } else {
    b->feat = b->x;
  }
  nlp_train_head_forward(&t->head, t->htape, b->feat, nF, rng ? (float)t->dropout : 0.0f, rng,
                         b->logits, t->threads);
}

double nlp_tr_batch_loss_backward(trainer *t, const featset *fs, const size_t *idx, batch_buf *b) {
  nlp_head_targets tg = {.labels = b->labels, .soft = b->soft, .n_windows = b->n_seq,
                         .row0 = b->row0, .rows = b->rows, .start = b->start, .end = b->end};
  double loss = nlp_train_head_loss(&t->head, b->logits, b->nF, &tg, b->dl);
  size_t H = t->H;
  nlp_train_head_backward(&t->head, t->htape, b->dl, b->nF, t->unfreeze ? b->df : NULL, t->threads);
  if (!t->unfreeze) return loss;
  memset(b->dy, 0, b->T * H * sizeof(float));
  size_t off = 0, f = 0;
  for (size_t i = 0; i < b->n_seq; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    float *base = b->dy + off * H;
    if (nlp_tr_ranged(t)) {
      for (size_t k = 0; k < s->n_feat; k++) {
        size_t a = g_array_index(fs->feat_a, size_t, s->feat0 + k), m = g_array_index(fs->feat_n, size_t, s->feat0 + k);
        const float *g = b->df + (f + k) * H;
        for (size_t q = a; q < a + m; q++)
          for (size_t j = 0; j < H; j++) base[q * H + j] += g[j] / (float)m;
      }
    } else if (t->task == NLP_TASK_CLASSIFICATION) {
      memcpy(base, b->df + f * H, H * sizeof(float)); /* the [CLS] row */
    } else {
      memcpy(base, b->df + f * H, s->n_tok * H * sizeof(float));
    }
    off += s->n_tok;
    f += s->n_feat;
  }
  nlp_layer_batch lb = {b->n_seq, b->lengths, b->T};
  for (int l = t->unfreeze - 1; l >= 0; l--)
    nlp_train_layer_backward(&t->layers[l], t->tapes[l], &lb, b->dy, b->dy, t->threads);
  if (t->train_emb) nlp_train_embeddings_backward(&t->emb, b->n_seq, b->lengths, b->ids, b->types, b->dy);
  return loss;
}
