/* pretokenizers.c — HF pre-tokenizers: cut each piece into words. Splitting follows
 * HF's NormalizedString::split (matches + behaviour: removed, isolated, merged with
 * previous/next, contiguous; empty pieces dropped); pieces that are already an added
 * token pass through untouched. Cuts are views into the same buffer (no copies);
 * only Metaspace and ByteLevel rewrite text. */
#include <string.h>

#include "tokenizer/internal.h"

void nlp_tk_pretokenizer_free(nlp_tk_pretokenizer *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n_children; i++) nlp_tk_pretokenizer_free(p->children[i]);
  g_free(p->children);
  g_free(p->replacement);
  if (p->regex) g_regex_unref(p->regex);
  g_free(p);
}

typedef struct { size_t a, b; bool m; } mrange;

static void emit(GArray *out, const nlp_tk_piece *p, size_t a, size_t b) {
  if (b <= a) return;
  nlp_tk_piece q = {p->s + a, p->al + a, b - a, -1};
  g_array_append_val(out, q);
}

/* HF split(): MATCHES cover the piece in order. */
static void apply_behavior(GArray *out, const nlp_tk_piece *p, GArray *matches,
                           nlp_tk_split_behavior bh, bool invert, nlp_tk_scratch *sc) {
  mrange *m = (mrange *)matches->data;
  size_t n = matches->len;
  if (invert)
    for (size_t i = 0; i < n; i++) m[i].m = !m[i].m;
  switch (bh) {
    case NLP_SPLIT_REMOVED:
      for (size_t i = 0; i < n; i++)
        if (!m[i].m) emit(out, p, m[i].a, m[i].b);
      break;
    case NLP_SPLIT_ISOLATED:
      for (size_t i = 0; i < n; i++) emit(out, p, m[i].a, m[i].b);
      break;
    case NLP_SPLIT_MERGED_PREV: {
      GArray *acc = nlp_tk_scratch_array(sc, 3, sizeof(mrange));
      bool prev = false;
      for (size_t i = 0; i < n; i++) {
        if (m[i].m && !prev && acc->len) g_array_index(acc, mrange, acc->len - 1).b = m[i].b;
        else g_array_append_val(acc, m[i]);
        prev = m[i].m;
      }
      for (size_t i = 0; i < acc->len; i++) emit(out, p, g_array_index(acc, mrange, i).a, g_array_index(acc, mrange, i).b);
      break;
    }
    case NLP_SPLIT_MERGED_NEXT: {
      GArray *acc = nlp_tk_scratch_array(sc, 3, sizeof(mrange));
      bool prev = false;
      for (size_t i = n; i-- > 0;) {
        if (m[i].m && !prev && acc->len) g_array_index(acc, mrange, acc->len - 1).a = m[i].a;
        else g_array_append_val(acc, m[i]);
        prev = m[i].m;
      }
      for (size_t i = acc->len; i-- > 0;) emit(out, p, g_array_index(acc, mrange, i).a, g_array_index(acc, mrange, i).b);
      break;
    }
    case NLP_SPLIT_CONTIGUOUS: {
      GArray *acc = nlp_tk_scratch_array(sc, 3, sizeof(mrange));
      bool prev = false;
      for (size_t i = 0; i < n; i++) {
        if (m[i].m == prev && acc->len) g_array_index(acc, mrange, acc->len - 1).b = m[i].b;
        else g_array_append_val(acc, m[i]);
        prev = m[i].m;
      }
      for (size_t i = 0; i < acc->len; i++) emit(out, p, g_array_index(acc, mrange, i).a, g_array_index(acc, mrange, i).b);
      break;
    }
  }
}

static void push_range(GArray *mt, size_t a, size_t b, bool m) {
  mrange r = {a, b, m};
  g_array_append_val(mt, r);
}

typedef bool (*char_pred)(gunichar c);
static bool is_numeric(gunichar c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  GUnicodeType t = g_unichar_type(c);
  return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER || t == G_UNICODE_OTHER_NUMBER;
}

static void split_pred(GArray *out, const nlp_tk_piece *p, char_pred pred,
                       nlp_tk_split_behavior bh, GArray *mt, nlp_tk_scratch *sc) {
  g_array_set_size(mt, 0);
  size_t last = 0;
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    size_t cl = (uint8_t)*q < 0x80 ? 1 : (size_t)(g_utf8_next_char(q) - q);
    gunichar c = (uint8_t)*q < 0x80 ? (gunichar)*q : g_utf8_get_char(q);
    if (pred(c)) {
      if (last < i) push_range(mt, last, i, false);
      push_range(mt, i, i + cl, true);
      last = i + cl;
    }
    i += cl;
  }
  if (last < p->len) push_range(mt, last, p->len, false);
  apply_behavior(out, p, mt, bh, false, sc);
}

static void split_regex(GArray *out, const nlp_tk_piece *p, GRegex *re,
                        nlp_tk_split_behavior bh, bool invert, GArray *mt, nlp_tk_scratch *sc) {
  g_array_set_size(mt, 0);
  GMatchInfo *mi = NULL;
  size_t prev = 0;
  g_regex_match_full(re, p->s, (gssize)p->len, 0, 0, &mi, NULL);
  while (g_match_info_matches(mi)) {
    int s, e;
    g_match_info_fetch_pos(mi, 0, &s, &e);
    if (prev != (size_t)s) push_range(mt, prev, (size_t)s, false);
    push_range(mt, (size_t)s, (size_t)e, true);
    prev = (size_t)e;
    g_match_info_next(mi, NULL);
  }
  g_match_info_free(mi);
  if (prev != p->len) push_range(mt, prev, p->len, false);
  apply_behavior(out, p, mt, bh, invert, sc);
}

/* BertPreTokenizer: whitespace removed, punctuation isolated, in one pass, the words
 * written in place. Every cut consumes a character, so there are at most len + 1
 * words; room for that many is made up front for a short piece (the usual case: this
 * runs once per word of the input), while a long one (a whole document) grows the
 * array as it goes, so its size follows the words found, not the bytes. */
static void bert_split(GArray *out, const nlp_tk_piece *p) {
  size_t base = out->len, k = base;
  g_array_set_size(out, base + MIN(p->len + 1, (size_t)4096));
  nlp_tk_piece *w = (nlp_tk_piece *)(void *)out->data;
#define CUT(a, b)                                                          \
  if ((b) > (a)) {                                                         \
    if (k == out->len) {                                                   \
      g_array_set_size(out, out->len * 2);                                 \
      w = (nlp_tk_piece *)(void *)out->data;                               \
    }                                                                      \
    w[k++] = (nlp_tk_piece){p->s + (a), p->al + (a), (b) - (a), -1};       \
  }
  size_t start = 0;
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    uint8_t ch = (uint8_t)*q;
    size_t cl;
    bool ws, pu;
    if (ch < 0x80) {
      /* ASCII classes as bit sets: ws = ' ', 9..13; punctuation = 33..47, 58..64,
       * 91..96, 123..126 (what the general functions below answer for them) */
      static const uint64_t ws_bits[2] = {0x0000000100003e00ull, 0};
      static const uint64_t pu_bits[2] = {0xfc00fffe00000000ull, 0x78000001f8000001ull};
      cl = 1;
      ws = (ws_bits[ch >> 6] >> (ch & 63)) & 1;
      pu = (pu_bits[ch >> 6] >> (ch & 63)) & 1;
    } else {
      gunichar c = g_utf8_get_char(q);
      cl = (size_t)(g_utf8_next_char(q) - q);
      ws = nlp_tk_is_whitespace(c);
      pu = !ws && nlp_tk_is_punctuation(c);
    }
    if (ws || pu) {
      CUT(start, i);
      if (pu) CUT(i, i + cl);
      start = i + cl;
    }
    i += cl;
  }
  CUT(start, p->len);
#undef CUT
  g_array_set_size(out, k);
}

static GRegex *gpt2_re, *ws_re;
static gpointer build_regexes(gpointer d) {
  (void)d;
  /* \s widened with U+0085: Rust/Oniguruma \s is White_Space, PCRE2's is not. */
  gpt2_re = g_regex_new("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\x{85}\\p{L}\\p{N}]+|[\\s\\x{85}]+(?![^\\s\\x{85}])|[\\s\\x{85}]+",
                        G_REGEX_OPTIMIZE, 0, NULL);
  /* Rust regex \w = Alphabetic + marks + Nd + Pc + Join_Control; PCRE2's lacks marks */
  ws_re = g_regex_new("[\\w\\p{M}\\p{Nl}\\x{200C}\\x{200D}]+|[^\\w\\p{M}\\p{Nl}\\x{200C}\\x{200D}\\s\\x{85}]+", G_REGEX_OPTIMIZE, 0, NULL);
  return NULL;
}
static GOnce re_once = G_ONCE_INIT;
GRegex *nlp_tk_gpt2_regex(void) {
  g_once(&re_once, build_regexes, NULL);
  return gpt2_re;
}

static void metaspace(const nlp_tk_pretokenizer *pt, GArray *out, const nlp_tk_piece *p, nlp_tk_scratch *sc, GArray *mt) {
  const char *rep = pt->replacement;
  size_t rl = strlen(rep);
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 2 * rl + 4);
  /* after ' ' -> replacement, the text starts with it iff it starts with ' ' or with it */
  bool starts = p->len && (p->s[0] == ' ' || (p->len >= rl && !memcmp(p->s, rep, rl)));
  if (p->len && !starts && (pt->prepend == NLP_PREPEND_ALWAYS || (pt->prepend == NLP_PREPEND_FIRST && p->al[0].s == 0)))
    nlp_tk_sbuf_push_bytes(&b, rep, rl, p->al[0]);
  for (size_t i = 0; i < p->len; i++) {
    if (p->s[i] == ' ') nlp_tk_sbuf_push_bytes(&b, rep, rl, p->al[i]);
    else nlp_tk_sbuf_push_bytes(&b, p->s + i, 1, p->al[i]);
  }
  nlp_tk_piece q = *p;
  nlp_tk_sbuf_finish(&b, sc, &q);
  if (!pt->split) {
    if (q.len) g_array_append_val(out, q);
    return;
  }
  g_array_set_size(mt, 0);
  size_t last = 0;
  for (size_t i = 0; i + rl <= q.len;) {
    if (!memcmp(q.s + i, rep, rl)) {
      if (last < i) push_range(mt, last, i, false);
      push_range(mt, i, i + rl, true);
      last = i + rl;
      i += rl;
    } else {
      i++;
    }
  }
  if (last < q.len) push_range(mt, last, q.len, false);
  apply_behavior(out, &q, mt, NLP_SPLIT_MERGED_NEXT, false, sc);
}

static void bytelevel_map(GArray *out, const nlp_tk_piece *p, nlp_tk_scratch *sc) {
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len * 2);
  for (size_t i = 0; i < p->len; i++) {
    const char *c = nlp_tk_byte_to_char((uint8_t)p->s[i]);
    nlp_tk_sbuf_push_bytes(&b, c, strlen(c), p->al[i]);
  }
  nlp_tk_piece q = {0};
  q.added_id = -1;
  nlp_tk_sbuf_finish(&b, sc, &q);
  g_array_append_val(out, q);
}

static void pre_one(const nlp_tk_pretokenizer *pt, GArray *out, const nlp_tk_piece *p, nlp_tk_scratch *sc, GArray *mt) {
  switch (pt->type) {
    case NLP_PRE_BERT: bert_split(out, p); break;
    case NLP_PRE_WHITESPACE:
      g_once(&re_once, build_regexes, NULL);
      split_regex(out, p, ws_re, NLP_SPLIT_REMOVED, true, mt, sc);
      break;
    case NLP_PRE_WHITESPACE_SPLIT:
      split_pred(out, p, nlp_tk_is_whitespace, NLP_SPLIT_REMOVED, mt, sc);
      break;
    case NLP_PRE_PUNCTUATION:
      split_pred(out, p, nlp_tk_is_punctuation, pt->behavior, mt, sc);
      break;
    case NLP_PRE_DIGITS:
      split_pred(out, p, is_numeric, pt->individual_digits ? NLP_SPLIT_ISOLATED : NLP_SPLIT_CONTIGUOUS,
                 mt, sc);
      break;
    case NLP_PRE_SPLIT: split_regex(out, p, pt->regex, pt->behavior, pt->invert, mt, sc); break;
    case NLP_PRE_METASPACE: metaspace(pt, out, p, sc, mt); break;
    case NLP_PRE_BYTELEVEL: {
      nlp_tk_piece q = *p;
      if (pt->add_prefix_space && q.len && q.s[0] != ' ') {
        nlp_tk_sbuf b;
        nlp_tk_sbuf_init(&b, q.len + 1);
        nlp_tk_sbuf_push_bytes(&b, " ", 1, q.al[0]);
        nlp_tk_sbuf_push_bytes(&b, q.s, q.len, q.al[0]);
        memcpy(b.al + 1, q.al, q.len * sizeof *q.al);
        nlp_tk_sbuf_finish(&b, sc, &q);
      }
      GArray *parts = nlp_tk_scratch_array(sc, 2, sizeof(nlp_tk_piece));
      if (pt->use_regex)
        split_regex(parts, &q, nlp_tk_gpt2_regex(), NLP_SPLIT_ISOLATED, false, mt, sc);
      else if (q.len) g_array_append_val(parts, q);
      for (size_t i = 0; i < parts->len; i++) bytelevel_map(out, &g_array_index(parts, nlp_tk_piece, i), sc);
      break;
    }
    case NLP_PRE_SEQUENCE: break; /* handled by the caller */
  }
}

void nlp_tk_pretokenize(const nlp_tk_pretokenizer *pt, GArray **arr, nlp_tk_scratch *sc) {
  if (!pt) return;
  if (pt->type == NLP_PRE_SEQUENCE) {
    for (size_t i = 0; i < pt->n_children; i++) nlp_tk_pretokenize(pt->children[i], arr, sc);
    return;
  }
  GArray *in = *arr;
  GArray *out = nlp_tk_scratch_array(sc, 0, sizeof(nlp_tk_piece));
  GArray *mt = nlp_tk_scratch_array(sc, 1, sizeof(mrange));
  for (size_t i = 0; i < in->len; i++) {
    nlp_tk_piece *p = &g_array_index(in, nlp_tk_piece, i);
    if (p->added_id >= 0) g_array_append_val(out, *p);
    else pre_one(pt, out, p, sc, mt);
  }
  /* the splits become the caller's array, its old array the next work array */
  sc->work[0] = in;
  *arr = out;
}
