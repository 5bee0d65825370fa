/* harness.h — shared scaffolding for the CUnit suites.
 *
 * Each tests/test-<module>.c defines its suites with CUnit and ends with
 *   int main(void) { return nlp_test_main(register_suites); }
 * where register_suites() adds its CU_pSuite/CU_add_test calls.
 * Tests run from the repository root (tests/run-tests.sh takes care of it). */
#ifndef NLP_TESTS_HARNESS_H
#define NLP_TESTS_HARNESS_H

#include <CUnit/CUnit.h>
#include <stdbool.h>

/* Runs the registered suites in verbose mode; returns 0 if all passed. */
int nlp_test_main(void (*register_suites)(void));

/* Absolute path of a file under the shared data tree (NLPIPE_SHARED_DATA, default
 * ../shared/data), or NULL when it is absent: the caller then skips with
 * NLP_TEST_SKIP. Newly allocated; g_free it. */
char *nlp_test_shared_path(const char *relative);

/* Path of a built artefact, e.g. nlp_test_build_path("plugins/libnlpipe-x.so"),
 * under NLPIPE_BUILD_DIR (default build/asan). Newly allocated; g_free it. */
char *nlp_test_build_path(const char *relative);

/* The descriptor of a built plugin, e.g. nlp_test_plugin("plugins/libnlpipe-qa.so"),
 * dlopen()ed under the build dir and left loaded for the process (dlopen of the same
 * file again returns the same handle); fails the test fatally when it cannot load. */
const struct nlp_plugin_desc *nlp_test_plugin(const char *relative);

/* Reads a whole file into a NUL-terminated buffer (g_free it); fails the test if
 * it cannot. */
char *nlp_test_read_file(const char *path, size_t *len);

/* Marks the current test as skipped (prints why) without failing it. */
#define NLP_TEST_SKIP(why) \
  do { fprintf(stderr, "  [skipped: %s] ", (why)); return; } while (0)

#endif
