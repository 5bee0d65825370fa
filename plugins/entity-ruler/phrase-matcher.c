/* phrase-matcher.c — code-point trie (see phrase-matcher.h).
 *
 * Nodes are numbered; node 0 is the root. All edges live in one hash table keyed
 * by (node << 21 | code point) -- code points fit in 21 bits -- which costs one
 * lookup per character and no per-node table, so a large phrase list stays compact. */
#include "phrase-matcher.h"

#include "boundaries.h"
#include "spans.h"

#define NO_PATTERN (-1)

struct er_phrase_matcher {
  bool lowercase;
  bool word_boundaries;
  GHashTable *edges;  /* edge key -> child node id (never 0: the root is no child) */
  GArray *terminal;   /* int64 per node: pattern ending there, or NO_PATTERN */
};

static inline gpointer edge_key(size_t node, gunichar c) {
  return (gpointer)(((uintptr_t)node << 21) | (uintptr_t)c);
}

/* g_direct_hash would keep only the low 32 bits, where node ids collide. */
static guint edge_hash(gconstpointer key) {
  uint64_t x = (uint64_t)(uintptr_t)key;
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return (guint)x;
}

static inline gunichar fold(const er_phrase_matcher *m, gunichar c) {
  return m->lowercase ? g_unichar_tolower(c) : c;
}

er_phrase_matcher *er_phrase_matcher_new(bool lowercase, bool word_boundaries) {
  er_phrase_matcher *m = g_new0(er_phrase_matcher, 1);
  m->lowercase = lowercase;
  m->word_boundaries = word_boundaries;
  m->edges = g_hash_table_new(edge_hash, g_direct_equal);
  m->terminal = g_array_new(FALSE, FALSE, sizeof(int64_t));
  int64_t none = NO_PATTERN;
  g_array_append_val(m->terminal, none); /* the root */
  return m;
}

int64_t er_phrase_matcher_add(er_phrase_matcher *m, const char *phrase, uint32_t index) {
  size_t node = 0;
  for (const char *p = phrase; *p; p = g_utf8_next_char(p)) {
    gpointer key = edge_key(node, fold(m, g_utf8_get_char(p)));
    gpointer child = g_hash_table_lookup(m->edges, key);
    if (!child) {
      int64_t none = NO_PATTERN;
      g_array_append_val(m->terminal, none);
      child = GSIZE_TO_POINTER(m->terminal->len - 1);
      g_hash_table_insert(m->edges, key, child);
    }
    node = GPOINTER_TO_SIZE(child);
  }
  int64_t *slot = &g_array_index(m->terminal, int64_t, node);
  if (*slot != NO_PATTERN)
    return *slot;
  *slot = index;
  return -1;
}

void er_phrase_matcher_find(const er_phrase_matcher *m, const er_text *text, GArray *spans) {
  const gunichar *cps = text->cps;
  gunichar *folded = NULL;
  if (m->lowercase) {
    /* Fold once per document rather than once per trie step. */
    folded = g_new(gunichar, text->n ? text->n : 1);
    for (size_t i = 0; i < text->n; i++)
      folded[i] = g_unichar_tolower(text->cps[i]);
    cps = folded;
  }
  const int64_t *terminal = (const int64_t *)(const void *)m->terminal->data;
  for (size_t start = 0; start < text->n; start++) {
    /* Boundaries are judged on the original text: case never changes them. */
    if (m->word_boundaries && start > 0 &&
        !er_is_boundary(text->cps[start - 1], text->cps[start]))
      continue;
    size_t node = 0;
    for (size_t j = start; j < text->n; j++) {
      gpointer child = g_hash_table_lookup(m->edges, edge_key(node, cps[j]));
      if (!child)
        break;
      node = GPOINTER_TO_SIZE(child);
      if (terminal[node] == NO_PATTERN)
        continue;
      if (m->word_boundaries && j + 1 < text->n &&
          !er_is_boundary(text->cps[j], text->cps[j + 1]))
        continue;
      er_span s = {.start = start, .end = j + 1, .pattern = (uint32_t)terminal[node]};
      g_array_append_val(spans, s);
    }
  }
  g_free(folded);
}

size_t er_phrase_matcher_size(const er_phrase_matcher *m) { return m->terminal->len; }

void er_phrase_matcher_free(er_phrase_matcher *m) {
  if (!m)
    return;
  g_hash_table_destroy(m->edges);
  g_array_free(m->terminal, TRUE);
  g_free(m);
}
