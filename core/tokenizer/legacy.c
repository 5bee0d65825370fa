/* legacy.c — folders without tokenizer.json, built the way transformers' converters
 * build them: vocab.txt (BERT WordPiece), vocab.json + merges.txt (GPT-2 / RoBERTa
 * byte-level BPE); and nlp_tokenizer_load, which picks the loader for a path. */
#include <string.h>

#include "tokenizer/internal.h"

static json_object *read_config(const char *dir) {
  if (!dir) return NULL;
  char *p = g_build_filename(dir, "tokenizer_config.json", NULL);
  json_object *o = g_file_test(p, G_FILE_TEST_IS_REGULAR) ? json_object_from_file(p) : NULL;
  g_free(p);
  return o;
}
static json_object *cget(json_object *o, const char *k) {
  json_object *v = NULL;
  return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static void add_special(nlp_tokenizer *t, const char *tok, bool lstrip, bool normalized) {
  int32_t id = nlp_tk_vocab_find(&t->model.vocab, tok, strlen(tok));
  if (id < 0) return;
  nlp_tk_added a = {(char *)tok, 0, id, false, lstrip, false, normalized, true};
  nlp_tk_add_token(t, &a);
}

static void simple_template(nlp_tokenizer *t, const char *cls, const char *sep, bool roberta) {
  char json[512];
  int32_t ci = nlp_tk_vocab_find(&t->model.vocab, cls, strlen(cls));
  int32_t si = nlp_tk_vocab_find(&t->model.vocab, sep, strlen(sep));
  if (ci < 0 || si < 0) return;
  nlp_tk_template *s = &t->post.single, *p = &t->post.pair;
  t->post.has_template = true;
  (void)json;
#define SPECIAL(T, ID, TOK, TYPE)                                             \
  do {                                                                        \
    (T)->items = g_renew(nlp_tk_tpl_item, (T)->items, (T)->n + 1);            \
    nlp_tk_tpl_item *it_ = &(T)->items[(T)->n++];                             \
    memset(it_, 0, sizeof *it_);                                              \
    it_->type_id = TYPE; it_->n = 1;                                          \
    it_->ids = g_new(int32_t, 1); it_->ids[0] = ID;                           \
    it_->toks = g_new(char *, 1); it_->toks[0] = g_strdup(TOK);               \
  } while (0)
#define SEQ(T, S, TYPE)                                                       \
  do {                                                                        \
    (T)->items = g_renew(nlp_tk_tpl_item, (T)->items, (T)->n + 1);            \
    nlp_tk_tpl_item *it_ = &(T)->items[(T)->n++];                             \
    memset(it_, 0, sizeof *it_);                                              \
    it_->is_seq = true; it_->seq = S; it_->type_id = TYPE;                    \
  } while (0)
  SPECIAL(s, ci, cls, 0); SEQ(s, 0, 0); SPECIAL(s, si, sep, 0);
  SPECIAL(p, ci, cls, 0); SEQ(p, 0, 0); SPECIAL(p, si, sep, 0);
  if (roberta) SPECIAL(p, si, sep, 0);
  SEQ(p, 1, roberta ? 0 : 1); SPECIAL(p, si, sep, roberta ? 0 : 1);
#undef SPECIAL
#undef SEQ
}

nlp_tokenizer *nlp_tk_load_vocab_txt(const char *file, const char *dir, GError **error) {
  char *text = NULL;
  gsize len = 0;
  GError *e = NULL;
  if (!g_file_get_contents(file, &text, &len, &e)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read the vocabulary: %s", file, e->message);
    g_error_free(e);
    return NULL;
  }
  if (!g_utf8_validate_len(text, len, NULL)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: not UTF-8 text (expected one WordPiece token per line)", file);
    g_free(text);
    return NULL;
  }
  nlp_tokenizer *t = nlp_tk_new(file);
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  size_t n = g_strv_length(lines);
  if (n && !*lines[n - 1]) n--; /* trailing newline */
  nlp_tk_model *m = &t->model;
  m->type = NLP_MODEL_WORDPIECE;
  nlp_tk_vocab_init(&m->vocab, n);
  for (size_t i = 0; i < n; i++) {
    char *l = lines[i];
    size_t ll = strlen(l);
    if (ll && l[ll - 1] == '\r') l[--ll] = 0;
    nlp_tk_vocab_set(&m->vocab, (int32_t)i, l, ll);
  }
  g_strfreev(lines);
  nlp_tk_vocab_build_index(&m->vocab);
  if (!n) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: empty vocabulary", file);
    nlp_tokenizer_free(t);
    return NULL;
  }
  m->prefix = g_strdup("##");
  m->max_chars = 100;
  m->unk_id = nlp_tk_vocab_find(&m->vocab, "[UNK]", 5);
  json_object *cfg = read_config(dir);
  json_object *lc = cget(cfg, "do_lower_case"), *sa = cget(cfg, "strip_accents"), *cj = cget(cfg, "tokenize_chinese_chars");
  nlp_tk_normalizer *nz = g_new0(nlp_tk_normalizer, 1);
  nz->type = NLP_NORM_BERT;
  nz->clean_text = true;
  nz->lowercase = lc ? json_object_get_boolean(lc) : true;
  nz->handle_chinese = cj ? json_object_get_boolean(cj) : true;
  nz->strip_accents = sa && !json_object_is_type(sa, json_type_null) ? json_object_get_boolean(sa) : nz->lowercase;
  t->normalizer = nz;
  if (cfg) json_object_put(cfg);
  t->pre = g_new0(nlp_tk_pretokenizer, 1);
  t->pre->type = NLP_PRE_BERT;
  t->decoder = g_new0(nlp_tk_decoder, 1);
  t->decoder->type = NLP_DEC_WORDPIECE;
  t->decoder->prefix = g_strdup("##");
  t->decoder->cleanup = true;
  const char *sp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (size_t i = 0; i < G_N_ELEMENTS(sp); i++) add_special(t, sp[i], false, false);
  simple_template(t, "[CLS]", "[SEP]", false);
  nlp_tk_finish(t);
  return t;
}

nlp_tokenizer *nlp_tk_load_vocab_merges(const char *vocab, const char *merges, const char *dir, GError **error) {
  char *vt = NULL, *mt = NULL;
  gsize vl = 0, ml = 0;
  GError *e = NULL;
  if (!g_file_get_contents(vocab, &vt, &vl, &e) || !g_file_get_contents(merges, &mt, &ml, &e)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read: %s", vt ? merges : vocab, e->message);
    g_error_free(e);
    g_free(vt);
    return NULL;
  }
  /* build a tokenizer.json in memory: one parser, one set of checks */
  json_object *root = json_object_new_object();
  json_tokener *tk = json_tokener_new();
  json_object *v = json_tokener_parse_ex(tk, vt, (int)vl);
  json_tokener_free(tk);
  g_free(vt);
  if (!v || !json_object_is_type(v, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s: expected a JSON object {token: id}", vocab);
    if (v) json_object_put(v);
    json_object_put(root);
    g_free(mt);
    return NULL;
  }
  json_object *cfg = read_config(dir);
  json_object *cls = cget(cfg, "tokenizer_class");
  const char *klass = cls ? json_object_get_string(cls) : "";
  bool roberta = (strstr(klass, "Roberta") || strstr(klass, "Bart") || strstr(klass, "Longformer")) &&
                 json_object_object_get_ex(v, "<s>", NULL);
  json_object *aps = cget(cfg, "add_prefix_space");
  bool add_prefix = aps ? json_object_get_boolean(aps) : false;
  if (cfg) json_object_put(cfg);
  json_object *arr = json_object_new_array();
  char **lines = g_strsplit(mt, "\n", -1);
  g_free(mt);
  for (size_t i = 0; lines[i]; i++) {
    char *l = lines[i];
    size_t ll = strlen(l);
    if (ll && l[ll - 1] == '\r') l[--ll] = 0;
    if (!ll || (i == 0 && g_str_has_prefix(l, "#version"))) continue;
    json_object_array_add(arr, json_object_new_string(l));
  }
  g_strfreev(lines);
  json_object *model = json_object_new_object();
  json_object_object_add(model, "type", json_object_new_string("BPE"));
  json_object_object_add(model, "vocab", v);
  json_object_object_add(model, "merges", arr);
  json_object_object_add(root, "model", model);
  json_object *pre = json_object_new_object();
  json_object_object_add(pre, "type", json_object_new_string("ByteLevel"));
  json_object_object_add(pre, "add_prefix_space", json_object_new_boolean(add_prefix));
  json_object_object_add(root, "pre_tokenizer", pre);
  json_object *post = json_object_new_object();
  if (roberta) {
    json_object_object_add(post, "type", json_object_new_string("RobertaProcessing"));
    json_object *s = json_object_new_array(), *c = json_object_new_array();
    json_object *sid = NULL, *cid = NULL;
    json_object_object_get_ex(v, "</s>", &sid);
    json_object_object_get_ex(v, "<s>", &cid);
    json_object_array_add(s, json_object_new_string("</s>"));
    json_object_array_add(s, json_object_new_int(sid ? json_object_get_int(sid) : 2));
    json_object_array_add(c, json_object_new_string("<s>"));
    json_object_array_add(c, json_object_new_int(cid ? json_object_get_int(cid) : 0));
    json_object_object_add(post, "sep", s);
    json_object_object_add(post, "cls", c);
    json_object_object_add(post, "add_prefix_space", json_object_new_boolean(add_prefix));
  } else {
    json_object_object_add(post, "type", json_object_new_string("ByteLevel"));
    json_object_object_add(post, "trim_offsets", json_object_new_boolean(false));
  }
  json_object_object_add(root, "post_processor", post);
  json_object *dec = json_object_new_object();
  json_object_object_add(dec, "type", json_object_new_string("ByteLevel"));
  json_object_object_add(root, "decoder", dec);
  json_object *added = json_object_new_array();
  const char *specials[] = {"<|endoftext|>", "<s>", "<pad>", "</s>", "<unk>", "<mask>"};
  for (size_t i = 0; i < G_N_ELEMENTS(specials); i++) {
    json_object *id = NULL;
    if (!json_object_object_get_ex(v, specials[i], &id)) continue;
    json_object *a = json_object_new_object();
    json_object_object_add(a, "id", json_object_new_int(json_object_get_int(id)));
    json_object_object_add(a, "content", json_object_new_string(specials[i]));
    json_object_object_add(a, "special", json_object_new_boolean(true));
    json_object_object_add(a, "normalized", json_object_new_boolean(!roberta));
    json_object_object_add(a, "lstrip", json_object_new_boolean(!strcmp(specials[i], "<mask>")));
    json_object_array_add(added, a);
  }
  json_object_object_add(root, "added_tokens", added);
  const char *js = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  nlp_tokenizer *t = nlp_tk_load_json_string(merges, js, strlen(js), error);
  json_object_put(root);
  if (t) {
    g_free(t->path);
    t->path = g_strdup(vocab);
  }
  return t;
}

static char *find_in(const char *dir, const char *const *names) {
  for (; *names; names++) {
    char *p = g_build_filename(dir, *names, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) return p;
    g_free(p);
  }
  return NULL;
}

nlp_tokenizer *nlp_tokenizer_load(const char *path, GError **error) {
  if (!path || !*path) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "tokenizer: no path given");
    return NULL;
  }
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    static const char *const json[] = {"tokenizer.json", NULL};
    static const char *const vtxt[] = {"vocab.txt", NULL};
    static const char *const vjs[] = {"vocab.json", NULL};
    static const char *const spm[] = {"spiece.model", "sentencepiece.bpe.model", "tokenizer.model", "source.spm", "spm.model", NULL};
    char *f;
    nlp_tokenizer *t = NULL;
    if ((f = find_in(path, json))) t = nlp_tk_load_json(f, error);
    else if ((f = find_in(path, vtxt))) t = nlp_tk_load_vocab_txt(f, path, error);
    else if ((f = find_in(path, vjs))) {
      char *mg = g_build_filename(path, "merges.txt", NULL);
      t = nlp_tk_load_vocab_merges(f, mg, path, error);
      g_free(mg);
    } else if ((f = find_in(path, spm))) t = nlp_tk_load_sentencepiece(f, path, error);
    else {
      GDir *d = g_dir_open(path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".model")) {
          f = g_build_filename(path, name, NULL);
          break;
        }
      if (d) g_dir_close(d);
      if (f) t = nlp_tk_load_sentencepiece(f, path, error);
      else
        g_set_error(error, NLP_ERROR, NLP_ERROR_IO,
                    "%s: no tokenizer found (expected tokenizer.json, vocab.txt, vocab.json + merges.txt or a SentencePiece *.model)", path);
    }
    g_free(f);
    return t;
  }
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: no such tokenizer file or folder", path);
    return NULL;
  }
  char *dir = g_path_get_dirname(path);
  char *base = g_path_get_basename(path);
  nlp_tokenizer *t;
  if (g_str_has_suffix(base, ".model") || g_str_has_suffix(base, ".spm")) t = nlp_tk_load_sentencepiece(path, dir, error);
  else if (g_str_has_suffix(base, ".txt")) t = nlp_tk_load_vocab_txt(path, dir, error);
  else if (!strcmp(base, "vocab.json")) {
    char *mg = g_build_filename(dir, "merges.txt", NULL);
    t = nlp_tk_load_vocab_merges(path, mg, dir, error);
    g_free(mg);
  } else t = nlp_tk_load_json(path, error);
  g_free(dir);
  g_free(base);
  return t;
}
