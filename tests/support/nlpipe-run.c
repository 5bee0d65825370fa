#include "nlpipe-run.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

nlp_test_run nlp_test_run_nlpipe(const char *input, const char *const *args) {
  char *exe = nlp_test_build_path("nlpipe");
  char *in_file = NULL;
  nlp_test_run r = {0};
  int fd = g_file_open_tmp("nlpipe-stdin-XXXXXX", &in_file, NULL);
  CU_ASSERT_TRUE(fd >= 0);
  if (fd >= 0) close(fd);
  CU_ASSERT_TRUE(g_file_set_contents(in_file, input ? input : "", -1, NULL));
  GPtrArray *argv = g_ptr_array_new();
  /* sh only redirects stdin; exec keeps nlpipe's own exit status. */
  g_ptr_array_add(argv, "/bin/sh");
  g_ptr_array_add(argv, "-c");
  g_ptr_array_add(argv, "f=$1; shift; exec \"$@\" < \"$f\"");
  g_ptr_array_add(argv, "sh");
  g_ptr_array_add(argv, in_file);
  g_ptr_array_add(argv, exe);
  for (const char *const *a = args; *a; a++) g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  GError *err = NULL;
  int wait_status = 0;
  CU_ASSERT_TRUE(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                              &r.out, &r.err, &wait_status, &err));
  CU_ASSERT_PTR_NULL(err);
  g_clear_error(&err);
  if (!r.out) r.out = g_strdup("");
  if (!r.err) r.err = g_strdup("");
  r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128;
  g_ptr_array_free(argv, TRUE);
  g_unlink(in_file);
  g_free(in_file);
  g_free(exe);
  return r;
}

void nlp_test_run_clear(nlp_test_run *r) {
  g_free(r->out);
  g_free(r->err);
  r->out = r->err = NULL;
}
