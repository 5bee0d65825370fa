/* doc.h — one record flowing through a pipeline run.
 *
 * A document owns its input record (a JSON object), the results the steps store
 * on it, and, once anything went wrong with it, an error message. A document with
 * an error is never handed to later steps, and is written per the on_error policy. */
#ifndef NLP_PIPELINE_DOC_H
#define NLP_PIPELINE_DOC_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct nlp_doc {
  size_t index;        /* 0-based record number in the input */
  size_t line;         /* 1-based line of the input it came from */
  json_object *record; /* the input record (owned); always an object */
  const char *text;    /* the text field inside record (borrowed), NULL on error */
  size_t text_len;     /* bytes */
  json_object *results; /* step name -> value, in step order (owned, lazily made) */
  char *error;         /* why the record failed (owned), NULL while it is fine */
} nlp_doc;

/* Frees what the document owns and zeroes it. */
void nlp_doc_clear(nlp_doc *doc);
/* Marks the document failed; keeps the first reason. printf-style. */
void nlp_doc_fail(nlp_doc *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
