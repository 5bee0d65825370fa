#include "pipeline/problems.h"

#include <string.h>

#include "util/error.h"

void nlp_problem_add(GPtrArray *problems, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(problems, g_strdup_printf("%s: %s", path, msg));
  g_free(msg);
}

void nlp_problem_expected(GPtrArray *problems, const char *path, const char *what,
                          json_object *value) {
  const char *got = value ? json_object_to_json_string_ext(
                                value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "null";
  /* Long values (a whole object given where a string was expected) are cut. */
  if (strlen(got) > 60)
    nlp_problem_add(problems, path, "expected %s, got %.57s...", what, got);
  else
    nlp_problem_add(problems, path, "expected %s, got %s", what, got);
}

gboolean nlp_problems_to_error(GPtrArray *problems, GError **error) {
  if (problems->len == 0) return TRUE;
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < problems->len; i++) {
    if (i) g_string_append_c(s, '\n');
    g_string_append(s, problems->pdata[i]);
  }
  g_set_error_literal(error, NLP_ERROR, NLP_ERROR_CONFIG, s->str);
  g_string_free(s, TRUE);
  return FALSE;
}
