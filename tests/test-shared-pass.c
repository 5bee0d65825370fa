/* Several steps on one backbone share one encoder pass per batch: a pipeline with
 * classification + sentiment + extractive summarization (+ a second classification
 * step) through the real `nlpipe run` reports as many encoder passes as batches, the
 * same count as a single classification step. (NER joins this test once a fixture
 * backbone carries both a sequence and a token head; the NER plugin needs the latter.) */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

#define MODEL "tests/fixtures/classification/bert-softmax3"

static guint64 passes_of_threads(const char *steps, const char *input, const char *batch_size,
                                 const char *threads, char **out) {
  char *cwd = g_get_current_dir();
  char *dir = g_dir_make_tmp("nlpipe-shared-XXXXXX", NULL);
  char *pfile = g_build_filename(dir, "p.json", NULL);
  char *text =
      g_strdup_printf("{\"models\": {\"m\": {\"path\": \"%s/" MODEL "\", \"max_length\": 24, "
                      "\"stride\": 6}}, \"steps\": [%s]}",
                      cwd, steps);
  g_file_set_contents(pfile, text, -1, NULL);
  nlp_test_run r =
      nlp_test_run_nlpipe(input, (const char *const[]){"run", pfile, "--batch-size", batch_size,
                                                       "--threads", threads, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  guint64 passes = G_MAXUINT64;
  const char *p = strstr(r.err, " encoder passes");
  if (p) {
    while (p > r.err && g_ascii_isdigit(p[-1]))
      p--;
    passes = g_ascii_strtoull(p, NULL, 10);
  } else {
    fprintf(stderr, "\nno pass count in: %s\n", r.err);
  }
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "10 records, 10 ok, 0 failed"));
  if (out) *out = g_strdup(r.out);
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(text);
  g_free(pfile);
  g_free(dir);
  g_free(cwd);
  return passes;
}

static guint64 passes_of(const char *steps, const char *input, const char *batch_size, char **out) {
  return passes_of_threads(steps, input, batch_size, "1", out);
}

/* Same JSON up to float noise: a window's result does not depend on its batch, but
 * GEMMs of other shapes round differently (the 1e-6 batch-invariance bound). */
static gboolean json_close(json_object *a, json_object *b) {
  json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  if (ta == json_type_double || tb == json_type_double)
    return (ta == json_type_double || ta == json_type_int) &&
           (tb == json_type_double || tb == json_type_int) &&
           fabs(json_object_get_double(a) - json_object_get_double(b)) <= 1e-5;
  if (ta != tb) return FALSE;
  if (ta == json_type_object) {
    if (json_object_object_length(a) != json_object_object_length(b)) return FALSE;
    json_object_object_foreach(a, key, va) {
      json_object *vb = NULL;
      if (!json_object_object_get_ex(b, key, &vb) || !json_close(va, vb)) return FALSE;
    }
    return TRUE;
  }
  if (ta == json_type_array) {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b)) return FALSE;
    for (size_t i = 0; i < n; i++)
      if (!json_close(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
        return FALSE;
    return TRUE;
  }
  return json_object_equal(a, b);
}

/* With a thread budget of 2 the windows of a batch are split between two workers:
 * still one pass per batch, and the same results. */
static void test_workers_same_output(void) {
  GString *in = g_string_new(NULL);
  for (int i = 0; i < 10; i++)
    g_string_append_printf(in, "Record %d: the library opened%s.\n", i,
                           i % 2 ? " and the committee approved the budget for next year" : "");
  const char *steps = "{\"name\": \"topic\", \"plugin\": \"classification\", \"model\": \"m\", "
                      "\"options\": {\"top_k\": null}},"
                      "{\"name\": \"summary\", \"plugin\": \"summarization\", \"model\": \"m\"}";
  char *one = NULL, *two = NULL;
  CU_ASSERT_EQUAL(passes_of_threads(steps, in->str, "4", "1", &one), 3);
  CU_ASSERT_EQUAL(passes_of_threads(steps, in->str, "4", "2", &two), 3);
  char **l1 = g_strsplit(one, "\n", -1), **l2 = g_strsplit(two, "\n", -1);
  CU_ASSERT_EQUAL_FATAL(g_strv_length(l1), g_strv_length(l2));
  for (guint i = 0; l1[i] && *l1[i]; i++) {
    json_object *a = json_tokener_parse(l1[i]), *b = json_tokener_parse(l2[i]);
    CU_ASSERT_TRUE(a && b && json_close(a, b));
    json_object_put(a);
    json_object_put(b);
  }
  g_strfreev(l1);
  g_strfreev(l2);
  g_free(one);
  g_free(two);
  g_string_free(in, TRUE);
}

static void test_one_pass_per_batch(void) {
  GString *in = g_string_new(NULL);
  for (int i = 0; i < 10; i++)
    g_string_append_printf(in,
                           "Record %d. The committee approved the budget for the new library. "
                           "Rain is expected tomorrow! Our team won the final match.%s\n",
                           i,
                           i % 3 ? ""
                                 : " Prices rose sharply in March, but analysts expect them to "
                                   "fall again soon, and the children played in the park.");
  const char *three = "{\"name\": \"topic\", \"plugin\": \"classification\", \"model\": \"m\"},"
                      "{\"name\": \"sentiment\", \"plugin\": \"sentiment\", \"model\": \"m\"},"
                      "{\"name\": \"summary\", \"plugin\": \"summarization\", \"model\": \"m\", "
                      "\"options\": {\"num_sentences\": 1}},"
                      "{\"name\": \"all\", \"plugin\": \"classification\", \"model\": \"m\", "
                      "\"options\": {\"top_k\": null}}";
  const char *one = "{\"name\": \"topic\", \"plugin\": \"classification\", \"model\": \"m\"}";
  char *out3 = NULL, *out1 = NULL;
  CU_ASSERT_EQUAL(passes_of(three, in->str, "3", &out3), 4); /* 10 records in batches of 3 */
  CU_ASSERT_EQUAL(passes_of(one, in->str, "3", &out1), 4);
  CU_ASSERT_EQUAL(passes_of(three, in->str, "10", NULL), 1);
  /* and sharing changes no result: the "topic" step is the same alone or with others */
  char **l3 = g_strsplit(out3, "\n", -1), **l1 = g_strsplit(out1, "\n", -1);
  for (int i = 0; i < 10; i++) {
    const char *a = strstr(l3[i], "\"topic\":"), *b = strstr(l1[i], "\"topic\":");
    CU_ASSERT_TRUE(a && b && !strncmp(a, b, strcspn(b, "}")));
  }
  g_strfreev(l3);
  g_strfreev(l1);
  g_free(out3);
  g_free(out1);
  g_string_free(in, TRUE);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("shared forward pass", NULL, NULL);
  CU_add_test(s, "one encoder pass per batch for several steps", test_one_pass_per_batch);
  CU_add_test(s, "two workers give the same output", test_workers_same_output);
}

int main(void) { return nlp_test_main(register_suites); }
