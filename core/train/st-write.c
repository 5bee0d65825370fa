/* st-write.c — a minimal safetensors writer. */
#include "train/st-write.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int32_t exp = (int32_t)((x >> 23) & 0xff);
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++;
  return (uint16_t)(sign | half);
}

bool nlp_safetensors_write(const char *path, const nlp_st_item *items, size_t n, nlp_dtype dtype,
                           const char *const *metadata, GError **error) {
  size_t esz = dtype == NLP_DTYPE_F16 ? 2 : 4;
  json_object *hdr = json_object_new_object();
  if (metadata) {
    json_object *md = json_object_new_object();
    for (const char *const *m = metadata; m[0] && m[1]; m += 2)
      json_object_object_add(md, m[0], json_object_new_string(m[1]));
    json_object_object_add(hdr, "__metadata__", md);
  }
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    size_t numel = 1;
    json_object *e = json_object_new_object(), *shape = json_object_new_array();
    for (int d = 0; d < items[i].ndim; d++) {
      numel *= items[i].shape[d];
      json_object_array_add(shape, json_object_new_int64((int64_t)items[i].shape[d]));
    }
    json_object *offs = json_object_new_array();
    json_object_array_add(offs, json_object_new_int64((int64_t)off));
    json_object_array_add(offs, json_object_new_int64((int64_t)(off + numel * esz)));
    off += numel * esz;
    json_object_object_add(e, "dtype", json_object_new_string(nlp_dtype_name(dtype)));
    json_object_object_add(e, "shape", shape);
    json_object_object_add(e, "data_offsets", offs);
    json_object_object_add(hdr, items[i].name, e);
  }
  const char *text = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN);
  size_t hl = strlen(text), padded = (hl + 7) / 8 * 8;
  char *tmp = g_strconcat(path, ".tmp", NULL);
  FILE *f = fopen(tmp, "wb");
  bool ok = f != NULL;
  if (ok) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    ok = fwrite(len8, 1, 8, f) == 8 && fwrite(text, 1, hl, f) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (size_t i = 0; ok && i < n; i++) {
      size_t numel = 1;
      for (int d = 0; d < items[i].ndim; d++) numel *= items[i].shape[d];
      if (dtype == NLP_DTYPE_F16) {
        for (size_t j = 0; ok && j < numel; j++) {
          uint16_t h = float_to_half(items[i].data[j]);
          unsigned char b[2] = {(unsigned char)(h & 0xff), (unsigned char)(h >> 8)};
          ok = fwrite(b, 1, 2, f) == 2;
        }
      } else {
        ok = fwrite(items[i].data, sizeof(float), numel, f) == numel;
      }
    }
    if (fclose(f) != 0) ok = false;
  }
  if (ok && rename(tmp, path) != 0) ok = false;
  if (!ok) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot write: %s", path, g_strerror(errno));
    remove(tmp);
  }
  g_free(tmp);
  json_object_put(hdr);
  return ok;
}
