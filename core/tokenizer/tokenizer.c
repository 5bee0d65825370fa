/* tokenizer.c — the encode pipeline (HF Tokenizer::encode_char_offsets): added tokens
 * cut out of the raw text, normalizer, added tokens again on normalized text,
 * pre-tokenizer, model; then windows (encoding.c). Also loading dispatch, lookups,
 * decode and the public accessors. */
#include <string.h>

#include "tokenizer/context.h"
#include "tokenizer/internal.h"

nlp_encode_params nlp_encode_default_params(void) {
  nlp_encode_params p = {0, 0, NLP_TRUNCATE_LONGEST_FIRST, true, 0};
  return p;
}

nlp_tokenizer *nlp_tk_new(const char *path) {
  nlp_tokenizer *t = g_new0(nlp_tokenizer, 1);
  t->path = g_strdup(path);
  t->model.unk_id = -1;
  t->max_added_id = -1;
  t->added_single_first = -1;
  t->serial = nlp_tk_next_serial();
  t->added_by_content = g_hash_table_new(g_str_hash, g_str_equal);
  t->added_by_id = g_hash_table_new(g_direct_hash, g_direct_equal);
  t->cls_id = t->sep_id = t->pad_id = t->unk_id = t->mask_id = t->bos_id = t->eos_id = -1;
  return t;
}

bool nlp_tk_add_token(nlp_tokenizer *t, const nlp_tk_added *a) {
  if (g_hash_table_contains(t->added_by_content, a->content)) return false;
  t->added = g_renew(nlp_tk_added, t->added, t->n_added + 1);
  nlp_tk_added *x = &t->added[t->n_added++];
  *x = *a;
  x->content = g_strdup(a->content);
  x->len = strlen(x->content);
  if (a->id > t->max_added_id) t->max_added_id = a->id;
  /* indexes are rebuilt by nlp_tk_finish (the array moved) */
  g_hash_table_remove_all(t->added_by_content);
  for (size_t i = 0; i < t->n_added; i++) g_hash_table_insert(t->added_by_content, t->added[i].content, GSIZE_TO_POINTER(i + 1));
  return true;
}

int32_t nlp_tokenizer_token_to_id(const nlp_tokenizer *tok, const char *token) {
  if (!tok || !token) return -1;
  gpointer v = g_hash_table_lookup(tok->added_by_content, token);
  if (v) return tok->added[GPOINTER_TO_SIZE(v) - 1].id;
  return nlp_tk_vocab_find(&tok->model.vocab, token, strlen(token));
}

const char *nlp_tokenizer_id_to_token(const nlp_tokenizer *tok, int32_t id) {
  if (!tok || id < 0) return NULL;
  if (tok->id2str) return (size_t)id < tok->n_id2str ? tok->id2str[id] : NULL;
  gpointer v = g_hash_table_lookup(tok->added_by_id, GINT_TO_POINTER(id));
  if (v) return tok->added[GPOINTER_TO_SIZE(v) - 1].content;
  if ((size_t)id < tok->model.vocab.n) return tok->model.vocab.tok[id];
  return NULL;
}

size_t nlp_tokenizer_vocab_size(const nlp_tokenizer *tok) {
  if (!tok) return 0;
  size_t n = 0;
  for (size_t i = 0; i < tok->model.vocab.n; i++) n += tok->model.vocab.tok[i] != NULL;
  for (size_t i = 0; i < tok->n_added; i++) {
    int32_t id = tok->added[i].id;
    if (id < 0 || (size_t)id >= tok->model.vocab.n || !tok->model.vocab.tok[id]) n++;
  }
  return n;
}

static int32_t first_id(const nlp_tokenizer *t, const char *const *names) {
  for (; *names; names++) {
    int32_t id = nlp_tokenizer_token_to_id(t, *names);
    if (id >= 0) return id;
  }
  return -1;
}

void nlp_tk_finish(nlp_tokenizer *t) {
  g_hash_table_remove_all(t->added_by_id);
  g_hash_table_remove_all(t->added_by_content);
  memset(t->added_first_byte, 0, sizeof t->added_first_byte);
  t->has_raw_added = t->has_norm_added = false;
  for (size_t i = 0; i < t->n_added; i++) {
    nlp_tk_added *a = &t->added[i];
    g_hash_table_insert(t->added_by_content, a->content, GSIZE_TO_POINTER(i + 1));
    g_hash_table_insert(t->added_by_id, GINT_TO_POINTER(a->id), GSIZE_TO_POINTER(i + 1));
    if (!a->len) continue;
    if (a->normalized) t->has_norm_added = true;
    else t->has_raw_added = true, t->added_first_byte[(uint8_t)a->content[0]] = 1;
  }
  t->added_single_first = -1;
  for (int b = 0, n = 0; b < 256; b++)
    if (t->added_first_byte[b]) t->added_single_first = n++ ? -1 : b;
  /* loading may have changed anything a per-thread word cache remembers */
  t->serial = nlp_tk_next_serial();
  /* normalized added tokens are matched in their normalized form */
  if (t->has_norm_added) {
    t->norm_added_content = g_new0(char *, t->n_added);
    for (size_t i = 0; i < t->n_added; i++) {
      nlp_tk_added *a = &t->added[i];
      if (!a->len || !a->normalized) continue;
      nlp_tk_scratch sc;
      nlp_tk_scratch_init(&sc);
      nlp_tk_span *al = nlp_tk_scratch_alloc(&sc, a->len * sizeof *al);
      memset(al, 0, a->len * sizeof *al);
      nlp_tk_piece p = {a->content, al, a->len, -1};
      nlp_tk_normalize(t->normalizer, &p, &sc);
      t->norm_added_content[i] = g_strndup(p.s, p.len);
      nlp_tk_scratch_clear(&sc);
    }
  }
  g_free(t->id2str);
  t->id2str = NULL;
  size_t nid = t->model.vocab.n;
  if (t->max_added_id >= 0 && (size_t)t->max_added_id + 1 > nid) nid = (size_t)t->max_added_id + 1;
  const char **ids = g_new0(const char *, nid ? nid : 1);
  for (size_t i = 0; i < nid; i++) ids[i] = nlp_tokenizer_id_to_token(t, (int32_t)i);
  t->id2str = ids;
  t->n_id2str = nid;
  if (t->model.type == NLP_MODEL_WORDPIECE) nlp_tk_wordpiece_build_trie(&t->model);
  static const char *const cls[] = {"[CLS]", "<s>", "<cls>", "<|begin_of_text|>", NULL};
  static const char *const sep[] = {"[SEP]", "</s>", "<sep>", "<|endoftext|>", "<|end_of_text|>", NULL};
  static const char *const pad[] = {"[PAD]", "<pad>", NULL};
  static const char *const unk[] = {"[UNK]", "<unk>", "<|endoftext|>", NULL};
  static const char *const mask[] = {"[MASK]", "<mask>", NULL};
  static const char *const bos[] = {"<s>", "<|begin_of_text|>", "<|endoftext|>", "[CLS]", NULL};
  static const char *const eos[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "[SEP]", NULL};
  t->cls_id = first_id(t, cls);
  t->sep_id = first_id(t, sep);
  if (t->pad_id < 0) t->pad_id = first_id(t, pad);
  t->unk_id = t->model.unk_id >= 0 ? t->model.unk_id : first_id(t, unk);
  t->mask_id = first_id(t, mask);
  t->bos_id = first_id(t, bos);
  t->eos_id = first_id(t, eos);
  /* the template's own tokens are the truth for cls/sep when it has them */
  const nlp_tk_template *tp = &t->post.single;
  if (t->post.has_template && tp->n >= 1) {
    if (!tp->items[0].is_seq && tp->items[0].n) t->cls_id = tp->items[0].ids[0];
    if (!tp->items[tp->n - 1].is_seq && tp->items[tp->n - 1].n) t->sep_id = tp->items[tp->n - 1].ids[0];
  }
}

void nlp_tokenizer_free(nlp_tokenizer *tok) {
  if (!tok) return;
  nlp_tk_normalizer_free(tok->normalizer);
  nlp_tk_pretokenizer_free(tok->pre);
  nlp_tk_model_clear(&tok->model);
  nlp_tk_post_clear(&tok->post);
  nlp_tk_decoder_free(tok->decoder);
  if (tok->norm_added_content)
    for (size_t i = 0; i < tok->n_added; i++) g_free(tok->norm_added_content[i]);
  g_free(tok->norm_added_content);
  for (size_t i = 0; i < tok->n_added; i++) g_free(tok->added[i].content);
  g_free(tok->added);
  g_hash_table_destroy(tok->added_by_content);
  g_hash_table_destroy(tok->added_by_id);
  g_free(tok->pad_token);
  g_free(tok->id2str);
  g_free(tok->path);
  g_free(tok);
}

int32_t nlp_tokenizer_cls_id(const nlp_tokenizer *t) { return t ? t->cls_id : -1; }
int32_t nlp_tokenizer_sep_id(const nlp_tokenizer *t) { return t ? t->sep_id : -1; }
int32_t nlp_tokenizer_pad_id(const nlp_tokenizer *t) { return t ? t->pad_id : -1; }
int32_t nlp_tokenizer_unk_id(const nlp_tokenizer *t) { return t ? t->unk_id : -1; }
int32_t nlp_tokenizer_mask_id(const nlp_tokenizer *t) { return t ? t->mask_id : -1; }
int32_t nlp_tokenizer_bos_id(const nlp_tokenizer *t) { return t ? t->bos_id : -1; }
int32_t nlp_tokenizer_eos_id(const nlp_tokenizer *t) { return t ? t->eos_id : -1; }
size_t nlp_tokenizer_num_special_tokens(const nlp_tokenizer *t, bool pair) {
  if (!t || !t->post.has_template) return 0;
  return nlp_tk_template_added(pair ? &t->post.pair : &t->post.single);
}

/* ---- added tokens: leftmost-longest match over a piece */
static bool is_word_char(gunichar c) {
  return g_unichar_isalnum(c) || c == '_' || g_unichar_ismark(c);
}

static void extract_added(const nlp_tokenizer *t, const nlp_tk_piece *p, bool normalized, GArray *out) {
  size_t last = 0, i = 0;
  while (i < p->len) {
    if (!normalized && t->added_single_first >= 0) {
      /* one possible first byte (BERT's '[', RoBERTa's '<'): jump to its next
       * occurrence (a first byte of valid UTF-8 starts a character wherever it is) */
      const char *z = memchr(p->s + i, t->added_single_first, p->len - i);
      if (!z) break;
      i = (size_t)(z - p->s);
    }
    uint8_t b0 = (uint8_t)p->s[i];
    size_t best = 0, bi = 0;
    if (normalized || t->added_first_byte[b0]) {
      for (size_t k = 0; k < t->n_added; k++) {
        const nlp_tk_added *a = &t->added[k];
        bool is_norm = a->normalized;
        if (!a->len || is_norm != normalized) continue;
        const char *c = normalized ? t->norm_added_content[k] : a->content;
        size_t cl = normalized ? strlen(c) : a->len;
        if (!cl || cl > p->len - i || (uint8_t)c[0] != b0 || memcmp(p->s + i, c, cl)) continue;
        if (a->single_word) {
          if (i > 0) {
            const char *pr = g_utf8_find_prev_char(p->s, p->s + i);
            if (pr && is_word_char(g_utf8_get_char(pr))) continue;
          }
          if (i + cl < p->len && is_word_char(g_utf8_get_char(p->s + i + cl))) continue;
        }
        if (cl > best) best = cl, bi = k;
      }
    }
    if (!best) {
      i += b0 < 0x80 ? 1 : (size_t)(g_utf8_next_char(p->s + i) - (p->s + i));
      continue;
    }
    const nlp_tk_added *a = &t->added[bi];
    size_t s = i, e = i + best;
    if (a->lstrip)
      while (s > last) {
        const char *pr = g_utf8_find_prev_char(p->s, p->s + s);
        if (!pr || !nlp_tk_is_whitespace(g_utf8_get_char(pr))) break;
        s = (size_t)(pr - p->s);
      }
    if (a->rstrip)
      while (e < p->len && nlp_tk_is_whitespace(g_utf8_get_char(p->s + e))) e = (size_t)(g_utf8_next_char(p->s + e) - p->s);
    if (s > last) {
      nlp_tk_piece q = {p->s + last, p->al + last, s - last, -1};
      g_array_append_val(out, q);
    }
    nlp_tk_piece q = {p->s + s, p->al + s, e - s, a->id};
    g_array_append_val(out, q);
    last = i = e;
  }
  if (last < p->len) {
    nlp_tk_piece q = {p->s + last, p->al + last, p->len - last, -1};
    g_array_append_val(out, q);
  }
}

void nlp_tk_seq_push(nlp_tk_seq *q, int32_t id, int32_t s, int32_t e, int32_t word, const char *tok) {
  if (q->n == q->cap) {
    q->cap = q->cap ? q->cap * 2 : 64;
    q->ids = g_renew(int32_t, q->ids, q->cap);
    q->word = g_renew(int32_t, q->word, q->cap);
    q->off = g_renew(int32_t, q->off, 2 * q->cap);
    q->tok = g_renew(const char *, q->tok, q->cap);
  }
  q->ids[q->n] = id;
  q->word[q->n] = word;
  q->off[2 * q->n] = s;
  q->off[2 * q->n + 1] = e;
  q->tok[q->n] = tok;
  q->n++;
}
void nlp_tk_seq_clear(nlp_tk_seq *q) {
  g_free(q->ids); g_free(q->word); g_free(q->off); g_free(q->tok);
  memset(q, 0, sizeof *q);
}

static void model_tokenize(const nlp_tk_model *m, const char *s, size_t len, GArray *out) {
  switch (m->type) {
    case NLP_MODEL_WORDPIECE: case NLP_MODEL_WORDLEVEL: nlp_tk_wordpiece_tokenize(m, s, len, out); break;
    case NLP_MODEL_BPE: nlp_tk_bpe_tokenize(m, s, len, out); break;
    case NLP_MODEL_UNIGRAM: nlp_tk_unigram_tokenize(m, s, len, out); break;
    case NLP_MODEL_SP_BPE: nlp_tk_spbpe_tokenize(m, s, len, out); break;
  }
}

static bool all_ascii(const char *s, size_t len) {
  uint64_t any = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    any |= w;
  }
  for (; i < len; i++) any |= (uint8_t)s[i];
  return !(any & 0x8080808080808080ull);
}

/* the model's tokens of one piece: from the thread's word cache when it has them */
static const nlp_tk_tok *piece_tokens(const nlp_tokenizer *t, nlp_tk_ctx *cx, nlp_tk_wcache *wc,
                                      const nlp_tk_piece *p, nlp_tk_tok *buf, size_t *n) {
  if (nlp_tk_wcache_get(wc, p->s, p->len, buf, n)) return buf;
  g_array_set_size(cx->toks, 0);
  model_tokenize(&t->model, p->s, p->len, cx->toks);
  nlp_tk_wcache_put(wc, p->s, p->len, (const nlp_tk_tok *)(void *)cx->toks->data, cx->toks->len);
  *n = cx->toks->len;
  return (const nlp_tk_tok *)(void *)cx->toks->data;
}

static bool encode_one(const nlp_tokenizer *t, nlp_tk_ctx *cx, const char *text, size_t len,
                       nlp_tk_seq *q, const char *what, GStringChunk **strings, GError **error) {
  bool ascii = all_ascii(text, len);
  /* UTF-8 check; NUL is a valid character here (GLib's validator stops at it) */
  for (size_t i = 0; !ascii && i < len;) {
    const char *z = memchr(text + i, 0, len - i);
    size_t run = z ? (size_t)(z - (text + i)) : len - i;
    const char *bad = NULL;
    if (run && !g_utf8_validate_len(text + i, run, &bad)) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "tokenize: %s is not valid UTF-8 (byte %zu)", what, (size_t)(bad - text));
      return false;
    }
    i += run + (z ? 1 : 0);
  }
  nlp_tk_scratch *sc = &cx->sc;
  nlp_tk_span *al = nlp_tk_scratch_alloc(sc, (len ? len : 1) * sizeof *al);
  if (ascii) {
    for (size_t i = 0; i < len; i++) al[i] = (nlp_tk_span){(int32_t)i, (int32_t)i + 1};
  } else {
    int32_t cp = 0;
    for (size_t i = 0; i < len;) {
      if ((uint8_t)text[i] < 0x80) {
        al[i++] = (nlp_tk_span){cp, cp + 1};
        cp++;
        continue;
      }
      size_t cl = (size_t)(g_utf8_next_char(text + i) - (text + i));
      for (size_t k = 0; k < cl && i + k < len; k++) al[i + k] = (nlp_tk_span){cp, cp + 1};
      cp++;
      i += cl;
    }
  }
  GArray *pieces = cx->pieces;
  g_array_set_size(pieces, 0);
  nlp_tk_piece whole = {text, al, len, -1};
  if (t->has_raw_added) extract_added(t, &whole, false, pieces);
  else if (len) g_array_append_val(pieces, whole);
  GArray *np = cx->np;
  g_array_set_size(np, 0);
  for (size_t i = 0; i < pieces->len; i++) {
    nlp_tk_piece p = g_array_index(pieces, nlp_tk_piece, i);
    if (p.added_id < 0) {
      nlp_tk_normalize(t->normalizer, &p, sc);
      if (!p.len) continue;
      if (t->has_norm_added) {
        extract_added(t, &p, true, np);
        continue;
      }
    }
    g_array_append_val(np, p);
  }
  nlp_tk_pretokenize(t->pre, &cx->np, sc);
  np = cx->np;
  nlp_tk_wcache *wc = nlp_tk_ctx_cache(cx, t->serial);
  int32_t word = 0;
  nlp_tk_tok buf[NLP_TK_WCACHE_MAX_TOKS];
  for (size_t i = 0; i < np->len; i++) {
    const nlp_tk_piece *p = &g_array_index(np, nlp_tk_piece, i);
    if (!p->len) continue;
    if (p->added_id >= 0) {
      nlp_tk_seq_push(q, p->added_id, p->al[0].s, p->al[p->len - 1].e, word, nlp_tokenizer_id_to_token(t, p->added_id));
    } else {
      size_t n;
      const nlp_tk_tok *tk = piece_tokens(t, cx, wc, p, buf, &n);
      for (size_t k = 0; k < n; k++) {
        const nlp_tk_tok *x = &tk[k];
        const char *ts = t->id2str ? ((size_t)x->id < t->n_id2str ? t->id2str[x->id] : NULL) : nlp_tokenizer_id_to_token(t, x->id);
        /* HF Unigram tokens are the text they cover (an unknown piece shows its text) */
        if (t->model.type == NLP_MODEL_UNIGRAM && x->id == t->model.unk_id &&
            (!ts || strlen(ts) != x->b - x->a || memcmp(ts, p->s + x->a, x->b - x->a))) {
          if (!*strings) *strings = g_string_chunk_new(64);
          ts = g_string_chunk_insert_len(*strings, p->s + x->a, (gssize)(x->b - x->a));
        }
        nlp_tk_seq_push(q, x->id, p->al[x->a].s, p->al[x->b - 1].e, word, ts ? ts : "");
      }
    }
    word++;
  }
  nlp_tk_scratch_reset(sc);
  return true;
}

nlp_encoding_list *nlp_tokenizer_encode(const nlp_tokenizer *tok, const char *text, size_t len, const char *pair,
                                        size_t pair_len, const nlp_encode_params *params, GError **error) {
  nlp_encode_params p = params ? *params : nlp_encode_default_params();
  if (!tok) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_FAILED, "tokenize: no tokenizer");
    return NULL;
  }
  if (!text) text = "", len = 0;
  if (!pair) pair_len = 0;
  /* offsets and ids are int32 throughout (as in HF's encodings) */
  if (len > INT32_MAX / 2 || pair_len > INT32_MAX / 2) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_FAILED,
                "tokenize: a text of %zu bytes is too long (at most %d bytes)", MAX(len, pair_len),
                INT32_MAX / 2);
    return NULL;
  }
  nlp_tk_ctx *cx = nlp_tk_ctx_acquire();
  nlp_tk_seq *a = &cx->seq[0], *b = &cx->seq[1];
  nlp_encoding_list *out = NULL;
  GStringChunk *strings = NULL; /* only for Unigram's unknown pieces */
  if (encode_one(tok, cx, text, len, a, pair ? "the first text" : "the text", &strings, error) &&
      (!pair || encode_one(tok, cx, pair, pair_len, b, "the second text", &strings, error)))
    out = nlp_tk_build_windows(tok, a, pair ? b : NULL, &p, error);
  if (out) out->strings = strings;
  else if (strings) g_string_chunk_free(strings);
  nlp_tk_ctx_release(cx, len + pair_len);
  return out;
}

/* ---- decode: HF Tokenizer::decode = ids -> tokens (specials dropped if asked),
 * decoder chain, concatenation; no decoder = tokens joined by spaces. */
char *nlp_tokenizer_decode(const nlp_tokenizer *tok, const int32_t *ids, size_t n, bool skip_special) {
  if (!tok) return g_strdup("");
  GPtrArray *toks = g_ptr_array_new_with_free_func(g_free);
  for (size_t i = 0; i < n; i++) {
    const char *s = nlp_tokenizer_id_to_token(tok, ids[i]);
    if (!s) continue;
    if (skip_special) {
      gpointer v = g_hash_table_lookup(tok->added_by_id, GINT_TO_POINTER(ids[i]));
      if (v && tok->added[GPOINTER_TO_SIZE(v) - 1].special) continue;
    }
    g_ptr_array_add(toks, g_strdup(s));
  }
  GString *r = g_string_new(NULL);
  if (tok->decoder) {
    nlp_tk_decode_chain(tok->decoder, toks);
    for (size_t i = 0; i < toks->len; i++) g_string_append(r, toks->pdata[i]);
  } else {
    for (size_t i = 0; i < toks->len; i++) {
      if (i) g_string_append_c(r, ' ');
      g_string_append(r, toks->pdata[i]);
    }
  }
  g_ptr_array_free(toks, TRUE);
  return g_string_free(r, FALSE);
}
