#include "pipeline/doc.h"

#include <glib.h>
#include <string.h>

void nlp_doc_clear(nlp_doc *doc) {
  if (!doc) return;
  json_object_put(doc->record);
  json_object_put(doc->results);
  g_free(doc->error);
  memset(doc, 0, sizeof *doc);
}

void nlp_doc_fail(nlp_doc *doc, const char *fmt, ...) {
  if (doc->error) return; /* the first reason is the useful one */
  va_list ap;
  va_start(ap, fmt);
  doc->error = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}
