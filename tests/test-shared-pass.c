/* Several steps on one backbone share one encoder pass per batch: a pipeline with
 * classification + sentiment + extractive summarization (+ a second classification
 * step) through the real `nlpipe run` reports as many encoder passes as batches, the
 * same count as a single classification step. (NER joins this test once a fixture
 * backbone carries both a sequence and a token head; the NER plugin needs the latter.) */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

#define MODEL "tests/fixtures/classification/bert-softmax3"

static guint64 passes_of(const char *steps, const char *input, const char *batch_size, char **out) {
  char *cwd = g_get_current_dir();
  char *dir = g_dir_make_tmp("nlpipe-shared-XXXXXX", NULL);
  char *pfile = g_build_filename(dir, "p.json", NULL);
  char *text = g_strdup_printf("{\"models\": {\"m\": {\"path\": \"%s/" MODEL "\", \"max_length\": 24, "
                               "\"stride\": 6}}, \"steps\": [%s]}", cwd, steps);
  g_file_set_contents(pfile, text, -1, NULL);
  nlp_test_run r = nlp_test_run_nlpipe(input, (const char *const[]){"run", pfile, "--batch-size", batch_size, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  guint64 passes = G_MAXUINT64;
  const char *p = strstr(r.err, " encoder passes");
  if (p) {
    while (p > r.err && g_ascii_isdigit(p[-1])) p--;
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

static void test_one_pass_per_batch(void) {
  GString *in = g_string_new(NULL);
  for (int i = 0; i < 10; i++)
    g_string_append_printf(in, "Record %d. The committee approved the budget for the new library. "
                               "Rain is expected tomorrow! Our team won the final match.%s\n", i,
                           i % 3 ? "" : " Prices rose sharply in March, but analysts expect them to "
                                        "fall again soon, and the children played in the park.");
  const char *three =
      "{\"name\": \"topic\", \"plugin\": \"classification\", \"model\": \"m\"},"
      "{\"name\": \"sentiment\", \"plugin\": \"sentiment\", \"model\": \"m\"},"
      "{\"name\": \"summary\", \"plugin\": \"summarization\", \"model\": \"m\", \"options\": {\"num_sentences\": 1}},"
      "{\"name\": \"all\", \"plugin\": \"classification\", \"model\": \"m\", \"options\": {\"top_k\": null}}";
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
}

int main(void) { return nlp_test_main(register_suites); }
