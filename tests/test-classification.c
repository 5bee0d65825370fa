/* The classification plugin through the real `nlpipe run`, against the HF pipelines
 * oracle (tests/fixtures/classification/expected.jsonl, made by
 * tests/gen/classification/gen_fixtures.py): labels exactly, scores within 1e-4, for
 * BERT / DistilBERT / RoBERTa / ELECTRA heads, softmax / sigmoid / none, every top_k
 * shape, text pairs and long texts in windows (mean / max / first of the PyTorch logits
 * of HF's overflow windows). Heads against PyTorch: with function_to_apply "none" and
 * top_k null the scores are the logits, compared per label within 1e-4. Bad options
 * are refused at validation with their JSON path. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

#define FIX "tests/fixtures/classification"
#define TOL 1e-4

static int n_compared, n_logits;

static void put_json(gpointer p) { json_object_put(p); }

static bool same_result(json_object *want, json_object *got) {
  if (json_object_is_type(want, json_type_array)) {
    if (!got || !json_object_is_type(got, json_type_array) ||
        json_object_array_length(want) != json_object_array_length(got))
      return false;
    for (size_t i = 0; i < json_object_array_length(want); i++)
      if (!same_result(json_object_array_get_idx(want, i), json_object_array_get_idx(got, i)))
        return false;
    return true;
  }
  json_object *wl, *ws, *gl, *gs;
  if (!got || !json_object_is_type(got, json_type_object) ||
      !json_object_object_get_ex(want, "label", &wl) || !json_object_object_get_ex(want, "score", &ws) ||
      !json_object_object_get_ex(got, "label", &gl) || !json_object_object_get_ex(got, "score", &gs) ||
      json_object_object_length(got) != 2)
    return false;
  return !strcmp(json_object_get_string(wl), json_object_get_string(gl)) &&
         fabs(json_object_get_double(ws) - json_object_get_double(gs)) <= TOL;
}

/* Expected logits of a case: its one window, or its windows aggregated. */
static double expected_logit(json_object *c, size_t label, const char *agg) {
  json_object *rows = json_object_object_get(c, "logits");
  size_t nw = json_object_array_length(rows);
  double acc = 0;
  for (size_t w = 0; w < nw; w++) {
    double v = json_object_get_double(json_object_array_get_idx(json_object_array_get_idx(rows, w), label));
    if (w == 0) acc = v;
    else if (!strcmp(agg, "mean")) acc += v;
    else if (!strcmp(agg, "max")) acc = v > acc ? v : acc;
  }
  return !strcmp(agg, "mean") ? acc / (double)nw : acc;
}

static const char *case_aggregation(json_object *c) {
  json_object *o = json_object_object_get(c, "options"), *a = NULL;
  return json_object_object_get_ex(o, "aggregation", &a) ? json_object_get_string(a) : "mean";
}

/* Runs every case of one (model, max_length, stride) group in one pipeline: one step
 * per distinct options object plus one raw-logits step per aggregation. */
static void run_group(GPtrArray *cases) {
  json_object *c0 = cases->pdata[0];
  const char *model = json_object_get_string(json_object_object_get(c0, "model"));
  GHashTable *inputs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GHashTable *steps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GString *in = g_string_new(NULL);
  json_object *step_list = json_object_new_array();
  for (guint i = 0; i < cases->len; i++) {
    json_object *c = cases->pdata[i];
    const char *ik = json_object_to_json_string_ext(json_object_object_get(c, "input"), JSON_C_TO_STRING_PLAIN);
    if (!g_hash_table_contains(inputs, ik)) {
      g_hash_table_insert(inputs, g_strdup(ik), GUINT_TO_POINTER(g_hash_table_size(inputs)));
      json_object *inp = json_object_object_get(c, "input");
      if (json_object_is_type(inp, json_type_string)) {
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "text", json_object_get(inp));
        g_string_append_printf(in, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN));
        json_object_put(rec);
      } else {
        g_string_append_printf(in, "%s\n", ik);
      }
    }
    const char *ok_ = json_object_to_json_string_ext(json_object_object_get(c, "options"), JSON_C_TO_STRING_PLAIN);
    char *keys[2] = {g_strdup(ok_), g_strdup_printf("{\"function_to_apply\":\"none\",\"top_k\":null,"
                                                     "\"aggregation\":\"%s\"}", case_aggregation(c))};
    for (int k = 0; k < 2; k++) {
      if (!g_hash_table_contains(steps, keys[k])) {
        char name[32];
        g_snprintf(name, sizeof name, "s%u", g_hash_table_size(steps));
        json_object *st = json_object_new_object();
        json_object_object_add(st, "name", json_object_new_string(name));
        json_object_object_add(st, "plugin", json_object_new_string("classification"));
        json_object_object_add(st, "model", json_object_new_string("m"));
        json_object_object_add(st, "options", json_tokener_parse(keys[k]));
        json_object_array_add(step_list, st);
        g_hash_table_insert(steps, keys[k], GUINT_TO_POINTER(g_hash_table_size(steps)));
      } else {
        g_free(keys[k]);
      }
    }
  }
  char *cwd = g_get_current_dir();
  char *path = g_strdup_printf("%s/" FIX "/%s", cwd, model);
  json_object *m = json_object_new_object(), *pipe = json_object_new_object(), *v = NULL;
  json_object_object_add(m, "path", json_object_new_string(path));
  if (json_object_object_get_ex(c0, "max_length", &v)) {
    json_object_object_add(m, "max_length", json_object_get(v));
    json_object_object_add(m, "stride", json_object_get(json_object_object_get(c0, "stride")));
  }
  json_object *models = json_object_new_object();
  json_object_object_add(models, "m", m);
  json_object_object_add(pipe, "models", models);
  json_object_object_add(pipe, "steps", step_list);
  json_object *input = json_object_new_object();
  json_object_object_add(input, "format", json_object_new_string("jsonl"));
  json_object_object_add(pipe, "input", input);
  char *dir = g_dir_make_tmp("nlpipe-cls-XXXXXX", NULL);
  char *pfile = g_build_filename(dir, "p.json", NULL);
  json_object_to_file(pfile, pipe);
  nlp_test_run r = nlp_test_run_nlpipe(in->str, (const char *const[]){"run", pfile, "--quiet", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\n%s: %s\n", model, r.err);
  char **lines = g_strsplit(r.out, "\n", -1);
  for (guint i = 0; i < cases->len && r.status == 0; i++) {
    json_object *c = cases->pdata[i];
    const char *ik = json_object_to_json_string_ext(json_object_object_get(c, "input"), JSON_C_TO_STRING_PLAIN);
    guint line = GPOINTER_TO_UINT(g_hash_table_lookup(inputs, ik));
    json_object *rec = json_tokener_parse(lines[line]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    const char *ok_ = json_object_to_json_string_ext(json_object_object_get(c, "options"), JSON_C_TO_STRING_PLAIN);
    char name[32], lname[32];
    g_snprintf(name, sizeof name, "s%u", GPOINTER_TO_UINT(g_hash_table_lookup(steps, ok_)));
    char *lk = g_strdup_printf("{\"function_to_apply\":\"none\",\"top_k\":null,\"aggregation\":\"%s\"}",
                               case_aggregation(c));
    g_snprintf(lname, sizeof lname, "s%u", GPOINTER_TO_UINT(g_hash_table_lookup(steps, lk)));
    g_free(lk);
    json_object *got = json_object_object_get(rec, name), *want = json_object_object_get(c, "output");
    bool same = same_result(want, got);
    CU_ASSERT_TRUE(same);
    if (!same)
      fprintf(stderr, "\n%s %s: want %s\n  got %s\n", json_object_get_string(json_object_object_get(c, "id")),
              model, json_object_to_json_string(want), json_object_to_json_string(got));
    n_compared++;
    /* raw logits by label name; labels are listed in config.json order */
    json_object *raw = json_object_object_get(rec, lname);
    char *cfg_file = g_strdup_printf("%s/config.json", path);
    json_object *cfg = json_object_from_file(cfg_file);
    g_free(cfg_file);
    json_object *id2label = json_object_object_get(cfg, "id2label");
    size_t nl = json_object_object_length(id2label);
    for (size_t l = 0; l < nl && raw; l++) {
      char key[16];
      g_snprintf(key, sizeof key, "%zu", l);
      const char *label = json_object_get_string(json_object_object_get(id2label, key));
      for (size_t j = 0; j < json_object_array_length(raw); j++) {
        json_object *e = json_object_array_get_idx(raw, j);
        if (strcmp(json_object_get_string(json_object_object_get(e, "label")), label)) continue;
        double d = fabs(json_object_get_double(json_object_object_get(e, "score")) -
                        expected_logit(c, l, case_aggregation(c)));
        CU_ASSERT_TRUE(d <= TOL);
        if (d > TOL) fprintf(stderr, "\n%s label %s: logit off by %g\n", model, label, d);
        n_logits++;
      }
    }
    json_object_put(cfg);
    json_object_put(rec);
  }
  g_strfreev(lines);
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(pfile);
  g_free(dir);
  g_free(path);
  g_free(cwd);
  json_object_put(pipe);
  g_string_free(in, TRUE);
  g_hash_table_destroy(inputs);
  g_hash_table_destroy(steps);
}

static void test_oracle_cases(void) {
  char *text = nlp_test_read_file(FIX "/expected.jsonl", NULL);
  char **lines = g_strsplit(text, "\n", -1);
  GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  GPtrArray *order = g_ptr_array_new();
  GPtrArray *all = g_ptr_array_new_with_free_func(put_json);
  for (char **l = lines; *l; l++) {
    if (!**l) continue;
    json_object *c = json_tokener_parse(*l);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    g_ptr_array_add(all, c);
    json_object *ml = NULL;
    char *key = g_strdup_printf("%s|%s", json_object_get_string(json_object_object_get(c, "model")),
                                json_object_object_get_ex(c, "max_length", &ml)
                                    ? json_object_to_json_string(json_object_object_get(c, "stride"))
                                    : "-");
    if (ml) {
      char *k2 = g_strdup_printf("%s|%d", key, json_object_get_int(ml));
      g_free(key);
      key = k2;
    }
    GPtrArray *g = g_hash_table_lookup(groups, key);
    if (!g) {
      g = g_ptr_array_new();
      g_hash_table_insert(groups, g_strdup(key), g);
      g_ptr_array_add(order, g);
    }
    g_ptr_array_add(g, c);
    g_free(key);
  }
  for (guint i = 0; i < order->len; i++) run_group(order->pdata[i]);
  fprintf(stderr, " [%d oracle cases, %d logits] ", n_compared, n_logits);
  CU_ASSERT_TRUE(n_compared > 100);
  g_ptr_array_free(order, TRUE);
  g_hash_table_destroy(groups);
  g_ptr_array_free(all, TRUE);
  g_strfreev(lines);
  g_free(text);
}

/* Validation refuses bad options before any weights load, naming the JSON path. */
static void expect_refused(const char *options, const char *path_and_message) {
  char *dir = g_dir_make_tmp("nlpipe-cls-XXXXXX", NULL);
  char *pfile = g_build_filename(dir, "p.json", NULL);
  char *cwd = g_get_current_dir();
  char *text = g_strdup_printf(
      "{\"models\": {\"m\": \"%s/" FIX "/bert-softmax3\"},\n"
      " \"steps\": [{\"name\": \"c\", \"plugin\": \"classification\", \"model\": \"m\", \"options\": %s}]}",
      cwd, options);
  g_file_set_contents(pfile, text, -1, NULL);
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", pfile, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, path_and_message));
  if (!strstr(r.err, path_and_message)) fprintf(stderr, "\nwanted %s in:\n%s\n", path_and_message, r.err);
  nlp_test_run_clear(&r);
  g_unlink(pfile);
  g_rmdir(dir);
  g_free(text);
  g_free(cwd);
  g_free(pfile);
  g_free(dir);
}

static void test_bad_options(void) {
  expect_refused("{\"top_k\": 0}", "steps[0].options.top_k: expected integer >= 1 or null");
  expect_refused("{\"top_k\": \"3\"}", "steps[0].options.top_k: expected integer >= 1 or null");
  expect_refused("{\"function_to_apply\": \"default\"}",
                 "steps[0].options.function_to_apply: expected one of \"softmax\", \"sigmoid\", \"none\"");
  expect_refused("{\"aggregation\": \"median\"}",
                 "steps[0].options.aggregation: expected one of \"mean\", \"max\", \"first\"");
  expect_refused("{\"pair_stride\": -1}", "steps[0].options.pair_stride");
}

/* A backbone without a classification head is refused before any input is read. */
static void test_no_head_refused(void) {
  char *dir = g_dir_make_tmp("nlpipe-cls-XXXXXX", NULL);
  char *cwd = g_get_current_dir();
  char *model = g_build_filename(dir, "bare", NULL);
  g_mkdir(model, 0700);
  const char *files[] = {"model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json"};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    char *src = g_strdup_printf("%s/" FIX "/bert-softmax3/%s", cwd, files[i]), *dst = g_build_filename(model, files[i], NULL), *t = NULL;
    gsize len = 0;
    g_file_get_contents(src, &t, &len, NULL);
    g_file_set_contents(dst, t, (gssize)len, NULL);
    g_free(t);
    g_free(src);
    g_free(dst);
  }
  char *cfg = g_strdup_printf("%s/" FIX "/bert-softmax3/config.json", cwd), *t = NULL;
  g_file_get_contents(cfg, &t, NULL, NULL);
  char **parts = g_strsplit(t, "BertForSequenceClassification", 2);
  char *bare = g_strjoinv("BertModel", parts);
  char *dst = g_build_filename(model, "config.json", NULL);
  g_file_set_contents(dst, bare, -1, NULL);
  char *pfile = g_build_filename(dir, "p.json", NULL);
  char *ptext = g_strdup_printf("{\"models\": {\"m\": \"%s\"}, \"steps\": [{\"name\": \"c\", "
                                "\"plugin\": \"classification\", \"model\": \"m\"}]}", model);
  g_file_set_contents(pfile, ptext, -1, NULL);
  nlp_test_run r = nlp_test_run_nlpipe("hello\n", (const char *const[]){"run", pfile, NULL});
  CU_ASSERT_NOT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not a *ForSequenceClassification model"));
  if (!strstr(r.err, "ForSequenceClassification")) fprintf(stderr, "\n%s\n", r.err);
  nlp_test_run_clear(&r);
  char *rm = g_strdup_printf("rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(rm), 0);
  g_free(rm);
  g_free(ptext);
  g_free(pfile);
  g_free(dst);
  g_free(bare);
  g_strfreev(parts);
  g_free(t);
  g_free(cfg);
  g_free(model);
  g_free(cwd);
  g_free(dir);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("classification plugin", NULL, NULL);
  CU_add_test(s, "HF oracle cases and logits vs PyTorch", test_oracle_cases);
  CU_add_test(s, "bad options refused at validation", test_bad_options);
  CU_add_test(s, "a model without a head is refused", test_no_head_refused);
}

int main(void) { return nlp_test_main(register_suites); }
