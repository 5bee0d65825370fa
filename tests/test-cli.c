/* End to end through the real `nlpipe` binary: the entity-ruler pipeline against a
 * hand-checked expected file, on_error policies, command-line overrides, exit
 * statuses, and the plugins / inspect / validate / --help commands. */
#include <glib.h>
#include <json-c/json.h>
#include <glib/gstdio.h>
#include <string.h>

#include "support/harness.h"
#include "support/nlpipe-run.h"

static char *test_plugins(void) { return nlp_test_build_path("tests/plugins"); }

static void test_entity_ruler_end_to_end(void) {
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"run", "pipelines/entity-ruler.json", NULL});
  char *expected = nlp_test_read_file("tests/fixtures/entity-ruler/expected.jsonl", NULL);
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_STRING_EQUAL(r.out, expected);
  if (strcmp(r.out, expected)) fprintf(stderr, "\n--- got:\n%s\n--- stderr:\n%s\n", r.out, r.err);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "11 records, 11 ok, 0 failed"));
  g_free(expected);
  nlp_test_run_clear(&r);
}

/* The same pipeline fed through --input - and --batch-size 1 gives the same lines. */
static void test_overrides_same_output(void) {
  char *input = nlp_test_read_file("pipelines/samples/entity-ruler/input.txt", NULL);
  char *expected = nlp_test_read_file("tests/fixtures/entity-ruler/expected.jsonl", NULL);
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *out = g_build_filename(dir, "out.jsonl", NULL);
  nlp_test_run r = nlp_test_run_nlpipe(
      input, (const char *const[]){"run", "pipelines/entity-ruler.json", "--input", "-", "--output",
                                   out, "--batch-size", "1", "--threads", "1", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_STRING_EQUAL(r.out, "");
  char *written = nlp_test_read_file(out, NULL);
  CU_ASSERT_STRING_EQUAL(written, expected);
  g_free(written);
  nlp_test_run_clear(&r);
  g_unlink(out);
  g_rmdir(dir);
  g_free(out);
  g_free(dir);
  g_free(expected);
  g_free(input);
}

static const char *const mixed_input = "alpha\n"
                                       "FAILME please\n"
                                       "\n"
                                       "bad \xff byte\n"
                                       "omega\n";

static char *write_pipeline(const char *dir, const char *extra) {
  char *file = g_build_filename(dir, "p.json", NULL);
  char *json = g_strdup_printf("{\"steps\":[{\"name\":\"cased\",\"plugin\":\"test-good\"}],"
                               "\"input\":{\"format\":\"text\",\"path\":\"-\"}%s}",
                               extra);
  CU_ASSERT_TRUE(g_file_set_contents(file, json, -1, NULL));
  g_free(json);
  return file;
}

static void test_on_error_skip(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *pipeline = write_pipeline(dir, "");
  char *plugins = test_plugins();
  nlp_test_run r =
      nlp_test_run_nlpipe(mixed_input, (const char *const[]){"run", pipeline, "--plugin-path",
                                                             plugins, "--batch-size", "2", NULL});
  CU_ASSERT_EQUAL(r.status, 1); /* some records failed */
  char **lines = g_strsplit(r.out, "\n", -1);
  CU_ASSERT_EQUAL_FATAL(g_strv_length(lines), 6); /* 5 records + the empty tail */
  CU_ASSERT_STRING_EQUAL(lines[0], "{\"text\":\"alpha\",\"cased\":\"ALPHA\"}");
  CU_ASSERT_STRING_EQUAL(lines[1], "{\"text\":\"FAILME please\",\"error\":\"step \\\"cased\\\": "
                                   "asked to fail\"}");
  CU_ASSERT_STRING_EQUAL(lines[2], "{\"text\":\"\",\"error\":\"line 3: field \\\"text\\\" is "
                                   "empty\"}");
  CU_ASSERT_STRING_EQUAL(lines[3], "{\"text\":\"bad \xef\xbf\xbd byte\",\"error\":\"line 4: "
                                   "invalid UTF-8 at byte 4\"}");
  CU_ASSERT_STRING_EQUAL(lines[4], "{\"text\":\"omega\",\"cased\":\"OMEGA\"}");
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "5 records, 2 ok, 3 failed"));
  g_strfreev(lines);
  nlp_test_run_clear(&r);
  g_unlink(pipeline);
  g_rmdir(dir);
  g_free(plugins);
  g_free(pipeline);
  g_free(dir);
}

static void test_on_error_quarantine(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *pipeline = write_pipeline(
      dir, ",\"on_error\":\"quarantine\",\"output\":{\"reject_path\":\"rejects.jsonl\"}");
  char *rejects = g_build_filename(dir, "rejects.jsonl", NULL);
  char *plugins = test_plugins();
  nlp_test_run r = nlp_test_run_nlpipe(
      mixed_input, (const char *const[]){"run", pipeline, "--plugin-path", plugins, NULL});
  CU_ASSERT_EQUAL(r.status, 1);
  CU_ASSERT_STRING_EQUAL(r.out, "{\"text\":\"alpha\",\"cased\":\"ALPHA\"}\n"
                                "{\"text\":\"omega\",\"cased\":\"OMEGA\"}\n");
  char *rej = nlp_test_read_file(rejects, NULL);
  char **lines = g_strsplit(rej, "\n", -1);
  CU_ASSERT_EQUAL(g_strv_length(lines), 4);
  CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "\"line\":2"));
  CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "\"line\":3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(lines[2], "\"line\":4"));
  g_strfreev(lines);
  g_free(rej);
  nlp_test_run_clear(&r);
  g_unlink(rejects);
  g_unlink(pipeline);
  g_rmdir(dir);
  g_free(rejects);
  g_free(plugins);
  g_free(pipeline);
  g_free(dir);
}

static void test_on_error_fail(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *pipeline = write_pipeline(dir, ",\"on_error\":\"fail\"");
  char *plugins = test_plugins();
  nlp_test_run r =
      nlp_test_run_nlpipe(mixed_input, (const char *const[]){"run", pipeline, "--plugin-path",
                                                             plugins, "--batch-size", "1", NULL});
  CU_ASSERT_EQUAL(r.status, 1);
  CU_ASSERT_STRING_EQUAL(r.out, "{\"text\":\"alpha\",\"cased\":\"ALPHA\"}\n");
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "record 2 (input line 2)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "stopped: on_error=fail"));
  nlp_test_run_clear(&r);
  g_unlink(pipeline);
  g_rmdir(dir);
  g_free(plugins);
  g_free(pipeline);
  g_free(dir);
}

/* A step that fails a whole batch fails only that batch's records. */
static void test_failed_batch_keeps_others(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *pipeline = write_pipeline(dir, "");
  char *plugins = test_plugins();
  nlp_test_run r = nlp_test_run_nlpipe(
      "one\ntwo BATCHFAIL\nthree\nfour\n",
      (const char *const[]){"run", pipeline, "--plugin-path", plugins, "--batch-size", "2", NULL});
  CU_ASSERT_EQUAL(r.status, 1);
  char **lines = g_strsplit(r.out, "\n", -1);
  CU_ASSERT_EQUAL_FATAL(g_strv_length(lines), 5);
  CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "failed on this batch"));
  CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "failed on this batch"));
  CU_ASSERT_STRING_EQUAL(lines[2], "{\"text\":\"three\",\"cased\":\"THREE\"}");
  CU_ASSERT_STRING_EQUAL(lines[3], "{\"text\":\"four\",\"cased\":\"FOUR\"}");
  g_strfreev(lines);
  nlp_test_run_clear(&r);
  g_unlink(pipeline);
  g_rmdir(dir);
  g_free(plugins);
  g_free(pipeline);
  g_free(dir);
}

/* A run stopped part-way (here by on_error "fail" on record 5, after a partial
 * batch was written) resumes from its checkpoint: the final output equals an
 * uninterrupted run's, with no record lost or repeated. */
static void test_resume_after_stop(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *input = g_build_filename(dir, "in.txt", NULL);
  char *out = g_build_filename(dir, "out.jsonl", NULL);
  char *ckpt = g_build_filename(dir, "out.jsonl.ckpt", NULL);
  char *fresh = g_build_filename(dir, "fresh.jsonl", NULL);
  g_file_set_contents(input, "r1\nr2\nr3\nr4\nFAILME r5\nr6\nr7\nr8\nr9\nr10\n", -1, NULL);
  char *stop = write_pipeline(dir, ",\"on_error\":\"fail\"");
  char *plugins = test_plugins();
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"run", stop, "--plugin-path", plugins, "--input", input,
                                  "--output", out, "--batch-size", "3", NULL});
  CU_ASSERT_EQUAL(r.status, 1);
  CU_ASSERT_TRUE(g_file_test(ckpt, G_FILE_TEST_EXISTS));
  char *partial = nlp_test_read_file(out, NULL);
  CU_ASSERT_PTR_NOT_NULL(strstr(partial, "R4")); /* part of the stopped batch */
  g_free(partial);
  nlp_test_run_clear(&r);
  g_free(stop);
  char *skip = write_pipeline(dir, "");
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"run", skip, "--plugin-path", plugins,
                                                      "--input", input, "--output", out,
                                                      "--batch-size", "3", "--resume", NULL});
  CU_ASSERT_EQUAL(r.status, 1); /* record 5 failed, reported, the rest done */
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "resumed after record 3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "10 records, 9 ok, 1 failed"));
  CU_ASSERT_FALSE(g_file_test(ckpt, G_FILE_TEST_EXISTS));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"run", skip, "--plugin-path", plugins,
                                                      "--input", input, "--output", fresh, NULL});
  char *a = nlp_test_read_file(out, NULL), *b = nlp_test_read_file(fresh, NULL);
  CU_ASSERT_STRING_EQUAL(a, b);
  g_free(a);
  g_free(b);
  nlp_test_run_clear(&r);
  const char *files[] = {input, out, fresh, skip};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
    g_unlink(files[i]);
  g_rmdir(dir);
  g_free(skip);
  g_free(plugins);
  g_free(fresh);
  g_free(ckpt);
  g_free(out);
  g_free(input);
  g_free(dir);
}

static void test_validate_exit_status(void) {
  char *dir = g_dir_make_tmp("nlpipe-cli-XXXXXX", NULL);
  char *file = g_build_filename(dir, "bad.json", NULL);
  g_file_set_contents(file,
                      "{\"steps\":[{\"name\":\"x\",\"plugin\":\"test-good\","
                      "\"options\":{\"top_k\":\"3\"}}]}",
                      -1, NULL);
  char *plugins = test_plugins();
  nlp_test_run r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"validate", file, "--plugin-path", plugins, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "steps[0].options.top_k: expected integer >= 1, got \"3\""));
  nlp_test_run_clear(&r);
  /* run refuses the same file the same way, before reading any input */
  r = nlp_test_run_nlpipe("text\n",
                          (const char *const[]){"run", file, "--plugin-path", plugins, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_STRING_EQUAL(r.out, "");
  nlp_test_run_clear(&r);
  g_file_set_contents(file, "{\"steps\": [\n  {\"name\": \"x\"\n  \"plugin\": 1}]}", -1, NULL);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"validate", file, NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "bad.json:3:3: malformed JSON"));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL,
                          (const char *const[]){"validate", "pipelines/entity-ruler.json", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  nlp_test_run_clear(&r);
  g_unlink(file);
  g_rmdir(dir);
  g_free(plugins);
  g_free(file);
  g_free(dir);
}

static void test_plugins_and_inspect(void) {
  char *plugins = test_plugins();
  nlp_test_run r =
      nlp_test_run_nlpipe(NULL, (const char *const[]){"plugins", "--plugin-path", plugins, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "test-good"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "1.2.3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "entity-ruler")); /* the default folder follows */
  CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "wrong-abi.so"));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(
      NULL, (const char *const[]){"inspect", "test-good", "--plugin-path", plugins, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Upper- or lower-cases text"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "top_k\n      type: integer >= 1\n      default: 1"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "type: one of \"upper\", \"lower\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "threshold\n      type: number in [0, 1]"));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"inspect", "entity-ruler", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "patterns"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(required)"));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"inspect", "no-such", NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  nlp_test_run_clear(&r);
  g_free(plugins);
}

/* The bundled pipelines run end to end on the bundled model and heads: exit 0, one
 * output line per input record, each with every step's key (and no error). */
static void check_bundled(const char *pipeline, const char *input, const char *const *keys) {
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"run", pipeline, NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  if (r.status) fprintf(stderr, "\n%s: %s\n", pipeline, r.err);
  char *in = nlp_test_read_file(input, NULL);
  char **in_lines = g_strsplit(in, "\n", -1), **out_lines = g_strsplit(r.out, "\n", -1);
  guint n_in = g_strv_length(in_lines) - (in[0] && in[strlen(in) - 1] == '\n');
  CU_ASSERT_EQUAL(g_strv_length(out_lines) - 1, n_in);
  for (guint i = 0; out_lines[i] && *out_lines[i]; i++) {
    json_object *o = json_tokener_parse(out_lines[i]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_FALSE(json_object_object_get_ex(o, "error", NULL));
    for (const char *const *k = keys; *k; k++) {
      json_object *v = NULL;
      CU_ASSERT_TRUE(json_object_object_get_ex(o, *k, &v) && v);
    }
    json_object_put(o);
  }
  g_strfreev(in_lines);
  g_strfreev(out_lines);
  g_free(in);
  nlp_test_run_clear(&r);
}

static void test_bundled_pipelines(void) {
  if (!g_file_test("models/nlpipe-bert-mini/heads/sentiment-ft/head.json", G_FILE_TEST_EXISTS))
    NLP_TEST_SKIP("the bundled heads are not there");
  check_bundled("pipelines/default.json", "pipelines/samples/default/input.txt",
                (const char *const[]){"sentiment", "entities", "summary", NULL});
  check_bundled("pipelines/classify.json", "pipelines/samples/classify/input.jsonl",
                (const char *const[]){"sentiment", "subjectivity", NULL});
  check_bundled("pipelines/qa.json", "pipelines/samples/qa/input.jsonl",
                (const char *const[]){"answer", NULL});
  check_bundled("pipelines/ner.json", "pipelines/samples/ner/input.txt",
                (const char *const[]){"rules", "entities", NULL});
}

static void test_help(void) {
  nlp_test_run r = nlp_test_run_nlpipe(NULL, (const char *const[]){"--help", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "run"));
  CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "inspect"));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"run", "--help", NULL});
  CU_ASSERT_EQUAL(r.status, 0);
  const char *opts[] = {"--input", "--output", "--threads", "--batch-size", "--plugin-path"};
  for (size_t i = 0; i < G_N_ELEMENTS(opts); i++)
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, opts[i]));
  nlp_test_run_clear(&r);
  r = nlp_test_run_nlpipe(NULL, (const char *const[]){"frobnicate", NULL});
  CU_ASSERT_EQUAL(r.status, 2);
  nlp_test_run_clear(&r);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("nlpipe CLI", NULL, NULL);
  CU_add_test(s, "entity-ruler pipeline end to end", test_entity_ruler_end_to_end);
  CU_add_test(s, "--input/--output/--batch-size overrides", test_overrides_same_output);
  CU_add_test(s, "on_error skip", test_on_error_skip);
  CU_add_test(s, "on_error quarantine", test_on_error_quarantine);
  CU_add_test(s, "on_error fail", test_on_error_fail);
  CU_add_test(s, "a failed batch keeps the others", test_failed_batch_keeps_others);
  CU_add_test(s, "resume after a stopped run", test_resume_after_stop);
  CU_add_test(s, "validate and exit statuses", test_validate_exit_status);
  CU_add_test(s, "plugins and inspect", test_plugins_and_inspect);
  CU_add_test(s, "--help", test_help);
  CU_add_test(s, "bundled pipelines run", test_bundled_pipelines);
}

int main(void) { return nlp_test_main(register_suites); }
