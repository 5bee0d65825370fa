/* sentencepiece-model.c — reads a SentencePiece ModelProto (.model) by hand (protobuf
 * wire format, only the fields we use) and builds a tokenizer that behaves like the
 * sentencepiece library itself: its normalizer (precompiled charsmap, extra whitespace
 * removal, dummy prefix, U+2581), Unigram or BPE over the whole text (user-defined and
 * UNUSED pieces as the library treats them), byte fallback, no special tokens added
 * (SentencePieceProcessor.encode's default). */
#include <float.h>
#include <string.h>

#include "tokenizer/internal.h"

typedef struct { const uint8_t *p, *end; } pb;

static bool pb_varint(pb *b, uint64_t *v) {
  *v = 0;
  for (int s = 0; s < 64; s += 7) {
    if (b->p >= b->end) return false;
    uint8_t x = *b->p++;
    *v |= (uint64_t)(x & 0x7f) << s;
    if (!(x & 0x80)) return true;
  }
  return false;
}

/* next field: number, wire type, and for length-delimited the sub-buffer */
static bool pb_next(pb *b, uint32_t *field, uint32_t *wt, uint64_t *val, pb *sub) {
  uint64_t key;
  if (!pb_varint(b, &key)) return false;
  *field = (uint32_t)(key >> 3);
  *wt = key & 7;
  switch (*wt) {
    case 0: return pb_varint(b, val);
    case 1: if (b->end - b->p < 8) return false; memcpy(val, b->p, 8); b->p += 8; return true;
    case 5: { if (b->end - b->p < 4) return false; uint32_t x; memcpy(&x, b->p, 4); *val = x; b->p += 4; return true; }
    case 2: {
      uint64_t n;
      if (!pb_varint(b, &n) || n > (uint64_t)(b->end - b->p)) return false;
      sub->p = b->p;
      sub->end = b->p + n;
      b->p += n;
      return true;
    }
    default: return false;
  }
}

/* the library's PrefixMatcher over the user-defined pieces (model_interface.cc), which
 * both its normalizer and its BPE consult */
size_t nlp_tk_sp_user_match(const nlp_tk_model *m, const char *s, size_t len) {
  if (!len) return 0;
  uint8_t c = (uint8_t)*s;
  if (!(m->ud_first[c >> 3] & (1u << (c & 7)))) return 0;
  for (size_t l = len < m->ud_max ? len : m->ud_max; l > 0; l--) {
    int32_t id = nlp_tk_vocab_find(&m->vocab, s, l);
    if (id >= 0 && m->sp_type[id] == 4) return l;
  }
  return 0;
}

nlp_tokenizer *nlp_tk_load_sentencepiece(const char *file, const char *dir, GError **error) {
  (void)dir;
  char *data = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(file, &data, &len, &e)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read the SentencePiece model: %s", file, e->message);
    g_error_free(e);
    return NULL;
  }
  GArray *pieces = g_array_new(FALSE, TRUE, sizeof(pb));
  GArray *scores = g_array_new(FALSE, TRUE, sizeof(float));
  GArray *types = g_array_new(FALSE, TRUE, sizeof(uint8_t));
  pb charsmap = {0};
  bool have_charsmap = false, dummy = true, extra = true, escape = true, byte_fallback = false;
  uint64_t model_type = 1;
  const char *what = NULL;
  pb b = {(const uint8_t *)data, (const uint8_t *)data + len};
  uint32_t f, wt;
  uint64_t v;
  pb sub;
  while (b.p < b.end) {
    if (!pb_next(&b, &f, &wt, &v, &sub)) { what = "truncated or malformed ModelProto"; goto bad; }
    if (f == 1 && wt == 2) {
      pb s = sub, piece = {0};
      float score = 0;
      uint8_t type = 1;
      bool got = false;
      while (s.p < s.end) {
        pb ss;
        if (!pb_next(&s, &f, &wt, &v, &ss)) { what = "malformed SentencePiece entry (pieces)"; goto bad; }
        if (f == 1 && wt == 2) piece = ss, got = true;
        else if (f == 2 && wt == 5) { uint32_t x = (uint32_t)v; memcpy(&score, &x, 4); }
        else if (f == 3 && wt == 0) type = (uint8_t)v;
      }
      if (!got) { what = "a piece without its text (pieces.piece)"; goto bad; }
      g_array_append_val(pieces, piece);
      g_array_append_val(scores, score);
      g_array_append_val(types, type);
    } else if (f == 2 && wt == 2) { /* TrainerSpec */
      pb s = sub;
      while (s.p < s.end) {
        pb ss;
        if (!pb_next(&s, &f, &wt, &v, &ss)) { what = "malformed trainer_spec"; goto bad; }
        if (f == 3 && wt == 0) model_type = v;
        else if (f == 35 && wt == 0) byte_fallback = v != 0;
      }
    } else if (f == 3 && wt == 2) { /* NormalizerSpec */
      pb s = sub;
      while (s.p < s.end) {
        pb ss;
        if (!pb_next(&s, &f, &wt, &v, &ss)) { what = "malformed normalizer_spec"; goto bad; }
        if (f == 2 && wt == 2) charsmap = ss, have_charsmap = true;
        else if (f == 3 && wt == 0) dummy = v != 0;
        else if (f == 4 && wt == 0) extra = v != 0;
        else if (f == 5 && wt == 0) escape = v != 0;
      }
    }
  }
  if (!pieces->len) { what = "no pieces (not a SentencePiece model?)"; goto bad; }
  if (model_type != 1 && model_type != 2) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED, "%s: trainer_spec.model_type %u is not supported (1 unigram, 2 BPE)", file,
                (unsigned)model_type);
    goto out;
  }
  nlp_tokenizer *t = nlp_tk_new(file);
  nlp_tk_model *m = &t->model;
  m->type = model_type == 1 ? NLP_MODEL_UNIGRAM : NLP_MODEL_SP_BPE;
  size_t n = pieces->len;
  nlp_tk_vocab_init(&m->vocab, n);
  m->scores = g_new(double, n);
  m->sp_type = g_new(uint8_t, n);
  m->min_score = 1e300;
  m->max_score = FLT_MIN; /* the library's start value, so never below it */
  for (size_t i = 0; i < n; i++) {
    pb p = g_array_index(pieces, pb, i);
    nlp_tk_vocab_set(&m->vocab, (int32_t)i, (const char *)p.p, (size_t)(p.end - p.p));
    m->scores[i] = g_array_index(scores, float, i);
    m->sp_type[i] = g_array_index(types, uint8_t, i);
    if (m->sp_type[i] == 2 && m->unk_id < 0) m->unk_id = (int32_t)i;
    if (m->sp_type[i] == 1 && m->scores[i] < m->min_score) m->min_score = m->scores[i];
    if (m->sp_type[i] == 1 && m->scores[i] > m->max_score) m->max_score = m->scores[i];
    if (m->sp_type[i] == 5) m->sp_unused = true;
  }
  if (m->min_score > 1e299) m->min_score = 0;
  nlp_tk_vocab_build_index(&m->vocab);
  m->byte_fallback = byte_fallback;
  if (byte_fallback) nlp_tk_model_index_bytes(m);
  nlp_tk_normalizer *nz = g_new0(nlp_tk_normalizer, 1);
  nz->type = NLP_NORM_SENTENCEPIECE;
  nz->sp_add_dummy_prefix = dummy;
  nz->sp_remove_extra_ws = extra;
  nz->sp_escape_ws = escape;
  if (have_charsmap && charsmap.end - charsmap.p >= 4) {
    uint32_t tsz;
    memcpy(&tsz, charsmap.p, 4);
    size_t cl = (size_t)(charsmap.end - charsmap.p);
    if (tsz % 4 || 4 + (size_t)tsz > cl) {
      nlp_tk_normalizer_free(nz);
      nlp_tokenizer_free(t);
      what = "corrupt normalizer_spec.precompiled_charsmap";
      goto bad;
    }
    nz->charsmap = g_bytes_new(charsmap.p, cl);
    const uint8_t *raw = g_bytes_get_data(nz->charsmap, NULL);
    nz->trie = (const uint32_t *)(raw + 4);
    nz->trie_n = tsz / 4;
    nz->norm = (const char *)raw + 4 + tsz;
    nz->norm_n = cl - 4 - tsz;
  }
  t->normalizer = nz;
  /* decoder: bytes back, then U+2581 -> space without the dummy prefix */
  nlp_tk_decoder *ms = g_new0(nlp_tk_decoder, 1);
  ms->type = NLP_DEC_METASPACE;
  ms->replacement = g_strdup("\xe2\x96\x81");
  ms->prepend = dummy ? NLP_PREPEND_ALWAYS : NLP_PREPEND_NEVER;
  if (byte_fallback) {
    nlp_tk_decoder *seq = g_new0(nlp_tk_decoder, 1);
    seq->type = NLP_DEC_SEQUENCE;
    seq->n_children = 2;
    seq->children = g_new0(nlp_tk_decoder *, 2);
    seq->children[0] = g_new0(nlp_tk_decoder, 1);
    seq->children[0]->type = NLP_DEC_BYTEFALLBACK;
    seq->children[1] = g_new0(nlp_tk_decoder, 1);
    seq->children[1]->type = NLP_DEC_FUSE;
    nlp_tk_decoder *top = g_new0(nlp_tk_decoder, 1);
    top->type = NLP_DEC_SEQUENCE;
    top->n_children = 2;
    top->children = g_new0(nlp_tk_decoder *, 2);
    top->children[0] = seq;
    top->children[1] = ms;
    t->decoder = top;
  } else {
    t->decoder = ms;
  }
  /* user-defined pieces are found in the text as sentencepiece does: its normalizer copies
   * them as they are (™ stays ™), and the model finds them in the normalized text (BPE: one
   * symbol never merged; Unigram: a lattice node scored to win), so the dummy prefix stays
   * at the start of the text and the whitespace around them is handled as anywhere else.
   * Not added tokens: those cut the text before normalization, each part normalized alone. */
  for (size_t i = 0; i < n; i++)
    if (m->sp_type[i] == 4 && m->vocab.len[i]) {
      uint8_t c = (uint8_t)m->vocab.tok[i][0];
      m->ud_first[c >> 3] |= (uint8_t)(1u << (c & 7));
      if (m->vocab.len[i] > m->ud_max) m->ud_max = m->vocab.len[i];
    }
  if (m->ud_max) nz->sp_user = m;
  nlp_tk_finish(t);
  g_array_free(pieces, TRUE);
  g_array_free(scores, TRUE);
  g_array_free(types, TRUE);
  g_free(data);
  return t;
bad:
  g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s: %s", file, what);
out:
  g_array_free(pieces, TRUE);
  g_array_free(scores, TRUE);
  g_array_free(types, TRUE);
  g_free(data);
  return NULL;
}
