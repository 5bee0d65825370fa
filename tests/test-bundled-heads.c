/* test-bundled-heads.c — the dev scores published for the bundled heads are what the
 * committed weights score: every line of models/nlpipe-bert-mini/heads/eval.jsonl
 * (written by models/recipes/train_heads.sh, the source of MODEL_CARD.md's table) is
 * re-measured with `nlpipe eval HEAD DEV.jsonl` on the shared data, and the model
 * card's row for the head quotes the same headline number. Skipped where the shared
 * data is absent (a user's fresh clone); CI has it.
 * The scoring runs the optimised nlpipe (NLPIPE_RELEASE_DIR, which `ninja test` builds
 * first): the numbers are a property of the weights, and under ASan the 4,613 QA
 * questions alone take over ten minutes. The sanitizer build runs the same eval code
 * on the fixtures of test-train. */
#include <glib.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

#define HEADS "models/nlpipe-bert-mini/heads/"
#define CARD "models/nlpipe-bert-mini/MODEL_CARD.md"
#define SHARED_PREFIX "../shared/data/"

/* The number a model card row leads with, per task metric. */
static const char *headline_metric(json_object *eval) {
  const char *order[] = {"accuracy", "f1", "rouge1"};
  for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
    if (json_object_object_get_ex(eval, order[i], NULL)) return order[i];
  return NULL;
}

static void check_line(const char *line, const char *card) {
  json_object *rec = json_tokener_parse(line), *eval, *v;
  CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(rec, "eval", &eval));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(eval, "head", &v));
  char *head = g_strdup(json_object_get_string(v));
  CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(eval, "data", &v));
  const char *data = json_object_get_string(v);
  CU_ASSERT_TRUE_FATAL(g_str_has_prefix(data, SHARED_PREFIX));
  char *dev = nlp_test_shared_path(data + strlen(SHARED_PREFIX));
  if (!dev) {
    fprintf(stderr, "  [skipped %s: no shared data] ", head);
    g_free(head);
    json_object_put(rec);
    return;
  }
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"eval", head, dev, "--json", "--threads", "2", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  json_object *now = json_tokener_parse(r.out ? r.out : "");
  CU_ASSERT_PTR_NOT_NULL_FATAL(now);
  size_t compared = 0;
  json_object_object_foreach(eval, k, published) {
    if (!json_object_is_type(published, json_type_double) && !json_object_is_type(published, json_type_int))
      continue;
    json_object *m;
    CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(now, k, &m));
    double a = json_object_get_double(published), b = json_object_get_double(m);
    if (fabs(a - b) > 1e-9) fprintf(stderr, "\n%s %s: published %.9g, measured %.9g\n", head, k, a, b);
    CU_ASSERT_DOUBLE_EQUAL(a, b, 1e-9);
    compared++;
  }
  CU_ASSERT_TRUE(compared >= 3);
  /* the card's row for the head: "| `heads/NAME` | ... NN.N ..." */
  const char *metric = headline_metric(eval);
  CU_ASSERT_PTR_NOT_NULL_FATAL(metric);
  char *row_start = g_strdup_printf("| `heads/%s` |", head + strlen(HEADS));
  const char *row = strstr(card, row_start);
  CU_ASSERT_PTR_NOT_NULL_FATAL(row);
  char *row_text = g_strndup(row, strcspn(row, "\n"));
  char *pct = g_strdup_printf(" %.1f", 100 * json_object_get_double(json_object_object_get(eval, metric)));
  if (!strstr(row_text, pct)) fprintf(stderr, "\n%s: the card's row lacks%s (%s)\n", head, pct, metric);
  CU_ASSERT_PTR_NOT_NULL(strstr(row_text, pct));
  g_free(pct);
  g_free(row_text);
  g_free(row_start);
  json_object_put(now);
  nlp_test_run_clear(&r);
  g_free(dev);
  g_free(head);
  json_object_put(rec);
}

static void test_published_scores(void) {
  if (!g_file_test(HEADS "eval.jsonl", G_FILE_TEST_EXISTS)) NLP_TEST_SKIP("no bundled heads");
  const char *release = g_getenv("NLPIPE_RELEASE_DIR");
  char *exe = g_build_filename(release ? release : "build", "nlpipe", NULL);
  if (g_file_test(exe, G_FILE_TEST_IS_EXECUTABLE)) g_setenv("NLPIPE_BUILD_DIR", release ? release : "build", TRUE);
  g_free(exe);
  char *card = nlp_test_read_file(CARD, NULL), *all = nlp_test_read_file(HEADS "eval.jsonl", NULL);
  char **lines = g_strsplit(all, "\n", -1);
  for (char **l = lines; *l; l++)
    if (**l) check_line(*l, card);
  /* every bundled head folder has its line */
  GDir *d = g_dir_open(HEADS, 0, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  size_t heads = 0;
  for (const char *name; (name = g_dir_read_name(d));) {
    char *hj = g_build_filename(HEADS, name, "head.json", NULL), *key = g_strdup_printf("\"head\":\"%s\"", name);
    if (g_file_test(hj, G_FILE_TEST_EXISTS)) {
      heads++;
      if (!strstr(all, key)) fprintf(stderr, "\n%s has no line in eval.jsonl\n", name);
      CU_ASSERT_PTR_NOT_NULL(strstr(all, key));
    }
    g_free(key);
    g_free(hj);
  }
  g_dir_close(d);
  CU_ASSERT_TRUE(heads >= 9);
  g_strfreev(lines);
  g_free(all);
  g_free(card);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("bundled heads", NULL, NULL);
  CU_add_test(s, "eval.jsonl and the model card = nlpipe eval on the committed weights", test_published_scores);
}

int main(void) { return nlp_test_main(register_suites); }
