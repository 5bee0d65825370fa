/* crf.c — a CRF token-classification head decoded as the trainer's evaluation decodes
 * it (core/train/evaluate.c, nlp_train_head_viterbi), so that a pipeline's
 * entities equal what `nlpipe eval HEAD DATA` scores (see ner.h). */
#include "ner.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int32_t start, end;   /* code points of the text */
  int label;            /* Viterbi tag, -1 while no window has tagged the word */
  double score;         /* softmax probability of the tag at its first piece */
  const ner_token *first; /* that first piece */
  size_t first_index;   /* its position among the document's tokens */
  GPtrArray *pieces;    /* the word's tokens' strings, in order, each once (borrowed) */
} crf_word;

bool ner_head_declares_crf(const char *head_dir) {
  if (!head_dir) return false;
  char *file = g_build_filename(head_dir, "head.json", NULL);
  struct json_object *head = json_object_from_file(file), *v;
  bool crf = false;
  if (head && json_object_object_get_ex(head, "crf", &v) && json_object_is_type(v, json_type_boolean))
    crf = json_object_get_boolean(v);
  if (head && json_object_object_get_ex(head, "head_type", &v) &&
      json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), "crf"))
    crf = true;
  json_object_put(head);
  g_free(file);
  return crf;
}

/* BERT's basic tokenizer's punctuation: ASCII symbols and Unicode P* characters. */
static bool crf_is_punct(gunichar c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
    return true;
  switch (g_unichar_type(c)) {
  case G_UNICODE_CONNECT_PUNCTUATION: case G_UNICODE_DASH_PUNCTUATION:
  case G_UNICODE_CLOSE_PUNCTUATION: case G_UNICODE_FINAL_PUNCTUATION:
  case G_UNICODE_INITIAL_PUNCTUATION: case G_UNICODE_OTHER_PUNCTUATION:
  case G_UNICODE_OPEN_PUNCTUATION:
    return true;
  default:
    return false;
  }
}

static void crf_add_word(GArray *words, int32_t *of, int32_t start, int32_t end) {
  crf_word w = {.start = start, .end = end, .label = -1, .pieces = g_ptr_array_new()};
  g_array_append_val(words, w);
  for (int32_t i = start; i < end; i++) of[i] = (int32_t)words->len - 1;
}

/* The words of TEXT: its whitespace-separated words, with punctuation at a word's edges
 * cut off, one character a word ("Paul," -> "Paul" ","; "(Oslo)." -> "(" "Oslo" ")"
 * "."). Why: training data comes pre-tokenized ("Paul ," — a record's text is its
 * tokens joined by spaces), so raw text would otherwise give entities like "Paul,"; a
 * full split at every punctuation character (BERT's pre-tokenizer) would also cut data
 * tokens the CRF learned whole ("6:30", "Anglo-Saxon", "U.S.": on wikigold dev that
 * cost 6 points of F1). An all-punctuation word ("--", "...") stays whole, and so does
 * the final "." of an abbreviation: a one-letter word or one with a "." inside ("J.",
 * "U.S."), and a clitic ("'s", "'re"). Left: "Jr.", "No." are cut ("Jr" "."); on
 * wikigold dev the pipeline scores 43.1 against eval's 43.7. *WORD_OF (n_cp entries)
 * maps a code point to its word, -1 for whitespace. */
static GArray *crf_text_words(const char *text, size_t len, int32_t **word_of, size_t *n_cp) {
  GArray *words = g_array_new(FALSE, TRUE, sizeof(crf_word));
  glong n = 0;
  gunichar *cp = g_utf8_to_ucs4_fast(text, (glong)len, &n);
  int32_t *of = g_new(int32_t, n + 1);
  for (int32_t i = 0; i < (int32_t)n;) {
    if (g_unichar_isspace(cp[i])) {
      of[i++] = -1;
      continue;
    }
    int32_t a = i, b = i;
    while (b < (int32_t)n && !g_unichar_isspace(cp[b])) b++;
    int32_t lo = a, hi = b;
    while (lo < b && crf_is_punct(cp[lo])) lo++;
    if (lo == b) {                          /* all punctuation: one word */
      crf_add_word(words, of, a, b);
      i = b;
      continue;
    }
    while (hi > lo && crf_is_punct(cp[hi - 1])) hi--;
    if (hi == b - 1 && cp[hi] == '.') {     /* an abbreviation keeps its "." */
      bool inner_dot = false;
      for (int32_t k = lo; k < hi; k++) inner_dot |= cp[k] == '.';
      if (hi - lo == 1 || inner_dot) hi = b;
    }
    if (lo == a + 1 && cp[a] == '\'' && hi == b && b - lo <= 2) lo = a; /* a clitic: "'s" */
    for (int32_t k = a; k < lo; k++) crf_add_word(words, of, k, k + 1);
    crf_add_word(words, of, lo, hi);
    for (int32_t k = hi; k < b; k++) crf_add_word(words, of, k, k + 1);
    i = b;
  }
  g_free(cp);
  *word_of = of;
  *n_cp = (size_t)n;
  return words;
}

/* The word T starts (T is its first piece), or -1. */
static int32_t crf_first_piece_of(const ner_token *t, GArray *words, const int32_t *word_of,
                                  size_t n_cp) {
  if (t->end <= t->start || t->start < 0 || (size_t)t->start >= n_cp) return -1;
  int32_t w = word_of[t->start];
  return w >= 0 && g_array_index(words, crf_word, w).start == t->start ? w : -1;
}

/* One entity from words [from, to) (aggregated strategies). */
static ner_entity *crf_entity(const ner_context *cx, GArray *words, size_t from, size_t to) {
  ner_entity *e = ner_entity_new(0);
  for (size_t i = from; i < to; i++) {
    crf_word *w = &g_array_index(words, crf_word, i);
    ner_unit u = {.label = w->label, .score = w->score, .start = w->start, .end = w->end};
    u.piece = ner_decode_pieces(cx, (const char *const *)w->pieces->pdata, w->pieces->len);
    g_array_append_val(e->units, u);
  }
  const crf_word *a = &g_array_index(words, crf_word, from), *b = &g_array_index(words, crf_word, to - 1);
  e->label = a->label;
  e->start = a->start;
  e->end = b->end;
  e->index = a->first_index;
  ner_entity_rescore(e);
  ner_entity_set_word(cx, e);
  return e;
}

GPtrArray *ner_crf_decode(const ner_context *cx, const ner_crf *crf, const char *text, size_t len,
                          const ner_crf_window *wins, size_t n_windows) {
  const ner_labels *l = cx->labels;
  size_t nl = l->n, n_cp = 0;
  int32_t *word_of = NULL;
  GArray *words = crf_text_words(text, len, &word_of, &n_cp);
  size_t index0 = n_windows && wins[0].n ? wins[0].tokens[0].index : 0;
  for (size_t k = 0; k < n_windows; k++) {
    const ner_crf_window *w = &wins[k];
    if (k) index0 += wins[k - 1].n - w->overlap;
    /* the chain: the window's first pieces, in order */
    size_t m = 0;
    size_t *pos = g_new(size_t, w->n + 1);
    int32_t *word = g_new(int32_t, w->n + 1); /* the word chain position t starts */
    float *em = g_new(float, (w->n + 1) * nl);
    for (size_t j = 0; j < w->n; j++) {
      int32_t wi = crf_first_piece_of(&w->tokens[j], words, word_of, n_cp);
      if (wi < 0) continue;
      memcpy(em + m * nl, w->logits + w->tokens[j].index * nl, nl * sizeof(float));
      word[m] = wi;
      pos[m++] = j;
    }
    int32_t *path = g_new(int32_t, m + 1);
    if (m) crf->viterbi(em, m, nl, crf->transitions, crf->start, crf->end, path);
    /* a word's tag comes from the first window that has its first piece */
    for (size_t t = 0; t < m; t++) {
      const ner_token *tok = &w->tokens[pos[t]];
      crf_word *cw = &g_array_index(words, crf_word, word[t]);
      if (cw->label >= 0 || path[t] < 0 || (size_t)path[t] >= nl) continue;
      cw->label = path[t];
      cw->score = tok->scores[path[t]];
      cw->first = tok;
      cw->first_index = index0 + pos[t];
    }
    /* every token once (the overlap was in the window before), to its word */
    for (size_t j = w->overlap; j < w->n; j++) {
      const ner_token *tok = &w->tokens[j];
      if (tok->start < 0 || (size_t)tok->start >= n_cp || word_of[tok->start] < 0) continue;
      g_ptr_array_add(g_array_index(words, crf_word, word_of[tok->start]).pieces, (gpointer)tok->piece);
    }
    g_free(path);
    g_free(em);
    g_free(word);
    g_free(pos);
  }
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)ner_entity_free);
  if (cx->strategy == NER_AGG_NONE) {
    for (guint i = 0; i < words->len; i++) {
      crf_word *w = &g_array_index(words, crf_word, i);
      if (w->label < 0 || ner_ignored(cx, l->names[w->label])) continue;
      ner_entity *e = ner_entity_new(0);
      ner_unit u = {g_strdup(w->first->piece), w->label, w->score, w->first->start, w->first->end};
      g_array_append_val(e->units, u);
      e->label = w->label;
      e->score = w->score;
      e->start = w->first->start;
      e->end = w->first->end;
      e->index = w->first_index;
      e->word = strdup(w->first->piece);
      g_ptr_array_add(out, e);
    }
  } else {
    /* runs of tagged words (HF group_entities' rule, seqeval's chunks); an untagged
     * word ends a run; the ignore filter after grouping, on the group */
    size_t from = 0;
    bool open = false;
    for (guint i = 0; i <= words->len; i++) {
      const crf_word *w = i < words->len ? &g_array_index(words, crf_word, i) : NULL;
      bool tagged = w && w->label >= 0;
      if (open && tagged &&
          ner_labels_continues(l, g_array_index(words, crf_word, i - 1).label, w->label))
        continue;
      if (open && !ner_ignored(cx, l->groups[g_array_index(words, crf_word, from).label]))
        g_ptr_array_add(out, crf_entity(cx, words, from, i));
      open = tagged;
      from = i;
    }
  }
  for (guint i = 0; i < words->len; i++) g_ptr_array_free(g_array_index(words, crf_word, i).pieces, TRUE);
  g_array_free(words, TRUE);
  g_free(word_of);
  return out;
}
