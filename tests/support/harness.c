#include "harness.h"

#include <CUnit/Basic.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

int nlp_test_main(void (*register_suites)(void)) {
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  register_suites();
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  unsigned ran = CU_get_number_of_tests_run();
  CU_cleanup_registry();
  if (ran == 0) return 1; /* a suite that runs nothing is a broken suite */
  return failed ? 1 : 0;
}

char *nlp_test_shared_path(const char *relative) {
  const char *root = g_getenv("NLPIPE_SHARED_DATA");
  char *path = root ? g_build_filename(root, relative, NULL)
                    : g_build_filename("..", "shared", "data", relative, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_free(path);
    return NULL;
  }
  return path;
}

char *nlp_test_build_path(const char *relative) {
  const char *root = g_getenv("NLPIPE_BUILD_DIR");
  return g_build_filename(root ? root : "build/asan", relative, NULL);
}

char *nlp_test_read_file(const char *path, size_t *len) {
  char *data = NULL;
  gsize n = 0;
  GError *err = NULL;
  if (!g_file_get_contents(path, &data, &n, &err)) {
    fprintf(stderr, "%s\n", err->message);
    g_error_free(err);
    CU_FAIL_FATAL("cannot read test file");
    return NULL;
  }
  if (len) *len = n;
  return data;
}
