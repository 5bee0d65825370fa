/* The qa plugin against Hugging Face's question-answering pipeline (the oracle in
 * ../shared/oracle, expectations committed under tests/fixtures/qa/ by
 * tests/gen/qa/gen_fixtures.py):
 *  - span decoding alone: the plugin is loaded with a fake host that hands it the
 *    oracle's own windows and logits (model logits, and crafted ones putting the answer
 *    in the second window or merging one answer across windows), plus hand-computed
 *    cases;
 *  - end to end through `nlpipe run` on a tiny random BertForQuestionAnswering with
 *    our own vocabulary: every HF option, long contexts in several windows;
 *  - validation: bad options refused with their JSON path, per-record errors.
 * Answers and offsets must be identical, scores within 1e-4. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <nlpipe/plugin.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

#define SCORE_TOL 1e-4

/* ---- comparing with HF's output ------------------------------------------------------ */

/* True when `got` has HF's shape (object or array) and each answer matches. Prints
 * both on a mismatch. */
static bool same_answers(const char *what, json_object *got, json_object *want, double tol) {
  bool ok = got && json_object_get_type(got) == json_object_get_type(want);
  json_object *g1[1] = {got}, *w1[1] = {want};
  size_t n = 0;
  if (ok && json_object_is_type(want, json_type_array)) {
    n = json_object_array_length(want);
    ok = json_object_array_length(got) == n;
  } else if (ok) {
    n = 1;
  }
  for (size_t i = 0; ok && i < n; i++) {
    json_object *g =
        json_object_is_type(want, json_type_array) ? json_object_array_get_idx(got, i) : g1[0];
    json_object *w =
        json_object_is_type(want, json_type_array) ? json_object_array_get_idx(want, i) : w1[0];
    json_object *ga, *wa, *gs, *ws, *ge, *we, *gsc, *wsc;
    ok = json_object_object_get_ex(g, "answer", &ga) &&
         json_object_object_get_ex(w, "answer", &wa) &&
         json_object_object_get_ex(g, "start", &gs) && json_object_object_get_ex(w, "start", &ws) &&
         json_object_object_get_ex(g, "end", &ge) && json_object_object_get_ex(w, "end", &we) &&
         json_object_object_get_ex(g, "score", &gsc) && json_object_object_get_ex(w, "score", &wsc);
    ok = ok && !strcmp(json_object_get_string(ga), json_object_get_string(wa)) &&
         json_object_get_int64(gs) == json_object_get_int64(ws) &&
         json_object_get_int64(ge) == json_object_get_int64(we) &&
         fabs(json_object_get_double(gsc) - json_object_get_double(wsc)) <= tol;
  }
  if (!ok)
    fprintf(stderr, "\n%s:\n  got  %s\n  want %s\n", what,
            got ? json_object_to_json_string(got) : "(nothing)", json_object_to_json_string(want));
  return ok;
}

/* Every line of a JSONL fixture, as an array. */
static json_object *read_jsonl(const char *path) {
  char *text = nlp_test_read_file(path, NULL);
  json_object *all = json_object_new_array();
  char **lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *o = json_tokener_parse(*l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    json_object_array_add(all, o);
  }
  g_strfreev(lines);
  g_free(text);
  return all;
}

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* ---- a fake host: windows and logits given by the test ------------------------------- */

struct nlp_batch {
  size_t n;
  const char *questions[8], *contexts[8];
  json_object *records[8];
  json_object *results[8];
  char *errors[8];
  nlp_window *windows; /* what encode_pairs returns */
  size_t n_windows;
  bool no_head;
  size_t expect_max_length, expect_stride; /* 0: not checked */
};

static void fake_log(nlp_log_level level, const char *plugin, const char *fmt, ...) {
  (void)level, (void)plugin, (void)fmt;
}
static size_t fake_batch_size(const nlp_batch *b) { return b->n; }
static const char *fake_doc_text(const nlp_batch *b, size_t i, size_t *len) {
  if (len) *len = strlen(b->contexts[i]);
  return b->contexts[i];
}
static json_object *fake_doc_record(const nlp_batch *b, size_t i) { return b->records[i]; }
static json_object *fake_doc_result(const nlp_batch *b, size_t i, const char *step) {
  (void)b, (void)i, (void)step;
  return NULL;
}
static void fake_set_result(nlp_batch *b, size_t i, json_object *v) {
  json_object_put(b->results[i]);
  b->results[i] = v;
}
static void fake_set_error(nlp_batch *b, size_t i, const char *msg) {
  g_free(b->errors[i]);
  b->errors[i] = g_strdup(msg);
}
static const nlp_model_info fake_info = {.name = "fake",
                                         .path = "/nowhere",
                                         .architecture = "bert",
                                         .hidden_size = 2,
                                         .max_positions = 128};
static const nlp_model_info *fake_model_info(const nlp_model *m) {
  (void)m;
  return &fake_info;
}
static size_t fake_batch_windows(nlp_batch *b, const nlp_window **w) {
  (void)b;
  *w = NULL;
  CU_FAIL("qa must not ask for the shared pass over the texts alone");
  return 0;
}
static size_t fake_encode_pairs(nlp_batch *b, const char *const *first, const char *const *second,
                                size_t n, const nlp_pair_params *params, const nlp_window **windows,
                                char **error) {
  (void)error;
  for (size_t i = 0; i < n; i++) {
    CU_ASSERT_STRING_EQUAL(first[i], b->questions[i]);
    CU_ASSERT_STRING_EQUAL(second[i], b->contexts[i]);
  }
  if (b->expect_max_length) CU_ASSERT_EQUAL(params->max_length, b->expect_max_length);
  if (b->expect_max_length) CU_ASSERT_EQUAL(params->stride, b->expect_stride);
  CU_ASSERT_FALSE(params->truncate_first_only);
  *windows = b->windows;
  return b->n_windows;
}
/* The head is the identity: a window's "hidden state" is its (start, end) logits. */
static const float identity_w[4] = {1, 0, 0, 1}, zero_b[2] = {0, 0};
static const nlp_tensor_view head_w = {.data = identity_w, .ndim = 2, .shape = {2, 2}};
static const nlp_tensor_view head_b = {.data = zero_b, .ndim = 1, .shape = {2}};
static const nlp_tensor_view *fake_tensor(nlp_batch *b, const char *name) {
  if (b->no_head) return NULL;
  if (!strcmp(name, "qa_outputs.weight")) return &head_w;
  if (!strcmp(name, "qa_outputs.bias")) return &head_b;
  return NULL;
}
static void fake_linear(const float *x, size_t n, size_t in, const float *w, const float *bias,
                        size_t out, float *y) {
  for (size_t r = 0; r < n; r++)
    for (size_t o = 0; o < out; o++) {
      double s = bias ? bias[o] : 0;
      for (size_t k = 0; k < in; k++)
        s += (double)x[r * in + k] * w[o * in + k];
      y[r * out + o] = (float)s;
    }
}

static const nlp_host fake_host = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_host),
    .log = fake_log,
    .batch_size = fake_batch_size,
    .doc_text = fake_doc_text,
    .doc_record = fake_doc_record,
    .doc_result = fake_doc_result,
    .set_result = fake_set_result,
    .set_error = fake_set_error,
    .model_info = fake_model_info,
    .batch_windows = fake_batch_windows,
    .encode_pairs = fake_encode_pairs,
    .tensor = fake_tensor,
    .linear = fake_linear,
};

static const nlp_plugin_desc *qa_plugin(void) { return nlp_test_plugin("plugins/libnlpipe-qa.so"); }

/* Window storage for one test: arrays the fake windows point into. */
typedef struct {
  GPtrArray *owned; /* g_free'd buffers */
  GArray *windows;  /* nlp_window */
} fake_windows;

static int32_t *int_copy(fake_windows *fw, const int32_t *v, size_t n) {
  int32_t *c = g_memdup2(v, n * sizeof(int32_t));
  g_ptr_array_add(fw->owned, c);
  return c;
}

/* Adds one window of n tokens to pair `doc`: offsets 2n, logits n each. */
static void add_window(fake_windows *fw, size_t doc, size_t n, const int32_t *seq_ids,
                       const int32_t *word_ids, const int32_t *offsets, const float *start,
                       const float *end) {
  float *hidden = g_new(float, 2 * n);
  for (size_t i = 0; i < n; i++)
    hidden[2 * i] = start[i], hidden[2 * i + 1] = end[i];
  g_ptr_array_add(fw->owned, hidden);
  int32_t *ids = g_new0(int32_t, n);
  g_ptr_array_add(fw->owned, ids);
  size_t index = 0;
  for (guint k = 0; k < fw->windows->len; k++)
    if (g_array_index(fw->windows, nlp_window, k).doc == doc) index++;
  nlp_window w = {.doc = doc,
                  .index = index,
                  .n_tokens = n,
                  .ids = ids,
                  .type_ids = ids,
                  .word_ids = int_copy(fw, word_ids, n),
                  .seq_ids = int_copy(fw, seq_ids, n),
                  .offsets = int_copy(fw, offsets, 2 * n),
                  .hidden = hidden,
                  .hidden_size = 2};
  g_array_append_val(fw->windows, w);
}

/* Runs the plugin (create, one process, destroy) with JSON options on the batch. */
static bool run_plugin(const char *options_json, nlp_batch *b, char **create_error) {
  const nlp_plugin_desc *d = qa_plugin();
  json_object *options = json_tokener_parse(options_json);
  nlp_step_info step = {
      .name = "answer", .options = options, .model = (const nlp_model *)&fake_info};
  void *state = NULL;
  char *err = NULL;
  nlp_status st = d->create(&fake_host, &step, &state, &err);
  json_object_put(options);
  if (st != NLP_STATUS_OK) {
    if (create_error)
      *create_error = err;
    else
      free(err);
    return false;
  }
  CU_ASSERT_EQUAL(d->process(state, b), NLP_STATUS_OK);
  d->destroy(state);
  return true;
}

static void batch_clear(nlp_batch *b) {
  for (size_t i = 0; i < 8; i++) {
    json_object_put(b->results[i]);
    json_object_put(b->records[i]);
    g_free(b->errors[i]);
  }
}

/* ---- decoding against the oracle's windows and logits -------------------------------- */

static void json_ints(json_object *a, int32_t *out, bool pairs) {
  size_t n = json_object_array_length(a);
  for (size_t i = 0; i < n; i++) {
    json_object *v = json_object_array_get_idx(a, i);
    if (pairs) {
      out[2 * i] = json_object_get_int(json_object_array_get_idx(v, 0));
      out[2 * i + 1] = json_object_get_int(json_object_array_get_idx(v, 1));
    } else {
      out[i] = json_object_get_int(v);
    }
  }
}

static void json_floats(json_object *a, float *out) {
  for (size_t i = 0; i < json_object_array_length(a); i++)
    out[i] = (float)json_object_get_double(json_object_array_get_idx(a, i));
}

/* The options of a case as the pipeline gives them (HF names are the plugin's). */
static char *case_options(json_object *c) {
  return g_strdup(json_object_to_json_string(get(c, "options")));
}

static void test_decode_oracle_windows(void) {
  json_object *cases = read_jsonl("tests/fixtures/qa/decode.jsonl");
  CU_ASSERT_TRUE(json_object_array_length(cases) >= 20);
  for (size_t k = 0; k < json_object_array_length(cases); k++) {
    json_object *c = json_object_array_get_idx(cases, k);
    fake_windows fw = {g_ptr_array_new_with_free_func(g_free),
                       g_array_new(FALSE, FALSE, sizeof(nlp_window))};
    json_object *wins = get(c, "windows"), *logits = get(c, "logits");
    for (size_t i = 0; i < json_object_array_length(wins); i++) {
      json_object *w = json_object_array_get_idx(wins, i),
                  *lg = json_object_array_get_idx(logits, i);
      size_t n = json_object_array_length(get(w, "ids"));
      int32_t *seq = g_new(int32_t, n), *word = g_new(int32_t, n), *off = g_new(int32_t, 2 * n);
      float *st = g_new(float, n), *en = g_new(float, n);
      json_ints(get(w, "sequence_ids"), seq, false);
      json_ints(get(w, "word_ids"), word, false);
      json_ints(get(w, "offsets"), off, true);
      json_floats(get(lg, "start"), st);
      json_floats(get(lg, "end"), en);
      add_window(&fw, 0, n, seq, word, off, st, en);
      g_free(seq), g_free(word), g_free(off), g_free(st), g_free(en);
    }
    json_object *opts = get(c, "options"), *v;
    nlp_batch b = {
        .n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = fw.windows->len};
    b.questions[0] = json_object_get_string(get(c, "question"));
    b.contexts[0] = json_object_get_string(get(c, "context"));
    b.records[0] = json_object_new_object();
    json_object_object_add(b.records[0], "question", json_object_new_string(b.questions[0]));
    /* HF's defaults for a tokenizer whose model_max_length is 128. */
    b.expect_max_length =
        json_object_object_get_ex(opts, "max_seq_len", &v) ? (size_t)json_object_get_int(v) : 128;
    b.expect_stride = json_object_object_get_ex(opts, "doc_stride", &v)
                          ? (size_t)json_object_get_int(v)
                          : (b.expect_max_length / 2 < 128 ? b.expect_max_length / 2 : 128);
    char *o = case_options(c);
    CU_ASSERT_TRUE(run_plugin(o, &b, NULL));
    CU_ASSERT_PTR_NULL(b.errors[0]);
    char *what = g_strdup_printf("decode %s", json_object_get_string(get(c, "id")));
    CU_ASSERT_TRUE(same_answers(what, b.results[0], get(c, "output"), 1e-6));
    g_free(what);
    g_free(o);
    batch_clear(&b);
    g_ptr_array_free(fw.owned, TRUE);
    g_array_free(fw.windows, TRUE);
  }
  json_object_put(cases);
}

/* The crafted second-window case: its answer starts after the first window's context. */
static void test_decode_second_window(void) {
  json_object *cases = read_jsonl("tests/fixtures/qa/decode.jsonl");
  bool seen = false;
  for (size_t k = 0; k < json_object_array_length(cases); k++) {
    json_object *c = json_object_array_get_idx(cases, k);
    const char *id = json_object_get_string(get(c, "id"));
    if (strcmp(id, "crafted-second-window") && strcmp(id, "town-windows")) continue;
    seen = true;
    json_object *w0 = json_object_array_get_idx(get(c, "windows"), 0);
    json_object *seq = get(w0, "sequence_ids"), *off = get(w0, "offsets");
    int64_t end0 = 0;
    for (size_t i = 0; i < json_object_array_length(seq); i++)
      if (json_object_get_int(json_object_array_get_idx(seq, i)) == 1)
        end0 = json_object_get_int(json_object_array_get_idx(json_object_array_get_idx(off, i), 1));
    json_object *out = get(c, "output");
    json_object *best =
        json_object_is_type(out, json_type_array) ? json_object_array_get_idx(out, 0) : out;
    CU_ASSERT_TRUE(json_object_get_int64(get(best, "start")) >= end0);
  }
  CU_ASSERT_TRUE(seen);
  json_object_put(cases);
}

/* ---- hand-computed cases -------------------------------------------------------------- */

/* "[CLS] q [SEP] red fox jump ##s [SEP]" over the context "Red fox jumps". With the
 * start exps [CLS 1, red 4, fox 2, jump 1, ##s 1] (sum 9) and end exps [1, 1, 4, 2, 3]
 * (sum 11), span scores are (start x end) / 99:
 *   red-red 4, red-fox 16, red-jump 8, red-s 12, fox-fox 8, fox-jump 4, fox-s 6,
 *   jump-jump 2, jump-s 3, s-s 3;  null = 1/99. */
static const int32_t hand_seq[] = {-1, 0, -1, 1, 1, 1, 1, -1};
static const int32_t hand_word[] = {-1, 0, -1, 0, 1, 2, 2, -1};
static const int32_t hand_off[] = {0, 0, 0, 4, 0, 0, 0, 3, 4, 7, 8, 12, 12, 13, 0, 0};

static void hand_logits(float cls_start, float *start, float *end) {
  const float s[] = {cls_start, 9, 9, 4, 2, 1, 1, 9}, e[] = {1, 9, 9, 1, 4, 2, 3, 9};
  for (int i = 0; i < 8; i++)
    start[i] = logf(s[i]), end[i] = logf(e[i]);
}

static json_object *hand_run(const char *options, float cls_start) {
  fake_windows fw = {g_ptr_array_new_with_free_func(g_free),
                     g_array_new(FALSE, FALSE, sizeof(nlp_window))};
  float st[8], en[8];
  hand_logits(cls_start, st, en);
  add_window(&fw, 0, 8, hand_seq, hand_word, hand_off, st, en);
  nlp_batch b = {.n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 1};
  b.questions[0] = "q";
  b.contexts[0] = "Red fox jumps";
  b.records[0] = json_tokener_parse("{\"question\": \"q\"}");
  CU_ASSERT_TRUE(run_plugin(options, &b, NULL));
  json_object *r = json_object_get(b.results[0]);
  batch_clear(&b);
  g_ptr_array_free(fw.owned, TRUE);
  g_array_free(fw.windows, TRUE);
  return r;
}

static json_object *answers_json(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  json_object *o = json_tokener_parse(s);
  g_free(s);
  return o;
}

static void check_hand(const char *options, float cls, json_object *want) {
  json_object *got = hand_run(options, cls);
  CU_ASSERT_TRUE(same_answers(options, got, want, 1e-6));
  json_object_put(got);
  json_object_put(want);
}

static void test_hand_spans(void) {
  /* Word-aligned: red-jump and red-s are both "Red fox jumps" (8 + 12); fox-jump and
   * fox-s are "fox jumps" (4 + 6). */
  check_hand(
      "{\"top_k\": 3}", 1,
      answers_json("[{\"score\": %.9f, \"start\": 0, \"end\": 13, \"answer\": \"Red fox jumps\"},"
                   " {\"score\": %.9f, \"start\": 0, \"end\": 7, \"answer\": \"Red fox\"},"
                   " {\"score\": %.9f, \"start\": 4, \"end\": 13, \"answer\": \"fox jumps\"}]",
                   20 / 99.0, 16 / 99.0, 10 / 99.0));
  /* The default top_k 1 gives one object. */
  check_hand(
      "{}", 1,
      answers_json("{\"score\": %.9f, \"start\": 0, \"end\": 13, \"answer\": \"Red fox jumps\"}",
                   20 / 99.0));
  /* Token offsets: red-s ends inside the word at "##s"; the top_k best spans only. */
  check_hand(
      "{\"top_k\": 2, \"align_to_words\": false}", 1,
      answers_json("[{\"score\": %.9f, \"start\": 0, \"end\": 7, \"answer\": \"Red fox\"},"
                   " {\"score\": %.9f, \"start\": 0, \"end\": 13, \"answer\": \"Red fox jumps\"}]",
                   16 / 99.0, 12 / 99.0));
  check_hand("{\"top_k\": 2, \"align_to_words\": false, \"max_answer_len\": 2}", 1,
             answers_json("[{\"score\": %.9f, \"start\": 0, \"end\": 7, \"answer\": \"Red fox\"},"
                          " {\"score\": %.9f, \"start\": 4, \"end\": 7, \"answer\": \"fox\"}]",
                          16 / 99.0, 8 / 99.0));
  /* max_answer_len 1: single tokens only; "jump" alone is cut at the token. */
  check_hand("{\"top_k\": 3, \"align_to_words\": false, \"max_answer_len\": 1}", 1,
             answers_json("[{\"score\": %.9f, \"start\": 4, \"end\": 7, \"answer\": \"fox\"},"
                          " {\"score\": %.9f, \"start\": 0, \"end\": 3, \"answer\": \"Red\"},"
                          " {\"score\": %.9f, \"start\": 12, \"end\": 13, \"answer\": \"s\"}]",
                          8 / 99.0, 4 / 99.0, 3 / 99.0));
  /* handle_impossible_answer: a [CLS] start exp of 30 makes the sum 38; null =
   * 30/38 * 1/11 beats the best span (20 / 418). */
  check_hand(
      "{\"handle_impossible_answer\": true}", 30,
      answers_json("{\"score\": %.9f, \"start\": 0, \"end\": 0, \"answer\": \"\"}", 30 / 418.0));
  check_hand(
      "{\"handle_impossible_answer\": true, \"top_k\": 2}", 30,
      answers_json("[{\"score\": %.9f, \"start\": 0, \"end\": 0, \"answer\": \"\"},"
                   " {\"score\": %.9f, \"start\": 0, \"end\": 13, \"answer\": \"Red fox jumps\"}]",
                   30 / 418.0, 20 / 418.0));
  /* Without the option the null score is not an answer. */
  check_hand(
      "{}", 30,
      answers_json("{\"score\": %.9f, \"start\": 0, \"end\": 13, \"answer\": \"Red fox jumps\"}",
                   20 / 418.0));
}

/* "Fox fox": start exps [CLS 1, Fox 2, fox 1], end exps [1, 1, 3]: Fox-fox .3, fox-fox
 * .15, Fox-Fox .1. "fox" (4..7) comes first; "Fox" adds to it ignoring case. */
static void test_hand_merge_case(void) {
  const int32_t seq[] = {-1, 0, -1, 1, 1, -1}, word[] = {-1, 0, -1, 0, 1, -1};
  const int32_t off[] = {0, 0, 0, 1, 0, 0, 0, 3, 4, 7, 0, 0};
  const float st[] = {0, 5, 5, logf(2), 0, 5}, en[] = {0, 5, 5, 0, logf(3), 5};
  fake_windows fw = {g_ptr_array_new_with_free_func(g_free),
                     g_array_new(FALSE, FALSE, sizeof(nlp_window))};
  add_window(&fw, 0, 6, seq, word, off, st, en);
  nlp_batch b = {.n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 1};
  b.questions[0] = "q";
  b.contexts[0] = "Fox fox";
  b.records[0] = json_tokener_parse("{\"question\": \"q\"}");
  CU_ASSERT_TRUE(run_plugin("{\"top_k\": 2}", &b, NULL));
  json_object *want =
      json_tokener_parse("[{\"score\": 0.3, \"start\": 0, \"end\": 7, \"answer\": \"Fox fox\"},"
                         " {\"score\": 0.25, \"start\": 4, \"end\": 7, \"answer\": \"fox\"}]");
  CU_ASSERT_TRUE(same_answers("merge case", b.results[0], want, 1e-6));
  json_object_put(want);
  batch_clear(&b);
  g_ptr_array_free(fw.owned, TRUE);
  g_array_free(fw.windows, TRUE);
}

/* Two windows of "a b c" ([CLS] q [SEP] a b [SEP] and [CLS] q [SEP] b c [SEP]): "b" is
 * best in both and its scores add; the null score is the smaller of the two.
 * Window 1: start exps [CLS 1, a 1, b 2], end exps [2, 1, 5]: ps = [.25, .25, .5],
 * pe = [.25, .125, .625]: b-b .3125, a-b .15625, a-a .03125, null .0625.
 * Window 2: start exps [2, b 2, c ~0], end exps [1, 2, 1]: ps = [.5, .5, 0],
 * pe = [.25, .5, .25]: b-b .25, b-c .125, null .125.
 * Answers: "b" .5625, "a b" .15625, "b c" .125, "" .0625 (min null), "a" .03125. */
static void test_hand_two_windows(void) {
  const int32_t seq[] = {-1, 0, -1, 1, 1, -1}, word[] = {-1, 0, -1, 0, 1, -1};
  const int32_t word2[] = {-1, 0, -1, 1, 2, -1};
  const int32_t off1[] = {0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 0, 0};
  const int32_t off2[] = {0, 0, 0, 1, 0, 0, 2, 3, 4, 5, 0, 0};
  const float s1[] = {0, 9, 9, 0, logf(2), 9}, e1[] = {logf(2), 9, 9, 0, logf(5), 9};
  const float s2[] = {logf(2), 9, 9, logf(2), -30, 9}, e2[] = {0, 9, 9, logf(2), 0, 9};
  fake_windows fw = {g_ptr_array_new_with_free_func(g_free),
                     g_array_new(FALSE, FALSE, sizeof(nlp_window))};
  add_window(&fw, 0, 6, seq, word, off1, s1, e1);
  add_window(&fw, 0, 6, seq, word2, off2, s2, e2);
  static const char *const options[] = {"{\"top_k\": 3, \"handle_impossible_answer\": true}",
                                        "{\"top_k\": 5, \"handle_impossible_answer\": true}"};
  static const char *const wants[] = {
      "[{\"score\": 0.5625, \"start\": 2, \"end\": 3, \"answer\": \"b\"},"
      " {\"score\": 0.15625, \"start\": 0, \"end\": 3, \"answer\": \"a b\"},"
      " {\"score\": 0.125, \"start\": 2, \"end\": 5, \"answer\": \"b c\"}]",
      "[{\"score\": 0.5625, \"start\": 2, \"end\": 3, \"answer\": \"b\"},"
      " {\"score\": 0.15625, \"start\": 0, \"end\": 3, \"answer\": \"a b\"},"
      " {\"score\": 0.125, \"start\": 2, \"end\": 5, \"answer\": \"b c\"},"
      " {\"score\": 0.0625, \"start\": 0, \"end\": 0, \"answer\": \"\"},"
      " {\"score\": 0.03125, \"start\": 0, \"end\": 1, \"answer\": \"a\"}]"};
  for (size_t i = 0; i < 2; i++) {
    nlp_batch b = {.n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 2};
    b.questions[0] = "q";
    b.contexts[0] = "a b c";
    b.records[0] = json_tokener_parse("{\"question\": \"q\"}");
    CU_ASSERT_TRUE(run_plugin(options[i], &b, NULL));
    json_object *want = json_tokener_parse(wants[i]);
    CU_ASSERT_TRUE(same_answers(options[i], b.results[0], want, 1e-6));
    json_object_put(want);
    batch_clear(&b);
  }
  g_ptr_array_free(fw.owned, TRUE);
  g_array_free(fw.windows, TRUE);
}

/* Questions from the record or the options; errors stay with their document. */
static void test_questions_and_errors(void) {
  float st[8], en[8];
  hand_logits(1, st, en);
  fake_windows fw = {g_ptr_array_new_with_free_func(g_free),
                     g_array_new(FALSE, FALSE, sizeof(nlp_window))};
  add_window(&fw, 0, 8, hand_seq, hand_word, hand_off, st, en);
  add_window(&fw, 1, 8, hand_seq, hand_word, hand_off, st, en);
  /* Document 1 has no question: only documents 0 and 2 are paired. */
  nlp_batch b = {.n = 3, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 2};
  b.questions[0] = "who?", b.questions[1] = "what?";
  b.contexts[0] = b.contexts[1] = b.contexts[2] = "Red fox jumps";
  b.records[0] = json_tokener_parse("{\"ask\": \"who?\"}");
  b.records[1] = json_tokener_parse("{\"question\": \"not this field\"}");
  b.records[2] = json_tokener_parse("{\"ask\": \"what?\"}");
  /* The fake checks the pairs' questions against questions[0..1]: docs 0 and 2. */
  CU_ASSERT_TRUE(run_plugin("{\"question_field\": \"ask\"}", &b, NULL));
  CU_ASSERT_PTR_NOT_NULL(b.results[0]);
  CU_ASSERT_PTR_NULL(b.results[1]);
  CU_ASSERT_PTR_NOT_NULL(b.results[2]);
  CU_ASSERT_PTR_NOT_NULL(b.errors[1]);
  if (b.errors[1]) CU_ASSERT_PTR_NOT_NULL(strstr(b.errors[1], "\"ask\""));
  batch_clear(&b);

  /* A fixed question in the options wins over the records. */
  nlp_batch c = {.n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 1};
  c.questions[0] = "fixed?";
  c.contexts[0] = "Red fox jumps";
  c.records[0] = json_tokener_parse("{\"question\": \"ignored\"}");
  CU_ASSERT_TRUE(run_plugin("{\"question\": \"fixed?\"}", &c, NULL));
  CU_ASSERT_PTR_NOT_NULL(c.results[0]);
  batch_clear(&c);

  /* No qa_outputs: every document fails with a message naming the tensors. */
  nlp_batch d = {
      .n = 1, .windows = (nlp_window *)(void *)fw.windows->data, .n_windows = 1, .no_head = true};
  d.questions[0] = "q";
  d.contexts[0] = "Red fox jumps";
  d.records[0] = json_tokener_parse("{\"question\": \"q\"}");
  CU_ASSERT_TRUE(run_plugin("{}", &d, NULL));
  CU_ASSERT_PTR_NULL(d.results[0]);
  CU_ASSERT_PTR_NOT_NULL(d.errors[0]);
  if (d.errors[0]) CU_ASSERT_PTR_NOT_NULL(strstr(d.errors[0], "qa_outputs.weight"));
  batch_clear(&d);

  /* create() checks max_seq_len against the model and the default window's stride. */
  char *err = NULL;
  nlp_batch e = {.n = 0};
  CU_ASSERT_FALSE(run_plugin("{\"max_seq_len\": 129}", &e, &err));
  CU_ASSERT_PTR_NOT_NULL(err);
  if (err) CU_ASSERT_PTR_NOT_NULL(strstr(err, "max_seq_len"));
  free(err), err = NULL;
  CU_ASSERT_FALSE(run_plugin("{\"doc_stride\": 124}", &e, &err));
  if (err) CU_ASSERT_PTR_NOT_NULL(strstr(err, "doc_stride"));
  free(err);
  g_ptr_array_free(fw.owned, TRUE);
  g_array_free(fw.windows, TRUE);
}

/* ---- end to end through nlpipe -------------------------------------------------------- */

/* Writes a pipeline with one qa step (options JSON) over `input_jsonl` on the
 * fixture model, runs it and returns the output lines' "answer" values (or the
 * records when keep_records) as an array; the exit status must be `status`. */
static json_object *run_qa(const char *options, const char *input_jsonl, bool keep_records,
                           int status) {
  char *dir = g_dir_make_tmp("nlpipe-qa-XXXXXX", NULL);
  char *cwd = g_get_current_dir();
  char *pipeline = g_build_filename(dir, "qa.json", NULL);
  char *input = g_build_filename(dir, "in.jsonl", NULL);
  char *text = g_strdup_printf(
      "{\"models\": {\"qa\": \"%s/tests/fixtures/qa/bert-qa\"},\n"
      " \"steps\": [{\"name\": \"answer\", \"plugin\": \"qa\", \"model\": \"qa\", \"options\": "
      "%s}],\n"
      " \"input\": {\"format\": \"jsonl\", \"path\": \"in.jsonl\", \"text_field\": \"context\"},\n"
      " \"on_error\": \"skip\"}\n",
      cwd, options);
  CU_ASSERT_TRUE(g_file_set_contents(pipeline, text, -1, NULL));
  CU_ASSERT_TRUE(g_file_set_contents(input, input_jsonl, -1, NULL));
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"run", pipeline, "--threads", "1", NULL});
  CU_ASSERT_EQUAL(r.status, status); /* 1: some records failed */
  if (r.status != status) fprintf(stderr, "\n%s\n", r.err);
  json_object *out = json_object_new_array();
  char **lines = g_strsplit(r.out ? r.out : "", "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *rec = json_tokener_parse(*l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    json_object_array_add(out, keep_records ? rec : json_object_get(get(rec, "answer")));
    if (!keep_records) json_object_put(rec);
  }
  g_strfreev(lines);
  g_unlink(pipeline), g_unlink(input), g_rmdir(dir);
  g_free(text), g_free(input), g_free(pipeline), g_free(cwd), g_free(dir);
  g_free(r.out), g_free(r.err);
  return out;
}

static char *record_line(json_object *c) {
  json_object *rec = json_object_new_object();
  json_object_object_add(rec, "question", json_object_get(get(c, "question")));
  json_object_object_add(rec, "context", json_object_get(get(c, "context")));
  char *s = g_strdup_printf("%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
  json_object_put(rec);
  return s;
}

static void test_end_to_end_oracle(void) {
  json_object *cases = read_jsonl("tests/fixtures/qa/cases.jsonl");
  json_object *expected = read_jsonl("tests/fixtures/qa/expected.jsonl");
  size_t n = json_object_array_length(cases);
  CU_ASSERT_EQUAL(n, json_object_array_length(expected));
  for (size_t k = 0; k < n; k++) {
    json_object *c = json_object_array_get_idx(cases, k),
                *e = json_object_array_get_idx(expected, k);
    char *line = record_line(c);
    char *opts = case_options(c);
    json_object *got = run_qa(opts, line, false, 0);
    char *what = g_strdup_printf("nlpipe %s", json_object_get_string(get(c, "id")));
    CU_ASSERT_EQUAL(json_object_array_length(got), 1);
    CU_ASSERT_TRUE(
        same_answers(what, json_object_array_get_idx(got, 0), get(e, "output"), SCORE_TOL));
    g_free(what), g_free(opts), g_free(line);
    json_object_put(got);
  }
  json_object_put(cases);
  json_object_put(expected);
}

/* Every default-option case in one batch (one pair pass), plus a record without a
 * question that fails alone, gives the same answers as one by one. */
static void test_end_to_end_batch(void) {
  json_object *cases = read_jsonl("tests/fixtures/qa/cases.jsonl");
  json_object *expected = read_jsonl("tests/fixtures/qa/expected.jsonl");
  GString *input = g_string_new(NULL);
  GPtrArray *want = g_ptr_array_new();
  for (size_t k = 0; k < json_object_array_length(cases); k++) {
    json_object *c = json_object_array_get_idx(cases, k);
    if (json_object_object_length(get(c, "options"))) continue;
    char *line = record_line(c);
    g_string_append(input, line);
    g_free(line);
    g_ptr_array_add(want, get(json_object_array_get_idx(expected, k), "output"));
    if (want->len == 2) g_string_append(input, "{\"context\": \"No question here.\"}\n");
  }
  CU_ASSERT_TRUE(want->len >= 3);
  json_object *got = run_qa("{}", input->str, true, 1);
  CU_ASSERT_EQUAL(json_object_array_length(got), want->len + 1);
  size_t w = 0;
  for (size_t i = 0; i < json_object_array_length(got) && w < want->len; i++) {
    json_object *rec = json_object_array_get_idx(got, i);
    if (i == 2) {
      CU_ASSERT_PTR_NOT_NULL(get(rec, "error"));
      continue;
    }
    CU_ASSERT_TRUE(same_answers("batch", get(rec, "answer"), want->pdata[w++], SCORE_TOL));
  }
  json_object_put(got);
  g_ptr_array_free(want, TRUE);
  g_string_free(input, TRUE);
  json_object_put(cases);
  json_object_put(expected);
}

/* The question from the step options; a question too long for its window fails its
 * record only. */
static void test_end_to_end_fixed_question(void) {
  json_object *cases = read_jsonl("tests/fixtures/qa/cases.jsonl");
  json_object *expected = read_jsonl("tests/fixtures/qa/expected.jsonl");
  for (size_t k = 0; k < json_object_array_length(cases); k++) {
    json_object *c = json_object_array_get_idx(cases, k);
    if (strcmp(json_object_get_string(get(c, "id")), "town-windows")) continue;
    json_object *opts = json_tokener_parse(json_object_to_json_string(get(c, "options")));
    json_object_object_add(opts, "question", json_object_get(get(c, "question")));
    json_object *rec = json_object_new_object();
    json_object_object_add(rec, "context", json_object_get(get(c, "context")));
    char *line = g_strdup_printf("%s\n", json_object_to_json_string(rec));
    json_object *got = run_qa(json_object_to_json_string(opts), line, false, 0);
    CU_ASSERT_TRUE(same_answers("fixed question", json_object_array_get_idx(got, 0),
                                get(json_object_array_get_idx(expected, k), "output"), SCORE_TOL));
    json_object_put(got), json_object_put(rec), json_object_put(opts);
    g_free(line);
  }
  /* max_seq_len 16, doc_stride 8: a ten-word question leaves too little room. */
  json_object *got = run_qa(
      "{\"max_seq_len\": 16, \"doc_stride\": 8}",
      "{\"question\": \"who built the old lighthouse on the point in the north?\","
      " \"context\": \"The old lighthouse on Gull Point was built in 1872 by Tobias Merrow.\"}\n"
      "{\"question\": \"who?\", \"context\": \"Tobias Merrow built the old lighthouse.\"}\n",
      true, 1);
  CU_ASSERT_EQUAL(json_object_array_length(got), 2);
  CU_ASSERT_PTR_NOT_NULL(get(json_object_array_get_idx(got, 0), "error"));
  CU_ASSERT_PTR_NULL(get(json_object_array_get_idx(got, 1), "error"));
  CU_ASSERT_PTR_NOT_NULL(get(json_object_array_get_idx(got, 1), "answer"));
  json_object_put(got);
  json_object_put(cases);
  json_object_put(expected);
}

/* Bad options are refused by `nlpipe validate` (exit 2) naming the JSON path. */
static void test_validation(void) {
  static const struct {
    const char *options, *path;
  } bad[] = {
      {"{\"top_k\": 0}", "steps[0].options.top_k"},
      {"{\"max_answer_len\": 0}", "steps[0].options.max_answer_len"},
      {"{\"max_seq_len\": 32, \"doc_stride\": 28}", "steps[0].options.doc_stride"},
      {"{\"max_seq_len\": 32, \"doc_stride\": 40}", "steps[0].options.doc_stride"},
      {"{\"doc_stride\": -1}", "steps[0].options.doc_stride"},
      {"{\"max_seq_len\": 3}", "steps[0].options.max_seq_len"},
      {"{\"handle_impossible_answer\": 1}", "steps[0].options.handle_impossible_answer"},
      {"{\"question_field\": \"\"}", "steps[0].options.question_field"},
  };
  char *dir = g_dir_make_tmp("nlpipe-qa-XXXXXX", NULL);
  char *cwd = g_get_current_dir();
  char *pipeline = g_build_filename(dir, "qa.json", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(bad) + 1; i++) {
    const char *options =
        i < G_N_ELEMENTS(bad) ? bad[i].options : "{\"max_seq_len\": 32, \"doc_stride\": 27}";
    char *text =
        g_strdup_printf("{\"models\": {\"qa\": \"%s/tests/fixtures/qa/bert-qa\"},\n"
                        " \"steps\": [{\"name\": \"answer\", \"plugin\": \"qa\", \"model\": "
                        "\"qa\", \"options\": %s}],\n"
                        " \"input\": {\"format\": \"jsonl\", \"text_field\": \"context\"}}\n",
                        cwd, options);
    CU_ASSERT_TRUE(g_file_set_contents(pipeline, text, -1, NULL));
    nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", pipeline, NULL});
    if (i < G_N_ELEMENTS(bad)) {
      CU_ASSERT_EQUAL(r.status, 2);
      CU_ASSERT_PTR_NOT_NULL(strstr(r.err, bad[i].path));
      if (!strstr(r.err, bad[i].path)) fprintf(stderr, "\n%s: %s\n", options, r.err);
    } else {
      CU_ASSERT_EQUAL(r.status, 0); /* the largest stride that leaves room */
    }
    g_free(r.out), g_free(r.err), g_free(text);
  }
  g_unlink(pipeline), g_rmdir(dir);
  g_free(pipeline), g_free(cwd), g_free(dir);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("qa", NULL, NULL);
  CU_add_test(s, "decoding on the oracle's windows and logits", test_decode_oracle_windows);
  CU_add_test(s, "answer in the second window", test_decode_second_window);
  CU_add_test(s, "hand-computed spans and options", test_hand_spans);
  CU_add_test(s, "case-insensitive merging", test_hand_merge_case);
  CU_add_test(s, "two windows: merged scores, min null", test_hand_two_windows);
  CU_add_test(s, "questions and per-document errors", test_questions_and_errors);
  CU_add_test(s, "nlpipe run against the oracle", test_end_to_end_oracle);
  CU_add_test(s, "one batch = one by one", test_end_to_end_batch);
  CU_add_test(s, "fixed question, question too long", test_end_to_end_fixed_question);
  CU_add_test(s, "bad options refused at validation", test_validation);
}

int main(void) { return nlp_test_main(register_suites); }
