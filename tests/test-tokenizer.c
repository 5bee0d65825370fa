/* test-tokenizer.c — tokenizers against Hugging Face:
 *  - the shared llama.cpp vectors (bert-bge, gpt-2) and the sentencepiece vectors,
 *    compared at run time with the shared .out/.jsonl files (skipped when absent);
 *  - tests/fixtures/tokenizer/cases-*.jsonl: our own strings with HF `tokenizers`
 *    output (ids, tokens, offsets, type/word/sequence ids, masks, windows, decode),
 *    made by tests/gen/tokenizer/gen_fixtures.py;
 *  - tests/fixtures/tokenizer/cases-spm-*.jsonl: our strings through tiny BPE and Unigram
 *    .model files with the sentencepiece library's output (gen_spm_bpe.py,
 *    gen_spm_unigram.py);
 *  - bad input, corrupt files, legacy loaders, threads. */
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

#define FIX "tests/fixtures/tokenizer/"

static nlp_tokenizer *load_shared(const char *rel) {
  char *p = nlp_test_shared_path(rel);
  if (!p) return NULL;
  GError *e = NULL;
  nlp_tokenizer *t = nlp_tokenizer_load(p, &e);
  if (!t) fprintf(stderr, "load %s: %s\n", p, e->message), g_error_free(e);
  CU_ASSERT_PTR_NOT_NULL(t);
  g_free(p);
  return t;
}

static nlp_encoding_list *enc(const nlp_tokenizer *t, const char *s, bool special) {
  nlp_encode_params p = nlp_encode_default_params();
  p.add_special_tokens = special;
  GError *e = NULL;
  nlp_encoding_list *l = nlp_tokenizer_encode(t, s, strlen(s), NULL, 0, &p, &e);
  if (!l) fprintf(stderr, "encode: %s\n", e->message), g_error_free(e);
  return l;
}

/* ---------------------------------------------------------------- llama.cpp vectors */
static void run_vectors(const char *tokdir, const char *name) {
  nlp_tokenizer *t = load_shared(tokdir);
  char *rin = g_strdup_printf("tokenizers/vectors/%s.inp", name), *rout = g_strdup_printf("tokenizers/vectors/%s.out", name);
  char *pin = nlp_test_shared_path(rin), *pout = nlp_test_shared_path(rout);
  g_free(rin);
  g_free(rout);
  if (!t || !pin || !pout) {
    nlp_tokenizer_free(t);
    g_free(pin);
    g_free(pout);
    NLP_TEST_SKIP("shared tokenizer vectors absent");
  }
  char *in = nlp_test_read_file(pin, NULL), *out = nlp_test_read_file(pout, NULL);
  char **texts = g_strsplit(in, "\n__ggml_vocab_test__\n", -1);
  char **lines = g_strsplit(out, "\n", -1);
  size_t n = g_strv_length(texts) - 1, pass = 0;
  for (size_t i = 0; i < n && lines[i]; i++) {
    nlp_encoding_list *l = enc(t, texts[i], false);
    GString *got = g_string_new(NULL);
    for (size_t k = 0; l && k < l->items[0].n; k++) g_string_append_printf(got, " %d", l->items[0].ids[k]);
    if (!strcmp(got->str, lines[i])) pass++;
    else fprintf(stderr, "\n  %s #%zu %s\n   want%s\n   got %s", name, i, texts[i], lines[i], got->str);
    g_string_free(got, TRUE);
    nlp_encoding_list_free(l);
  }
  fprintf(stderr, " [%s: %zu/%zu] ", name, pass, n);
  CU_ASSERT_EQUAL(pass, n);
  CU_ASSERT_EQUAL(n, 46);
  g_strfreev(texts);
  g_strfreev(lines);
  g_free(in);
  g_free(out);
  g_free(pin);
  g_free(pout);
  nlp_tokenizer_free(t);
}
static void test_vectors_bert(void) { run_vectors("tokenizers/bert-base-uncased", "ggml-vocab-bert-bge.gguf"); }
static void test_vectors_gpt2(void) { run_vectors("tokenizers/gpt2", "ggml-vocab-gpt-2.gguf"); }
static void test_vectors_bert_legacy(void) { run_vectors("tokenizers/bert-base-uncased/vocab.txt", "ggml-vocab-bert-bge.gguf"); }
static void test_vectors_gpt2_legacy(void) { run_vectors("tokenizers/gpt2/vocab.json", "ggml-vocab-gpt-2.gguf"); }

static void test_vectors_sentencepiece(void) {
  nlp_tokenizer *t = load_shared("tokenizers/sentencepiece/test_model.model");
  char *pv = nlp_test_shared_path("tokenizers/vectors/sentencepiece_test_model.jsonl");
  if (!t || !pv) {
    nlp_tokenizer_free(t);
    g_free(pv);
    NLP_TEST_SKIP("shared sentencepiece model absent");
  }
  char *all = nlp_test_read_file(pv, NULL);
  char **lines = g_strsplit(all, "\n", -1);
  size_t n = 0, pass = 0;
  for (size_t i = 0; lines[i]; i++) {
    if (!*lines[i]) continue;
    n++;
    json_object *r = json_tokener_parse(lines[i]), *jt, *ji, *jp;
    json_object_object_get_ex(r, "text", &jt);
    json_object_object_get_ex(r, "ids", &ji);
    json_object_object_get_ex(r, "pieces", &jp);
    const char *text = json_object_get_string(jt);
    nlp_encoding_list *l = enc(t, text, false);
    bool ok = l && l->items[0].n == json_object_array_length(ji);
    for (size_t k = 0; ok && k < l->items[0].n; k++) {
      const nlp_encoding *e = &l->items[0];
      ok = e->ids[k] == json_object_get_int(json_object_array_get_idx(ji, k));
      const char *want = json_object_get_string(json_object_array_get_idx(jp, k));
      if (ok && e->ids[k] == nlp_tokenizer_unk_id(t)) {
        /* sentencepiece shows an unknown piece as its text: check our offsets point at it */
        const char *a = g_utf8_offset_to_pointer(text, e->offsets[2 * k]), *b = g_utf8_offset_to_pointer(text, e->offsets[2 * k + 1]);
        ok = (size_t)(b - a) == strlen(want) && !strncmp(a, want, strlen(want));
      } else if (ok) {
        ok = !strcmp(e->tokens[k], want);
      }
    }
    if (ok) {
      /* decode gives the text back (up to the normalizer), check it round-trips ids */
      char *d = nlp_tokenizer_decode(t, l->items[0].ids, l->items[0].n, true);
      nlp_encoding_list *l2 = enc(t, d, false);
      bool has_unk = false;
      for (size_t k = 0; k < l->items[0].n; k++) has_unk |= l->items[0].ids[k] == nlp_tokenizer_unk_id(t);
      if (!has_unk) ok = l2 && l2->items[0].n == l->items[0].n && !memcmp(l2->items[0].ids, l->items[0].ids, l->items[0].n * 4);
      if (!ok) fprintf(stderr, "\n  decode round trip: '%s' -> '%s'", text, d);
      g_free(d);
      nlp_encoding_list_free(l2);
    }
    if (ok) pass++;
    else fprintf(stderr, "\n  sentencepiece: %s", lines[i]);
    nlp_encoding_list_free(l);
    json_object_put(r);
  }
  fprintf(stderr, " [sentencepiece: %zu/%zu] ", pass, n);
  CU_ASSERT_EQUAL(pass, n);
  CU_ASSERT_EQUAL(n, 60);
  g_strfreev(lines);
  g_free(all);
  g_free(pv);
  nlp_tokenizer_free(t);
}

/* ---------------------------------------------------------------- fixtures */
static bool int_list_eq(json_object *a, const int32_t *v, size_t n, bool null_is_minus1) {
  if (!a || json_object_array_length(a) != n) return false;
  for (size_t i = 0; i < n; i++) {
    json_object *x = json_object_array_get_idx(a, i);
    int32_t w = (null_is_minus1 && !x) ? -1 : json_object_get_int(x);
    if (w != v[i]) return false;
  }
  return true;
}

static char *describe(const nlp_encoding_list *l) {
  GString *s = g_string_new(NULL);
  for (size_t w = 0; l && w < l->n; w++) {
    const nlp_encoding *e = &l->items[w];
    g_string_append_printf(s, "\n    window %zu:", w);
    for (size_t i = 0; i < e->n; i++)
      g_string_append_printf(s, " %d'%s'(%d,%d)t%d w%d", e->ids[i], e->tokens[i], e->offsets[2 * i], e->offsets[2 * i + 1],
                             e->type_ids[i], e->word_ids[i]);
  }
  return g_string_free(s, FALSE);
}

static const char *check_encoding(json_object *want, const nlp_encoding *e) {
  json_object *f;
  if (!json_object_object_get_ex(want, "ids", &f) || !int_list_eq(f, e->ids, e->n, false)) return "ids";
  json_object_object_get_ex(want, "tokens", &f);
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(json_object_get_string(json_object_array_get_idx(f, i)), e->tokens[i])) return "tokens";
  json_object_object_get_ex(want, "offsets", &f);
  for (size_t i = 0; i < e->n; i++) {
    json_object *o = json_object_array_get_idx(f, i);
    if (json_object_get_int(json_object_array_get_idx(o, 0)) != e->offsets[2 * i] ||
        json_object_get_int(json_object_array_get_idx(o, 1)) != e->offsets[2 * i + 1])
      return "offsets";
  }
  json_object_object_get_ex(want, "type_ids", &f);
  if (!int_list_eq(f, e->type_ids, e->n, false)) return "type_ids";
  json_object_object_get_ex(want, "word_ids", &f);
  if (!int_list_eq(f, e->word_ids, e->n, true)) return "word_ids";
  json_object_object_get_ex(want, "sequence_ids", &f);
  if (!int_list_eq(f, e->seq_ids, e->n, true)) return "sequence_ids";
  json_object_object_get_ex(want, "attention_mask", &f);
  if (!int_list_eq(f, e->attention_mask, e->n, false)) return "attention_mask";
  json_object_object_get_ex(want, "special_tokens_mask", &f);
  for (size_t i = 0; i < e->n; i++)
    if (json_object_get_int(json_object_array_get_idx(f, i)) != e->special_mask[i]) return "special_tokens_mask";
  return NULL;
}

static size_t fixture_cases_total;

static void run_fixture(const char *file) {
  char *path = g_strconcat(FIX, file, NULL);
  char *all = nlp_test_read_file(path, NULL);
  char **lines = g_strsplit(all, "\n", -1);
  nlp_tokenizer *t = NULL;
  size_t n = 0, pass = 0, shown = 0;
  for (size_t i = 0; lines[i]; i++) {
    if (!*lines[i]) continue;
    json_object *c = json_tokener_parse(lines[i]), *f;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (!t) {
      json_object_object_get_ex(c, "tokenizer", &f);
      const char *ref = json_object_get_string(f);
      char *tp = NULL;
      if (g_str_has_prefix(ref, "shared:")) {
        char *rel = g_strconcat("tokenizers/", ref + 7, NULL);
        tp = nlp_test_shared_path(rel);
        g_free(rel);
      } else {
        tp = g_strconcat(FIX, ref + 8, NULL);
      }
      if (!tp) {
        json_object_put(c);
        g_strfreev(lines);
        g_free(all);
        g_free(path);
        NLP_TEST_SKIP("shared tokenizer absent");
      }
      GError *e = NULL;
      t = nlp_tokenizer_load(tp, &e);
      if (!t) fprintf(stderr, "%s: %s\n", tp, e->message), g_error_free(e);
      g_free(tp);
      CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    }
    n++;
    nlp_encode_params p = nlp_encode_default_params();
    json_object *jt, *jp = NULL, *tr = NULL, *pd = NULL, *encs = NULL, *dec = NULL;
    json_object_object_get_ex(c, "text", &jt);
    json_object_object_get_ex(c, "text_pair", &jp);
    if (json_object_object_get_ex(c, "add_special_tokens", &f)) p.add_special_tokens = json_object_get_boolean(f);
    if (json_object_object_get_ex(c, "truncation", &tr)) {
      json_object_object_get_ex(tr, "max_length", &f);
      p.max_length = (size_t)json_object_get_int(f);
      if (json_object_object_get_ex(tr, "stride", &f)) p.stride = (size_t)json_object_get_int(f);
      json_object_object_get_ex(tr, "strategy", &f);
      const char *s = json_object_get_string(f);
      p.truncation = !strcmp(s, "only_first") ? NLP_TRUNCATE_ONLY_FIRST
                     : !strcmp(s, "only_second") ? NLP_TRUNCATE_ONLY_SECOND : NLP_TRUNCATE_LONGEST_FIRST;
    }
    if (json_object_object_get_ex(c, "padding", &pd)) {
      json_object_object_get_ex(pd, "max_length", &f);
      p.pad_to = (size_t)json_object_get_int(f);
    }
    json_object_object_get_ex(c, "encodings", &encs);
    json_object_object_get_ex(c, "decoded", &dec);
    const char *text = json_object_get_string(jt);
    size_t tlen = (size_t)json_object_get_string_len(jt);
    const char *pair = jp ? json_object_get_string(jp) : NULL;
    size_t plen = jp ? (size_t)json_object_get_string_len(jp) : 0;
    GError *e = NULL;
    nlp_encoding_list *l = nlp_tokenizer_encode(t, text, tlen, pair, plen, &p, &e);
    const char *bad = NULL;
    if (!encs) { /* HF refused it (impossible truncation): so must we */
      if (l) bad = "expected an error";
      else if (e->code != NLP_ERROR_INPUT) bad = "wrong error code";
    } else if (!l) {
      bad = e->message;
    } else if (l->n != json_object_array_length(encs)) {
      bad = "number of windows";
    } else {
      for (size_t w = 0; w < l->n && !bad; w++) bad = check_encoding(json_object_array_get_idx(encs, w), &l->items[w]);
    }
    /* decode() works from ids and returns a C string: skip the check when HF decoded
     * surface tokens (Unigram unknown pieces show their text) or a NUL character */
    bool surface = false;
    for (size_t k = 0; l && k < l->items[0].n; k++) {
      const char *vt = nlp_tokenizer_id_to_token(t, l->items[0].ids[k]);
      surface |= !vt || strcmp(vt, l->items[0].tokens[k]);
    }
    if (dec && (size_t)json_object_get_string_len(dec) != strlen(json_object_get_string(dec))) surface = true;
    if (!bad && dec && l && !surface) {
      char *d = nlp_tokenizer_decode(t, l->items[0].ids, l->items[0].n, false);
      if (strcmp(d, json_object_get_string(dec))) {
        fprintf(stderr, "\n  decode: want '%s' got '%s'", json_object_get_string(dec), d);
        bad = "decode";
      }
      g_free(d);
    }
    if (!bad) pass++;
    else if (shown++ < 8) {
      char *got = describe(l);
      fprintf(stderr, "\n  %s line %zu (%s): %s\n   got:%s", file, i + 1, bad, lines[i], got);
      g_free(got);
    }
    if (e) g_error_free(e);
    nlp_encoding_list_free(l);
    json_object_put(c);
  }
  fprintf(stderr, " [%s: %zu/%zu] ", file, pass, n);
  fixture_cases_total += n;
  CU_ASSERT_EQUAL(pass, n);
  CU_ASSERT(n > 100);
  nlp_tokenizer_free(t);
  g_strfreev(lines);
  g_free(all);
  g_free(path);
}
/* ---------------------------------------------------------------- sentencepiece .model */
/* True if one of USER (NULL-terminated; NULL = none) starts at code point AT of TEXT and
 * code point POS falls inside it. */
static bool inside_user_piece(const char *text, const char *const *user, int32_t at, int32_t pos) {
  if (!user || pos <= at) return false;
  const char *p = g_utf8_offset_to_pointer(text, at);
  for (; *user; user++)
    if (g_str_has_prefix(p, *user) && pos < at + g_utf8_strlen(*user, -1)) return true;
  return false;
}

/* tests/fixtures/tokenizer/cases-spm-*.jsonl: our strings through tiny .model files
 * (BPE: byte fallback + a user-defined piece, <unk>, UNUSED pieces; Unigram with
 * user-defined pieces) as the sentencepiece library encodes them
 * (tests/gen/tokenizer/gen_spm_bpe.py, gen_spm_unigram.py). Offsets are code points and are
 * compared exactly, up to where the two conventions differ (nlpipe keeps HF's, as for
 * tokenizer.json: a token covers the characters it was made from), each rule below. USER:
 * the model's user-defined pieces if it may cut one (Unigram), else NULL. */
static const char *check_spm(const nlp_tokenizer *t, const char *const *user, json_object *cs,
                             const nlp_encoding *e) {
  json_object *ji, *jp, *jo, *jt;
  json_object_object_get_ex(cs, "ids", &ji);
  json_object_object_get_ex(cs, "pieces", &jp);
  json_object_object_get_ex(cs, "offsets", &jo);
  json_object_object_get_ex(cs, "text", &jt);
  const char *text = json_object_get_string(jt);
  if (!int_list_eq(ji, e->ids, e->n, false)) return "ids";
  for (size_t k = 0; k < e->n; k++) {
    const char *want = json_object_get_string(json_object_array_get_idx(jp, k));
    json_object *o = json_object_array_get_idx(jo, k);
    int32_t a = json_object_get_int(json_object_array_get_idx(o, 0)),
            b = json_object_get_int(json_object_array_get_idx(o, 1));
    if (e->ids[k] == nlp_tokenizer_unk_id(t)) {
      /* sentencepiece shows an unknown piece as its normalized text (NUL included), which is
       * the text at our offsets unless the normalizer rewrote it (ǅ -> Dž, Ⅻ -> XII); either
       * way our offsets must be sentencepiece's, checked below */
      size_t wl = (size_t)json_object_get_string_len(json_object_array_get_idx(jp, k));
      const char *pa = g_utf8_offset_to_pointer(text, e->offsets[2 * k]),
                 *pb = g_utf8_offset_to_pointer(text, e->offsets[2 * k + 1]);
      if (!wl || pb <= pa) return "unknown piece text";
    } else if (strcmp(e->tokens[k], want)) {
      return "pieces";
    }
    bool is_byte = strlen(want) == 6 && g_str_has_prefix(want, "<0x");
    if (a == b && is_byte) {
      /* sentencepiece gives every byte of a byte-fallback character but the last an empty
       * span; we give each byte the character's span (as HF byte fallback does) */
      for (size_t j = k + 1; j < e->n; j++) {
        json_object *oj = json_object_array_get_idx(jo, j);
        int32_t ja = json_object_get_int(json_object_array_get_idx(oj, 0)),
                jb = json_object_get_int(json_object_array_get_idx(oj, 1));
        if (ja != jb) {
          a = ja, b = jb;
          break;
        }
      }
    } else if (a == b) {
      /* a piece made only of text the normalizer added (the dummy-prefix U+2581) is empty in
       * sentencepiece; ours covers the character it was put in front of */
      b = a + 1;
    }
    int32_t ga = e->offsets[2 * k], gb = e->offsets[2 * k + 1];
    /* sentencepiece's normalizer copies a user-defined piece in one step and maps all its
     * bytes to where it starts, so a piece boundary the Viterbi puts inside one ("▁ca" "ng"
     * over user-defined "an") is at its start there; ours is at the character (the copy is
     * byte for byte) */
    if (ga != a && inside_user_piece(text, user, a, ga)) a = ga;
    if (gb > b && inside_user_piece(text, user, b, gb)) b = gb;
    if (ga != a || gb <= ga) return "offsets";
    if (gb < b) {
      /* sentencepiece ends a piece where the next one starts, so the text its normalizer
       * deleted (collapsed whitespace, control and format characters) goes to the piece
       * before it; we give such text to no piece */
      for (const char *q = g_utf8_offset_to_pointer(text, gb),
                      *z = g_utf8_offset_to_pointer(text, b);
           q < z; q = g_utf8_next_char(q)) {
        gunichar c = g_utf8_get_char(q);
        GUnicodeType ty = g_unichar_type(c);
        if (!g_unichar_isspace(c) && ty != G_UNICODE_CONTROL && ty != G_UNICODE_FORMAT)
          return "offsets (dropped text)";
      }
    } else if (gb > b) {
      /* a character the normalizer expands into pieces k and k+1 ("ﬂ" -> "f" "l") belongs to
       * the last of them in sentencepiece, to both for us */
      json_object *on = k + 1 < e->n ? json_object_array_get_idx(jo, k + 1) : NULL;
      if (!on || gb != b + 1 || json_object_get_int(json_object_array_get_idx(on, 0)) != b ||
          e->offsets[2 * k + 2] != b)
        return "offsets (split character)";
    }
  }
  return NULL;
}

/* One cases-spm-*.jsonl file: each case through its model (MODELS[m].name + ".model"
 * beside it), 300 per model, every one agreeing with check_spm and decoding back to its
 * ids. */
typedef struct { const char *name; const char *const *user; } spm_model;
#define SPM_MAX_MODELS 2
static void run_spm_fixture(const char *file, const spm_model *models, size_t n_models) {
  char *path = g_strconcat(FIX, file, NULL);
  char *all = nlp_test_read_file(path, NULL);
  g_free(path);
  CU_ASSERT_PTR_NOT_NULL_FATAL(all);
  char **lines = g_strsplit(all, "\n", -1);
  nlp_tokenizer *tk[SPM_MAX_MODELS];
  size_t n[SPM_MAX_MODELS] = {0}, pass[SPM_MAX_MODELS] = {0}, shown = 0;
  CU_ASSERT_FATAL(n_models <= SPM_MAX_MODELS);
  for (size_t m = 0; m < n_models; m++) {
    char *mp = g_strconcat(FIX, models[m].name, ".model", NULL);
    GError *err = NULL;
    tk[m] = nlp_tokenizer_load(mp, &err);
    if (!tk[m]) fprintf(stderr, "%s: %s\n", mp, err->message), g_error_free(err);
    g_free(mp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tk[m]);
  }
  for (size_t i = 0; lines[i]; i++) {
    if (!*lines[i]) continue;
    json_object *c = json_tokener_parse(lines[i]), *jm, *jt;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    json_object_object_get_ex(c, "model", &jm);
    json_object_object_get_ex(c, "text", &jt);
    size_t m = 0;
    while (m < n_models && strcmp(json_object_get_string(jm), models[m].name)) m++;
    if (m == n_models) {
      CU_FAIL("a case for another model");
      json_object_put(c);
      continue;
    }
    n[m]++;
    /* by length: some texts hold a NUL */
    nlp_encode_params p = nlp_encode_default_params();
    p.add_special_tokens = false;
    GError *err = NULL;
    nlp_encoding_list *l =
        nlp_tokenizer_encode(tk[m], json_object_get_string(jt),
                             (size_t)json_object_get_string_len(jt), NULL, 0, &p, &err);
    if (!l) fprintf(stderr, "encode: %s\n", err->message), g_error_free(err);
    const char *why = l ? check_spm(tk[m], models[m].user, c, &l->items[0]) : "encode failed";
    if (!why) {
      /* as above: decode gives the text back up to the normalizer, so its ids again (not
       * for a text with a NUL: decode returns a C string) */
      const nlp_encoding *e = &l->items[0];
      bool skip = strlen(json_object_get_string(jt)) != (size_t)json_object_get_string_len(jt);
      for (size_t k = 0; k < e->n; k++)
        skip |= e->ids[k] == nlp_tokenizer_unk_id(tk[m]);
      char *d = nlp_tokenizer_decode(tk[m], e->ids, e->n, true);
      nlp_encoding_list *l2 = skip ? NULL : enc(tk[m], d, false);
      if (!skip && !(l2 && l2->items[0].n == e->n && !memcmp(l2->items[0].ids, e->ids, e->n * 4)))
        why = "decode round trip";
      g_free(d);
      nlp_encoding_list_free(l2);
    }
    if (!why) {
      pass[m]++;
    } else if (shown++ < 20) {
      char *d = describe(l);
      fprintf(stderr, "\n  %s (%s): want %s\n   got%s", models[m].name, why, lines[i], d);
      g_free(d);
    }
    nlp_encoding_list_free(l);
    json_object_put(c);
  }
  fprintf(stderr, " [");
  for (size_t m = 0; m < n_models; m++) {
    fprintf(stderr, "%s%s: %zu/%zu", m ? ", " : "", models[m].name, pass[m], n[m]);
    CU_ASSERT_EQUAL(pass[m], n[m]);
    CU_ASSERT_EQUAL(n[m], 300);
    fixture_cases_total += n[m];
    nlp_tokenizer_free(tk[m]);
  }
  fprintf(stderr, "] ");
  g_strfreev(lines);
  g_free(all);
}

static void test_fix_spm_bpe(void) {
  const spm_model models[] = {{"spm-bpe-bytefallback", NULL}, {"spm-bpe-unk", NULL}};
  run_spm_fixture("cases-spm-bpe.jsonl", models, 2);
}
/* UNUSED pieces: merged through, then split back; a single-character one is emitted */
static void test_fix_spm_bpe_unused(void) {
  const spm_model models[] = {{"spm-bpe-unused", NULL}};
  run_spm_fixture("cases-spm-bpe-unused.jsonl", models, 1);
}
/* user-defined pieces inside the normalized text, not cut out before normalization */
static void test_fix_spm_unigram(void) {
  /* the model's user-defined pieces (gen_spm_unigram.py's USER and ADDED) */
  static const char *const user[] = {"<sep>", "<mask>", "ing", "™", "ﬁ", "an", "em", NULL};
  const spm_model models[] = {{"spm-unigram-user", user}};
  run_spm_fixture("cases-spm-unigram.jsonl", models, 1);
}

static void test_fix_bert(void) { run_fixture("cases-bert.jsonl"); }
static void test_fix_gpt2(void) { run_fixture("cases-gpt2.jsonl"); }
static void test_fix_bytelevel_split(void) { run_fixture("cases-tiny-bytelevel-split.jsonl"); }
static void test_fix_roberta(void) { run_fixture("cases-tiny-roberta.jsonl"); }
static void test_fix_bytefallback(void) { run_fixture("cases-tiny-bpe-bytefallback.jsonl"); }
static void test_fix_unigram(void) { run_fixture("cases-tiny-unigram.jsonl"); }
static void test_fix_wordpiece(void) { run_fixture("cases-tiny-wordpiece.jsonl"); }
static void test_fix_wordlevel(void) { run_fixture("cases-tiny-wordlevel.jsonl"); }

/* ---------------------------------------------------------------- bad input */
static void test_invalid_utf8(void) {
  nlp_tokenizer *t = nlp_tokenizer_load(FIX "tiny-wordpiece.json", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  const char *bad[] = {"abc\xff", "\xc3", "\xe2\x82", "ok \xed\xa0\x80 surrogate", "\xc0\xaf overlong"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    GError *e = NULL;
    nlp_encoding_list *l = nlp_tokenizer_encode(t, bad[i], strlen(bad[i]), NULL, 0, NULL, &e);
    CU_ASSERT_PTR_NULL(l);
    CU_ASSERT(e && e->domain == NLP_ERROR && e->code == NLP_ERROR_INPUT);
    if (e) g_error_free(e);
  }
  /* a bad pair is refused too, and a NUL inside the text is just a character */
  GError *e = NULL;
  CU_ASSERT_PTR_NULL(nlp_tokenizer_encode(t, "ok", 2, "\xff", 1, NULL, &e));
  CU_ASSERT(e && e->code == NLP_ERROR_INPUT && strstr(e->message, "second"));
  g_clear_error(&e);
  nlp_encoding_list *l = nlp_tokenizer_encode(t, "a\0b", 3, NULL, 0, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL(l);
  nlp_encoding_list_free(l);
  nlp_tokenizer_free(t);
}

static void test_empty_and_huge(void) {
  const char *files[] = {FIX "tiny-wordpiece.json", FIX "tiny-bytelevel-split.json", FIX "tiny-unigram.json",
                         FIX "tiny-bpe-bytefallback.json", FIX "tiny-roberta.json", FIX "tiny-wordlevel.json"};
  size_t big = 1 << 20;
  char *word = g_malloc(big + 1);
  for (size_t i = 0; i < big; i++) word[i] = "abcdefghij"[i % 10];
  word[big] = 0;
  for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
    nlp_tokenizer *t = nlp_tokenizer_load(files[f], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    nlp_encoding_list *l = enc(t, "", true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(l->n, 1);
    CU_ASSERT_EQUAL(l->items[0].n, nlp_tokenizer_num_special_tokens(t, false));
    nlp_encoding_list_free(l);
    l = enc(t, word, false); /* 1 MB without a space: defined, bounded, no crash */
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT(l->items[0].n >= 1);
    const nlp_encoding *e = &l->items[0];
    CU_ASSERT_EQUAL(e->offsets[2 * (e->n - 1) + 1], (int32_t)big);
    nlp_encoding_list_free(l);
    nlp_tokenizer_free(t);
  }
  g_free(word);
}

#if defined(__SANITIZE_ADDRESS__)
/* ASan's allocator interface (sanitizer/allocator_interface.h, not always installed) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* A huge text must not pin what it grew in the thread's encode state: after a 1 MB word
 * and then a short text, the heap is back near where the short text alone left it.
 * Measured with ASan's allocator counters (the test suite's build); skipped elsewhere. */
static void test_huge_text_memory_returned(void) {
#if defined(__SANITIZE_ADDRESS__)
  const char *files[] = {FIX "tiny-wordpiece.json", FIX "tiny-bytelevel-split.json", FIX "tiny-unigram.json",
                         FIX "tiny-bpe-bytefallback.json", FIX "tiny-roberta.json", FIX "tiny-wordlevel.json"};
  /* the huge word comes first: the short words after it shrink the arrays' lengths
   * within the same call, not what they hold */
  size_t big = 1 << 20;
  char *word = g_malloc(big + 16);
  for (size_t i = 0; i < big; i++) word[i] = "abcdefghij"[i % 10];
  strcpy(word + big, " and a b c");
  for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
    nlp_tokenizer *t = nlp_tokenizer_load(files[f], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    nlp_encoding_list_free(enc(t, "a short text, twice", false));
    size_t before = __sanitizer_get_current_allocated_bytes();
    nlp_encoding_list_free(enc(t, word, false));
    nlp_encoding_list_free(enc(t, "a short text, twice", false));
    size_t after = __sanitizer_get_current_allocated_bytes();
    size_t kept = after > before ? after - before : 0;
    CU_ASSERT(kept < ((size_t)256 << 10));
    if (kept >= ((size_t)256 << 10)) fprintf(stderr, "\n%s: %zu bytes kept after a 1 MB word\n", files[f], kept);
    nlp_tokenizer_free(t);
  }
  g_free(word);
#else
  NLP_TEST_SKIP("needs the ASan build's allocator counters");
#endif
}

static void write_file(const char *path, const char *s) { CU_ASSERT(g_file_set_contents(path, s, -1, NULL)); }

static void expect_load_error(const char *path, int code, const char *needle) {
  GError *e = NULL;
  nlp_tokenizer *t = nlp_tokenizer_load(path, &e);
  CU_ASSERT_PTR_NULL(t);
  CU_ASSERT(e && e->domain == NLP_ERROR && e->code == code);
  if (e && needle && !strstr(e->message, needle)) {
    fprintf(stderr, "\n  error '%s' lacks '%s'", e->message, needle);
    CU_FAIL("message");
  }
  nlp_tokenizer_free(t);
  if (e) g_error_free(e);
}

static void test_corrupt_files(void) {
  char *dir = g_dir_make_tmp("nlp-tok-XXXXXX", NULL);
  char *p = g_build_filename(dir, "tokenizer.json", NULL);
  expect_load_error(p, NLP_ERROR_IO, "tokenizer.json");
  write_file(p, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}");
  expect_load_error(p, NLP_ERROR_PARSE, "not valid JSON");
  write_file(p, "[1,2]");
  expect_load_error(p, NLP_ERROR_MODEL, "JSON object");
  write_file(p, "{\"normalizer\": null}");
  expect_load_error(p, NLP_ERROR_MODEL, "model");
  write_file(p, "{\"model\": {\"type\": \"Magic\", \"vocab\": {}}}");
  expect_load_error(p, NLP_ERROR_UNSUPPORTED, "Magic");
  write_file(p, "{\"normalizer\": {\"type\": \"Fancy\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
  expect_load_error(p, NLP_ERROR_UNSUPPORTED, "normalizer.type: normalizer 'Fancy'");
  write_file(p, "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Nope\"}]}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
  expect_load_error(p, NLP_ERROR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0]");
  write_file(p, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}");
  expect_load_error(p, NLP_ERROR_MODEL, "model.merges[0]");
  write_file(p, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}");
  expect_load_error(p, NLP_ERROR_MODEL, "model.vocab");
  write_file(p, "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {\"a\": 0}}}");
  expect_load_error(p, NLP_ERROR_MODEL, "unk_token");
  write_file(p, "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]], \"unk_id\": 0}}");
  expect_load_error(p, NLP_ERROR_MODEL, "model.vocab[0]");
  write_file(p, "{\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[X]\"}}], \"pair\": [], \"special_tokens\": {}}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
  expect_load_error(p, NLP_ERROR_MODEL, "[X]");
  write_file(p, "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
  expect_load_error(p, NLP_ERROR_MODEL, "bad regex");
  char *m = g_build_filename(dir, "x.model", NULL);
  write_file(m, "\x0a\xff\xff\xff");
  expect_load_error(m, NLP_ERROR_PARSE, "x.model");
  write_file(m, "");
  expect_load_error(m, NLP_ERROR_PARSE, "no pieces");
  char *e = g_build_filename(dir, "empty", NULL);
  g_mkdir(e, 0700);
  expect_load_error(e, NLP_ERROR_IO, "no tokenizer found");
  expect_load_error("/nonexistent/tokenizer/path", NLP_ERROR_IO, "/nonexistent");
  g_remove(p);
  g_remove(m);
  g_rmdir(e);
  g_rmdir(dir);
  g_free(p);
  g_free(m);
  g_free(e);
  g_free(dir);
}

/* ---------------------------------------------------------------- API details */
static void test_accessors(void) {
  nlp_tokenizer *t = load_shared("tokenizers/bert-base-uncased");
  if (!t) NLP_TEST_SKIP("shared bert absent");
  CU_ASSERT_EQUAL(nlp_tokenizer_cls_id(t), 101);
  CU_ASSERT_EQUAL(nlp_tokenizer_sep_id(t), 102);
  CU_ASSERT_EQUAL(nlp_tokenizer_pad_id(t), 0);
  CU_ASSERT_EQUAL(nlp_tokenizer_unk_id(t), 100);
  CU_ASSERT_EQUAL(nlp_tokenizer_mask_id(t), 103);
  CU_ASSERT_EQUAL(nlp_tokenizer_vocab_size(t), 30522);
  CU_ASSERT_EQUAL(nlp_tokenizer_num_special_tokens(t, false), 2);
  CU_ASSERT_EQUAL(nlp_tokenizer_num_special_tokens(t, true), 3);
  CU_ASSERT_EQUAL(nlp_tokenizer_token_to_id(t, "hello"), 7592);
  CU_ASSERT_EQUAL(nlp_tokenizer_token_to_id(t, "no-such-token"), -1);
  CU_ASSERT_STRING_EQUAL(nlp_tokenizer_id_to_token(t, 7592), "hello");
  CU_ASSERT_PTR_NULL(nlp_tokenizer_id_to_token(t, 1 << 30));
  int32_t ids[] = {101, 7592, 1010, 2088, 999, 102};
  char *d = nlp_tokenizer_decode(t, ids, 6, true);
  CU_ASSERT_STRING_EQUAL(d, "hello, world!");
  g_free(d);
  d = nlp_tokenizer_decode(t, ids, 6, false);
  CU_ASSERT_STRING_EQUAL(d, "[CLS] hello, world! [SEP]");
  g_free(d);
  /* errors on impossible parameters */
  nlp_encode_params p = nlp_encode_default_params();
  p.max_length = 1;
  GError *e = NULL;
  CU_ASSERT_PTR_NULL(nlp_tokenizer_encode(t, "hello", 5, NULL, 0, &p, &e));
  CU_ASSERT(e && e->code == NLP_ERROR_INPUT);
  g_clear_error(&e);
  p.max_length = 6;
  p.stride = 4;
  CU_ASSERT_PTR_NULL(nlp_tokenizer_encode(t, "a b c d e f g h", 15, NULL, 0, &p, &e));
  CU_ASSERT(e && e->code == NLP_ERROR_INPUT && strstr(e->message, "stride"));
  g_clear_error(&e);
  p.stride = 0;
  p.truncation = NLP_TRUNCATE_ONLY_SECOND;
  CU_ASSERT_PTR_NULL(nlp_tokenizer_encode(t, "a b c d e f g h", 15, NULL, 0, &p, &e));
  CU_ASSERT(e && e->code == NLP_ERROR_INPUT);
  g_clear_error(&e);
  nlp_tokenizer_free(t);
  nlp_tokenizer_free(NULL);
  nlp_encoding_list_free(NULL);
}

/* ---------------------------------------------------------------- threads */
typedef struct { const nlp_tokenizer *t; const char *text; const nlp_encoding_list *ref; int ok; } thr_arg;
static void *thr_main(void *p) {
  thr_arg *a = p;
  a->ok = 1;
  nlp_encode_params pr = nlp_encode_default_params();
  pr.max_length = 16;
  pr.stride = 4;
  for (int i = 0; i < 40; i++) {
    nlp_encoding_list *l = nlp_tokenizer_encode(a->t, a->text, strlen(a->text), NULL, 0, &pr, NULL);
    if (!l || l->n != a->ref->n) a->ok = 0;
    for (size_t w = 0; l && w < l->n && a->ok; w++)
      if (l->items[w].n != a->ref->items[w].n || memcmp(l->items[w].ids, a->ref->items[w].ids, l->items[w].n * 4) ||
          memcmp(l->items[w].offsets, a->ref->items[w].offsets, l->items[w].n * 8))
        a->ok = 0;
    nlp_encoding_list_free(l);
  }
  return NULL;
}
static void test_threads(void) {
  nlp_tokenizer *t = nlp_tokenizer_load(FIX "tiny-bytelevel-split.json", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  const char *text = "Héllo 😀 wörld, Enzo's naïve café — 東京 is big; don't stop!! The quick brown fox jumps over the lazy dog.";
  nlp_encode_params pr = nlp_encode_default_params();
  pr.max_length = 16;
  pr.stride = 4;
  nlp_encoding_list *ref = nlp_tokenizer_encode(t, text, strlen(text), NULL, 0, &pr, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
  CU_ASSERT(ref->n > 2);
  pthread_t th[4];
  thr_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thr_arg){t, text, ref, 0};
    pthread_create(&th[i], NULL, thr_main, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CU_ASSERT(args[i].ok);
  }
  nlp_encoding_list_free(ref);
  nlp_tokenizer_free(t);
}

static void test_fixture_count(void) {
  fprintf(stderr, " [%zu fixture cases] ", fixture_cases_total);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("tokenizer-vectors", NULL, NULL);
  CU_add_test(s, "bert-bge vectors (tokenizer.json)", test_vectors_bert);
  CU_add_test(s, "bert-bge vectors (vocab.txt)", test_vectors_bert_legacy);
  CU_add_test(s, "gpt-2 vectors (tokenizer.json)", test_vectors_gpt2);
  CU_add_test(s, "gpt-2 vectors (vocab.json + merges.txt)", test_vectors_gpt2_legacy);
  CU_add_test(s, "sentencepiece vectors (.model)", test_vectors_sentencepiece);
  s = CU_add_suite("tokenizer-fixtures", NULL, NULL);
  CU_add_test(s, "bert-base-uncased", test_fix_bert);
  CU_add_test(s, "gpt2", test_fix_gpt2);
  CU_add_test(s, "split regex + byte-level", test_fix_bytelevel_split);
  CU_add_test(s, "roberta processing", test_fix_roberta);
  CU_add_test(s, "bpe byte fallback", test_fix_bytefallback);
  CU_add_test(s, "unigram metaspace", test_fix_unigram);
  CU_add_test(s, "wordpiece nfd", test_fix_wordpiece);
  CU_add_test(s, "wordlevel whitespace", test_fix_wordlevel);
  CU_add_test(s, "sentencepiece bpe (.model)", test_fix_spm_bpe);
  CU_add_test(s, "sentencepiece bpe, unused pieces (.model)", test_fix_spm_bpe_unused);
  CU_add_test(s, "sentencepiece unigram, user-defined pieces (.model)", test_fix_spm_unigram);
  CU_add_test(s, "count", test_fixture_count);
  s = CU_add_suite("tokenizer-robustness", NULL, NULL);
  CU_add_test(s, "invalid utf-8", test_invalid_utf8);
  CU_add_test(s, "empty text and a 1 MB word", test_empty_and_huge);
  CU_add_test(s, "a huge text's buffers are given back", test_huge_text_memory_returned);
  CU_add_test(s, "corrupt tokenizer files", test_corrupt_files);
  CU_add_test(s, "accessors, decode, parameter errors", test_accessors);
  CU_add_test(s, "concurrent encode", test_threads);
}

int main(void) { return nlp_test_main(register_suites); }
