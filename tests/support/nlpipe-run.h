/* nlpipe-run.h — runs the real `nlpipe` binary under test (NLPIPE_BUILD_DIR/nlpipe)
 * from a suite, as tests/test-cli.c does, for the task-plugin suites. */
#ifndef NLP_TESTS_NLPIPE_RUN_H
#define NLP_TESTS_NLPIPE_RUN_H

typedef struct {
  char *out;  /* stdout, g_free()d by nlp_test_run_clear */
  char *err;  /* stderr */
  int status; /* exit status, 128 when killed */
} nlp_test_run;

/* Runs nlpipe with `args` (NULL-terminated) and `input` on stdin (empty when NULL). */
nlp_test_run nlp_test_run_nlpipe(const char *input, const char *const *args);
void nlp_test_run_clear(nlp_test_run *r);

#endif
