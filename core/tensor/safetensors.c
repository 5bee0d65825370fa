/* safetensors.c — mmap + strict header validation of a .safetensors file. */
#include "tensor/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

/* HF's own reader refuses headers above 100 MB; a bigger one is corruption. */
#define HEADER_MAX (100u * 1024u * 1024u)

void nlp_safetensors_free(nlp_safetensors *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n_entries; i++) g_free(st->entries[i].name);
  g_free(st->entries);
  if (st->map) munmap(st->map, st->map_size);
  g_free(st->path);
  g_free(st);
}

static bool get_u64(json_object *o, uint64_t *out) {
  if (!o || !json_object_is_type(o, json_type_int)) return false;
  int64_t v = json_object_get_int64(o);
  if (v < 0) return false;
  *out = (uint64_t)v;
  return true;
}

static bool parse_entry(nlp_safetensors *st, const char *name, json_object *obj,
                        size_t data_size, const unsigned char *data,
                        nlp_safetensors_entry *e, GError **error) {
  const char *path = st->path;
  if (!json_object_is_type(obj, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: tensor '%s': header entry is not an object",
                path, name);
    return false;
  }
  json_object *jd = NULL, *js = NULL, *jo = NULL;
  json_object_object_get_ex(obj, "dtype", &jd);
  json_object_object_get_ex(obj, "shape", &js);
  json_object_object_get_ex(obj, "data_offsets", &jo);
  e->dtype = jd && json_object_is_type(jd, json_type_string)
                 ? nlp_dtype_from_name(json_object_get_string(jd)) : NLP_DTYPE_INVALID;
  if (e->dtype == NLP_DTYPE_INVALID) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: tensor '%s': bad dtype '%s' (expected F32, F16, BF16, F64, I64, I32, I16, "
                "I8, U8 or BOOL)", path, name, jd ? json_object_get_string(jd) : "(missing)");
    return false;
  }
  if (!js || !json_object_is_type(js, json_type_array) ||
      json_object_array_length(js) > NLP_TENSOR_MAX_DIMS) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: tensor '%s': shape must be an array of at most %d non-negative integers",
                path, name, NLP_TENSOR_MAX_DIMS);
    return false;
  }
  e->ndim = (int)json_object_array_length(js);
  uint64_t numel = 1;
  for (int d = 0; d < e->ndim; d++) {
    uint64_t v;
    if (!get_u64(json_object_array_get_idx(js, (size_t)d), &v) || v > (1ull << 40) ||
        (v && numel > UINT64_MAX / v)) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: tensor '%s': shape[%d] is not a valid dimension", path, name, d);
      return false;
    }
    e->shape[d] = (int64_t)v;
    numel *= v;
  }
  uint64_t begin, end;
  if (!jo || !json_object_is_type(jo, json_type_array) || json_object_array_length(jo) != 2 ||
      !get_u64(json_object_array_get_idx(jo, 0), &begin) ||
      !get_u64(json_object_array_get_idx(jo, 1), &end) || begin > end) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                path, name);
    return false;
  }
  if (end > data_size) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                "] run past the end of the data (%zu bytes): truncated or corrupt file",
                path, name, begin, end, data_size);
    return false;
  }
  uint64_t esize = nlp_dtype_size(e->dtype);
  if (numel > UINT64_MAX / esize || numel * esize != end - begin) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: tensor '%s': shape holds %" G_GUINT64_FORMAT " %s values (%" G_GUINT64_FORMAT
                " bytes) but data_offsets span %" G_GUINT64_FORMAT " bytes",
                path, name, numel, nlp_dtype_name(e->dtype), numel * esize, end - begin);
    return false;
  }
  e->name = g_strdup(name);
  e->numel = (size_t)numel;
  e->nbytes = (size_t)(end - begin);
  e->data = data + begin;
  return true;
}

static int cmp_by_offset(const void *a, const void *b) {
  const nlp_safetensors_entry *x = *(const nlp_safetensors_entry *const *)a;
  const nlp_safetensors_entry *y = *(const nlp_safetensors_entry *const *)b;
  if (x->data != y->data) return (const char *)x->data < (const char *)y->data ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

nlp_safetensors *nlp_safetensors_open(const char *path, GError **error) {
  nlp_safetensors *st = g_new0(nlp_safetensors, 1);
  st->path = g_strdup(path);
  json_object *root = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open: %s", path, g_strerror(errno));
    goto fail;
  }
  if (sb.st_size < 8) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: %lld bytes, too short for a safetensors header (8-byte length first)", path,
                (long long)sb.st_size);
    goto fail;
  }
  st->map_size = (size_t)sb.st_size;
  /* Private read-only mapping: the weights stay in the page cache, shared with any
   * other process using the same file, and are only read on first touch. */
  st->map = mmap(NULL, st->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (st->map == MAP_FAILED) {
    st->map = NULL;
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: mmap failed: %s", path, g_strerror(errno));
    goto fail;
  }
  close(fd);
  fd = -1;
  const unsigned char *bytes = st->map;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
  if (hlen > HEADER_MAX || hlen > st->map_size - 8) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: header length %" G_GUINT64_FORMAT " runs past the end of the file (%zu "
                "bytes): truncated or not a safetensors file", path, hlen, st->map_size);
    goto fail;
  }
  json_tokener *tok = json_tokener_new();
  root = json_tokener_parse_ex(tok, (const char *)bytes + 8, (int)hlen);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                "%s: header is not a JSON object (%s)", path,
                jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "wrong type");
    goto fail;
  }
  size_t data_size = st->map_size - 8 - (size_t)hlen;
  const unsigned char *data = bytes + 8 + hlen;
  st->entries = g_new0(nlp_safetensors_entry, (size_t)json_object_object_length(root) + 1);
  json_object_object_foreach(root, key, val) {
    if (!strcmp(key, "__metadata__")) continue;
    if (!parse_entry(st, key, val, data_size, data, &st->entries[st->n_entries], error))
      goto fail;
    st->n_entries++;
  }
  /* Overlap: sort by start, each must begin at or after the previous end. Empty
   * tensors (0 bytes) overlap nothing. */
  nlp_safetensors_entry **order = g_new(nlp_safetensors_entry *, st->n_entries + 1);
  for (size_t i = 0; i < st->n_entries; i++) order[i] = &st->entries[i];
  qsort(order, st->n_entries, sizeof *order, cmp_by_offset);
  const nlp_safetensors_entry *prev = NULL;
  for (size_t i = 0; i < st->n_entries; i++) {
    const nlp_safetensors_entry *e = order[i];
    if (!e->nbytes) continue;
    if (prev && (const char *)e->data < (const char *)prev->data + prev->nbytes) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL,
                  "%s: tensor '%s' overlaps tensor '%s' in the data block", path, e->name,
                  prev->name);
      g_free(order);
      goto fail;
    }
    prev = e;
  }
  g_free(order);
  json_object_put(root);
  return st;
fail:
  if (fd >= 0) close(fd);
  if (root) json_object_put(root);
  nlp_safetensors_free(st);
  return NULL;
}

const nlp_safetensors_entry *nlp_safetensors_find(const nlp_safetensors *st, const char *name) {
  for (size_t i = 0; i < st->n_entries; i++)
    if (!strcmp(st->entries[i].name, name)) return &st->entries[i];
  return NULL;
}
