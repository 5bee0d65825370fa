/* safetensors.h — a validated, memory-mapped view of one .safetensors file.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {...}}, then the data block; offsets are relative to it.
 * Nothing is copied: entry data points into a read-only private mapping that lives
 * until nlp_safetensors_free. Opening refuses (NLP_ERROR_MODEL, message naming the
 * file and the tensor) a header length past the end of file, bad JSON, an unknown
 * dtype, a shape whose element count does not match its byte range, a range outside
 * the data block (e.g. a truncated file) and two tensors whose bytes overlap. */
#ifndef NLP_TENSOR_SAFETENSORS_H
#define NLP_TENSOR_SAFETENSORS_H

#include <glib.h>
#include <stdbool.h>

#include "tensor/tensor.h"

typedef struct nlp_safetensors_entry {
  char *name;
  nlp_dtype dtype;
  int ndim;
  int64_t shape[NLP_TENSOR_MAX_DIMS];
  size_t numel;
  const void *data; /* into the mapping; aligned only as the file aligns it */
  size_t nbytes;
} nlp_safetensors_entry;

typedef struct nlp_safetensors {
  char *path;
  size_t n_entries;
  nlp_safetensors_entry *entries; /* in header order */
  void *map;
  size_t map_size;
} nlp_safetensors;

/* Ownership: returns a new object; free with nlp_safetensors_free (NULL is a no-op). */
nlp_safetensors *nlp_safetensors_open(const char *path, GError **error);
void nlp_safetensors_free(nlp_safetensors *st);

/* Borrowed entry, NULL if absent (linear search: only used at load time). */
const nlp_safetensors_entry *nlp_safetensors_find(const nlp_safetensors *st, const char *name);

#endif
