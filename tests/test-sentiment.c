/* The sentiment plugin: the label rule of plugins/sentiment/polarity.h on hand-made
 * label sets, and end to end through `nlpipe run` on the classification fixtures,
 * where the result must be the HF oracle's best label, normalised, with its score. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"
/* The rule is plugin-internal; it is small and pure, so it is tested from source. */
#include "../plugins/sentiment/polarity.c"

#define FIX "tests/fixtures/classification"

static polarity map_one(const char *const *labels, size_t n, size_t i, size_t *bad) {
  polarity out[8];
  *bad = nlp_polarity_map_labels((char *const *)labels, n, out);
  return *bad == n ? out[i] : POLARITY_UNKNOWN;
}

static void test_label_rule(void) {
  size_t bad;
  const char *sst[] = {"NEGATIVE", "POSITIVE"};
  CU_ASSERT_EQUAL(map_one(sst, 2, 0, &bad), POLARITY_NEGATIVE);
  CU_ASSERT_EQUAL(map_one(sst, 2, 1, &bad), POLARITY_POSITIVE);
  const char *short3[] = {"neg", "Neutral", "pos"};
  CU_ASSERT_EQUAL(map_one(short3, 3, 1, &bad), POLARITY_NEUTRAL);
  CU_ASSERT_EQUAL(map_one(short3, 3, 2, &bad), POLARITY_POSITIVE);
  const char *unnamed2[] = {"LABEL_0", "LABEL_1"};
  CU_ASSERT_EQUAL(map_one(unnamed2, 2, 0, &bad), POLARITY_NEGATIVE);
  CU_ASSERT_EQUAL(map_one(unnamed2, 2, 1, &bad), POLARITY_POSITIVE);
  const char *unnamed3[] = {"label_0", "label_1", "label_2"};
  CU_ASSERT_EQUAL(map_one(unnamed3, 3, 1, &bad), POLARITY_NEUTRAL);
  const char *stars[] = {"1 star", "2 stars", "3 stars", "4 stars", "5 stars"};
  CU_ASSERT_EQUAL(map_one(stars, 5, 1, &bad), POLARITY_NEGATIVE);
  CU_ASSERT_EQUAL(map_one(stars, 5, 2, &bad), POLARITY_NEUTRAL);
  CU_ASSERT_EQUAL(map_one(stars, 5, 4, &bad), POLARITY_POSITIVE);
  const char *tox[] = {"toxic", "insult", "threat"};
  CU_ASSERT_EQUAL(map_one(tox, 3, 0, &bad), POLARITY_UNKNOWN);
  CU_ASSERT_EQUAL(bad, 0);
  const char *unnamed4[] = {"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"};
  CU_ASSERT_EQUAL(map_one(unnamed4, 4, 0, &bad), POLARITY_UNKNOWN);
}

static char *write_pipeline(const char *dir, const char *model, const char *plugin) {
  char *cwd = g_get_current_dir();
  char *file = g_build_filename(dir, "p.json", NULL);
  char *text = g_strdup_printf("{\"models\": {\"m\": \"%s/" FIX "/%s\"}, \"steps\": [{\"name\": \"s\", "
                               "\"plugin\": \"%s\", \"model\": \"m\"}], \"input\": {\"format\": \"jsonl\"}}",
                               cwd, model, plugin);
  g_file_set_contents(file, text, -1, NULL);
  g_free(text);
  g_free(cwd);
  return file;
}

/* Every default-option oracle case of a 2-3 label model: sentiment = the normalised
 * best label with the same score (each label maps to its own polarity). */
static void test_against_oracle(void) {
  static const char *const models[] = {"bert-softmax3", "bert-unnamed2", "distilbert-3", "roberta-3", "electra-2"};
  char *text = nlp_test_read_file(FIX "/expected.jsonl", NULL);
  char **lines = g_strsplit(text, "\n", -1);
  int compared = 0;
  for (size_t m = 0; m < G_N_ELEMENTS(models); m++) {
    GString *in = g_string_new(NULL);
    GPtrArray *want = g_ptr_array_new();
    for (char **l = lines; *l; l++) {
      json_object *c = json_tokener_parse(*l);
      if (!c) continue;
      json_object *inp = json_object_object_get(c, "input");
      if (!strcmp(json_object_get_string(json_object_object_get(c, "model")), models[m]) &&
          json_object_object_length(json_object_object_get(c, "options")) == 0 &&
          json_object_is_type(inp, json_type_string) && !json_object_object_get(c, "max_length")) {
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "text", json_object_get(inp));
        g_string_append_printf(in, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
        json_object_put(rec);
        g_ptr_array_add(want, json_object_get(json_object_object_get(c, "output")));
      }
      json_object_put(c);
    }
    char *dir = g_dir_make_tmp("nlpipe-sent-XXXXXX", NULL);
    char *pfile = write_pipeline(dir, models[m], "sentiment");
    nlp_test_run r = nlp_test_run_nlpipe(in->str, (const char *const[]){"run", pfile, "--quiet", NULL});
    CU_ASSERT_EQUAL(r.status, 0);
    char **out = g_strsplit(r.out, "\n", -1);
    for (guint i = 0; i < want->len && r.status == 0; i++) {
      json_object *rec = json_tokener_parse(out[i]), *got = json_object_object_get(rec, "s");
      json_object *w = want->pdata[i];
      const char *wl = json_object_get_string(json_object_object_get(w, "label"));
      polarity pl[2];
      const char *lab[] = {wl};
      /* the oracle's labels here: NEGATIVE/NEUTRAL/POSITIVE, neg/neu/pos or LABEL_0/1 */
      const char *expect = !strcmp(wl, "LABEL_0") ? "negative" : !strcmp(wl, "LABEL_1") ? "positive" : NULL;
      if (!expect) expect = nlp_polarity_map_labels((char *const *)lab, 1, pl) == 1 ? nlp_polarity_names[pl[0]] : "?";
      CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(got, "label")), expect);
      double d = fabs(json_object_get_double(json_object_object_get(got, "score")) -
                      json_object_get_double(json_object_object_get(w, "score")));
      CU_ASSERT_TRUE(d <= 1e-4);
      CU_ASSERT_EQUAL(json_object_object_length(got), 2);
      compared++;
      json_object_put(rec);
    }
    g_strfreev(out);
    nlp_test_run_clear(&r);
    g_unlink(pfile);
    g_rmdir(dir);
    g_free(pfile);
    g_free(dir);
    for (guint i = 0; i < want->len; i++) json_object_put(want->pdata[i]);
    g_ptr_array_free(want, TRUE);
    g_string_free(in, TRUE);
  }
  CU_ASSERT_TRUE(compared >= 25);
  g_strfreev(lines);
  g_free(text);
}

/* A head whose labels are not sentiments is refused before input is read. */
static void test_unmappable_head_refused(void) {
  char *dir = g_dir_make_tmp("nlpipe-sent-XXXXXX", NULL);
  char *pfile = write_pipeline(dir, "bert-multilabel", "sentiment");
  nlp_test_run r = nlp_test_run_nlpipe("{\"text\": \"hello\"}\n", (const char *const[]){"run", pfile, NULL});
  CU_ASSERT_NOT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "label \"toxic\" (id 0 of 3) cannot be mapped"));
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(pfile);
  g_free(dir);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("sentiment plugin", NULL, NULL);
  CU_add_test(s, "label rule", test_label_rule);
  CU_add_test(s, "against the HF oracle", test_against_oracle);
  CU_add_test(s, "unmappable head refused", test_unmappable_head_refused);
}

int main(void) { return nlp_test_main(register_suites); }
