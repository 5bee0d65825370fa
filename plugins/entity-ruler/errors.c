/* errors.c — malloc()ed error messages (see errors.h for why not g_malloc). */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

char *er_error_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *out = NULL;
  if (vasprintf(&out, fmt, ap) < 0)
    out = NULL;
  va_end(ap);
  return out;
}

void er_error_prefix(char **error, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *prefix = NULL;
  if (vasprintf(&prefix, fmt, ap) < 0)
    prefix = NULL;
  va_end(ap);
  char *joined = er_error_printf("%s: %s", prefix ? prefix : "?", *error ? *error : "error");
  free(prefix);
  free(*error);
  *error = joined;
}
