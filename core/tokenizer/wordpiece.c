/* wordpiece.c — WordPiece (greedy longest match first, "##" continuation, [UNK] for a
 * word too long or with an unmatched rest) and WordLevel (whole word or unk). */
#include <string.h>

#include "tokenizer/internal.h"

static void push(GArray *out, int32_t id, size_t a, size_t b) {
  nlp_tk_tok t = {id, (uint32_t)a, (uint32_t)b};
  g_array_append_val(out, t);
}

static size_t count_chars(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((uint8_t)s[i] & 0xC0) != 0x80;
  return n;
}

static inline size_t edge_hash(uint64_t k) {
  k ^= k >> 30; k *= 0xbf58476d1ce4e5b9ull; k ^= k >> 27; k *= 0x94d049bb133111ebull; k ^= k >> 31;
  return (size_t)k;
}
static int32_t tr_next(const nlp_tk_model *m, int32_t node, uint8_t b) {
  uint64_t k = ((uint64_t)(uint32_t)node << 8) | b;
  size_t h = edge_hash(k) & m->tr_mask;
  while (m->tr_keys[h] != UINT64_MAX) {
    if (m->tr_keys[h] == k) return m->tr_child[h];
    h = (h + 1) & m->tr_mask;
  }
  return -1;
}

/* A byte trie of the vocabulary, so the greedy longest match is one walk instead of a
 * hash lookup per candidate length (the hot loop of BERT tokenization). */
void nlp_tk_wordpiece_build_trie(nlp_tk_model *m) {
  size_t total = 1;
  for (size_t i = 0; i < m->vocab.n; i++) total += m->vocab.len[i];
  size_t cap = 16;
  while (cap < total * 2) cap *= 2;
  m->tr_keys = g_new(uint64_t, cap);
  memset(m->tr_keys, 0xff, cap * sizeof(uint64_t));
  m->tr_child = g_new(int32_t, cap);
  m->tr_mask = cap - 1;
  m->tr_term = g_new(int32_t, total);
  m->tr_term[0] = -1;
  m->tr_nodes = 1;
  for (size_t i = 0; i < m->vocab.n; i++) {
    const char *t = m->vocab.tok[i];
    if (!t) continue;
    /* the index keeps one id per string (the last, as HF's HashMap): use that one */
    int32_t id = nlp_tk_vocab_find(&m->vocab, t, m->vocab.len[i]);
    int32_t node = 0;
    for (size_t k = 0; k < m->vocab.len[i]; k++) {
      int32_t nx = tr_next(m, node, (uint8_t)t[k]);
      if (nx < 0) {
        nx = (int32_t)m->tr_nodes++;
        m->tr_term[nx] = -1;
        uint64_t key = ((uint64_t)(uint32_t)node << 8) | (uint8_t)t[k];
        size_t h = edge_hash(key) & m->tr_mask;
        while (m->tr_keys[h] != UINT64_MAX) h = (h + 1) & m->tr_mask;
        m->tr_keys[h] = key;
        m->tr_child[h] = nx;
      }
      node = nx;
    }
    m->tr_term[node] = id;
  }
  int32_t c = 0;
  for (const char *p = m->prefix ? m->prefix : ""; *p && c >= 0; p++) c = tr_next(m, c, (uint8_t)*p);
  m->tr_cont = c;
  m->tr_edge = g_new(struct nlp_tk_tedge, cap);
  for (size_t h = 0; h < cap; h++) {
    m->tr_edge[h].key = m->tr_keys[h];
    m->tr_edge[h].child = m->tr_keys[h] != UINT64_MAX ? m->tr_child[h] : -1;
    m->tr_edge[h].term = m->tr_keys[h] != UINT64_MAX ? m->tr_term[m->tr_child[h]] : -1;
  }
}

/* walk step: the edge NODE --B--> (child, child's terminal id); false if none */
static inline bool tr_step(const nlp_tk_model *m, int32_t node, uint8_t b, int32_t *child, int32_t *term) {
  uint64_t k = ((uint64_t)(uint32_t)node << 8) | b;
  size_t h = edge_hash(k) & m->tr_mask;
  for (;;) {
    const struct nlp_tk_tedge *e = &m->tr_edge[h];
    if (e->key == k) {
      *child = e->child;
      *term = e->term;
      return true;
    }
    if (e->key == UINT64_MAX) return false;
    h = (h + 1) & m->tr_mask;
  }
}

void nlp_tk_wordpiece_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  if (!len) return;
  if (m->type == NLP_MODEL_WORDLEVEL) {
    int32_t id = nlp_tk_vocab_find(&m->vocab, s, len);
    if (id < 0) id = m->unk_id;
    if (id >= 0) push(out, id, 0, len);
    return;
  }
  if (count_chars(s, len) > m->max_chars) {
    if (m->unk_id >= 0) push(out, m->unk_id, 0, len);
    return;
  }
  if (m->tr_edge) {
    /* most words are whole vocabulary entries: one hash probe before the trie walk */
    if (len <= m->vocab.max_len) {
      int32_t id = nlp_tk_vocab_find(&m->vocab, s, len);
      if (id >= 0) {
        push(out, id, 0, len);
        return;
      }
    }
    size_t first = out->len, start = 0;
    while (start < len) {
      int32_t node = start ? m->tr_cont : 0, best = -1;
      size_t best_end = start;
      for (size_t i = start; i < len && node >= 0; i++) {
        int32_t term;
        if (!tr_step(m, node, (uint8_t)s[i], &node, &term)) break;
        if (term >= 0) best = term, best_end = i + 1;
      }
      if (best < 0) {
        g_array_set_size(out, first);
        if (m->unk_id >= 0) push(out, m->unk_id, 0, len);
        return;
      }
      push(out, best, start, best_end);
      start = best_end;
    }
    return;
  }
  size_t plen = m->prefix ? strlen(m->prefix) : 0;
  size_t maxl = m->vocab.max_len;
  char stackbuf[512];
  char *buf = plen + len <= sizeof stackbuf ? stackbuf : g_malloc(plen + len);
  if (plen) memcpy(buf, m->prefix, plen);
  size_t first = out->len;
  size_t start = 0;
  while (start < len) {
    /* no vocabulary entry is longer than maxl bytes: start the search there */
    size_t room = start ? (maxl > plen ? maxl - plen : 0) : maxl;
    size_t end = len - start > room ? start + room : len;
    while (end > start && end < len && ((uint8_t)s[end] & 0xC0) == 0x80) end--;
    int32_t id = -1;
    while (end > start) {
      if (start == 0) {
        id = nlp_tk_vocab_find(&m->vocab, s, end);
      } else {
        memcpy(buf + plen, s + start, end - start);
        id = nlp_tk_vocab_find(&m->vocab, buf, plen + end - start);
      }
      if (id >= 0) break;
      end--;
      while (end > start && ((uint8_t)s[end] & 0xC0) == 0x80) end--;
    }
    if (id < 0) {
      g_array_set_size(out, first);
      if (m->unk_id >= 0) push(out, m->unk_id, 0, len);
      break;
    }
    push(out, id, start, end);
    start = end;
  }
  if (buf != stackbuf) g_free(buf);
}
