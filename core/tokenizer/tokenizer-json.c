/* tokenizer-json.c — reads a Hugging Face tokenizer.json (json-c) into the pipeline
 * parts. Every error names the file, the JSON path and what was expected; a component
 * type we do not implement is NLP_ERROR_UNSUPPORTED naming it. */
#include <string.h>

#include "tokenizer/internal.h"

typedef struct {
  const char *file;
  GError **error;
} jctx;

#define FAIL(code, ...)                                                        \
  do {                                                                         \
    if (c->error && !*c->error) {                                              \
      char *m_ = g_strdup_printf(__VA_ARGS__);                                 \
      g_set_error(c->error, NLP_ERROR, code, "%s: %s", c->file, m_);           \
      g_free(m_);                                                              \
    }                                                                          \
  } while (0)

static json_object *jget(json_object *o, const char *k) {
  json_object *v = NULL;
  if (!o || !json_object_is_type(o, json_type_object)) return NULL;
  if (!json_object_object_get_ex(o, k, &v)) return NULL;
  return v;
}
static bool jnull(json_object *v) { return !v || json_object_is_type(v, json_type_null); }
static const char *jstr(json_object *o, const char *k, const char *dflt) {
  json_object *v = jget(o, k);
  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}
static bool jbool(json_object *o, const char *k, bool dflt) {
  json_object *v = jget(o, k);
  return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}
static int64_t jint(json_object *o, const char *k, int64_t dflt) {
  json_object *v = jget(o, k);
  return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ? json_object_get_int64(v) : dflt;
}

/* {"String": s} or {"Regex": r} -> a GRegex (literal escaped) */
static GRegex *pattern_regex(jctx *c, json_object *pat, const char *path, char **literal) {
  const char *s = jstr(pat, "String", NULL);
  const char *r = jstr(pat, "Regex", NULL);
  if (!s && !r) {
    FAIL(NLP_ERROR_MODEL, "%s.pattern: expected {\"String\": ...} or {\"Regex\": ...}", path);
    return NULL;
  }
  if (s && literal) {
    *literal = g_strdup(s);
    return NULL;
  }
  char *src = s ? g_regex_escape_string(s, -1) : g_strdup(r);
  GError *e = NULL;
  GRegex *re = g_regex_new(src, G_REGEX_OPTIMIZE, 0, &e);
  if (!re) {
    FAIL(NLP_ERROR_MODEL, "%s.pattern: bad regex '%s': %s", path, src, e->message);
    g_error_free(e);
  }
  g_free(src);
  return re;
}

static bool behavior_of(jctx *c, json_object *o, const char *path, nlp_tk_split_behavior dflt, nlp_tk_split_behavior *out) {
  const char *b = jstr(o, "behavior", NULL);
  if (!b) { *out = dflt; return true; }
  static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
  for (int i = 0; i < 5; i++)
    if (!strcmp(b, names[i])) { *out = (nlp_tk_split_behavior)i; return true; }
  FAIL(NLP_ERROR_MODEL, "%s.behavior: '%s' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous", path, b);
  return false;
}

static nlp_tk_prepend prepend_of(json_object *o) {
  const char *s = jstr(o, "prepend_scheme", NULL);
  if (s) return !strcmp(s, "first") ? NLP_PREPEND_FIRST : !strcmp(s, "never") ? NLP_PREPEND_NEVER : NLP_PREPEND_ALWAYS;
  return jbool(o, "add_prefix_space", true) ? NLP_PREPEND_ALWAYS : NLP_PREPEND_NEVER;
}

/* ---- normalizers */
static nlp_tk_normalizer *parse_normalizer(jctx *c, json_object *o, const char *path) {
  const char *type = jstr(o, "type", NULL);
  if (!type) {
    FAIL(NLP_ERROR_MODEL, "%s: expected an object with a \"type\"", path);
    return NULL;
  }
  nlp_tk_normalizer *n = g_new0(nlp_tk_normalizer, 1);
  if (!strcmp(type, "BertNormalizer")) {
    n->type = NLP_NORM_BERT;
    n->clean_text = jbool(o, "clean_text", true);
    n->handle_chinese = jbool(o, "handle_chinese_chars", true);
    n->lowercase = jbool(o, "lowercase", true);
    json_object *sa = jget(o, "strip_accents");
    n->strip_accents = jnull(sa) ? n->lowercase : json_object_get_boolean(sa);
  } else if (!strcmp(type, "Lowercase")) n->type = NLP_NORM_LOWERCASE;
  else if (!strcmp(type, "NFC")) n->type = NLP_NORM_NFC;
  else if (!strcmp(type, "NFD")) n->type = NLP_NORM_NFD;
  else if (!strcmp(type, "NFKC")) n->type = NLP_NORM_NFKC;
  else if (!strcmp(type, "NFKD")) n->type = NLP_NORM_NFKD;
  else if (!strcmp(type, "StripAccents")) n->type = NLP_NORM_STRIP_ACCENTS;
  else if (!strcmp(type, "Strip")) {
    n->type = NLP_NORM_STRIP;
    n->left = jbool(o, "strip_left", true);
    n->right = jbool(o, "strip_right", true);
  } else if (!strcmp(type, "Prepend")) {
    n->type = NLP_NORM_PREPEND;
    const char *p = jstr(o, "prepend", NULL);
    if (!p) { FAIL(NLP_ERROR_MODEL, "%s.prepend: expected a string", path); goto bad; }
    n->content = g_strdup(p);
  } else if (!strcmp(type, "Replace")) {
    n->type = NLP_NORM_REPLACE;
    const char *ct = jstr(o, "content", NULL);
    if (!ct) { FAIL(NLP_ERROR_MODEL, "%s.content: expected a string", path); goto bad; }
    n->content = g_strdup(ct);
    n->regex = pattern_regex(c, jget(o, "pattern"), path, &n->pattern);
    if (!n->regex && !n->pattern) goto bad;
  } else if (!strcmp(type, "Precompiled")) {
    n->type = NLP_NORM_PRECOMPILED;
    const char *b64 = jstr(o, "precompiled_charsmap", NULL);
    if (b64 && *b64) {
      gsize bl = 0;
      guchar *raw = g_base64_decode(b64, &bl);
      uint32_t tsz = 0;
      if (bl >= 4) memcpy(&tsz, raw, 4);
      if (bl < 4 || tsz % 4 || 4 + (gsize)tsz > bl) {
        g_free(raw);
        FAIL(NLP_ERROR_MODEL, "%s.precompiled_charsmap: corrupt (trie size %u, %zu bytes)", path, tsz, (size_t)bl);
        goto bad;
      }
      n->charsmap = g_bytes_new_take(raw, bl);
      n->trie = (const uint32_t *)(raw + 4);
      n->trie_n = tsz / 4;
      n->norm = (const char *)raw + 4 + tsz;
      n->norm_n = bl - 4 - tsz;
    }
  } else if (!strcmp(type, "Sequence")) {
    n->type = NLP_NORM_SEQUENCE;
    json_object *arr = jget(o, "normalizers");
    if (!arr || !json_object_is_type(arr, json_type_array)) { FAIL(NLP_ERROR_MODEL, "%s.normalizers: expected a list", path); goto bad; }
    n->n_children = json_object_array_length(arr);
    n->children = g_new0(nlp_tk_normalizer *, n->n_children);
    for (size_t i = 0; i < n->n_children; i++) {
      char *sub = g_strdup_printf("%s.normalizers[%zu]", path, i);
      n->children[i] = parse_normalizer(c, json_object_array_get_idx(arr, i), sub);
      g_free(sub);
      if (!n->children[i]) goto bad;
    }
  } else {
    FAIL(NLP_ERROR_UNSUPPORTED, "%s.type: normalizer '%s' is not supported (BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, StripAccents, Replace, Prepend, Strip, Precompiled, Sequence)", path, type);
    goto bad;
  }
  return n;
bad:
  nlp_tk_normalizer_free(n);
  return NULL;
}

/* ---- pre-tokenizers */
static nlp_tk_pretokenizer *parse_pre(jctx *c, json_object *o, const char *path) {
  const char *type = jstr(o, "type", NULL);
  if (!type) {
    FAIL(NLP_ERROR_MODEL, "%s: expected an object with a \"type\"", path);
    return NULL;
  }
  nlp_tk_pretokenizer *p = g_new0(nlp_tk_pretokenizer, 1);
  if (!strcmp(type, "BertPreTokenizer")) p->type = NLP_PRE_BERT;
  else if (!strcmp(type, "Whitespace")) p->type = NLP_PRE_WHITESPACE;
  else if (!strcmp(type, "WhitespaceSplit")) p->type = NLP_PRE_WHITESPACE_SPLIT;
  else if (!strcmp(type, "ByteLevel")) {
    p->type = NLP_PRE_BYTELEVEL;
    p->add_prefix_space = jbool(o, "add_prefix_space", true);
    p->use_regex = jbool(o, "use_regex", true);
  } else if (!strcmp(type, "Metaspace")) {
    p->type = NLP_PRE_METASPACE;
    p->replacement = g_strdup(jstr(o, "replacement", "\xe2\x96\x81"));
    p->prepend = prepend_of(o);
    p->split = jbool(o, "split", true);
  } else if (!strcmp(type, "Punctuation")) {
    p->type = NLP_PRE_PUNCTUATION;
    if (!behavior_of(c, o, path, NLP_SPLIT_ISOLATED, &p->behavior)) goto bad;
  } else if (!strcmp(type, "Digits")) {
    p->type = NLP_PRE_DIGITS;
    p->individual_digits = jbool(o, "individual_digits", false);
  } else if (!strcmp(type, "Split")) {
    p->type = NLP_PRE_SPLIT;
    if (!behavior_of(c, o, path, NLP_SPLIT_REMOVED, &p->behavior)) goto bad;
    if (!jstr(o, "behavior", NULL)) { FAIL(NLP_ERROR_MODEL, "%s.behavior: expected a string", path); goto bad; }
    p->invert = jbool(o, "invert", false);
    p->regex = pattern_regex(c, jget(o, "pattern"), path, NULL);
    if (!p->regex) goto bad;
  } else if (!strcmp(type, "Sequence")) {
    p->type = NLP_PRE_SEQUENCE;
    json_object *arr = jget(o, "pretokenizers");
    if (!arr || !json_object_is_type(arr, json_type_array)) { FAIL(NLP_ERROR_MODEL, "%s.pretokenizers: expected a list", path); goto bad; }
    p->n_children = json_object_array_length(arr);
    p->children = g_new0(nlp_tk_pretokenizer *, p->n_children);
    for (size_t i = 0; i < p->n_children; i++) {
      char *sub = g_strdup_printf("%s.pretokenizers[%zu]", path, i);
      p->children[i] = parse_pre(c, json_object_array_get_idx(arr, i), sub);
      g_free(sub);
      if (!p->children[i]) goto bad;
    }
  } else {
    FAIL(NLP_ERROR_UNSUPPORTED, "%s.type: pre-tokenizer '%s' is not supported (BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace, Punctuation, Digits, Split, Sequence)", path, type);
    goto bad;
  }
  return p;
bad:
  nlp_tk_pretokenizer_free(p);
  return NULL;
}

/* ---- decoders */
static nlp_tk_decoder *parse_decoder(jctx *c, json_object *o, const char *path) {
  const char *type = jstr(o, "type", NULL);
  if (!type) {
    FAIL(NLP_ERROR_MODEL, "%s: expected an object with a \"type\"", path);
    return NULL;
  }
  nlp_tk_decoder *d = g_new0(nlp_tk_decoder, 1);
  if (!strcmp(type, "WordPiece")) {
    d->type = NLP_DEC_WORDPIECE;
    d->prefix = g_strdup(jstr(o, "prefix", "##"));
    d->cleanup = jbool(o, "cleanup", true);
  } else if (!strcmp(type, "ByteLevel")) d->type = NLP_DEC_BYTELEVEL;
  else if (!strcmp(type, "Metaspace")) {
    d->type = NLP_DEC_METASPACE;
    d->replacement = g_strdup(jstr(o, "replacement", "\xe2\x96\x81"));
    d->prepend = prepend_of(o);
  } else if (!strcmp(type, "ByteFallback")) d->type = NLP_DEC_BYTEFALLBACK;
  else if (!strcmp(type, "Fuse")) d->type = NLP_DEC_FUSE;
  else if (!strcmp(type, "Strip")) {
    d->type = NLP_DEC_STRIP;
    d->content = g_strdup(jstr(o, "content", " "));
    d->start = (size_t)jint(o, "start", 0);
    d->stop = (size_t)jint(o, "stop", 0);
  } else if (!strcmp(type, "Replace")) {
    d->type = NLP_DEC_REPLACE;
    d->content = g_strdup(jstr(o, "content", ""));
    const char *s = jstr(jget(o, "pattern"), "String", NULL);
    if (!s) { FAIL(NLP_ERROR_UNSUPPORTED, "%s.pattern: only {\"String\": ...} patterns are supported in a Replace decoder", path); goto bad; }
    d->pattern = g_strdup(s);
  } else if (!strcmp(type, "BPEDecoder")) {
    d->type = NLP_DEC_BPE;
    d->prefix = g_strdup(jstr(o, "suffix", "</w>"));
  } else if (!strcmp(type, "Sequence")) {
    d->type = NLP_DEC_SEQUENCE;
    json_object *arr = jget(o, "decoders");
    if (!arr || !json_object_is_type(arr, json_type_array)) { FAIL(NLP_ERROR_MODEL, "%s.decoders: expected a list", path); goto bad; }
    d->n_children = json_object_array_length(arr);
    d->children = g_new0(nlp_tk_decoder *, d->n_children);
    for (size_t i = 0; i < d->n_children; i++) {
      char *sub = g_strdup_printf("%s.decoders[%zu]", path, i);
      d->children[i] = parse_decoder(c, json_object_array_get_idx(arr, i), sub);
      g_free(sub);
      if (!d->children[i]) goto bad;
    }
  } else {
    FAIL(NLP_ERROR_UNSUPPORTED, "%s.type: decoder '%s' is not supported (WordPiece, ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence)", path, type);
    goto bad;
  }
  return d;
bad:
  nlp_tk_decoder_free(d);
  return NULL;
}

/* ---- post-processors */
static void tpl_add_special(nlp_tk_template *t, int32_t type_id, const int32_t *ids, const char *const *toks, size_t n) {
  t->items = g_renew(nlp_tk_tpl_item, t->items, t->n + 1);
  nlp_tk_tpl_item *it = &t->items[t->n++];
  memset(it, 0, sizeof *it);
  it->type_id = type_id;
  it->n = n;
  it->ids = g_new(int32_t, n ? n : 1);
  it->toks = g_new0(char *, n ? n : 1);
  for (size_t i = 0; i < n; i++) it->ids[i] = ids[i], it->toks[i] = g_strdup(toks[i]);
}
static void tpl_add_seq(nlp_tk_template *t, int seq, int32_t type_id) {
  t->items = g_renew(nlp_tk_tpl_item, t->items, t->n + 1);
  nlp_tk_tpl_item *it = &t->items[t->n++];
  memset(it, 0, sizeof *it);
  it->is_seq = true;
  it->seq = seq;
  it->type_id = type_id;
}

static bool parse_template(jctx *c, json_object *list, json_object *specials, const char *path, nlp_tk_template *t) {
  if (!list || !json_object_is_type(list, json_type_array)) {
    FAIL(NLP_ERROR_MODEL, "%s: expected a list of {\"SpecialToken\"} / {\"Sequence\"} pieces", path);
    return false;
  }
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *it = json_object_array_get_idx(list, i);
    json_object *sp = jget(it, "SpecialToken"), *sq = jget(it, "Sequence");
    if (sq) {
      const char *id = jstr(sq, "id", "A");
      tpl_add_seq(t, strcmp(id, "A") ? 1 : 0, (int32_t)jint(sq, "type_id", 0));
    } else if (sp) {
      const char *id = jstr(sp, "id", NULL);
      json_object *def = id ? jget(specials, id) : NULL;
      json_object *ids = jget(def, "ids"), *toks = jget(def, "tokens");
      if (!def || !ids || !toks || json_object_array_length(ids) != json_object_array_length(toks)) {
        FAIL(NLP_ERROR_MODEL, "%s[%zu]: special token '%s' is missing from post_processor.special_tokens", path, i, id ? id : "?");
        return false;
      }
      size_t n = json_object_array_length(ids);
      int32_t *iv = g_new(int32_t, n ? n : 1);
      const char **tv = g_new(const char *, n ? n : 1);
      for (size_t k = 0; k < n; k++) {
        iv[k] = json_object_get_int(json_object_array_get_idx(ids, k));
        tv[k] = json_object_get_string(json_object_array_get_idx(toks, k));
      }
      tpl_add_special(t, (int32_t)jint(sp, "type_id", 0), iv, tv, n);
      g_free(iv);
      g_free(tv);
    } else {
      FAIL(NLP_ERROR_MODEL, "%s[%zu]: expected {\"SpecialToken\": ...} or {\"Sequence\": ...}", path, i);
      return false;
    }
  }
  return true;
}

static bool pair_of(jctx *c, json_object *o, const char *key, const char *path, const char **tok, int32_t *id) {
  json_object *v = jget(o, key);
  if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2) {
    FAIL(NLP_ERROR_MODEL, "%s.%s: expected [token, id]", path, key);
    return false;
  }
  *tok = json_object_get_string(json_object_array_get_idx(v, 0));
  *id = json_object_get_int(json_object_array_get_idx(v, 1));
  return true;
}

static bool parse_post(jctx *c, json_object *o, const char *path, nlp_tk_post *pp) {
  const char *type = jstr(o, "type", NULL);
  if (!type) {
    FAIL(NLP_ERROR_MODEL, "%s: expected an object with a \"type\"", path);
    return false;
  }
  if (!strcmp(type, "TemplateProcessing")) {
    pp->has_template = true;
    return parse_template(c, jget(o, "single"), jget(o, "special_tokens"), "post_processor.single", &pp->single) &&
           parse_template(c, jget(o, "pair"), jget(o, "special_tokens"), "post_processor.pair", &pp->pair);
  }
  if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
    const char *ct, *st;
    int32_t ci, si;
    if (!pair_of(c, o, "cls", path, &ct, &ci) || !pair_of(c, o, "sep", path, &st, &si)) return false;
    bool roberta = type[0] == 'R';
    pp->has_template = true;
    tpl_add_special(&pp->single, 0, &ci, &ct, 1);
    tpl_add_seq(&pp->single, 0, 0);
    tpl_add_special(&pp->single, 0, &si, &st, 1);
    tpl_add_special(&pp->pair, 0, &ci, &ct, 1);
    tpl_add_seq(&pp->pair, 0, 0);
    tpl_add_special(&pp->pair, 0, &si, &st, 1);
    if (roberta) tpl_add_special(&pp->pair, 0, &si, &st, 1);
    tpl_add_seq(&pp->pair, 1, roberta ? 0 : 1);
    tpl_add_special(&pp->pair, roberta ? 0 : 1, &si, &st, 1);
    if (roberta) {
      pp->trim_offsets = jbool(o, "trim_offsets", true);
      pp->add_prefix_space = jbool(o, "add_prefix_space", true);
    }
    return true;
  }
  if (!strcmp(type, "ByteLevel")) {
    pp->trim_offsets = jbool(o, "trim_offsets", true);
    pp->add_prefix_space = jbool(o, "add_prefix_space", true);
    return true;
  }
  if (!strcmp(type, "Sequence")) {
    json_object *arr = jget(o, "processors");
    if (!arr || !json_object_is_type(arr, json_type_array)) {
      FAIL(NLP_ERROR_MODEL, "%s.processors: expected a list", path);
      return false;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
      char *sub = g_strdup_printf("%s.processors[%zu]", path, i);
      bool ok = parse_post(c, json_object_array_get_idx(arr, i), sub, pp);
      g_free(sub);
      if (!ok) return false;
    }
    return true;
  }
  FAIL(NLP_ERROR_UNSUPPORTED, "%s.type: post-processor '%s' is not supported (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)", path, type);
  return false;
}

/* ---- models */
static bool vocab_from_object(jctx *c, json_object *v, nlp_tk_vocab *voc) {
  if (!v || !json_object_is_type(v, json_type_object)) {
    FAIL(NLP_ERROR_MODEL, "model.vocab: expected an object {token: id}");
    return false;
  }
  int64_t maxid = -1;
  json_object_object_foreach(v, k, val) {
    (void)k;
    if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 || json_object_get_int64(val) > INT32_MAX) {
      FAIL(NLP_ERROR_MODEL, "model.vocab[\"%s\"]: expected a non-negative integer id", k);
      return false;
    }
    if (json_object_get_int64(val) > maxid) maxid = json_object_get_int64(val);
  }
  nlp_tk_vocab_init(voc, (size_t)(maxid + 1));
  json_object_object_foreach(v, k2, val2) nlp_tk_vocab_set(voc, (int32_t)json_object_get_int64(val2), k2, strlen(k2));
  nlp_tk_vocab_build_index(voc);
  return true;
}

static bool parse_model(jctx *c, json_object *o, nlp_tk_model *m) {
  if (!o || !json_object_is_type(o, json_type_object)) {
    FAIL(NLP_ERROR_MODEL, "model: expected an object");
    return false;
  }
  const char *type = jstr(o, "type", NULL);
  if (!type) { /* untagged (older files): infer as serde does */
    json_object *v = jget(o, "vocab");
    if (jget(o, "merges")) type = "BPE";
    else if (v && json_object_is_type(v, json_type_array)) type = "Unigram";
    else if (jget(o, "continuing_subword_prefix") || jget(o, "max_input_chars_per_word")) type = "WordPiece";
    else type = "WordLevel";
  }
  const char *unk = jstr(o, "unk_token", NULL);
  if (!strcmp(type, "WordPiece") || !strcmp(type, "WordLevel")) {
    m->type = type[4] == 'P' ? NLP_MODEL_WORDPIECE : NLP_MODEL_WORDLEVEL;
    if (!vocab_from_object(c, jget(o, "vocab"), &m->vocab)) return false;
    m->prefix = g_strdup(jstr(o, "continuing_subword_prefix", "##"));
    m->max_chars = (size_t)jint(o, "max_input_chars_per_word", 100);
    m->unk_id = unk ? nlp_tk_vocab_find(&m->vocab, unk, strlen(unk)) : -1;
    if (unk && m->unk_id < 0) {
      FAIL(NLP_ERROR_MODEL, "model.unk_token: '%s' is not in model.vocab", unk);
      return false;
    }
    return true;
  }
  if (!strcmp(type, "BPE")) {
    m->type = NLP_MODEL_BPE;
    if (!vocab_from_object(c, jget(o, "vocab"), &m->vocab)) return false;
    json_object *d = jget(o, "dropout");
    if (!jnull(d) && json_object_get_double(d) > 0) {
      FAIL(NLP_ERROR_UNSUPPORTED, "model.dropout: BPE dropout (random segmentation) is not supported");
      return false;
    }
    const char *pre = jstr(o, "continuing_subword_prefix", NULL), *suf = jstr(o, "end_of_word_suffix", NULL);
    m->prefix = pre ? g_strdup(pre) : NULL;
    m->suffix = suf ? g_strdup(suf) : NULL;
    m->fuse_unk = jbool(o, "fuse_unk", false);
    m->byte_fallback = jbool(o, "byte_fallback", false);
    m->ignore_merges = jbool(o, "ignore_merges", false);
    m->unk_id = unk ? nlp_tk_vocab_find(&m->vocab, unk, strlen(unk)) : -1;
    if (m->byte_fallback) nlp_tk_model_index_bytes(m);
    json_object *mg = jget(o, "merges");
    if (!mg || !json_object_is_type(mg, json_type_array)) {
      FAIL(NLP_ERROR_MODEL, "model.merges: expected a list of \"a b\" strings or [a, b] pairs");
      return false;
    }
    size_t nm = json_object_array_length(mg);
    nlp_tk_merges_init(&m->merges, nm);
    size_t plen = pre ? strlen(pre) : 0;
    for (size_t i = 0; i < nm; i++) {
      json_object *e = json_object_array_get_idx(mg, i);
      char *a = NULL, *b = NULL;
      if (json_object_is_type(e, json_type_string)) {
        const char *s = json_object_get_string(e);
        const char *sp = strchr(s, ' ');
        if (sp) a = g_strndup(s, (gsize)(sp - s)), b = g_strdup(sp + 1);
      } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) {
        a = g_strdup(json_object_get_string(json_object_array_get_idx(e, 0)));
        b = g_strdup(json_object_get_string(json_object_array_get_idx(e, 1)));
      }
      if (!a || !b) {
        g_free(a); g_free(b);
        FAIL(NLP_ERROR_MODEL, "model.merges[%zu]: expected \"a b\" or [a, b]", i);
        return false;
      }
      int32_t ia = nlp_tk_vocab_find(&m->vocab, a, strlen(a)), ib = nlp_tk_vocab_find(&m->vocab, b, strlen(b));
      size_t skip = strlen(b) >= plen && plen && !strncmp(b, pre, plen) ? plen : 0;
      char *ab = g_strconcat(a, b + skip, NULL);
      int32_t iab = nlp_tk_vocab_find(&m->vocab, ab, strlen(ab));
      if (ia < 0 || ib < 0 || iab < 0) {
        FAIL(NLP_ERROR_MODEL, "model.merges[%zu]: '%s' + '%s' -> '%s' is not in model.vocab", i, a, b, ab);
        g_free(a); g_free(b); g_free(ab);
        return false;
      }
      nlp_tk_merges_add(&m->merges, ia, ib, (int32_t)i, iab);
      g_free(a); g_free(b); g_free(ab);
    }
    return true;
  }
  if (!strcmp(type, "Unigram")) {
    m->type = NLP_MODEL_UNIGRAM;
    json_object *v = jget(o, "vocab");
    if (!v || !json_object_is_type(v, json_type_array)) {
      FAIL(NLP_ERROR_MODEL, "model.vocab: expected a list of [piece, score]");
      return false;
    }
    size_t n = json_object_array_length(v);
    nlp_tk_vocab_init(&m->vocab, n);
    m->scores = g_new(double, n ? n : 1);
    m->min_score = n ? 1e300 : 0;
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(v, i);
      json_object *p = json_object_array_get_idx(e, 0), *s = json_object_array_get_idx(e, 1);
      if (!json_object_is_type(e, json_type_array) || !p || !s || !json_object_is_type(p, json_type_string)) {
        FAIL(NLP_ERROR_MODEL, "model.vocab[%zu]: expected [piece, score]", i);
        return false;
      }
      const char *ps = json_object_get_string(p);
      nlp_tk_vocab_set(&m->vocab, (int32_t)i, ps, strlen(ps));
      m->scores[i] = json_object_get_double(s);
      if (m->scores[i] < m->min_score) m->min_score = m->scores[i];
    }
    nlp_tk_vocab_build_index(&m->vocab);
    json_object *u = jget(o, "unk_id");
    m->unk_id = jnull(u) ? -1 : json_object_get_int(u);
    if (m->unk_id >= (int32_t)n) {
      FAIL(NLP_ERROR_MODEL, "model.unk_id: %d is outside the vocabulary of %zu pieces", m->unk_id, n);
      return false;
    }
    m->byte_fallback = jbool(o, "byte_fallback", false);
    if (m->byte_fallback) nlp_tk_model_index_bytes(m);
    return true;
  }
  FAIL(NLP_ERROR_UNSUPPORTED, "model.type: model '%s' is not supported (WordPiece, BPE, Unigram, WordLevel)", type);
  return false;
}

nlp_tokenizer *nlp_tk_load_json_string(const char *file, const char *text, size_t len, GError **error) {
  jctx cc = {file, error}, *c = &cc;
  json_tokener *tk = json_tokener_new();
  json_object *root = json_tokener_parse_ex(tk, text, (int)len);
  enum json_tokener_error je = json_tokener_get_error(tk);
  if (!root || je != json_tokener_success) {
    FAIL(NLP_ERROR_PARSE, "not valid JSON (%s at byte %zu)", json_tokener_error_desc(je == json_tokener_success ? json_tokener_continue : je),
         (size_t)json_tokener_get_parse_end(tk));
    json_tokener_free(tk);
    if (root) json_object_put(root);
    return NULL;
  }
  json_tokener_free(tk);
  nlp_tokenizer *t = nlp_tk_new(file);
  if (!json_object_is_type(root, json_type_object)) {
    FAIL(NLP_ERROR_MODEL, "expected a JSON object at the top (the tokenizer.json format)");
    goto bad;
  }
  if (!jget(root, "model")) {
    FAIL(NLP_ERROR_MODEL, "model: missing (every tokenizer.json has a \"model\")");
    goto bad;
  }
  if (!parse_model(c, jget(root, "model"), &t->model)) goto bad;
  json_object *o;
  if (!jnull(o = jget(root, "normalizer")) && !(t->normalizer = parse_normalizer(c, o, "normalizer"))) goto bad;
  if (!jnull(o = jget(root, "pre_tokenizer")) && !(t->pre = parse_pre(c, o, "pre_tokenizer"))) goto bad;
  if (!jnull(o = jget(root, "post_processor")) && !parse_post(c, o, "post_processor", &t->post)) goto bad;
  if (!jnull(o = jget(root, "decoder")) && !(t->decoder = parse_decoder(c, o, "decoder"))) goto bad;
  json_object *added = jget(root, "added_tokens");
  if (added) {
    if (!json_object_is_type(added, json_type_array)) {
      FAIL(NLP_ERROR_MODEL, "added_tokens: expected a list");
      goto bad;
    }
    for (size_t i = 0; i < json_object_array_length(added); i++) {
      json_object *a = json_object_array_get_idx(added, i);
      const char *content = jstr(a, "content", NULL);
      json_object *id = jget(a, "id");
      if (!content || !id || !json_object_is_type(id, json_type_int) || json_object_get_int64(id) < 0) {
        FAIL(NLP_ERROR_MODEL, "added_tokens[%zu]: expected {\"id\": n, \"content\": \"...\"}", i);
        goto bad;
      }
      bool special = jbool(a, "special", false);
      nlp_tk_added x = {(char *)content, 0, (int32_t)json_object_get_int64(id), jbool(a, "single_word", false),
                        jbool(a, "lstrip", false), jbool(a, "rstrip", false), jbool(a, "normalized", !special), special};
      nlp_tk_add_token(t, &x);
    }
  }
  json_object *pad = jget(root, "padding");
  if (!jnull(pad)) {
    t->pad_id = (int32_t)jint(pad, "pad_id", -1);
    const char *pt = jstr(pad, "pad_token", NULL);
    if (pt) t->pad_token = g_strdup(pt);
  }
  nlp_tk_finish(t);
  json_object_put(root);
  return t;
bad:
  json_object_put(root);
  nlp_tokenizer_free(t);
  return NULL;
}

nlp_tokenizer *nlp_tk_load_json(const char *file, GError **error) {
  char *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(file, &text, &len, &e)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read the tokenizer file: %s", file, e->message);
    g_error_free(e);
    return NULL;
  }
  nlp_tokenizer *t = nlp_tk_load_json_string(file, text, len, error);
  g_free(text);
  return t;
}
