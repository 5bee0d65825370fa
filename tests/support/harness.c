#include "harness.h"

#include <CUnit/Basic.h>
#include <dlfcn.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nlpipe/plugin.h"

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

const nlp_plugin_desc *nlp_test_plugin(const char *relative) {
  char *so = nlp_test_build_path(relative);
  void *handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!handle) fprintf(stderr, "%s\n", dlerror());
  g_free(so);
  CU_ASSERT_PTR_NOT_NULL_FATAL(handle);
  nlp_plugin_get_descriptor_fn entry =
      (nlp_plugin_get_descriptor_fn)(uintptr_t)dlsym(handle, NLP_PLUGIN_DESCRIPTOR_SYMBOL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(entry);
  return entry();
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
