/* util.c — per-call scratch memory, aligned text buffers, the vocabulary hash, merge
 * table and the character classes HF uses (Rust char methods, here over GLib). */
#include <string.h>

#include "tokenizer/internal.h"

void nlp_tk_scratch_init(nlp_tk_scratch *sc) { memset(sc, 0, sizeof *sc); }
void nlp_tk_scratch_reset(nlp_tk_scratch *sc) {
  if (sc->blocks) g_ptr_array_set_size(sc->blocks, 0);
  /* grow the arena to what the last call needed, so the next one like it fits; a huge
   * text does not pin its memory in a long-lived (per-thread) scratch */
  if (sc->demand > sc->arena_cap && sc->demand <= ((size_t)8 << 20)) {
    size_t cap = 1 << 14;
    while (cap < sc->demand) cap *= 2;
    g_free(sc->arena);
    sc->arena = g_malloc(cap);
    sc->arena_cap = cap;
  }
  sc->arena_used = sc->demand = 0;
}
void nlp_tk_scratch_clear(nlp_tk_scratch *sc) {
  if (sc->blocks) g_ptr_array_free(sc->blocks, TRUE);
  g_free(sc->arena);
  for (size_t i = 0; i < G_N_ELEMENTS(sc->work); i++)
    if (sc->work[i]) g_array_free(sc->work[i], TRUE);
  memset(sc, 0, sizeof *sc);
}
void *nlp_tk_scratch_alloc(nlp_tk_scratch *sc, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (!size) size = 16;
  sc->demand += size;
  if (sc->arena_cap - sc->arena_used >= size) {
    void *p = sc->arena + sc->arena_used;
    sc->arena_used += size;
    return p;
  }
  void *p = g_malloc(size);
  nlp_tk_scratch_adopt(sc, p);
  return p;
}
void nlp_tk_scratch_adopt(nlp_tk_scratch *sc, void *block) {
  if (!sc->blocks) sc->blocks = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(sc->blocks, block);
}
GArray *nlp_tk_scratch_array(nlp_tk_scratch *sc, int slot, size_t elt) {
  if (!sc->work[slot]) sc->work[slot] = g_array_new(FALSE, FALSE, (guint)elt);
  g_array_set_size(sc->work[slot], 0);
  return sc->work[slot];
}

void nlp_tk_sbuf_init(nlp_tk_sbuf *b, size_t cap) {
  b->cap = cap < 16 ? 16 : cap;
  b->len = 0;
  b->s = g_malloc(b->cap);
  b->al = g_malloc(b->cap * sizeof *b->al);
}
static void sbuf_grow(nlp_tk_sbuf *b, size_t need) {
  if (b->len + need <= b->cap) return;
  while (b->len + need > b->cap) b->cap *= 2;
  b->s = g_realloc(b->s, b->cap);
  b->al = g_realloc(b->al, b->cap * sizeof *b->al);
}
void nlp_tk_sbuf_push_bytes(nlp_tk_sbuf *b, const char *s, size_t n, nlp_tk_span sp) {
  sbuf_grow(b, n);
  memcpy(b->s + b->len, s, n);
  for (size_t i = 0; i < n; i++) b->al[b->len + i] = sp;
  b->len += n;
}
void nlp_tk_sbuf_push(nlp_tk_sbuf *b, gunichar c, nlp_tk_span sp) {
  char tmp[8];
  if (c < 0x80) {
    sbuf_grow(b, 1);
    b->s[b->len] = (char)c;
    b->al[b->len++] = sp;
    return;
  }
  int n = g_unichar_to_utf8(c, tmp);
  nlp_tk_sbuf_push_bytes(b, tmp, (size_t)n, sp);
}
void nlp_tk_sbuf_finish(nlp_tk_sbuf *b, nlp_tk_scratch *sc, nlp_tk_piece *out) {
  nlp_tk_scratch_adopt(sc, b->s);
  nlp_tk_scratch_adopt(sc, b->al);
  out->s = b->s;
  out->al = b->al;
  out->len = b->len;
  b->s = NULL;
  b->al = NULL;
}

/* ---- vocabulary */
static inline uint64_t hash_bytes(const char *s, size_t n) {
  /* 8 bytes per step (the table only needs build and lookup to agree) */
  uint64_t h = 1469598103934665603ull ^ (n * 0x9E3779B97F4A7C15ull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    s += 8, n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    if (n >= 4) {
      uint32_t lo, hi;
      memcpy(&lo, s, 4);
      memcpy(&hi, s + n - 4, 4);
      w = lo | ((uint64_t)hi << 32);
    } else {
      w = (uint8_t)s[0] | ((uint64_t)(uint8_t)s[n >> 1] << 8) | ((uint64_t)(uint8_t)s[n - 1] << 16);
    }
    h = (h ^ w) * 0xff51afd7ed558ccdull;
  }
  h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 27; h *= 0x94d049bb133111ebull; h ^= h >> 31;
  return h;
}
static inline uint64_t head8(const char *s, size_t n) {
  uint64_t w = 0;
  memcpy(&w, s, n < 8 ? n : 8);
  return w;
}
static inline bool bytes_eq(const char *a, const char *b, size_t n) {
  while (n >= 8) {
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) return false;
    a += 8, b += 8, n -= 8;
  }
  while (n--)
    if (*a++ != *b++) return false;
  return true;
}
void nlp_tk_vocab_init(nlp_tk_vocab *v, size_t n) {
  memset(v, 0, sizeof *v);
  v->n = n;
  v->tok = g_new0(char *, n ? n : 1);
  v->len = g_new0(uint32_t, n ? n : 1);
}
bool nlp_tk_vocab_set(nlp_tk_vocab *v, int32_t id, const char *tok, size_t len) {
  if (id < 0) return false;
  if ((size_t)id >= v->n) {
    size_t nn = (size_t)id + 1;
    v->tok = g_renew(char *, v->tok, nn);
    v->len = g_renew(uint32_t, v->len, nn);
    for (size_t i = v->n; i < nn; i++) v->tok[i] = NULL, v->len[i] = 0;
    v->n = nn;
  }
  g_free(v->tok[id]);
  v->tok[id] = g_strndup(tok, len);
  v->len[id] = (uint32_t)len;
  if (len > v->max_len) v->max_len = len;
  return true;
}
void nlp_tk_vocab_build_index(nlp_tk_vocab *v) {
  size_t cap = 16;
  while (cap < v->n * 2 + 1) cap *= 2;
  g_free(v->slots);
  v->slots = g_new(int32_t, cap);
  memset(v->slots, 0xff, cap * sizeof(int32_t));
  v->mask = cap - 1;
  for (size_t id = 0; id < v->n; id++) {
    if (!v->tok[id]) continue;
    size_t h = hash_bytes(v->tok[id], v->len[id]) & v->mask;
    bool dup = false;
    while (v->slots[h] >= 0) {
      int32_t o = v->slots[h];
      /* HF keeps the last id for a duplicated token string (HashMap insert). */
      if (v->len[o] == v->len[id] && !memcmp(v->tok[o], v->tok[id], v->len[id])) {
        v->slots[h] = (int32_t)id;
        dup = true;
        break;
      }
      h = (h + 1) & v->mask;
    }
    if (!dup) v->slots[h] = (int32_t)id;
  }
  g_free(v->ent);
  v->ent = g_new(struct nlp_tk_vent, cap);
  for (size_t h = 0; h <= v->mask; h++) {
    int32_t id = v->slots[h];
    v->ent[h].id = id;
    v->ent[h].len = id >= 0 ? v->len[id] : 0;
    v->ent[h].head = id >= 0 ? head8(v->tok[id], v->len[id]) : 0;
  }
}
int32_t nlp_tk_vocab_find(const nlp_tk_vocab *v, const char *s, size_t len) {
  if (!v->ent) return -1;
  size_t h = hash_bytes(s, len) & v->mask;
  uint64_t hd = head8(s, len);
  for (;;) {
    const struct nlp_tk_vent *e = &v->ent[h];
    if (e->id < 0) return -1;
    if (e->len == len && e->head == hd && (len <= 8 || bytes_eq(v->tok[e->id] + 8, s + 8, len - 8))) return e->id;
    h = (h + 1) & v->mask;
  }
}
void nlp_tk_vocab_clear(nlp_tk_vocab *v) {
  if (v->tok)
    for (size_t i = 0; i < v->n; i++) g_free(v->tok[i]);
  g_free(v->tok);
  g_free(v->len);
  g_free(v->slots);
  g_free(v->ent);
  memset(v, 0, sizeof *v);
}

/* ---- merges: (left id, right id) -> (rank, merged id) */
static inline size_t hash_u64(uint64_t k) {
  k ^= k >> 33; k *= 0xff51afd7ed558ccdull; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ull; k ^= k >> 33;
  return (size_t)k;
}
void nlp_tk_merges_init(nlp_tk_merges *mg, size_t n) {
  size_t cap = 16;
  while (cap < n * 2 + 1) cap *= 2;
  mg->keys = g_new(uint64_t, cap);
  memset(mg->keys, 0xff, cap * sizeof(uint64_t));
  mg->rank = g_new(int32_t, cap);
  mg->newid = g_new(int32_t, cap);
  mg->mask = cap - 1;
  mg->n = 0;
}
void nlp_tk_merges_add(nlp_tk_merges *mg, int32_t a, int32_t b, int32_t rank, int32_t newid) {
  uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  size_t h = hash_u64(k) & mg->mask;
  while (mg->keys[h] != UINT64_MAX) {
    if (mg->keys[h] == k) return; /* first (lowest-rank) definition wins */
    h = (h + 1) & mg->mask;
  }
  mg->keys[h] = k;
  mg->rank[h] = rank;
  mg->newid[h] = newid;
  mg->n++;
}
bool nlp_tk_merges_find(const nlp_tk_merges *mg, int32_t a, int32_t b, int32_t *rank, int32_t *newid) {
  if (!mg->keys) return false;
  uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  size_t h = hash_u64(k) & mg->mask;
  while (mg->keys[h] != UINT64_MAX) {
    if (mg->keys[h] == k) {
      *rank = mg->rank[h];
      *newid = mg->newid[h];
      return true;
    }
    h = (h + 1) & mg->mask;
  }
  return false;
}
void nlp_tk_merges_clear(nlp_tk_merges *mg) {
  g_free(mg->keys);
  g_free(mg->rank);
  g_free(mg->newid);
  memset(mg, 0, sizeof *mg);
}

/* ---- character classes, as HF defines them */
bool nlp_tk_is_whitespace(gunichar c) {
  /* Rust char::is_whitespace (White_Space property); GLib's isspace misses U+0085. */
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}
bool nlp_tk_is_control(gunichar c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (g_unichar_type(c)) {
    case G_UNICODE_CONTROL: case G_UNICODE_FORMAT: case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE: case G_UNICODE_SURROGATE:
      return true;
    default:
      return false;
  }
}
bool nlp_tk_is_punctuation(gunichar c) {
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  switch (g_unichar_type(c)) {
    case G_UNICODE_CONNECT_PUNCTUATION: case G_UNICODE_DASH_PUNCTUATION: case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION: case G_UNICODE_INITIAL_PUNCTUATION: case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
      return true;
    default:
      return false;
  }
}
bool nlp_tk_is_chinese(gunichar c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the others to
 * U+0100 + n in byte order; built once (GOnce) and read-only afterwards. */
static char byte_chars[256][4];
static int16_t char_bytes[0x180];
static gpointer build_byte_tables(gpointer data) {
  (void)data;
  int n = 0;
  for (int i = 0; i < 0x180; i++) char_bytes[i] = -1;
  for (int b = 0; b < 256; b++) {
    gunichar c;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) c = (gunichar)b;
    else c = 256 + (gunichar)n++;
    int l = g_unichar_to_utf8(c, byte_chars[b]);
    byte_chars[b][l] = 0;
    char_bytes[c] = (int16_t)b;
  }
  return NULL;
}
static GOnce byte_once = G_ONCE_INIT;
const char *nlp_tk_byte_to_char(uint8_t b) {
  g_once(&byte_once, build_byte_tables, NULL);
  return byte_chars[b];
}
int nlp_tk_char_to_byte(gunichar c) {
  g_once(&byte_once, build_byte_tables, NULL);
  return c < 0x180 ? char_bytes[c] : -1;
}
