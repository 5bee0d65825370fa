/* The summarization plugin (extractive): the sentence splitter on hand-made cases
 * (abbreviations, initials, decimals, ellipses, quotes, blank lines, CJK, code-point
 * offsets), and end to end through `nlpipe run`: the chosen sentences are slices of
 * the text in original order, num_sentences / ratio respected, the same choice whatever
 * the batch, bad options refused at validation with their JSON path, and a host older
 * than the ABI the plugin needs (1.3, split_sentences) refused with both versions named. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"
#include "pipeline/host.h"
#include "text/sentences.h"
#include "train/data.h"

#define MODEL "tests/fixtures/classification/bert-softmax3"

/* Splits `text` and checks the sentences against `want` (NULL-terminated). */
static void expect_split(const char *text, const char *const *want) {
  glong n = 0;
  gunichar *cp = g_utf8_to_ucs4_fast(text, -1, &n);
  size_t *out = g_new(size_t, 2 * (size_t)n + 2);
  size_t got = nlp_sentences_split(cp, (size_t)n, out);
  size_t expected = 0;
  while (want[expected]) expected++;
  CU_ASSERT_EQUAL(got, expected);
  for (size_t i = 0; i < got && i < expected; i++) {
    char *piece = g_ucs4_to_utf8(cp + out[2 * i], (glong)(out[2 * i + 1] - out[2 * i]), NULL, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(piece, want[i]);
    if (strcmp(piece, want[i])) fprintf(stderr, "\n  got \"%s\"\n want \"%s\"\n", piece, want[i]);
    g_free(piece);
  }
  if (got != expected) fprintf(stderr, "\n%zu sentences for \"%s\", expected %zu\n", got, text, expected);
  g_free(out);
  g_free(cp);
}

static void test_splitter(void) {
  expect_split("Dr. Smith arrived at 3.5 p.m. and left. Mr. J. Jones stayed.",
               (const char *const[]){"Dr. Smith arrived at 3.5 p.m. and left.", "Mr. J. Jones stayed.", NULL});
  expect_split("It broke down... What a disaster? Yes! Fine.",
               (const char *const[]){"It broke down...", "What a disaster?", "Yes!", "Fine.", NULL});
  expect_split("She said, \"The museum opens at nine.\" Then she left.",
               (const char *const[]){"She said, \"The museum opens at nine.\"", "Then she left.", NULL});
  expect_split("Use e.g. apples. Visit the U.S.A. today. Prices fell 2.5% in March.",
               (const char *const[]){"Use e.g. apples.", "Visit the U.S.A. today.", "Prices fell 2.5% in March.", NULL});
  expect_split("lower case after a period. stays together",
               (const char *const[]){"lower case after a period. stays together", NULL});
  expect_split("A title\n\nThe body starts here.\nIt wraps\nover lines.",
               (const char *const[]){"A title", "The body starts here.", "It wraps\nover lines.", NULL});
  expect_split("東京は首都です。大阪も大きい。", (const char *const[]){"東京は首都です。", "大阪も大きい。", NULL});
  expect_split("   ", (const char *const[]){NULL});
  expect_split("No terminator at the end", (const char *const[]){"No terminator at the end", NULL});
  /* offsets are code points, not bytes */
  const char *t = "Café crème. Über alles!";
  glong n = 0;
  gunichar *cp = g_utf8_to_ucs4_fast(t, -1, &n);
  size_t out[2 * 23];
  CU_ASSERT_EQUAL(nlp_sentences_split(cp, (size_t)n, out), 2);
  CU_ASSERT_EQUAL(out[0], 0);
  CU_ASSERT_EQUAL(out[1], 11);
  CU_ASSERT_EQUAL(out[2], 12);
  CU_ASSERT_EQUAL(out[3], 23);
  g_free(cp);
}

/* `nlpipe train` / `nlpipe eval` cut a document given without its sentences by the
 * same rules as the plugin ("Dr." and the wrapped line stay inside their sentences),
 * and the positive sentence is the one with the best ROUGE-1 F against the summary:
 * "the museum opens at nine" shares 5 of its words with the 5-word summary. */
static void test_trainer_splits_like_pipeline(void) {
  char *dir = g_dir_make_tmp("nlpipe-sum-XXXXXX", NULL);
  char *path = g_build_filename(dir, "docs.jsonl", NULL);
  const char *doc = "Dr. Smith wrote the guide.\nThe museum opens at nine\non weekdays. Tickets are free.";
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "document", json_object_new_string(doc));
  json_object_object_add(o, "summary", json_object_new_string("the museum opens at nine"));
  g_file_set_contents(path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), -1, NULL);
  json_object_put(o);
  nlp_data_fields f = nlp_data_fields_default();
  GError *err = NULL;
  nlp_train_data *d = nlp_train_data_load(path, NLP_TASK_SUMMARY, &f, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  nlp_train_example *e = d->examples->pdata[0];
  const int32_t want_start[] = {0, 27, 65}, want_end[] = {26, 64, 82};
  CU_ASSERT_EQUAL_FATAL(e->n_sents, 3);
  for (size_t i = 0; i < 3; i++) {
    CU_ASSERT_EQUAL(e->sent_start[i], want_start[i]);
    CU_ASSERT_EQUAL(e->sent_end[i], want_end[i]);
    CU_ASSERT_EQUAL(e->sent_label[i], i == 1 ? 1.0f : 0.0f);
  }
  nlp_train_data_free(d);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}

static const char *DOC =
    "The committee approved the budget for the new library. Construction starts in spring. "
    "Rain is expected tomorrow across the northern region. Dr. Smith said the results were "
    "excellent! Our team won the final match after a long season of hard training. "
    "Prices rose sharply in March, but analysts expect them to fall again soon.";

static char *pipeline(const char *dir, const char *model_extra, const char *options) {
  char *cwd = g_get_current_dir();
  char *file = g_build_filename(dir, "p.json", NULL);
  char *text = g_strdup_printf("{\"models\": {\"m\": {\"path\": \"%s/" MODEL "\"%s}}, \"steps\": [{\"name\": "
                               "\"s\", \"plugin\": \"summarization\", \"model\": \"m\", \"options\": %s}]}",
                               cwd, model_extra, options);
  g_file_set_contents(file, text, -1, NULL);
  g_free(text);
  g_free(cwd);
  return file;
}

static json_object *summarize(const char *model_extra, const char *options, const char *input) {
  char *dir = g_dir_make_tmp("nlpipe-sum-XXXXXX", NULL);
  char *pfile = pipeline(dir, model_extra, options);
  nlp_test_run r = nlp_test_run_nlpipe(input, (const char *const[]){"run", pfile, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\n%s\n", r.err);
  json_object *rec = json_tokener_parse(r.out);
  json_object *res = rec ? json_object_get(json_object_object_get(rec, "s")) : NULL;
  json_object_put(rec);
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(pfile);
  g_free(dir);
  return res;
}

/* Checks the result's shape: n sentences in order, each a slice of DOC. */
static void check_result(json_object *res, size_t n) {
  CU_ASSERT_PTR_NOT_NULL_FATAL(res);
  json_object *list = json_object_object_get(res, "sentences");
  CU_ASSERT_EQUAL(json_object_array_length(list), n);
  glong len = 0;
  gunichar *cp = g_utf8_to_ucs4_fast(DOC, -1, &len);
  GString *joined = g_string_new(NULL);
  int64_t prev_end = 0;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *s = json_object_array_get_idx(list, i);
    int64_t a = json_object_get_int64(json_object_object_get(s, "start"));
    int64_t b = json_object_get_int64(json_object_object_get(s, "end"));
    CU_ASSERT_TRUE(a >= prev_end && b > a && b <= len);
    double sc = json_object_get_double(json_object_object_get(s, "score"));
    CU_ASSERT_TRUE(sc >= -1.0 && sc <= 1.0);
    char *piece = g_ucs4_to_utf8(cp + a, (glong)(b - a), NULL, NULL, NULL);
    g_string_append_printf(joined, "%s%s", i ? " " : "", piece);
    g_free(piece);
    prev_end = b;
  }
  CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(res, "summary_text")), joined->str);
  g_string_free(joined, TRUE);
  g_free(cp);
}

static void test_end_to_end(void) {
  char *input = g_strdup_printf("%s\n", DOC);
  json_object *a = summarize("", "{\"num_sentences\": 2}", input);
  check_result(a, 2);
  json_object *b = summarize("", "{\"ratio\": 0.5}", input); /* 6 sentences -> 3 */
  check_result(b, 3);
  json_object *c = summarize("", "{\"num_sentences\": 50}", input);
  check_result(c, 6);
  /* The same document twice in a batch with another: the same choice and scores. */
  char *three = g_strdup_printf("Short one.\n%s\n%s\n", DOC, DOC);
  char *dir = g_dir_make_tmp("nlpipe-sum-XXXXXX", NULL);
  char *pfile = pipeline(dir, "", "{\"num_sentences\": 2}");
  nlp_test_run r = nlp_test_run_nlpipe(three, (const char *const[]){"run", pfile, "--quiet", NULL});
  char **lines = g_strsplit(r.out, "\n", -1);
  for (int i = 1; i <= 2; i++) {
    json_object *rec = json_tokener_parse(lines[i]), *s = json_object_object_get(rec, "s");
    json_object *la = json_object_object_get(a, "sentences"), *ls = json_object_object_get(s, "sentences");
    for (size_t k = 0; k < 2; k++) {
      json_object *x = json_object_array_get_idx(la, k), *y = json_object_array_get_idx(ls, k);
      CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(x, "start")),
                      json_object_get_int(json_object_object_get(y, "start")));
      CU_ASSERT_TRUE(fabs(json_object_get_double(json_object_object_get(x, "score")) -
                          json_object_get_double(json_object_object_get(y, "score"))) < 1e-5);
    }
    json_object_put(rec);
  }
  g_strfreev(lines);
  nlp_test_run_clear(&r);
  /* Windows of 16 tokens overlapping by 4: every sentence still scored, same shape. */
  json_object *w = summarize(", \"max_length\": 16, \"stride\": 4", "{\"num_sentences\": 6}", input);
  check_result(w, 6);
  json_object_put(w);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(pfile);
  g_free(dir);
  g_free(three);
  json_object_put(a);
  json_object_put(b);
  json_object_put(c);
  g_free(input);
}

static void expect_refused(const char *options, const char *message) {
  char *dir = g_dir_make_tmp("nlpipe-sum-XXXXXX", NULL);
  char *pfile = pipeline(dir, "", options);
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", pfile, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, message));
  if (!strstr(r.err, message)) fprintf(stderr, "\nwanted %s in:\n%s\n", message, r.err);
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(pfile);
  g_free(dir);
}

static void test_bad_options(void) {
  expect_refused("{\"mode\": \"abstractive\"}", "steps[0].options.mode: \"abstractive\" needs an encoder-decoder");
  expect_refused("{\"mode\": \"bullet\"}", "steps[0].options.mode: expected one of \"extractive\", \"abstractive\"");
  expect_refused("{\"num_sentences\": 0}", "steps[0].options.num_sentences: expected integer >= 1");
  expect_refused("{\"ratio\": 0}", "steps[0].options.ratio: expected a number in (0, 1]");
  expect_refused("{\"ratio\": 1.5}", "steps[0].options.ratio: expected number in [0, 1] or null");
}

/* create() against this host's table, and against the same table cut down to what an
 * ABI 1.2 host (no split_sentences) would hand over: the plugin must refuse the older
 * host with both versions named rather than call past the end of its table. */
static void test_refuses_older_host(void) {
  const nlp_plugin_desc *desc = nlp_test_plugin("plugins/libnlpipe-summarization.so");

  json_object *options = json_object_new_object();
  /* create() only checks that a model is there; it reads it in process() */
  nlp_step_info step = {.name = "summary", .options = options, .model = (const nlp_model *)&step};
  void *state = NULL;
  char *error = NULL;
  CU_ASSERT_EQUAL(desc->create(nlp_host_get(), &step, &state, &error), NLP_STATUS_OK);
  CU_ASSERT_PTR_NULL(error);
  if (state) desc->destroy(state);
  free(error);

  nlp_host older = *nlp_host_get();
  older.abi_version = (NLP_PLUGIN_ABI_MAJOR << 16) | 2u;
  older.struct_size = (uint32_t)offsetof(nlp_host, split_sentences);
  state = NULL;
  error = NULL;
  CU_ASSERT_EQUAL(desc->create(&older, &step, &state, &error), NLP_STATUS_FAILED);
  CU_ASSERT_PTR_NULL(state);
  CU_ASSERT_PTR_NOT_NULL_FATAL(error);
  CU_ASSERT_STRING_EQUAL(error, "summarization needs the host's split_sentences (plugin ABI 1.3); "
                                "this host is ABI 1.2");
  free(error);
  json_object_put(options);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("summarization plugin (extractive)", NULL, NULL);
  CU_add_test(s, "sentence splitter", test_splitter);
  CU_add_test(s, "nlpipe train splits documents by the same rules", test_trainer_splits_like_pipeline);
  CU_add_test(s, "end to end", test_end_to_end);
  CU_add_test(s, "bad options refused at validation", test_bad_options);
  CU_add_test(s, "refuses a host older than ABI 1.3", test_refuses_older_host);
}

int main(void) { return nlp_test_main(register_suites); }
