/* The plugin registry against real tiny plugins (tests/plugins/), a good one,
 * a wrong ABI, a missing descriptor symbol, a failing init, a duplicate name, and
 * a file that is not a shared object at all. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pipeline/registry.h"
#include "support/harness.h"
#include "util/error.h"

static char *plugin_file(const char *name) {
  char *rel = g_strdup_printf("tests/plugins/%s.so", name);
  char *p = nlp_test_build_path(rel);
  g_free(rel);
  return p;
}

/* Loads one file into a fresh registry; returns the error message or NULL. */
static char *load_error(const char *name, int *code) {
  nlp_registry *reg = nlp_registry_new();
  char *file = plugin_file(name);
  GError *err = NULL;
  gboolean ok = nlp_registry_load_file(reg, file, &err);
  char *msg = NULL;
  if (!ok) {
    msg = g_strdup(err->message);
    if (code) *code = err->code;
    g_error_free(err);
  }
  g_free(file);
  nlp_registry_free(reg);
  return msg;
}

static void test_good_plugin_loads(void) {
  nlp_registry *reg = nlp_registry_new();
  char *file = plugin_file("good");
  GError *err = NULL;
  CU_ASSERT_TRUE(nlp_registry_load_file(reg, file, &err));
  CU_ASSERT_PTR_NULL(err);
  const nlp_plugin *p = nlp_registry_find(reg, "test-good");
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  CU_ASSERT_STRING_EQUAL(p->desc->version, "1.2.3");
  CU_ASSERT_STRING_EQUAL(p->desc->task, "test");
  CU_ASSERT_EQUAL(p->desc->n_options, 8);
  CU_ASSERT_STRING_EQUAL(p->path, file);
  CU_ASSERT_PTR_NULL(nlp_registry_find(reg, "no-such-plugin"));
  g_free(file);
  nlp_registry_free(reg);
}

static void test_wrong_abi_names_both_versions(void) {
  int code = -1;
  char *msg = load_error("wrong-abi", &code);
  CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
  CU_ASSERT_EQUAL(code, NLP_ERROR_PLUGIN_ABI);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "wrong-abi.so"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "ABI 99.3"));
  char *ours = g_strdup_printf("ABI %u.%u", NLP_PLUGIN_ABI_MAJOR, NLP_PLUGIN_ABI_MINOR);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, ours));
  g_free(ours);
  g_free(msg);
}

static void test_missing_symbol(void) {
  int code = -1;
  char *msg = load_error("missing-symbol", &code);
  CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
  CU_ASSERT_EQUAL(code, NLP_ERROR_PLUGIN);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "missing-symbol.so"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "missing symbol nlp_plugin_get_descriptor"));
  g_free(msg);
}

static void test_failing_init_shows_reason(void) {
  char *msg = load_error("failing-init", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "failing-init.so"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "init of 'test-failing-init' failed"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "needs a GPU it cannot find"));
  g_free(msg);
}

static void test_not_a_shared_object(void) {
  char *dir = g_dir_make_tmp("nlpipe-reg-XXXXXX", NULL);
  char *file = g_build_filename(dir, "bogus.so", NULL);
  CU_ASSERT_TRUE(g_file_set_contents(file, "this is text, not ELF\n", -1, NULL));
  nlp_registry *reg = nlp_registry_new();
  GError *err = NULL;
  CU_ASSERT_FALSE(nlp_registry_load_file(reg, file, &err));
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "bogus.so"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "not a plugin"));
  g_error_free(err);
  nlp_registry_free(reg);
  g_unlink(file);
  g_rmdir(dir);
  g_free(file);
  g_free(dir);
}

/* Scanning the folder of test plugins: the good ones load, each bad one is kept
 * as a problem naming its file, and the later duplicate name is refused. */
static void test_scan_folder_collects_problems(void) {
  char *dir = nlp_test_build_path("tests/plugins");
  nlp_registry *reg = nlp_registry_new();
  nlp_registry_add_path(reg, dir);
  const GPtrArray *plugins = nlp_registry_plugins(reg);
  CU_ASSERT_EQUAL(plugins->len, 2); /* test-good, test-needs-entities */
  const nlp_plugin *good = nlp_registry_find(reg, "test-good");
  CU_ASSERT_PTR_NOT_NULL_FATAL(good);
  CU_ASSERT_STRING_EQUAL(good->desc->version, "1.2.3"); /* good.so sorts first */
  const GPtrArray *problems = nlp_registry_problems(reg);
  CU_ASSERT_EQUAL(problems->len, 4);
  gboolean dup = FALSE, abi = FALSE, sym = FALSE, init = FALSE;
  for (guint i = 0; i < problems->len; i++) {
    const char *m = problems->pdata[i];
    dup |= strstr(m, "zz-duplicate.so") && strstr(m, "duplicate plugin name 'test-good'") &&
           strstr(m, "good.so");
    abi |= strstr(m, "wrong-abi.so") != NULL;
    sym |= strstr(m, "missing-symbol.so") != NULL;
    init |= strstr(m, "failing-init.so") != NULL;
  }
  CU_ASSERT_TRUE(dup && abi && sym && init);
  nlp_registry_free(reg);
  g_free(dir);
}

/* --plugin-path comes before NLPIPE_PLUGIN_PATH, which comes before defaults. */
static void test_search_order(void) {
  g_setenv("NLPIPE_PLUGIN_PATH", "/env/one:/env/two", TRUE);
  nlp_registry *reg = nlp_registry_new();
  nlp_registry_add_path(reg, "/cli/a:/cli/b");
  nlp_registry_add_default_paths(reg);
  const GPtrArray *sp = nlp_registry_search_path(reg);
  CU_ASSERT_TRUE_FATAL(sp->len >= 5);
  CU_ASSERT_STRING_EQUAL(sp->pdata[0], "/cli/a");
  CU_ASSERT_STRING_EQUAL(sp->pdata[1], "/cli/b");
  CU_ASSERT_STRING_EQUAL(sp->pdata[2], "/env/one");
  CU_ASSERT_STRING_EQUAL(sp->pdata[3], "/env/two");
  CU_ASSERT_TRUE(g_str_has_suffix(sp->pdata[4], "/plugins"));
  CU_ASSERT_STRING_EQUAL(sp->pdata[sp->len - 1], NLPIPE_PLUGIN_INSTALL_DIR);
  nlp_registry_free(reg);
  g_unsetenv("NLPIPE_PLUGIN_PATH");
}

/* The same file reached twice is loaded once, not reported as a duplicate. */
static void test_same_file_twice(void) {
  char *file = plugin_file("good");
  nlp_registry *reg = nlp_registry_new();
  char *list = g_strdup_printf("%s:%s", file, file);
  nlp_registry_add_path(reg, list);
  CU_ASSERT_EQUAL(nlp_registry_plugins(reg)->len, 1);
  CU_ASSERT_EQUAL(nlp_registry_problems(reg)->len, 0);
  nlp_registry_free(reg);
  g_free(list);
  g_free(file);
}

static void register_suites(void) {
  CU_pSuite s = CU_add_suite("registry", NULL, NULL);
  CU_add_test(s, "good plugin loads", test_good_plugin_loads);
  CU_add_test(s, "wrong ABI names both versions", test_wrong_abi_names_both_versions);
  CU_add_test(s, "missing descriptor symbol", test_missing_symbol);
  CU_add_test(s, "failing init shows the reason", test_failing_init_shows_reason);
  CU_add_test(s, "not a shared object", test_not_a_shared_object);
  CU_add_test(s, "scan collects problems and duplicates", test_scan_folder_collects_problems);
  CU_add_test(s, "search order", test_search_order);
  CU_add_test(s, "same file twice", test_same_file_twice);
}

int main(void) { return nlp_test_main(register_suites); }
