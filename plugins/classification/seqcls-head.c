/* seqcls-head.c — logits of a sequence-classification head for every document of a
 * batch: pooled first-token (or mean) state of each window, the head's dense layer
 * and output projection through host->linear, then windows aggregated per document.
 * Long texts are therefore classified whole rather than silently truncated. */
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqcls.h"

static const nlp_tensor_view *find(seqcls *s, nlp_batch *batch, const char *name) {
  return s->host->tensor(batch, name);
}

/* A [out x in] weight and its [out] bias (bias may be absent). */
static bool bind(seqcls *s, nlp_batch *batch, const char *prefix, size_t in, size_t out_expected,
                 const float **w, const float **b, size_t *out, char **why) {
  char name[128];
  g_snprintf(name, sizeof name, "%s.weight", prefix);
  const nlp_tensor_view *tw = find(s, batch, name);
  if (!tw || tw->ndim != 2 || tw->shape[1] != in ||
      (out_expected && tw->shape[0] != out_expected)) {
    char rows[32] = "out";
    if (out_expected) g_snprintf(rows, sizeof rows, "%zu", out_expected);
    *why = g_strdup_printf("%s: tensor %s: expected shape [%s x %zu]%s", s->where, name, rows, in,
                           tw ? "" : " (absent)");
    return false;
  }
  g_snprintf(name, sizeof name, "%s.bias", prefix);
  const nlp_tensor_view *tb = find(s, batch, name);
  *w = tw->data;
  *b = tb && tb->ndim == 1 && tb->shape[0] == tw->shape[0] ? tb->data : NULL;
  *out = tw->shape[0];
  return true;
}

/* Looks the head's tensors up once; a mismatch is reported per batch. */
static bool resolve(seqcls *s, nlp_batch *batch, size_t hidden, char **why) {
  if (s->resolved) return true;
  s->hidden = hidden;
  size_t n = s->n_labels;
  const char *dense = NULL, *out = "classifier";
  seqcls_activation act = SEQCLS_ACT_NONE;
  if (find(s, batch, "classifier.out_proj.weight")) {
    dense = "classifier.dense", out = "classifier.out_proj";
    act = s->electra ? SEQCLS_ACT_GELU : SEQCLS_ACT_TANH;
  } else if (find(s, batch, "pre_classifier.weight")) {
    dense = "pre_classifier", act = SEQCLS_ACT_RELU;
  } else if (!s->from_head_dir) {
    /* BertForSequenceClassification: the pooler is part of the head. */
    s->pooling = SEQCLS_POOL_POOLER;
  }
  if (s->from_head_dir && s->activation != SEQCLS_ACT_NONE) act = s->activation;
  size_t in = hidden;
  if (dense) {
    if (!bind(s, batch, dense, hidden, 0, &s->dense_w, &s->dense_b, &s->dense_out, why)) return false;
    in = s->dense_out;
  }
  s->dense_act = act;
  size_t got = 0;
  if (!bind(s, batch, out, in, n, &s->out_w, &s->out_b, &got, why)) {
    char *more = g_strdup_printf("%s (%zu labels)", *why, n);
    g_free(*why);
    *why = more;
    return false;
  }
  if (s->pooling == SEQCLS_POOL_POOLER) {
    size_t po = 0;
    char *w1 = NULL, *w2 = NULL;
    if (!bind(s, batch, "bert.pooler.dense", hidden, hidden, &s->pooler_w, &s->pooler_b, &po, &w1) &&
        !bind(s, batch, "pooler.dense", hidden, hidden, &s->pooler_w, &s->pooler_b, &po, &w2)) {
      *why = g_strdup_printf("%s: no pooler (bert.pooler.dense.weight [%zu x %zu]) for the "
                             "classifier", s->where, hidden, hidden);
      g_free(w1);
      g_free(w2);
      return false;
    }
    g_free(w1);
    g_free(w2);
  }
  s->resolved = true;
  return true;
}

static void activate(seqcls_activation act, float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    switch (act) {
    case SEQCLS_ACT_TANH: v = tanh(v); break;
    case SEQCLS_ACT_RELU: v = v > 0 ? v : 0; break;
    case SEQCLS_ACT_GELU: v = 0.5 * v * (1.0 + erf(v / sqrt(2.0))); break; /* HF "gelu" (erf) */
    case SEQCLS_ACT_NONE: break;
    }
    x[i] = (float)v;
  }
}

/* Fills `x` (nw x H) with each window's input to the head. */
static void pool_windows(const seqcls *s, const nlp_window *const *wins, size_t nw, float *x) {
  size_t H = s->hidden;
  for (size_t i = 0; i < nw; i++) {
    const nlp_window *w = wins[i];
    float *row = x + i * H;
    if (s->pooling != SEQCLS_POOL_MEAN) {
      memcpy(row, w->hidden, H * sizeof(float));
      continue;
    }
    memset(row, 0, H * sizeof(float));
    size_t count = 0;
    for (size_t t = 0; t < w->n_tokens; t++) {
      if (w->seq_ids[t] < 0) continue;
      for (size_t k = 0; k < H; k++) row[k] += w->hidden[t * H + k];
      count++;
    }
    for (size_t k = 0; k < H && count; k++) row[k] /= (float)count;
  }
}

/* logits (nw x labels) for the given windows. */
static void head_logits(seqcls *s, const nlp_window *const *wins, size_t nw, float *logits) {
  size_t H = s->hidden;
  size_t width = s->dense_out > H ? s->dense_out : H;
  float *x = malloc(nw * H * sizeof(float) + 1);
  float *y = malloc(nw * width * sizeof(float) + 1);
  pool_windows(s, wins, nw, x);
  const float *in = x;
  size_t in_dim = H;
  if (s->pooling == SEQCLS_POOL_POOLER) {
    s->host->linear(x, nw, H, s->pooler_w, s->pooler_b, H, y);
    activate(SEQCLS_ACT_TANH, y, nw * H);
    memcpy(x, y, nw * H * sizeof(float));
  }
  if (s->dense_w) {
    s->host->linear(x, nw, H, s->dense_w, s->dense_b, s->dense_out, y);
    activate(s->dense_act, y, nw * s->dense_out);
    in = y;
    in_dim = s->dense_out;
  }
  s->host->linear(in, nw, in_dim, s->out_w, s->out_b, s->n_labels, logits);
  free(x);
  free(y);
}

/* Folds window `w`'s logits into the document's row. */
static void aggregate(seqcls_aggregation agg, const float *lw, size_t n, size_t seen, float *row) {
  for (size_t j = 0; j < n; j++) {
    if (seen == 0) row[j] = lw[j];
    else if (agg == SEQCLS_AGG_MEAN) row[j] += lw[j];
    else if (agg == SEQCLS_AGG_MAX) row[j] = lw[j] > row[j] ? lw[j] : row[j];
  }
}

/* The second text of a record, or NULL. */
static const char *pair_text(const seqcls *s, nlp_batch *batch, size_t d) {
  if (!s->pair_field) return NULL;
  struct json_object *rec = s->host->doc_record(batch, d), *v = NULL;
  if (!rec || !json_object_object_get_ex(rec, s->pair_field, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

float *nlp_seqcls_batch_logits(seqcls *s, nlp_batch *batch, bool **ok_out) {
  const nlp_host *host = s->host;
  size_t n = host->batch_size(batch), L = s->n_labels;
  bool *ok = calloc(n + 1, sizeof(bool));
  size_t *seen = calloc(n + 1, sizeof(size_t));
  float *rows = calloc(n * L + 1, sizeof(float));
  *ok_out = ok;
  /* Records with a pair run their own pass; the others share the batch's. */
  const char **first = calloc(n + 1, sizeof(char *)), **second = calloc(n + 1, sizeof(char *));
  size_t *pair_doc = calloc(n + 1, sizeof(size_t));
  size_t n_pairs = 0, n_single = 0;
  for (size_t d = 0; d < n; d++) {
    const char *p = pair_text(s, batch, d);
    if (p) {
      first[n_pairs] = host->doc_text(batch, d, NULL);
      second[n_pairs] = p;
      pair_doc[n_pairs++] = d;
    } else {
      n_single++;
    }
  }
  GPtrArray *wins = g_ptr_array_new();
  GArray *owner = g_array_new(FALSE, FALSE, sizeof(size_t));
  if (n_single) {
    const nlp_window *w = NULL;
    size_t nw = host->batch_windows(batch, &w);
    for (size_t i = 0; i < nw; i++) {
      if (!w[i].hidden || pair_text(s, batch, w[i].doc)) continue;
      g_ptr_array_add(wins, (gpointer)&w[i]);
      g_array_append_val(owner, w[i].doc);
    }
  }
  if (n_pairs) {
    size_t text_part = s->max_positions > 3 ? s->max_positions - 3 : 1;
    nlp_pair_params params = {.max_length = 0,
                              .stride = s->pair_stride ? s->pair_stride : text_part / 8,
                              .truncate_first_only = false};
    const nlp_window *w = NULL;
    char *err = NULL;
    size_t nw = host->encode_pairs(batch, first, second, n_pairs, &params, &w, &err);
    if (nw == (size_t)-1) {
      for (size_t p = 0; p < n_pairs; p++)
        host->set_error(batch, pair_doc[p], err ? err : "text pair encoding failed");
      free(err);
    } else {
      for (size_t i = 0; i < nw; i++) {
        if (!w[i].hidden) continue;
        g_ptr_array_add(wins, (gpointer)&w[i]);
        g_array_append_val(owner, pair_doc[w[i].doc]);
      }
    }
  }
  size_t nw = wins->len;
  if (nw) {
    char *why = NULL;
    if (!resolve(s, batch, ((const nlp_window *)wins->pdata[0])->hidden_size, &why)) {
      for (size_t d = 0; d < n; d++) host->set_error(batch, d, why);
      host->log(NLP_LOG_ERROR, s->step, "%s", why);
      g_free(why);
      nw = 0;
    }
  }
  if (nw) {
    float *logits = malloc(nw * L * sizeof(float));
    head_logits(s, (const nlp_window *const *)wins->pdata, nw, logits);
    for (size_t i = 0; i < nw; i++) {
      size_t d = g_array_index(owner, size_t, i);
      aggregate(s->aggregation, logits + i * L, L, seen[d], rows + d * L);
      seen[d]++;
    }
    free(logits);
  }
  for (size_t d = 0; d < n; d++) {
    ok[d] = seen[d] > 0;
    if (ok[d] && s->aggregation == SEQCLS_AGG_MEAN)
      for (size_t j = 0; j < L; j++) rows[d * L + j] /= (float)seen[d];
  }
  g_ptr_array_free(wins, TRUE);
  g_array_free(owner, TRUE);
  free(first);
  free(second);
  free(pair_doc);
  free(seen);
  return rows;
}
