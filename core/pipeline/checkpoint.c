#include "pipeline/checkpoint.h"

#include <json-c/json.h>
#include <string.h>

#include "util/error.h"

gboolean nlp_checkpoint_save(const char *path, const nlp_checkpoint *c, GError **error) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "input", json_object_new_string(c->input));
  json_object_object_add(o, "input_offset", json_object_new_int64((int64_t)c->input_offset));
  json_object_object_add(o, "records", json_object_new_int64((int64_t)c->records));
  json_object_object_add(o, "lines", json_object_new_int64((int64_t)c->lines));
  json_object_object_add(o, "output_bytes", json_object_new_int64((int64_t)c->output_bytes));
  json_object_object_add(o, "reject_bytes", json_object_new_int64((int64_t)c->reject_bytes));
  json_object_object_add(o, "ok", json_object_new_int64((int64_t)c->ok));
  json_object_object_add(o, "failed", json_object_new_int64((int64_t)c->failed));
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  /* g_file_set_contents writes a temporary file and renames it over the old one. */
  gboolean ok = g_file_set_contents(path, text, -1, error);
  json_object_put(o);
  return ok;
}

static gboolean get_u64(json_object *o, const char *key, guint64 *out) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) < 0)
    return FALSE;
  *out = (guint64)json_object_get_int64(v);
  return TRUE;
}

gboolean nlp_checkpoint_load(const char *path, nlp_checkpoint *c, GError **error) {
  memset(c, 0, sizeof *c);
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return FALSE;
  json_object *o = json_tokener_parse(text);
  g_free(text);
  json_object *input = NULL;
  gboolean ok = o && json_object_object_get_ex(o, "input", &input) &&
                json_object_is_type(input, json_type_string) &&
                get_u64(o, "input_offset", &c->input_offset) &&
                get_u64(o, "records", &c->records) && get_u64(o, "lines", &c->lines) &&
                get_u64(o, "output_bytes", &c->output_bytes) &&
                get_u64(o, "reject_bytes", &c->reject_bytes) && get_u64(o, "ok", &c->ok) &&
                get_u64(o, "failed", &c->failed);
  if (ok)
    c->input = g_strdup(json_object_get_string(input));
  else
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE,
                "%s: damaged checkpoint (expected input, input_offset, records, lines, "
                "output_bytes, reject_bytes, ok, failed)", path);
  json_object_put(o);
  return ok;
}

void nlp_checkpoint_clear(nlp_checkpoint *c) {
  g_free(c->input);
  memset(c, 0, sizeof *c);
}
