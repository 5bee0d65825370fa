/* encoding.c — from the encodings of one or two texts to the final windows, following
 * HF Rust (tokenizers 0.22 semantics; 0.23's early-exit truncation bug is not
 * reproduced): utils/truncation.rs truncate_encodings (longest_first / only_first /
 * only_second on max_length minus the template's special tokens), Encoding::truncate
 * (windows of max_len every max_len - stride), merge_with order of pair overflows,
 * the post-processor template on each window, ByteLevel offset trimming, Encoding::pad. */
#include <string.h>

#include "tokenizer/encoding.h"

typedef struct { size_t a, b; } rng;

/* Encoding::truncate, right direction: [0] kept, rest overflow. */
static bool windows_of(size_t n, size_t max_len, size_t stride, GArray *out, GError **error) {
  g_array_set_size(out, 0);
  if (max_len >= n) {
    rng r = {0, n};
    g_array_append_val(out, r);
    return true;
  }
  if (max_len == 0) {
    rng r0 = {0, 0}, r1 = {0, n};
    g_array_append_val(out, r0);
    g_array_append_val(out, r1);
    return true;
  }
  if (stride >= max_len) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                "tokenize: stride %zu must be less than the window of %zu text tokens (max_length minus the special tokens)",
                stride, max_len);
    return false;
  }
  size_t step = max_len - stride;
  for (size_t start = 0; start < n; start += step) {
    size_t stop = start + max_len < n ? start + max_len : n;
    rng r = {start, stop};
    g_array_append_val(out, r);
    if (stop == n) break;
  }
  return true;
}

size_t nlp_tk_template_added(const nlp_tk_template *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->n; i++)
    if (!t->items[i].is_seq) n += t->items[i].n;
  return n;
}

static const nlp_tk_template *pick_template(const nlp_tokenizer *t, bool pair) {
  if (!t->post.has_template) return NULL;
  return pair ? &t->post.pair : &t->post.single;
}

/* All arrays of a window in one block (tokens first, for alignment), room for CAP >= N
 * tokens so that padding needs no reallocation; nlp_encoding_list_free frees the block
 * through e->tokens. */
static void enc_alloc(nlp_encoding *e, size_t n, size_t cap) {
  e->n = n;
  size_t m = cap > n ? cap : n;
  if (!m) m = 1;
  /* g_malloc_n: a huge pad_to must abort cleanly, never wrap the product */
  char *blk = g_malloc_n(m, sizeof(char *) + 7 * sizeof(int32_t) + 1);
  e->tokens = (char **)(void *)blk;
  int32_t *i32 = (int32_t *)(void *)(blk + m * sizeof(char *));
  e->offsets = i32;
  e->ids = i32 + 2 * m;
  e->type_ids = i32 + 3 * m;
  e->word_ids = i32 + 4 * m;
  e->seq_ids = i32 + 5 * m;
  e->attention_mask = i32 + 6 * m;
  e->special_mask = (uint8_t *)(i32 + 7 * m);
}

static bool is_space_token_char(gunichar c) { return c == 0x120 || g_unichar_isspace(c) || nlp_tk_is_whitespace(c); }

/* ByteLevel process_offsets: offsets shrink past leading/trailing spaces (Ġ). IDX is
 * the token's index in its whole text, not in the window, so a token's offsets do not
 * depend on where a window starts (as the oracle cuts windows from the full encoding). */
static void trim_offsets(const nlp_tk_post *pp, const char *tokstr, size_t idx, int32_t *s, int32_t *e) {
  size_t lead = 0, trail = 0, nch = 0;
  for (const char *c = tokstr; *c; c = g_utf8_next_char(c)) nch++;
  for (const char *c = tokstr; *c && is_space_token_char(g_utf8_get_char(c)); c = g_utf8_next_char(c)) lead++;
  if (lead < nch) {
    const char *end = tokstr + strlen(tokstr);
    while (end > tokstr) {
      const char *pr = g_utf8_find_prev_char(tokstr, end);
      if (!pr || !is_space_token_char(g_utf8_get_char(pr))) break;
      trail++;
      end = pr;
    }
  } else {
    trail = nch;
  }
  if (lead > 0) {
    bool first = idx == 0 || *s == 0;
    if (first && pp->add_prefix_space && lead == 1) lead = 0;
    *s = *s + (int32_t)lead < *e ? *s + (int32_t)lead : *e;
  }
  if (trail > 0 && *e >= (int32_t)trail) *e = *e - (int32_t)trail > *s ? *e - (int32_t)trail : *s;
}

static void build_window(const nlp_tokenizer *t, const nlp_tk_seq *sq[2], const rng r[2], bool pair, bool add_special,
                         size_t pad_to, nlp_encoding *e) {
  const nlp_tk_template *tp = pick_template(t, pair);
  size_t n = 0;
  if (tp) {
    for (size_t i = 0; i < tp->n; i++) {
      const nlp_tk_tpl_item *it = &tp->items[i];
      if (it->is_seq) n += r[it->seq].b - r[it->seq].a;
      else if (add_special) n += it->n;
    }
  } else {
    n = (r[0].b - r[0].a) + (pair ? r[1].b - r[1].a : 0);
  }
  enc_alloc(e, n, pad_to);
  size_t k = 0;
  nlp_tk_tpl_item dflt[2] = {{true, 0, 0, NULL, NULL, 0}, {true, 1, 1, NULL, NULL, 0}};
  size_t nitems = tp ? tp->n : (pair ? 2 : 1);
  for (size_t i = 0; i < nitems; i++) {
    const nlp_tk_tpl_item *it = tp ? &tp->items[i] : &dflt[i];
    if (!it->is_seq) {
      if (!add_special) continue;
      for (size_t j = 0; j < it->n; j++, k++) {
        e->ids[k] = it->ids[j];
        e->tokens[k] = it->toks[j];
        e->type_ids[k] = it->type_id;
        e->word_ids[k] = -1;
        e->seq_ids[k] = -1;
        e->offsets[2 * k] = e->offsets[2 * k + 1] = 0;
        e->attention_mask[k] = 1;
        e->special_mask[k] = 1;
      }
      continue;
    }
    const nlp_tk_seq *q = sq[it->seq];
    for (size_t j = r[it->seq].a; j < r[it->seq].b; j++, k++) {
      e->ids[k] = q->ids[j];
      e->tokens[k] = (char *)q->tok[j];
      e->type_ids[k] = it->type_id;
      e->word_ids[k] = q->word[j];
      e->seq_ids[k] = it->seq;
      int32_t s = q->off[2 * j], en = q->off[2 * j + 1];
      if (t->post.trim_offsets) trim_offsets(&t->post, q->tok[j], j, &s, &en);
      e->offsets[2 * k] = s;
      e->offsets[2 * k + 1] = en;
      e->attention_mask[k] = 1;
      e->special_mask[k] = 0;
    }
  }
}

static void pad_window(const nlp_tokenizer *t, nlp_encoding *e, size_t target) {
  if (e->n >= target) return;
  size_t old = e->n; /* enc_alloc made room for TARGET */
  int32_t pid = t->pad_id >= 0 ? t->pad_id : 0;
  const char *ptok = t->pad_token ? t->pad_token : nlp_tokenizer_id_to_token(t, pid);
  for (size_t k = old; k < target; k++) {
    e->ids[k] = pid;
    e->tokens[k] = (char *)(ptok ? ptok : "[PAD]");
    e->type_ids[k] = 0;
    e->word_ids[k] = -1;
    e->seq_ids[k] = -1;
    e->offsets[2 * k] = e->offsets[2 * k + 1] = 0;
    e->attention_mask[k] = 0;
    e->special_mask[k] = 1;
  }
  e->n = target;
}

/* the list and its items in one block (nlp_encoding_list_free) */
static nlp_encoding_list *new_list(size_t n) {
  nlp_encoding_list *l = g_malloc0(sizeof *l + n * sizeof *l->items);
  l->n = n;
  l->items = (nlp_encoding *)(void *)(l + 1);
  return l;
}

nlp_encoding_list *nlp_tk_build_windows(const nlp_tokenizer *t, const nlp_tk_seq *a, const nlp_tk_seq *b,
                                        const nlp_encode_params *p, GError **error) {
  bool pair = b != NULL;
  const nlp_tk_seq *sq[2] = {a, b};
  if (p->max_length == 0 || p->truncation == NLP_TRUNCATE_NONE) {
    /* no truncation: one window of everything (the common call) */
    nlp_encoding_list *l = new_list(1);
    rng r[2] = {{0, a->n}, {0, pair ? b->n : 0}};
    build_window(t, sq, r, pair, p->add_special_tokens, p->pad_to, &l->items[0]);
    if (p->pad_to) pad_window(t, &l->items[0], p->pad_to);
    return l;
  }
  GArray *ra = g_array_new(FALSE, FALSE, sizeof(rng));
  GArray *rb = g_array_new(FALSE, FALSE, sizeof(rng));
  rng wa = {0, a->n}, wb = {0, pair ? b->n : 0};
  g_array_append_val(ra, wa);
  g_array_append_val(rb, wb);
  bool ok = true;
  if (p->max_length > 0 && p->truncation != NLP_TRUNCATE_NONE) {
    size_t added = 0;
    const nlp_tk_template *tp = pick_template(t, pair);
    if (p->add_special_tokens && tp) added = nlp_tk_template_added(tp);
    if (p->max_length < added) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "tokenize: max_length %zu is smaller than the %zu special tokens",
                  p->max_length, added);
      ok = false;
      goto done;
    }
    size_t ml = p->max_length - added;
    size_t na = a->n, nb = pair ? b->n : 0;
    size_t total = na + nb;
    if (p->truncation == NLP_TRUNCATE_ONLY_SECOND && !pair) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "tokenize: truncation only_second needs a pair of texts");
      ok = false;
      goto done;
    }
    if (ml == 0) {
      ok = windows_of(na, 0, p->stride, ra, error) && (!pair || windows_of(nb, 0, p->stride, rb, error));
    } else if (total > ml) {
      size_t remove = total - ml;
      if (p->truncation == NLP_TRUNCATE_LONGEST_FIRST) {
        if (pair) {
          size_t n1 = na, n2 = nb;
          bool swap = false;
          if (n1 > n2) swap = true, n1 = nb, n2 = na;
          if (n1 > ml) n2 = n1;
          else n2 = n1 > ml - n1 ? n1 : ml - n1;
          if (n1 + n2 > ml) {
            n1 = ml / 2;
            n2 = n1 + ml % 2;
          }
          if (swap) {
            size_t x = n1;
            n1 = n2;
            n2 = x;
          }
          ok = windows_of(na, n1, p->stride, ra, error) && windows_of(nb, n2, p->stride, rb, error);
        } else {
          ok = windows_of(na, total - remove, p->stride, ra, error);
        }
      } else {
        bool first = p->truncation == NLP_TRUNCATE_ONLY_FIRST;
        size_t tl = first ? na : nb;
        if (tl > remove) {
          ok = windows_of(tl, tl - remove, p->stride, first ? ra : rb, error);
        } else {
          g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT,
                      "tokenize: the %s text (%zu tokens) is too short to truncate to max_length %zu",
                      first ? "first" : "second", tl, p->max_length);
          ok = false;
        }
      }
    }
  }
done:
  if (!ok) {
    g_array_free(ra, TRUE);
    g_array_free(rb, TRUE);
    return NULL;
  }
  /* window order of Encoding::merge_with: main; each A overflow with every B window;
   * then the main A with the B overflows */
  GArray *order = g_array_new(FALSE, FALSE, sizeof(rng));
  rng o = {0, 0};
  g_array_append_val(order, o);
  if (pair) {
    for (size_t k = 1; k < ra->len; k++)
      for (size_t j = 0; j < rb->len; j++) {
        rng x = {k, j};
        g_array_append_val(order, x);
      }
    for (size_t j = 1; j < rb->len; j++) {
      rng x = {0, j};
      g_array_append_val(order, x);
    }
  } else {
    for (size_t k = 1; k < ra->len; k++) {
      rng x = {k, 0};
      g_array_append_val(order, x);
    }
  }
  nlp_encoding_list *l = new_list(order->len);
  for (size_t w = 0; w < order->len; w++) {
    rng x = g_array_index(order, rng, w);
    rng r[2] = {g_array_index(ra, rng, x.a), g_array_index(rb, rng, x.b)};
    build_window(t, sq, r, pair, p->add_special_tokens, p->pad_to, &l->items[w]);
    if (p->pad_to) pad_window(t, &l->items[w], p->pad_to);
  }
  g_array_free(order, TRUE);
  g_array_free(ra, TRUE);
  g_array_free(rb, TRUE);
  return l;
}

void nlp_encoding_list_free(nlp_encoding_list *list) {
  if (!list) return;
  for (size_t i = 0; i < list->n; i++) {
    g_free(list->items[i].tokens); /* the window's block (enc_alloc) */
  }
  if (list->strings) g_string_chunk_free(list->strings);
  g_free(list);
}
