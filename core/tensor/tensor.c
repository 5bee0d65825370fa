/* tensor.c — dtype names and the half-precision conversions done once at load. */
#include "tensor/tensor.h"

#include <string.h>

static const struct { const char *name; size_t size; } dtypes[] = {
    [NLP_DTYPE_F64] = {"F64", 8}, [NLP_DTYPE_F32] = {"F32", 4}, [NLP_DTYPE_F16] = {"F16", 2},
    [NLP_DTYPE_BF16] = {"BF16", 2}, [NLP_DTYPE_I64] = {"I64", 8}, [NLP_DTYPE_I32] = {"I32", 4},
    [NLP_DTYPE_I16] = {"I16", 2}, [NLP_DTYPE_I8] = {"I8", 1}, [NLP_DTYPE_U8] = {"U8", 1},
    [NLP_DTYPE_BOOL] = {"BOOL", 1},
};

nlp_dtype nlp_dtype_from_name(const char *name) {
  for (int i = 0; i < NLP_DTYPE_INVALID; i++)
    if (name && !strcmp(name, dtypes[i].name)) return (nlp_dtype)i;
  return NLP_DTYPE_INVALID;
}

const char *nlp_dtype_name(nlp_dtype dtype) {
  return dtype < NLP_DTYPE_INVALID ? dtypes[dtype].name : "INVALID";
}

size_t nlp_dtype_size(nlp_dtype dtype) {
  return dtype < NLP_DTYPE_INVALID ? dtypes[dtype].size : 0;
}

static float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* IEEE half -> single, exact for every input (subnormals, inf, NaN included). */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    /* subnormal: value = man * 2^-24, exact in f32 */
    float v = (float)man * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

void nlp_convert_f16_to_f32(const void *src, float *dst, size_t n) {
  const unsigned char *p = src;
  for (size_t i = 0; i < n; i++) dst[i] = half_to_float((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
}

void nlp_convert_bf16_to_f32(const void *src, float *dst, size_t n) {
  const unsigned char *p = src;
  for (size_t i = 0; i < n; i++)
    dst[i] = bits_to_float((uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16);
}
