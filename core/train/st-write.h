/* st-write.h — writing .safetensors files (heads, unfrozen backbones, checkpoints).
 *
 * Tensors are written in the order given, F32 or F16 (round to nearest even), the
 * header padded with spaces to a multiple of 8 bytes as the Rust crate does, and
 * the file replaced atomically (written to PATH.tmp, then renamed). */
#ifndef NLP_TRAIN_ST_WRITE_H
#define NLP_TRAIN_ST_WRITE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "tensor/tensor.h"

typedef struct nlp_st_item {
  const char *name;
  const float *data;
  int ndim;
  size_t shape[4];
} nlp_st_item;

/* DTYPE is NLP_DTYPE_F32 or NLP_DTYPE_F16. METADATA (string pairs key, value,
 * NULL-terminated) may be NULL. */
bool nlp_safetensors_write(const char *path, const nlp_st_item *items, size_t n, nlp_dtype dtype,
                           const char *const *metadata, GError **error);

#endif
