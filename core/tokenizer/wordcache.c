/* wordcache.c — memo of the model's output per word (pre-tokenized piece bytes -> token
 * ids and byte spans). English prose repeats a few thousand words, and a small dense
 * table of them stays in the core's cache, where a probe of the 1 MB vocabulary table
 * (or a walk of the WordPiece trie, or a BPE merge loop) misses it. The model's output
 * depends on the piece bytes only, so a hit gives exactly what the model would.
 *
 * Only short words with few tokens are kept (that is nearly every word of prose), in
 * 32-byte entries, two per 64-byte set with the most recently used first. A cache
 * belongs to one thread (context.c): no locks, no atomics. */
#include <string.h>

#include "tokenizer/context.h"

#define SET_BITS 12 /* 4096 sets x 2 entries x 32 bytes = 256 KB */

typedef struct {
  uint64_t w[2]; /* the word's bytes, zero padded (exact: lengths are compared too) */
  uint8_t len;   /* 0: empty */
  uint8_t n;     /* tokens; token k covers [k ? end[k-1] : 0, k + 1 < n ? end[k] : len) */
  uint8_t end[NLP_TK_WCACHE_MAX_TOKS - 1];
  int32_t id[NLP_TK_WCACHE_MAX_TOKS];
} went;
G_STATIC_ASSERT(sizeof(went) == 32);

struct nlp_tk_wcache {
  went *e; /* 2 << SET_BITS entries, 64-byte aligned */
};

nlp_tk_wcache *nlp_tk_wcache_new(void) {
  nlp_tk_wcache *c = g_new(nlp_tk_wcache, 1);
  c->e = g_aligned_alloc0((size_t)2 << SET_BITS, sizeof(went), 64);
  return c;
}

void nlp_tk_wcache_free(nlp_tk_wcache *c) {
  if (!c) return;
  g_aligned_free(c->e);
  g_free(c);
}

static inline uint64_t load_le(const char *s, size_t n) {
  uint64_t v = 0;
  memcpy(&v, s, n);
  return v;
}

/* the bytes of a word of 1..16 bytes as two zero-padded words, with a few fixed-size
 * (overlapping) loads instead of a byte loop */
static inline void pack(const char *s, size_t len, uint64_t w[2]) {
  if (len >= 8) {
    w[0] = load_le(s, 8);
    w[1] = len > 8 ? load_le(s + len - 8, 8) >> (8 * (16 - len)) : 0;
  } else if (len >= 4) {
    w[0] = load_le(s, 4) | (load_le(s + len - 4, 4) << (8 * (len - 4)));
    w[1] = 0;
  } else {
    w[0] = (uint64_t)(uint8_t)s[0] | ((uint64_t)(uint8_t)s[len >> 1] << (8 * (len >> 1))) |
           ((uint64_t)(uint8_t)s[len - 1] << (8 * (len - 1)));
    w[1] = 0;
  }
}

static inline went *set_of(const nlp_tk_wcache *c, const uint64_t w[2], size_t len) {
  uint64_t h = (w[0] * 0x9E3779B97F4A7C15ull) ^ (w[1] * 0xC2B2AE3D27D4EB4Full) ^ len;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return &c->e[2 * (size_t)(h >> (64 - SET_BITS))];
}

bool nlp_tk_wcache_get(nlp_tk_wcache *c, const char *s, size_t len, nlp_tk_tok *out, size_t *n) {
  if (len == 0 || len > NLP_TK_WCACHE_MAX_BYTES) return false;
  uint64_t w[2];
  pack(s, len, w);
  went *set = set_of(c, w, len);
  for (int k = 0; k < 2; k++) {
    went *e = &set[k];
    if (e->len != len || e->w[0] != w[0] || e->w[1] != w[1]) continue;
    if (k) { /* most recently used first: the frequent word of a colliding pair stays */
      went x = set[1];
      set[1] = set[0];
      set[0] = x;
      e = &set[0];
    }
    uint32_t a = 0;
    for (size_t i = 0; i < e->n; i++) {
      uint32_t b = i + 1 < e->n ? e->end[i] : (uint32_t)len;
      out[i] = (nlp_tk_tok){e->id[i], a, b};
      a = b;
    }
    *n = e->n;
    return true;
  }
  return false;
}

void nlp_tk_wcache_put(nlp_tk_wcache *c, const char *s, size_t len, const nlp_tk_tok *toks,
                       size_t n) {
  if (len == 0 || len > NLP_TK_WCACHE_MAX_BYTES || n > NLP_TK_WCACHE_MAX_TOKS) return;
  /* the entry stores cut points only: keep outputs that tile the word exactly */
  uint32_t a = 0;
  for (size_t i = 0; i < n; i++) {
    if (toks[i].a != a || toks[i].b <= a) return;
    a = toks[i].b;
  }
  if (n && a != len) return;
  went e;
  memset(&e, 0, sizeof e);
  pack(s, len, e.w);
  e.len = (uint8_t)len;
  e.n = (uint8_t)n;
  for (size_t i = 0; i < n; i++) {
    e.id[i] = toks[i].id;
    if (i + 1 < n) e.end[i] = (uint8_t)toks[i].b;
  }
  /* a new word takes the older slot: one-off words then evict each other, not the
   * word that was hit since it came in (which moved to the first slot) */
  went *set = set_of(c, e.w, len);
  if (!set[0].len)
    set[0] = e;
  else
    set[1] = e;
}
