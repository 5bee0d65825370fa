/* Pipeline validation: every kind of error names its JSON path and what was
 * expected, all problems of a file are reported together, and a good pipeline
 * comes back with its plugin resolved and option defaults filled in. */
#include <glib.h>
#include <string.h>

#include "pipeline/spec.h"
#include "support/harness.h"
#include "util/error.h"

static nlp_registry *test_registry(void) {
  nlp_registry *reg = nlp_registry_new();
  char *dir = nlp_test_build_path("tests/plugins");
  nlp_registry_add_path(reg, dir);
  g_free(dir);
  return reg;
}

/* Parses and validates `json` with base folder tests/fixtures/pipeline; returns
 * the error message (g_free) or NULL when valid. */
static char *check(const char *json, int *code) {
  GError *err = NULL;
  nlp_registry *reg = test_registry();
  nlp_pipeline_spec *spec = nlp_spec_parse(json, "p.json", "tests/fixtures/pipeline", &err);
  if (spec) nlp_spec_validate(spec, reg, &err);
  nlp_spec_free(spec);
  nlp_registry_free(reg);
  if (!err) return NULL;
  if (code) *code = err->code;
  char *msg = g_strdup(err->message);
  g_error_free(err);
  return msg;
}

#define STEP_GOOD "{\"name\":\"cased\",\"plugin\":\"test-good\""

static void expect_problem(const char *json, const char *needle) {
  char *msg = check(json, NULL);
  CU_ASSERT_PTR_NOT_NULL(msg);
  if (msg && !strstr(msg, needle)) {
    fprintf(stderr, "\n  expected \"%s\" in:\n%s\n", needle, msg);
    CU_FAIL("problem text not found");
  }
  g_free(msg);
}

static void test_valid_pipeline_fills_defaults(void) {
  const char *json = "{\"steps\":[" STEP_GOOD ",\"options\":{\"top_k\":3}}]}";
  GError *err = NULL;
  nlp_registry *reg = test_registry();
  nlp_pipeline_spec *spec = nlp_spec_parse(json, "p.json", "tests/fixtures/pipeline", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
  CU_ASSERT_TRUE(nlp_spec_validate(spec, reg, &err));
  CU_ASSERT_PTR_NULL(err);
  nlp_step_spec *st = spec->steps->pdata[0];
  CU_ASSERT_PTR_NOT_NULL_FATAL(st->plugin);
  CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(st->options, "top_k")), 3);
  CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(st->options, "mode")),
                         "upper");
  CU_ASSERT_DOUBLE_EQUAL(
      json_object_get_double(json_object_object_get(st->options, "threshold")), 0.5, 1e-12);
  CU_ASSERT_EQUAL(spec->batch_size, 32);
  CU_ASSERT_EQUAL(spec->on_error, NLP_ON_ERROR_SKIP);
  CU_ASSERT_STRING_EQUAL(spec->input.path, "-");
  nlp_spec_free(spec);
  nlp_registry_free(reg);
}

static void test_malformed_json_line_and_column(void) {
  int code = -1;
  char *msg = check("{\n  \"steps\": [\n    {\"name\": \"x\",,}\n  ]\n}\n", &code);
  CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
  CU_ASSERT_EQUAL(code, NLP_ERROR_PARSE);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "p.json:3:18: malformed JSON"));
  g_free(msg);
  msg = check("{\"steps\": []", &code);
  CU_ASSERT_PTR_NOT_NULL(msg && strstr(msg, "p.json:1:"));
  g_free(msg);
}

static void test_unknown_keys(void) {
  expect_problem("{\"steps\":[" STEP_GOOD "}], \"batchsize\": 3}",
                 "batchsize: unknown key (expected one of");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"optoins\":{}}]}", "steps[0].optoins: unknown key");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"input\":{\"fromat\":\"text\"}}",
                 "input.fromat: unknown key");
}

static void test_wrong_types(void) {
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"top_k\":\"3\"}}]}",
                 "steps[0].options.top_k: expected integer >= 1, got \"3\"");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"top_k\":0}}]}",
                 "steps[0].options.top_k: expected integer >= 1, got 0");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"threshold\":1.5}}]}",
                 "steps[0].options.threshold: expected number in [0, 1], got 1.5");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"mode\":\"title\"}}]}",
                 "steps[0].options.mode: expected one of \"upper\", \"lower\", got \"title\"");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"strict\":1}}]}",
                 "steps[0].options.strict: expected boolean, got 1");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"labels\":[\"a\",2]}}]}",
                 "steps[0].options.labels: expected array of strings, got [\"a\",2]");
  expect_problem("{\"steps\":{}}", "steps: expected an array of steps, got {}");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"batch_size\":0}",
                 "batch_size: expected integer >= 1, got 0");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"threads\":\"two\"}",
                 "threads: expected integer >= 0, got \"two\"");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"on_error\":\"ignore\"}",
                 "on_error: expected one of \"skip\", \"fail\", \"quarantine\", got \"ignore\"");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"input\":{\"format\":\"csv\"}}",
                 "input.format: expected one of \"text\", \"jsonl\", \"tsv\", got \"csv\"");
  expect_problem("[1,2]", "(top level): expected a JSON object, got [1,2]");
}

static void test_missing_things(void) {
  expect_problem("{}", "steps: required key missing");
  expect_problem("{\"steps\":[{\"plugin\":\"test-good\"}]}", "steps[0].name: required key missing");
  expect_problem("{\"models\":{\"m\":\"no/such/folder\"},\"steps\":[" STEP_GOOD "}]}",
                 "/tests/fixtures/pipeline/no/such/folder");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"model\":\"bert\"}]}",
                 "steps[0].model: no model named \"bert\" in \"models\"");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"input\":{\"path\":\"nope.txt\"}}",
                 "/tests/fixtures/pipeline/nope.txt");
  expect_problem("{\"steps\":[" STEP_GOOD "}],\"on_error\":\"quarantine\"}",
                 "output.reject_path: on_error \"quarantine\" needs a file");
}

static void test_unknown_plugin_and_option(void) {
  expect_problem("{\"steps\":[{\"name\":\"x\",\"plugin\":\"sentimnet\"}]}",
                 "steps[0].plugin: unknown plugin \"sentimnet\" (found: test-good");
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"topk\":2}}]}",
                 "steps[0].options.topk: unknown option for plugin 'test-good' (it takes: mode, "
                 "top_k,");
}

static void test_requires_chain(void) {
  expect_problem("{\"steps\":[" STEP_GOOD "},{\"name\":\"m\",\"plugin\":\"test-needs-entities\"}]}",
                 "steps[1].plugin: plugin 'test-needs-entities' requires \"entities\", which no "
                 "earlier step produces");
}

static void test_plugin_cross_option_check(void) {
  expect_problem("{\"steps\":[" STEP_GOOD ",\"options\":{\"window\":4,\"stride\":4}}]}",
                 "steps[0].options.stride: expected an integer < window");
}

static void test_duplicate_step_names(void) {
  expect_problem("{\"steps\":[" STEP_GOOD "}," STEP_GOOD "}]}",
                 "steps[1]: duplicate step name \"cased\"");
}

static void test_all_problems_reported_together(void) {
  char *msg = check("{\"steps\":[" STEP_GOOD ",\"options\":{\"top_k\":-1,\"mode\":3,\"x\":1}}]}",
                    NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "options.top_k"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "options.mode"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "options.x: unknown option"));
  g_free(msg);
}

static void test_overrides(void) {
  GError *err = NULL;
  nlp_pipeline_spec *spec = nlp_spec_parse(
      "{\"steps\":[" STEP_GOOD "}],\"input\":{\"path\":\"in.txt\"},\"batch_size\":4}", "p.json",
      "base", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
  CU_ASSERT_TRUE(g_path_is_absolute(spec->input.path));
  CU_ASSERT_TRUE(g_str_has_suffix(spec->input.path, "/base/in.txt"));
  nlp_spec_overrides ov = {"-", "out.jsonl", 7, 1};
  nlp_spec_apply_overrides(spec, &ov);
  CU_ASSERT_STRING_EQUAL(spec->input.path, "-");
  CU_ASSERT_STRING_EQUAL(spec->output_path, "out.jsonl");
  CU_ASSERT_EQUAL(spec->batch_size, 7);
  CU_ASSERT_EQUAL(spec->threads, 1);
  nlp_spec_free(spec);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("pipeline spec", NULL, NULL);
  CU_add_test(s, "valid pipeline fills defaults", test_valid_pipeline_fills_defaults);
  CU_add_test(s, "malformed JSON: line and column", test_malformed_json_line_and_column);
  CU_add_test(s, "unknown keys", test_unknown_keys);
  CU_add_test(s, "wrong types and ranges", test_wrong_types);
  CU_add_test(s, "missing keys, folders, files", test_missing_things);
  CU_add_test(s, "unknown plugin and option", test_unknown_plugin_and_option);
  CU_add_test(s, "requires chain", test_requires_chain);
  CU_add_test(s, "plugin cross-option check", test_plugin_cross_option_check);
  CU_add_test(s, "duplicate step names", test_duplicate_step_names);
  CU_add_test(s, "every problem reported", test_all_problems_reported_together);
  CU_add_test(s, "command-line overrides", test_overrides);
}

int main(void) { return nlp_test_main(register_suites); }
