/* metrics.c — metric implementations, checked on hand-computed cases in
 * tests/test-eval.c. */
#include "eval/metrics.h"

#include <ctype.h>
#include <glib.h>
#include <math.h>
#include <string.h>

double nlp_metric_accuracy(const int32_t *gold, const int32_t *pred, size_t n) {
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) ok += gold[i] == pred[i];
  return n ? (double)ok / (double)n : 0.0;
}

double nlp_metric_macro_f1(const int32_t *gold, const int32_t *pred, size_t n, size_t n_labels) {
  double sum = 0.0;
  size_t present = 0;
  for (size_t c = 0; c < n_labels; c++) {
    size_t tp = 0, g = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
      g += gold[i] == (int32_t)c;
      p += pred[i] == (int32_t)c;
      tp += gold[i] == (int32_t)c && pred[i] == (int32_t)c;
    }
    if (!g && !p) continue;
    present++;
    sum += 2.0 * (double)tp / (double)(g + p);
  }
  return present ? sum / (double)present : 0.0;
}

nlp_prf nlp_prf_from_counts(nlp_prf_counts c) {
  nlp_prf r = {0, 0, 0};
  r.precision = c.pred ? (double)c.correct / (double)c.pred : 0.0;
  r.recall = c.gold ? (double)c.correct / (double)c.gold : 0.0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  return r;
}

/* seqeval: the tag letter and the type of "B-PER" ("O" has type ""). */
static void split_tag(const char *t, char *letter, const char **type) {
  if (!t || !*t || !strcmp(t, "O")) {
    *letter = 'O';
    *type = "";
    return;
  }
  *letter = t[0];
  *type = (t[1] == '-' || t[1] == '_') ? t + 2 : t + 1;
}

static bool end_of_chunk(char pt, char t, const char *ptype, const char *type) {
  if (pt == 'E' || pt == 'S') return true;
  if (pt == 'B' && (t == 'B' || t == 'S' || t == 'O')) return true;
  if (pt == 'I' && (t == 'B' || t == 'S' || t == 'O')) return true;
  if (pt != 'O' && pt != '.' && strcmp(ptype, type)) return true;
  return false;
}

static bool start_of_chunk(char pt, char t, const char *ptype, const char *type) {
  if (t == 'B' || t == 'S') return true;
  if ((pt == 'E' || pt == 'S' || pt == 'O') && (t == 'E' || t == 'I')) return true;
  if (t != 'O' && t != '.' && strcmp(ptype, type)) return true;
  return false;
}

size_t nlp_metric_tags_to_entities(const char *const *tags, size_t n, nlp_entity *out) {
  size_t k = 0;
  char pt = 'O';
  const char *ptype = "";
  int32_t begin = 0;
  for (size_t i = 0; i <= n; i++) {
    char t;
    const char *type;
    if (i < n) split_tag(tags[i], &t, &type);
    else t = 'O', type = "";
    if (end_of_chunk(pt, t, ptype, type)) {
      out[k].start = begin;
      out[k].end = (int32_t)i;
      g_strlcpy(out[k].type, ptype, sizeof out[k].type);
      k++;
    }
    if (start_of_chunk(pt, t, ptype, type)) begin = (int32_t)i;
    pt = t;
    ptype = type;
  }
  return k;
}

void nlp_metric_entities_add(nlp_prf_counts *c, const nlp_entity *gold, size_t ng,
                             const nlp_entity *pred, size_t np) {
  c->gold += ng;
  c->pred += np;
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < ng; j++)
      if (pred[i].start == gold[j].start && pred[i].end == gold[j].end &&
          !strcmp(pred[i].type, gold[j].type)) {
        c->correct++;
        break;
      }
}

/* ---- SQuAD */

char *nlp_squad_normalize(const char *s) {
  GString *a = g_string_new(NULL);
  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch < 128 && ispunct(ch)) continue;
    g_string_append_c(a, (char)(ch < 128 ? tolower(ch) : ch));
  }
  /* split on white space, drop articles, join with single spaces */
  GString *b = g_string_new(NULL);
  char **words = g_strsplit_set(a->str, " \t\n\r\f\v", -1);
  for (char **w = words; *w; w++) {
    if (!**w || !strcmp(*w, "a") || !strcmp(*w, "an") || !strcmp(*w, "the")) continue;
    if (b->len) g_string_append_c(b, ' ');
    g_string_append(b, *w);
  }
  g_strfreev(words);
  g_string_free(a, TRUE);
  return g_string_free(b, FALSE);
}

double nlp_squad_exact(const char *pred, const char *gold) {
  char *p = nlp_squad_normalize(pred), *g = nlp_squad_normalize(gold);
  double r = !strcmp(p, g);
  g_free(p);
  g_free(g);
  return r;
}

static double token_f1(char **pt, char **gt) {
  size_t np = g_strv_length(pt), ng = g_strv_length(gt);
  if (!np || !ng) return np == ng;
  bool *used = g_new0(bool, ng);
  size_t common = 0;
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < ng; j++)
      if (!used[j] && !strcmp(pt[i], gt[j])) {
        used[j] = true;
        common++;
        break;
      }
  g_free(used);
  if (!common) return 0.0;
  double p = (double)common / (double)np, r = (double)common / (double)ng;
  return 2 * p * r / (p + r);
}

static char **squad_tokens(const char *s) {
  char *n = nlp_squad_normalize(s);
  char **t = *n ? g_strsplit(n, " ", -1) : g_new0(char *, 1);
  g_free(n);
  return t;
}

double nlp_squad_f1(const char *pred, const char *gold) {
  char **p = squad_tokens(pred), **g = squad_tokens(gold);
  double f = token_f1(p, g);
  g_strfreev(p);
  g_strfreev(g);
  return f;
}

/* ---- ROUGE */

static GPtrArray *rouge_tokens(const char *s) {
  GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
  GString *cur = g_string_new(NULL);
  for (const char *p = s;; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch && ch < 128 && isalnum(ch)) {
      g_string_append_c(cur, (char)tolower(ch));
      continue;
    }
    if (cur->len) g_ptr_array_add(t, g_strdup(cur->str));
    g_string_truncate(cur, 0);
    if (!ch) break;
  }
  g_string_free(cur, TRUE);
  return t;
}

static GHashTable *ngram_counts(GPtrArray *t, int n, size_t *total) {
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  *total = 0;
  for (size_t i = 0; i + (size_t)n <= t->len; i++) {
    GString *k = g_string_new(NULL);
    for (int j = 0; j < n; j++) {
      if (j) g_string_append_c(k, '\x01');
      g_string_append(k, t->pdata[i + (size_t)j]);
    }
    gpointer old = g_hash_table_lookup(h, k->str);
    g_hash_table_replace(h, g_string_free(k, FALSE), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + 1));
    (*total)++;
  }
  return h;
}

static size_t overlap(GHashTable *a, GHashTable *b) {
  size_t o = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, a);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    size_t x = GPOINTER_TO_SIZE(v), y = GPOINTER_TO_SIZE(g_hash_table_lookup(b, k));
    o += x < y ? x : y;
  }
  return o;
}

static nlp_prf prf(size_t common, size_t np, size_t ng) {
  nlp_prf r = {0, 0, 0};
  r.precision = np ? (double)common / (double)np : 0.0;
  r.recall = ng ? (double)common / (double)ng : 0.0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
  return r;
}

nlp_prf nlp_rouge_n(const char *pred, const char *ref, int n) {
  GPtrArray *p = rouge_tokens(pred), *g = rouge_tokens(ref);
  size_t np, ng;
  GHashTable *hp = ngram_counts(p, n, &np), *hg = ngram_counts(g, n, &ng);
  nlp_prf r = prf(overlap(hp, hg), np, ng);
  g_hash_table_destroy(hp);
  g_hash_table_destroy(hg);
  g_ptr_array_free(p, TRUE);
  g_ptr_array_free(g, TRUE);
  return r;
}

nlp_prf nlp_rouge_l(const char *pred, const char *ref) {
  GPtrArray *p = rouge_tokens(pred), *g = rouge_tokens(ref);
  size_t a = p->len, b = g->len;
  size_t *prev = g_new0(size_t, b + 1), *cur = g_new0(size_t, b + 1);
  for (size_t i = 1; i <= a; i++) {
    for (size_t j = 1; j <= b; j++)
      cur[j] = !strcmp(p->pdata[i - 1], g->pdata[j - 1]) ? prev[j - 1] + 1
               : prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
    size_t *t = prev; prev = cur; cur = t;
  }
  nlp_prf r = prf(prev[b], a, b);
  g_free(prev);
  g_free(cur);
  g_ptr_array_free(p, TRUE);
  g_ptr_array_free(g, TRUE);
  return r;
}

/* ---- BLEU and chrF */

static GPtrArray *bleu_tokens(const char *s) {
  /* 13a-like: punctuation becomes its own token, except . and , between digits */
  GString *b = g_string_new(NULL);
  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    bool punct = ch < 128 && ispunct(ch) && ch != '\'' && ch != '-';
    if (punct && (ch == '.' || ch == ',') && p > s && isdigit((unsigned char)p[-1]) &&
        isdigit((unsigned char)p[1]))
      punct = false;
    if (punct) {
      g_string_append_c(b, ' ');
      g_string_append_c(b, (char)ch);
      g_string_append_c(b, ' ');
    } else {
      g_string_append_c(b, (char)ch);
    }
  }
  GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
  char **w = g_strsplit_set(b->str, " \t\n\r", -1);
  for (char **x = w; *x; x++)
    if (**x) g_ptr_array_add(t, g_strdup(*x));
  g_strfreev(w);
  g_string_free(b, TRUE);
  return t;
}

double nlp_bleu_corpus(const char *const *hyps, const char *const *refs, size_t n) {
  size_t match[4] = {0}, total[4] = {0}, hl = 0, rl = 0;
  for (size_t i = 0; i < n; i++) {
    GPtrArray *h = bleu_tokens(hyps[i]), *r = bleu_tokens(refs[i]);
    hl += h->len;
    rl += r->len;
    for (int k = 0; k < 4; k++) {
      size_t nh, nr;
      GHashTable *ch = ngram_counts(h, k + 1, &nh), *cr = ngram_counts(r, k + 1, &nr);
      match[k] += overlap(ch, cr);
      total[k] += nh;
      g_hash_table_destroy(ch);
      g_hash_table_destroy(cr);
    }
    g_ptr_array_free(h, TRUE);
    g_ptr_array_free(r, TRUE);
  }
  /* sacrebleu's default "exp" smoothing: the k-th order without a match counts
   * 1 / (2^k * total) matches */
  double logp = 0.0, smooth = 1.0;
  for (int k = 0; k < 4; k++) {
    if (!total[k]) return 0.0;
    double p;
    if (!match[k]) {
      smooth *= 2.0;
      p = 1.0 / (smooth * (double)total[k]);
    } else {
      p = (double)match[k] / (double)total[k];
    }
    logp += log(p) / 4.0;
  }
  double bp = hl >= rl ? 1.0 : (hl ? exp(1.0 - (double)rl / (double)hl) : 0.0);
  return bp * exp(logp);
}

static GPtrArray *chars_no_space(const char *s) {
  GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
  for (const char *p = s; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_isspace(c)) continue;
    g_ptr_array_add(t, g_strndup(p, (gsize)(g_utf8_next_char(p) - p)));
  }
  return t;
}

double nlp_chrf_corpus(const char *const *hyps, const char *const *refs, size_t n) {
  enum { ORDER = 6 };
  size_t match[ORDER] = {0}, th[ORDER] = {0}, tr[ORDER] = {0};
  for (size_t i = 0; i < n; i++) {
    GPtrArray *h = chars_no_space(hyps[i]), *r = chars_no_space(refs[i]);
    for (int k = 0; k < ORDER; k++) {
      size_t nh, nr;
      GHashTable *ch = ngram_counts(h, k + 1, &nh), *cr = ngram_counts(r, k + 1, &nr);
      match[k] += overlap(ch, cr);
      th[k] += nh;
      tr[k] += nr;
      g_hash_table_destroy(ch);
      g_hash_table_destroy(cr);
    }
    g_ptr_array_free(h, TRUE);
    g_ptr_array_free(r, TRUE);
  }
  /* sacrebleu: average precision and recall over the orders that exist, then F-beta */
  double p = 0, r = 0;
  int orders = 0;
  for (int k = 0; k < ORDER; k++) {
    if (!th[k] || !tr[k]) continue;
    p += (double)match[k] / (double)th[k];
    r += (double)match[k] / (double)tr[k];
    orders++;
  }
  if (!orders) return 0.0;
  p /= orders;
  r /= orders;
  double b2 = 4.0;
  return p + r > 0 ? (1 + b2) * p * r / (b2 * p + r) : 0.0;
}
