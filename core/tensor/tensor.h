/* tensor.h — the f32 tensor view the model code computes with, and on-disk dtypes.
 *
 * An nlp_tensor never owns its data: `data` points into a memory-mapped
 * safetensors file (f32 on disk, used in place) or into an arena owned by the
 * model (f16/bf16 converted once at load). Both live as long as the nlp_model. */
#ifndef NLP_TENSOR_TENSOR_H
#define NLP_TENSOR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define NLP_TENSOR_MAX_DIMS 8

typedef enum {
  NLP_DTYPE_F64, NLP_DTYPE_F32, NLP_DTYPE_F16, NLP_DTYPE_BF16,
  NLP_DTYPE_I64, NLP_DTYPE_I32, NLP_DTYPE_I16, NLP_DTYPE_I8, NLP_DTYPE_U8, NLP_DTYPE_BOOL,
  NLP_DTYPE_INVALID
} nlp_dtype;

/* "F32" -> NLP_DTYPE_F32 ...; NLP_DTYPE_INVALID for anything else. */
nlp_dtype nlp_dtype_from_name(const char *name);
const char *nlp_dtype_name(nlp_dtype dtype);
size_t nlp_dtype_size(nlp_dtype dtype); /* bytes per element, 0 for INVALID */

typedef struct nlp_tensor {
  const char *name;  /* HF name, borrowed from the owner */
  int ndim;
  int64_t shape[NLP_TENSOR_MAX_DIMS];
  size_t numel;
  const float *data; /* row-major, contiguous, f32 */
} nlp_tensor;

/* Converts N f16 / bf16 values (little-endian on disk) to f32. SRC may be unaligned. */
void nlp_convert_f16_to_f32(const void *src, float *dst, size_t n);
void nlp_convert_bf16_to_f32(const void *src, float *dst, size_t n);

#endif
