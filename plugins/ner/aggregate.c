/* aggregate.c — one window's tokens to entities, a line-by-line port of Hugging Face's
 * TokenClassificationPipeline.aggregate / aggregate_word(s) / group_sub_entities /
 * group_entities, with the grouping rule of labels.c (BIOES aware). */
#include "ner.h"

#include <stdlib.h>
#include <string.h>

static int argmax(const float *v, size_t n) {
  size_t best = 0; /* numpy argmax: the first of equal maxima */
  for (size_t i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return (int)best;
}

static float max_of(const float *v, size_t n) { return v[argmax(v, n)]; }

ner_entity *ner_entity_new(size_t window) {
  ner_entity *e = g_new0(ner_entity, 1);
  e->window = window;
  e->units = g_array_new(FALSE, FALSE, sizeof(ner_unit));
  return e;
}

void ner_entity_free(ner_entity *e) {
  if (!e) return;
  for (guint i = 0; i < e->units->len; i++) g_free(g_array_index(e->units, ner_unit, i).piece);
  g_array_free(e->units, TRUE);
  free(e->word);
  g_free(e);
}

void ner_entity_rescore(ner_entity *e) {
  double sum = 0;
  for (guint i = 0; i < e->units->len; i++) sum += g_array_index(e->units, ner_unit, i).score;
  e->score = e->units->len ? sum / e->units->len : 0;
}

char *ner_decode_pieces(const ner_context *cx, const char *const *pieces, size_t n) {
  char *s = cx->decode ? cx->decode(cx->decode_ctx, pieces, n) : NULL;
  if (s) return s;
  /* No decoder: the pieces joined by spaces (a tokenizer without one does the same). */
  GString *g = g_string_new(NULL);
  for (size_t i = 0; i < n; i++) {
    if (i) g_string_append_c(g, ' ');
    g_string_append(g, pieces[i]);
  }
  s = strdup(g->str);
  g_string_free(g, TRUE);
  return s;
}

void ner_entity_set_word(const ner_context *cx, ner_entity *e) {
  const char **pieces = g_new(const char *, e->units->len + 1);
  for (guint i = 0; i < e->units->len; i++) pieces[i] = g_array_index(e->units, ner_unit, i).piece;
  free(e->word);
  e->word = ner_decode_pieces(cx, pieces, e->units->len);
  g_free(pieces);
}

/* HF aggregate_word: one word's tokens -> one unit. */
static ner_unit word_unit(const ner_context *cx, const ner_token *t, size_t n) {
  size_t nl = cx->labels->n;
  const char **pieces = g_new(const char *, n);
  for (size_t i = 0; i < n; i++) pieces[i] = t[i].piece;
  ner_unit u = {.start = t[0].start, .end = t[n - 1].end};
  u.piece = ner_decode_pieces(cx, pieces, n);
  g_free(pieces);
  if (cx->strategy == NER_AGG_FIRST) {
    u.label = argmax(t[0].scores, nl);
    u.score = t[0].scores[u.label];
  } else if (cx->strategy == NER_AGG_MAX) {
    size_t best = 0; /* Python max(): the first token with the highest score */
    for (size_t i = 1; i < n; i++)
      if (max_of(t[i].scores, nl) > max_of(t[best].scores, nl)) best = i;
    u.label = argmax(t[best].scores, nl);
    u.score = t[best].scores[u.label];
  } else { /* average: np.nanmean over the tokens' score rows, in float32 like numpy */
    float *avg = g_new0(float, nl);
    for (size_t j = 0; j < nl; j++) {
      double s = 0;
      for (size_t i = 0; i < n; i++) s += t[i].scores[j];
      avg[j] = (float)(s / (double)n);
    }
    u.label = argmax(avg, nl);
    u.score = avg[u.label];
    g_free(avg);
  }
  return u;
}

/* Units of the window: tokens (none, simple) or words (first, average, max; HF
 * aggregate_words: a token that is not a subword starts a new word). */
static GArray *window_units(const ner_context *cx, const ner_token *t, size_t n) {
  GArray *units = g_array_new(FALSE, FALSE, sizeof(ner_unit));
  if (cx->strategy == NER_AGG_NONE || cx->strategy == NER_AGG_SIMPLE) {
    for (size_t i = 0; i < n; i++) {
      int k = argmax(t[i].scores, cx->labels->n);
      ner_unit u = {g_strdup(t[i].piece), k, t[i].scores[k], t[i].start, t[i].end};
      g_array_append_val(units, u);
    }
    return units;
  }
  size_t first = 0;
  for (size_t i = 1; i <= n; i++) {
    if (i < n && t[i].is_subword) continue;
    if (i > first) {
      ner_unit u = word_unit(cx, t + first, i - first);
      g_array_append_val(units, u);
    }
    first = i;
  }
  return units;
}

bool ner_ignored(const ner_context *cx, const char *name) {
  for (char *const *p = cx->ignore; p && *p; p++)
    if (!strcmp(*p, name)) return true;
  return false;
}

/* Moves units[from, to) into a new entity (HF group_sub_entities). */
static ner_entity *group(GArray *units, size_t from, size_t to,
                         size_t window) {
  ner_entity *e = ner_entity_new(window);
  g_array_append_vals(e->units, &g_array_index(units, ner_unit, from), (guint)(to - from));
  for (size_t i = from; i < to; i++) g_array_index(units, ner_unit, i).piece = NULL;
  e->label = g_array_index(e->units, ner_unit, 0).label;
  e->start = g_array_index(e->units, ner_unit, 0).start;
  e->end = g_array_index(e->units, ner_unit, e->units->len - 1).end;
  e->at_window_start = from == 0;
  e->at_window_end = to == units->len;
  ner_entity_rescore(e);
  return e;
}

GPtrArray *ner_window_aggregate(const ner_context *cx, const ner_token *tokens, size_t n,
                                size_t window) {
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)ner_entity_free);
  if (!n) return out;
  GArray *units = window_units(cx, tokens, n);
  const ner_labels *l = cx->labels;
  if (cx->strategy == NER_AGG_NONE) {
    for (guint i = 0; i < units->len; i++) {
      ner_entity *e = group(units, i, i + 1, window);
      e->index = tokens[i].index;
      if (ner_ignored(cx, l->names[e->label])) ner_entity_free(e);
      else g_ptr_array_add(out, e);
    }
  } else {
    /* HF group_entities; the filter runs after grouping, so an ignored label still
     * ends the group before it. */
    size_t from = 0;
    for (guint i = 1; i <= units->len; i++) {
      if (i < units->len && ner_labels_continues(l, g_array_index(units, ner_unit, i - 1).label,
                                                 g_array_index(units, ner_unit, i).label))
        continue;
      ner_entity *e = group(units, from, i, window);
      if (ner_ignored(cx, l->groups[e->label])) ner_entity_free(e);
      else g_ptr_array_add(out, e);
      from = i;
    }
  }
  for (guint i = 0; i < units->len; i++) g_free(g_array_index(units, ner_unit, i).piece);
  g_array_free(units, TRUE);
  for (guint i = 0; i < out->len; i++) {
    ner_entity *e = g_ptr_array_index(out, i);
    /* HF: strategy none shows the token itself, the others the decoder's text. */
    if (cx->strategy == NER_AGG_NONE) e->word = strdup(g_array_index(e->units, ner_unit, 0).piece);
    else ner_entity_set_word(cx, e);
  }
  return out;
}
