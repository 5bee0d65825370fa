/* normalizers.c — HF normalizers over aligned pieces. Every output character takes the
 * original span of the input character it comes from (HF's transform() alignment:
 * replaced and inserted characters keep their source character's span, a composed
 * character keeps its first component's), so offsets survive any rewrite.
 * Unicode data (normalization, categories, case) comes from GLib. */
#include <string.h>

#include "tokenizer/internal.h"

void nlp_tk_normalizer_free(nlp_tk_normalizer *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n_children; i++) nlp_tk_normalizer_free(n->children[i]);
  g_free(n->children);
  g_free(n->pattern);
  g_free(n->content);
  if (n->regex) g_regex_unref(n->regex);
  if (n->charsmap) g_bytes_unref(n->charsmap);
  g_free(n);
}

static bool is_ascii(const nlp_tk_piece *p) {
  for (size_t i = 0; i < p->len; i++)
    if ((uint8_t)p->s[i] >= 0x80) return false;
  return true;
}

/* Lowercase as Rust's char::to_lowercase (context-free; U+0130 -> "i\u0307"). */
static void push_lower(nlp_tk_sbuf *b, gunichar c, nlp_tk_span sp) {
  if (c < 0x80) {
    nlp_tk_sbuf_push(b, (c >= 'A' && c <= 'Z') ? c + 32 : c, sp);
  } else if (c == 0x130) {
    nlp_tk_sbuf_push(b, 'i', sp);
    nlp_tk_sbuf_push(b, 0x307, sp);
  } else {
    nlp_tk_sbuf_push(b, g_unichar_tolower(c), sp);
  }
}

typedef struct { gunichar c; nlp_tk_span sp; int cc; } uch;

/* Unicode normalization with alignment: decompose each character (GLib), canonical
 * reordering of combining marks, then optional canonical composition. */
static void unicode_normalize(nlp_tk_piece *p, bool compat, bool compose, nlp_tk_scratch *sc) {
  if (is_ascii(p)) return;
  GArray *d = g_array_sized_new(FALSE, FALSE, sizeof(uch), p->len + 8);
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    gunichar c = g_utf8_get_char(q);
    size_t cl = (size_t)(g_utf8_next_char(q) - q);
    gunichar buf[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
    gsize n = g_unichar_fully_decompose(c, compat, buf, G_UNICHAR_MAX_DECOMPOSITION_LENGTH);
    for (gsize k = 0; k < n; k++) {
      uch u = {buf[k], p->al[i], g_unichar_combining_class(buf[k])};
      g_array_append_val(d, u);
    }
    i += cl;
  }
  uch *u = (uch *)d->data;
  size_t n = d->len;
  /* canonical ordering: stable insertion sort inside runs of non-starters */
  for (size_t i = 1; i < n; i++) {
    if (u[i].cc == 0) continue;
    size_t j = i;
    uch x = u[i];
    while (j > 0 && u[j - 1].cc > x.cc) {
      u[j] = u[j - 1];
      j--;
    }
    u[j] = x;
  }
  if (compose && n > 0) {
    size_t out = 0;
    long starter = -1;
    int last_cc = 0;
    for (size_t i = 0; i < n; i++) {
      uch x = u[i];
      if (starter >= 0) {
        bool adjacent = (long)out - 1 == starter;
        gunichar comp;
        if ((adjacent || (last_cc != 0 && last_cc < x.cc)) && g_unichar_compose(u[starter].c, x.c, &comp)) {
          u[starter].c = comp;
          continue;
        }
      }
      if (x.cc == 0) starter = (long)out;
      last_cc = x.cc;
      u[out++] = x;
    }
    n = out;
  }
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 8);
  for (size_t i = 0; i < n; i++) nlp_tk_sbuf_push(&b, u[i].c, u[i].sp);
  g_array_free(d, TRUE);
  nlp_tk_sbuf_finish(&b, sc, p);
}

/* BertNormalizer strips Mn only; the StripAccents normalizer every mark (Mn, Mc, Me:
 * unicode-normalization's is_combining_mark). */
static void strip_marks(nlp_tk_piece *p, bool all_marks, nlp_tk_scratch *sc) {
  if (is_ascii(p)) return;
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len);
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    gunichar c = g_utf8_get_char(q);
    size_t cl = (size_t)(g_utf8_next_char(q) - q);
    bool mark = all_marks ? g_unichar_ismark(c) : g_unichar_type(c) == G_UNICODE_NON_SPACING_MARK;
    if (!mark) nlp_tk_sbuf_push_bytes(&b, q, cl, p->al[i]);
    i += cl;
  }
  nlp_tk_sbuf_finish(&b, sc, p);
}

static void lowercase(nlp_tk_piece *p, nlp_tk_scratch *sc) {
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 4);
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    if ((uint8_t)*q < 0x80) {
      push_lower(&b, (gunichar)*q, p->al[i]);
      i++;
      continue;
    }
    gunichar c = g_utf8_get_char(q);
    push_lower(&b, c, p->al[i]);
    i += (size_t)(g_utf8_next_char(q) - q);
  }
  nlp_tk_sbuf_finish(&b, sc, p);
}

/* Eight ASCII bytes at a time (SWAR): the high bit of each byte of the result flags it. */
#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull
static inline uint64_t swar_upper(uint64_t w) { /* exact per byte, for ASCII bytes */
  return ((w + (0x80 - 'A') * ONES) ^ (w + (0x7f - 'Z') * ONES)) & HIGH;
}
static inline uint64_t swar_control(uint64_t w) { /* nonzero iff a byte is < 0x20 or 0x7f */
  uint64_t x = w ^ (0x7f * ONES);
  return (((w - 0x20 * ONES) & ~w) | ((x - ONES) & ~x)) & HIGH;
}
/* bytes [i, len) of S padded with 'a' (no flag raised by any test above) */
static inline uint64_t load_tail(const char *s, size_t i, size_t len) {
  uint64_t w = 'a' * ONES;
  memcpy(&w, s + i, len - i < 8 ? len - i : 8);
  return w;
}

static void bert_normalize(const nlp_tk_normalizer *n, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  uint64_t hi = 0, up = 0, ctl = 0;
  for (size_t i = 0; i < p->len; i += 8) {
    uint64_t w = load_tail(p->s, i, p->len);
    hi |= w;
    up |= swar_upper(w);
    ctl |= swar_control(w);
  }
  if (!(hi & HIGH)) {
    /* pure ASCII: output byte i comes from input byte i or is dropped (control chars);
     * strip_accents / the Unicode lowercase pass cannot change ASCII */
    bool drop = n->clean_text && ctl, lower = n->lowercase && up;
    if (!drop && !lower) return;
    if (!drop) {
      /* lowercasing only (most text): a byte map, the alignment is unchanged */
      char *o = nlp_tk_scratch_alloc(sc, p->len + 8);
      for (size_t i = 0; i < p->len; i += 8) {
        uint64_t w = load_tail(p->s, i, p->len);
        w |= swar_upper(w) >> 2; /* 'A'..'Z' + 0x20 */
        memcpy(o + i, &w, 8);    /* room for the padded last word */
      }
      p->s = o;
      return;
    }
    /* until a character is dropped, output byte k is input byte k: the alignment is
     * shared, and copied only from the first drop on (most text only lowercases) */
    char *o = nlp_tk_scratch_alloc(sc, p->len);
    nlp_tk_span *al = NULL;
    size_t k = 0;
    for (size_t i = 0; i < p->len; i++) {
      uint8_t c = (uint8_t)p->s[i];
      if (n->clean_text) {
        if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
          if (!al) {
            al = nlp_tk_scratch_alloc(sc, p->len * sizeof *al);
            memcpy(al, p->al, k * sizeof *al);
          }
          continue;
        }
        if (c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c) c = ' ';
      }
      if (n->lowercase && c >= 'A' && c <= 'Z') c += 32;
      o[k] = (char)c;
      if (al) al[k] = p->al[i];
      k++;
    }
    p->s = o;
    if (al) p->al = al;
    p->len = k;
    return;
  }
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 8);
  bool ascii = true;
  /* one pass for clean_text + chinese chars + (ASCII) lowercase, the common case */
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    uint8_t ch = (uint8_t)*q;
    if (ch < 0x80) {
      gunichar c = ch;
      if (n->clean_text) {
        if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) { i++; continue; }
        if (c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == 0x0c) c = ' ';
      }
      if (n->lowercase && c >= 'A' && c <= 'Z') c += 32;
      nlp_tk_sbuf_push(&b, c, p->al[i]);
      i++;
      continue;
    }
    ascii = false;
    gunichar c = g_utf8_get_char(q);
    size_t cl = (size_t)(g_utf8_next_char(q) - q);
    nlp_tk_span sp = p->al[i];
    i += cl;
    if (n->clean_text) {
      if (c == 0xFFFD || nlp_tk_is_control(c)) continue;
      if (nlp_tk_is_whitespace(c)) c = ' ';
    }
    if (n->handle_chinese && nlp_tk_is_chinese(c)) {
      nlp_tk_sbuf_push(&b, ' ', sp);
      nlp_tk_sbuf_push(&b, c, sp);
      nlp_tk_sbuf_push(&b, ' ', sp);
    } else {
      nlp_tk_sbuf_push(&b, c, sp);
    }
  }
  nlp_tk_sbuf_finish(&b, sc, p);
  if (ascii) return; /* ASCII already lowercased above, nothing to strip */
  if (n->strip_accents) {
    unicode_normalize(p, false, false, sc);
    strip_marks(p, false, sc);
  }
  if (n->lowercase) lowercase(p, sc);
}

static void replace_literal(const char *pat, const char *content, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  size_t pl = strlen(pat);
  if (!pl || p->len < pl) return;
  if (!memmem(p->s, p->len, pat, pl)) return;
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 8);
  size_t i = 0;
  while (i < p->len) {
    if (i + pl <= p->len && !memcmp(p->s + i, pat, pl)) {
      nlp_tk_span sp = p->al[i + pl - 1];
      for (const char *c = content; *c; c = g_utf8_next_char(c)) nlp_tk_sbuf_push(&b, g_utf8_get_char(c), sp);
      i += pl;
    } else {
      nlp_tk_sbuf_push_bytes(&b, p->s + i, 1, p->al[i]);
      i++;
    }
  }
  nlp_tk_sbuf_finish(&b, sc, p);
}

static void replace_regex(GRegex *re, const char *content, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  GMatchInfo *mi = NULL;
  if (!g_regex_match_full(re, p->s, (gssize)p->len, 0, 0, &mi, NULL)) {
    g_match_info_free(mi);
    return;
  }
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 8);
  size_t last = 0;
  while (g_match_info_matches(mi)) {
    int s, e;
    g_match_info_fetch_pos(mi, 0, &s, &e);
    if (e > s) {
      for (size_t k = last; k < (size_t)s; k++) nlp_tk_sbuf_push_bytes(&b, p->s + k, 1, p->al[k]);
      nlp_tk_span sp = p->al[e - 1];
      for (const char *c = content; *c; c = g_utf8_next_char(c)) nlp_tk_sbuf_push(&b, g_utf8_get_char(c), sp);
      last = (size_t)e;
    }
    g_match_info_next(mi, NULL);
  }
  g_match_info_free(mi);
  for (size_t k = last; k < p->len; k++) nlp_tk_sbuf_push_bytes(&b, p->s + k, 1, p->al[k]);
  nlp_tk_sbuf_finish(&b, sc, p);
}

/* ---- SentencePiece precompiled charsmap: a Darts double array over UTF-8 bytes whose
 * leaves index NUL-terminated replacements (sentencepiece normalizer.cc). */
static inline bool dunit_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t dunit_value(uint32_t u) { return u & ((1u << 31) - 1); }
static inline uint32_t dunit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static inline uint32_t dunit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

static size_t charsmap_search(const nlp_tk_normalizer *n, const char *s, size_t len, const char **rep, bool longest) {
  if (!n->trie || !n->trie_n) return 0;
  size_t best = 0;
  uint32_t id = 0;
  uint32_t unit = n->trie[0];
  id ^= dunit_offset(unit);
  for (size_t i = 0; i < len; i++) {
    uint8_t k = (uint8_t)s[i];
    id ^= k;
    if (id >= n->trie_n) break;
    unit = n->trie[id];
    if (dunit_label(unit) != k) break;
    id ^= dunit_offset(unit);
    if (id >= n->trie_n) break;
    if (dunit_leaf(unit)) {
      uint32_t v = dunit_value(n->trie[id]);
      if (v < n->norm_n) {
        best = i + 1;
        *rep = n->norm + v;
        if (!longest) return best;
      }
    }
  }
  return best;
}
size_t nlp_tk_charsmap_longest(const nlp_tk_normalizer *n, const char *s, size_t len, const char **rep) {
  return charsmap_search(n, s, len, rep, true);
}
size_t nlp_tk_charsmap_first(const nlp_tk_normalizer *n, const char *s, size_t len, const char **rep) {
  return charsmap_search(n, s, len, rep, false);
}

/* HF Precompiled: each character looked up alone (HF tries whole graphemes first; GLib
 * has no grapheme segmentation, which only matters for multi-character entries). */
static void precompiled(const nlp_tk_normalizer *n, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len + 8);
  for (size_t i = 0; i < p->len;) {
    const char *q = p->s + i;
    size_t cl = (size_t)(g_utf8_next_char(q) - q);
    const char *rep = NULL;
    size_t m = nlp_tk_charsmap_first(n, q, cl, &rep);
    if (m == cl && rep) nlp_tk_sbuf_push_bytes(&b, rep, strlen(rep), p->al[i]);
    else nlp_tk_sbuf_push_bytes(&b, q, cl, p->al[i]);
    i += cl;
  }
  nlp_tk_sbuf_finish(&b, sc, p);
}

/* sentencepiece's own Normalizer::Normalize (for .model files loaded directly):
 * user-defined pieces as they are, else longest-match charsmap, extra whitespace
 * removed, dummy prefix, spaces -> U+2581. */
static void sp_normalize(const nlp_tk_normalizer *n, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  static const char ws[] = "\xe2\x96\x81";
  nlp_tk_sbuf b;
  nlp_tk_sbuf_init(&b, p->len * 2 + 8);
  size_t i = 0;
  const char *rep;
  /* one normalization step at I: returns consumed bytes, sets *out and *outn */
#define SP_STEP(out, outn, consumed)                                                   \
  do {                                                                                 \
    rep = NULL;                                                                        \
    size_t u_ = n->sp_user ? nlp_tk_sp_user_match(n->sp_user, p->s + i, p->len - i) : 0; \
    size_t m_ = u_ ? 0 : nlp_tk_charsmap_longest(n, p->s + i, p->len - i, &rep);       \
    if (u_) { out = p->s + i; outn = u_; consumed = u_; }                              \
    else if (m_ && rep) { out = rep; outn = strlen(rep); consumed = m_; }              \
    else {                                                                             \
      const char *q_ = p->s + i;                                                       \
      consumed = (size_t)(g_utf8_next_char(q_) - q_);                                  \
      if (consumed > p->len - i) consumed = p->len - i;                                \
      out = q_; outn = consumed;                                                       \
    }                                                                                  \
  } while (0)
  if (n->sp_remove_extra_ws) {
    while (i < p->len) {
      const char *o; size_t on, c;
      SP_STEP(o, on, c);
      if (!(on == 1 && o[0] == ' ')) break;
      i += c;
    }
  }
  if (i >= p->len) {
    p->len = 0;
    g_free(b.s); g_free(b.al);
    return;
  }
  bool prev_space = n->sp_remove_extra_ws;
  if (n->sp_add_dummy_prefix) {
    if (n->sp_escape_ws) nlp_tk_sbuf_push_bytes(&b, ws, 3, p->al[i]);
    else nlp_tk_sbuf_push_bytes(&b, " ", 1, p->al[i]);
  }
  while (i < p->len) {
    const char *o; size_t on, c;
    SP_STEP(o, on, c);
    /* what is copied (a user-defined piece, an unmapped character) keeps each byte's own
     * span, so a token cut inside a user-defined piece covers what it was made from; a
     * rewritten chunk maps to all it replaced */
    nlp_tk_span whole = {p->al[i].s, p->al[i + c - 1].e};
    const nlp_tk_span *own = o == p->s + i ? p->al + i : NULL;
    while (prev_space && on > 0 && o[0] == ' ') o++, on--, own = own ? own + 1 : NULL;
    if (on > 0) {
      for (size_t k = 0; k < on; k++) {
        nlp_tk_span sp = own ? own[k] : whole;
        if (n->sp_escape_ws && o[k] == ' ') nlp_tk_sbuf_push_bytes(&b, ws, 3, sp);
        else nlp_tk_sbuf_push_bytes(&b, o + k, 1, sp);
      }
      prev_space = o[on - 1] == ' ';
    }
    i += c;
    if (!n->sp_remove_extra_ws) prev_space = false;
  }
#undef SP_STEP
  if (n->sp_remove_extra_ws) {
    const char *sp_s = n->sp_escape_ws ? ws : " ";
    size_t sl = n->sp_escape_ws ? 3 : 1;
    while (b.len >= sl && !memcmp(b.s + b.len - sl, sp_s, sl)) b.len -= sl;
  }
  nlp_tk_sbuf_finish(&b, sc, p);
}

void nlp_tk_normalize(const nlp_tk_normalizer *n, nlp_tk_piece *p, nlp_tk_scratch *sc) {
  if (!n) return;
  switch (n->type) {
    case NLP_NORM_BERT: bert_normalize(n, p, sc); break;
    case NLP_NORM_LOWERCASE: lowercase(p, sc); break;
    case NLP_NORM_NFC: unicode_normalize(p, false, true, sc); break;
    case NLP_NORM_NFD: unicode_normalize(p, false, false, sc); break;
    case NLP_NORM_NFKC: unicode_normalize(p, true, true, sc); break;
    case NLP_NORM_NFKD: unicode_normalize(p, true, false, sc); break;
    case NLP_NORM_STRIP_ACCENTS: strip_marks(p, true, sc); break;
    case NLP_NORM_REPLACE:
      if (n->regex) replace_regex(n->regex, n->content, p, sc);
      else replace_literal(n->pattern, n->content, p, sc);
      break;
    case NLP_NORM_PREPEND:
      if (p->len) {
        nlp_tk_sbuf b;
        nlp_tk_sbuf_init(&b, p->len + strlen(n->content));
        nlp_tk_sbuf_push_bytes(&b, n->content, strlen(n->content), p->al[0]);
        nlp_tk_sbuf_push_bytes(&b, p->s, p->len, p->al[0]);
        memcpy(b.al + strlen(n->content), p->al, p->len * sizeof *p->al);
        nlp_tk_sbuf_finish(&b, sc, p);
      }
      break;
    case NLP_NORM_STRIP: {
      size_t a = 0, e = p->len;
      if (n->left)
        while (a < e) {
          gunichar c = g_utf8_get_char(p->s + a);
          if (!nlp_tk_is_whitespace(c)) break;
          a = (size_t)(g_utf8_next_char(p->s + a) - p->s);
        }
      if (n->right)
        while (e > a) {
          const char *q = g_utf8_find_prev_char(p->s, p->s + e);
          if (!q || !nlp_tk_is_whitespace(g_utf8_get_char(q))) break;
          e = (size_t)(q - p->s);
        }
      p->s += a;
      p->al += a;
      p->len = e - a;
      break;
    }
    case NLP_NORM_SEQUENCE:
      for (size_t i = 0; i < n->n_children; i++) nlp_tk_normalize(n->children[i], p, sc);
      break;
    case NLP_NORM_PRECOMPILED: precompiled(n, p, sc); break;
    case NLP_NORM_SENTENCEPIECE: sp_normalize(n, p, sc); break;
  }
}
