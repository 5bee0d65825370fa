/* error.h — the one GError domain of nlpipe and its codes.
 *
 * Load, parse and build functions take `GError **error` (GLib convention: NULL-able,
 * set only on failure, caller frees with g_error_free). Messages name the file, line
 * or JSON path and what was expected. Hot loops return nlp_status instead. */
#ifndef NLP_UTIL_ERROR_H
#define NLP_UTIL_ERROR_H

#include <glib.h>

#define NLP_ERROR (nlp_error_quark())
GQuark nlp_error_quark(void);

typedef enum {
  NLP_ERROR_FAILED,        /* anything without a better code */
  NLP_ERROR_IO,            /* open/read/write/mmap of a file */
  NLP_ERROR_PARSE,         /* malformed JSON or other syntax */
  NLP_ERROR_CONFIG,        /* a well-formed file with a wrong value (pipeline, config.json) */
  NLP_ERROR_PLUGIN,        /* not a plugin, missing symbol, init failure, duplicate */
  NLP_ERROR_PLUGIN_ABI,    /* ABI major mismatch */
  NLP_ERROR_MODEL,         /* unsupported or corrupt model / tokenizer / safetensors */
  NLP_ERROR_INPUT,         /* a bad input record */
  NLP_ERROR_UNSUPPORTED,   /* valid but not implemented (architecture, component) */
} NlpErrorCode;

#endif
