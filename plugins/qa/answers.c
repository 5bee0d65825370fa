/* answers.c — see answers.h. */
#include "answers.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

bool qa_answers_init(qa_answers *a, const char *context, size_t len) {
  memset(a, 0, sizeof(*a));
  a->context = context;
  a->min_null = 1000000.0;
  a->n_chars = (size_t)g_utf8_strlen(context, (gssize)len);
  a->byte_at = malloc((a->n_chars + 1) * sizeof(size_t));
  if (!a->byte_at) return false;
  const char *p = context;
  for (size_t i = 0; i < a->n_chars; i++, p = g_utf8_next_char(p)) a->byte_at[i] = (size_t)(p - context);
  a->byte_at[a->n_chars] = len;
  return true;
}

void qa_answers_clear(qa_answers *a) {
  for (size_t i = 0; i < a->n; i++) {
    g_free(a->items[i].text);
    g_free(a->items[i].folded);
  }
  free(a->items);
  free(a->byte_at);
  memset(a, 0, sizeof(*a));
}

/* Rust's Encoding::word_to_chars(word, sequence 1) on this window: the characters
 * from the first to the last context token of that word. False if none. */
static bool word_chars(const nlp_window *w, int32_t word, size_t *start, size_t *end) {
  bool found = false;
  for (size_t i = 0; i < w->n_tokens; i++) {
    if (w->seq_ids[i] != 1) continue;
    if (w->word_ids[i] > word) break;
    if (w->word_ids[i] != word) continue;
    if (!found) *start = (size_t)w->offsets[2 * i];
    *end = (size_t)w->offsets[2 * i + 1];
    found = true;
  }
  return found;
}

/* HF's get_indices: character offsets of the span (s, e). */
static void span_chars(const nlp_window *w, size_t s, size_t e, bool align_to_words,
                       size_t *start, size_t *end) {
  if (align_to_words && w->seq_ids[s] >= 0 && w->seq_ids[e] >= 0) {
    size_t s0, s1, e0, e1;
    if (word_chars(w, w->word_ids[s], &s0, &s1) && word_chars(w, w->word_ids[e], &e0, &e1)) {
      *start = s0, *end = e1;
      return;
    }
  }
  *start = (size_t)w->offsets[2 * s];
  *end = (size_t)w->offsets[2 * e + 1];
}

/* Appends an answer, or adds its score to an earlier one with the same text ignoring
 * case when `merge` (HF's get_answer). */
static bool add_answer(qa_answers *a, double score, size_t start, size_t end, bool merge) {
  size_t s = start < a->n_chars ? start : a->n_chars, e = end < a->n_chars ? end : a->n_chars;
  size_t b0 = a->byte_at[s], b1 = s < e ? a->byte_at[e] : b0;
  char *folded = g_utf8_strdown(a->context + b0, (gssize)(b1 - b0));
  for (size_t i = 0; merge && i < a->n; i++) {
    if (!strcmp(a->items[i].folded, folded)) {
      a->items[i].score += score;
      g_free(folded);
      return true;
    }
  }
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 16;
    qa_answer *grown = realloc(a->items, cap * sizeof(qa_answer));
    if (!grown) {
      g_free(folded);
      return false;
    }
    a->items = grown, a->cap = cap;
  }
  char *text = g_strndup(a->context + b0, b1 - b0);
  if (!text) {
    g_free(folded);
    return false;
  }
  a->items[a->n++] = (qa_answer){score, start, end, text, folded};
  return true;
}

bool qa_answers_add_window(qa_answers *a, const nlp_window *w, const qa_span *spans, size_t n,
                           float null_score, bool align_to_words) {
  if ((double)null_score < a->min_null) a->min_null = null_score;
  for (size_t i = 0; i < n; i++) {
    size_t start, end;
    span_chars(w, spans[i].start, spans[i].end, align_to_words, &start, &end);
    if (!add_answer(a, spans[i].score, start, end, true)) return false;
  }
  return true;
}

static struct json_object *answer_json(double score, size_t start, size_t end, const char *text) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "score", json_object_new_double(score));
  json_object_object_add(o, "start", json_object_new_int64((int64_t)start));
  json_object_object_add(o, "end", json_object_new_int64((int64_t)end));
  json_object_object_add(o, "answer", json_object_new_string(text));
  return o;
}

/* Python's sorted(..., reverse=True) is stable: equal scores keep insertion order. */
static int order_cmp(const void *x, const void *y, void *data) {
  const qa_answer *items = data;
  size_t i = *(const size_t *)x, j = *(const size_t *)y;
  if (items[i].score != items[j].score) return items[i].score > items[j].score ? -1 : 1;
  return (i > j) - (i < j);
}

struct json_object *qa_answers_to_json(qa_answers *a, size_t top_k, bool handle_impossible) {
  /* The impossible answer is appended without looking for an earlier "". */
  if (handle_impossible && !add_answer(a, a->min_null, 0, 0, false)) return NULL;
  size_t *order = malloc((a->n ? a->n : 1) * sizeof(size_t));
  if (!order) return NULL;
  for (size_t i = 0; i < a->n; i++) order[i] = i;
  g_qsort_with_data(order, (gint)a->n, sizeof(size_t), order_cmp, a->items);
  size_t kept = a->n < top_k ? a->n : top_k;
  struct json_object *out;
  if (kept == 1) {
    const qa_answer *x = &a->items[order[0]];
    out = answer_json(x->score, x->start, x->end, x->text);
  } else {
    out = json_object_new_array();
    for (size_t i = 0; i < kept; i++) {
      const qa_answer *x = &a->items[order[i]];
      json_object_array_add(out, answer_json(x->score, x->start, x->end, x->text));
    }
  }
  free(order);
  return out;
}
