/* bpe.c — HF BPE: characters (with continuing-subword prefix / end-of-word suffix),
 * unknown characters to byte fallback <0xXX> or (fused) unk, then merges applied in
 * rank order with a priority queue (O(n log n), so a 1 MB word is fine). Also
 * sentencepiece's BPE (merge the adjacent pair whose concatenation is the best-scored
 * piece, user-defined pieces never merged, UNUSED ones split back), used for .model
 * files of type BPE. */
#include <stdio.h>
#include <string.h>

#include "tokenizer/heap.h"
#include "tokenizer/internal.h"

typedef struct { int32_t id, prev, next; uint32_t a, b; } sym;

static int32_t find_affixed(const nlp_tk_model *m, const char *s, size_t a, size_t b, size_t len, GString *tmp) {
  bool pre = a > 0 && m->prefix && *m->prefix;
  bool suf = b == len && m->suffix && *m->suffix;
  if (!pre && !suf) return nlp_tk_vocab_find(&m->vocab, s + a, b - a);
  g_string_truncate(tmp, 0);
  if (pre) g_string_append(tmp, m->prefix);
  g_string_append_len(tmp, s + a, (gssize)(b - a));
  if (suf) g_string_append(tmp, m->suffix);
  return nlp_tk_vocab_find(&m->vocab, tmp->str, tmp->len);
}

void nlp_tk_model_index_bytes(nlp_tk_model *m) {
  m->has_bytes = true;
  for (int b = 0; b < 256; b++) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    m->byte_ids[b] = nlp_tk_vocab_find(&m->vocab, name, 6);
    if (m->byte_ids[b] < 0) m->has_bytes = false;
  }
}

static void push_sym(GArray *syms, int32_t id, size_t a, size_t b) {
  sym x = {id, (int32_t)syms->len - 1, -1, (uint32_t)a, (uint32_t)b};
  g_array_append_val(syms, x);
}

void nlp_tk_bpe_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  if (!len) return;
  if (m->ignore_merges) {
    int32_t id = nlp_tk_vocab_find(&m->vocab, s, len);
    if (id >= 0) {
      nlp_tk_tok t = {id, 0, (uint32_t)len};
      g_array_append_val(out, t);
      return;
    }
  }
  GArray *syms = g_array_sized_new(FALSE, FALSE, sizeof(sym), len);
  GString *tmp = g_string_new(NULL);
  long unk_a = -1, unk_b = -1;
  for (size_t i = 0; i < len;) {
    size_t cl = ((uint8_t)s[i] < 0x80) ? 1 : (size_t)(g_utf8_next_char(s + i) - (s + i));
    if (i + cl > len) cl = len - i;
    int32_t id = find_affixed(m, s, i, i + cl, len, tmp);
    if (id >= 0) {
      if (unk_a >= 0) push_sym(syms, m->unk_id, (size_t)unk_a, (size_t)unk_b), unk_a = -1;
      push_sym(syms, id, i, i + cl);
    } else if (m->byte_fallback && m->has_bytes) {
      if (unk_a >= 0) push_sym(syms, m->unk_id, (size_t)unk_a, (size_t)unk_b), unk_a = -1;
      for (size_t k = 0; k < cl; k++) push_sym(syms, m->byte_ids[(uint8_t)s[i + k]], i + k, i + k + 1);
    } else if (m->unk_id >= 0) {
      if (unk_a >= 0 && m->fuse_unk) {
        unk_b = (long)(i + cl);
      } else {
        if (unk_a >= 0) push_sym(syms, m->unk_id, (size_t)unk_a, (size_t)unk_b);
        unk_a = (long)i;
        unk_b = (long)(i + cl);
      }
    }
    i += cl;
  }
  if (unk_a >= 0) push_sym(syms, m->unk_id, (size_t)unk_a, (size_t)unk_b);
  g_string_free(tmp, TRUE);
  sym *y = (sym *)syms->data;
  size_t n = syms->len;
  if (n) y[n - 1].next = -1;
  for (size_t i = 0; i + 1 < n; i++) y[i].next = (int32_t)i + 1;
  if (n > 1 && m->merges.n) {
    GArray *heap = g_array_sized_new(FALSE, FALSE, sizeof(nlp_tk_hent), n);
    for (size_t i = 0; i + 1 < n; i++) {
      int32_t rank, nid;
      if (nlp_tk_merges_find(&m->merges, y[i].id, y[i + 1].id, &rank, &nid)) {
        nlp_tk_hent e = {-(double)rank, (int32_t)i, 0, nid, 0, 0};
        nlp_tk_heap_push(heap, e);
      }
    }
    while (heap->len) {
      nlp_tk_hent e = nlp_tk_heap_pop(heap);
      sym *l = &y[e.pos];
      if (l->id < 0 || l->next < 0) continue;
      sym *r = &y[l->next];
      int32_t rank, nid;
      if (!nlp_tk_merges_find(&m->merges, l->id, r->id, &rank, &nid) || nid != e.newid || -(double)rank != e.pri) continue;
      l->id = nid;
      l->b = r->b;
      l->next = r->next;
      if (r->next >= 0) y[r->next].prev = e.pos;
      r->id = -1;
      if (l->prev >= 0 && nlp_tk_merges_find(&m->merges, y[l->prev].id, l->id, &rank, &nid)) {
        nlp_tk_hent f = {-(double)rank, l->prev, 0, nid, 0, 0};
        nlp_tk_heap_push(heap, f);
      }
      if (l->next >= 0 && nlp_tk_merges_find(&m->merges, l->id, y[l->next].id, &rank, &nid)) {
        nlp_tk_hent f = {-(double)rank, e.pos, 0, nid, 0, 0};
        nlp_tk_heap_push(heap, f);
      }
    }
    g_array_free(heap, TRUE);
  }
  for (size_t i = 0; i < n; i = y[i].next < 0 ? n : (size_t)y[i].next) {
    if (y[i].id < 0) continue;
    nlp_tk_tok t = {y[i].id, y[i].a, y[i].b};
    g_array_append_val(out, t);
  }
  g_array_free(syms, TRUE);
}

/* what the library may merge into and emit: its pieces_ (NORMAL, USER_DEFINED, UNUSED);
 * not CONTROL, UNKNOWN or BYTE pieces */
static bool sp_piece(const nlp_tk_model *m, int32_t id) {
  if (id < 0) return false;
  if (!m->sp_type) return true;
  return m->sp_type[id] == 1 || m->sp_type[id] == 4 || m->sp_type[id] == 5;
}

static bool is_unused(const nlp_tk_model *m, int32_t id) {
  return id >= 0 && m->sp_type && m->sp_type[id] == 5;
}

/* Appends s[a..b) as the library's resegment does: an UNUSED piece is replaced by the two
 * it was last queued from in this text (REV: id -> length of the left one), again and
 * again; one with no such entry (a single character) stays. Anything else not a piece
 * becomes bytes or, fused with an unknown just before it, <unk>. */
static void sp_emit(const nlp_tk_model *m, const char *s, uint32_t a, uint32_t b, GHashTable *rev,
                    bool *prev_unk, GArray *out) {
  int32_t id = nlp_tk_vocab_find(&m->vocab, s + a, b - a);
  gpointer left = rev && is_unused(m, id) ? g_hash_table_lookup(rev, GINT_TO_POINTER(id)) : NULL;
  if (left) {
    uint32_t mid = a + (uint32_t)GPOINTER_TO_SIZE(left);
    sp_emit(m, s, a, mid, rev, prev_unk, out);
    sp_emit(m, s, mid, b, rev, prev_unk, out);
    return;
  }
  if (!sp_piece(m, id)) {
    if (m->byte_fallback && m->has_bytes) {
      for (uint32_t k = a; k < b; k++) {
        nlp_tk_tok t = {m->byte_ids[(uint8_t)s[k]], k, k + 1};
        g_array_append_val(out, t);
      }
      *prev_unk = false;
      return;
    }
    if (*prev_unk && out->len) { /* sentencepiece fuses runs of unknown pieces */
      g_array_index(out, nlp_tk_tok, out->len - 1).b = b;
      return;
    }
    *prev_unk = true;
    nlp_tk_tok t = {m->unk_id, a, b};
    g_array_append_val(out, t);
    return;
  }
  *prev_unk = false;
  nlp_tk_tok t = {id, a, b};
  g_array_append_val(out, t);
}

/* sentencepiece bpe_model.cc Encode. Symbols are characters, except that a user-defined
 * piece (longest match, as its PrefixMatcher) is one frozen symbol: it takes part in no
 * merge, so "a<sep>b" stays "▁a" "<sep>" "b". id 1 marks a frozen symbol, -1 a merged-away
 * one. UNUSED pieces are merged like any other, so longer pieces can be built through
 * them, and split back at the end (sp_emit). */
void nlp_tk_spbpe_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  if (!len) return;
  GArray *syms = g_array_sized_new(FALSE, FALSE, sizeof(sym), len);
  for (size_t i = 0; i < len;) {
    size_t ul = m->ud_max ? nlp_tk_sp_user_match(m, s + i, len - i) : 0;
    if (ul) {
      push_sym(syms, 1, i, i + ul);
      i += ul;
      continue;
    }
    size_t cl = (size_t)(g_utf8_next_char(s + i) - (s + i));
    if (i + cl > len) cl = len - i;
    push_sym(syms, 0, i, i + cl);
    i += cl;
  }
  sym *y = (sym *)syms->data;
  size_t n = syms->len;
  for (size_t i = 0; i < n; i++) y[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
  GArray *heap = g_array_new(FALSE, FALSE, sizeof(nlp_tk_hent));
  GHashTable *rev = m->sp_unused ? g_hash_table_new(NULL, NULL) : NULL;
  /* queues the merge of L and R; for an UNUSED result, remembers (last one wins, as the
   * library's rev_merge) how to split it back */
#define SP_TRY(L, R)                                                                         \
  do {                                                                                       \
    bool frozen_ = y[L].id || y[R].id;                                                       \
    int32_t id_ = frozen_ ? -1 : nlp_tk_vocab_find(&m->vocab, s + y[L].a, y[R].b - y[L].a);  \
    if (sp_piece(m, id_)) {                                                                  \
      nlp_tk_hent e_ = {m->scores[id_], (int32_t)(L), (int32_t)(R), id_, y[L].b, y[R].b};    \
      nlp_tk_heap_push(heap, e_);                                                            \
      if (rev && is_unused(m, id_))                                                           \
        g_hash_table_insert(rev, GINT_TO_POINTER(id_), GSIZE_TO_POINTER(y[L].b - y[L].a));   \
    }                                                                                        \
  } while (0)
  for (size_t i = 0; i + 1 < n; i++) SP_TRY(i, i + 1);
  while (heap->len) {
    nlp_tk_hent e = nlp_tk_heap_pop(heap);
    sym *l = &y[e.pos];
    if (l->id < 0 || l->next != e.right || l->b != e.mid || y[e.right].b != e.end) continue;
    sym *r = &y[e.right];
    l->b = r->b;
    l->next = r->next;
    if (r->next >= 0) y[r->next].prev = e.pos;
    r->id = -1;
    if (l->prev >= 0) SP_TRY(l->prev, e.pos);
    if (l->next >= 0) SP_TRY(e.pos, l->next);
  }
#undef SP_TRY
  g_array_free(heap, TRUE);
  bool prev_unk = false;
  for (size_t i = 0; i < n; i = y[i].next < 0 ? n : (size_t)y[i].next)
    if (y[i].id >= 0) sp_emit(m, s, y[i].a, y[i].b, rev, &prev_unk, out);
  if (rev) g_hash_table_destroy(rev);
  g_array_free(syms, TRUE);
}
