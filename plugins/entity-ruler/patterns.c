/* patterns.c — loads and checks a JSONL patterns file (format in patterns.h).
 *
 * Checks are strict (unknown keys, wrong types, both or neither of pattern/regex)
 * because a typo such as "regexp" would otherwise silently tag nothing; every message
 * names the file and line. Regex syntax is checked later, when the regex matcher
 * compiles it, so each regex is compiled once. */
#include "patterns.h"

#include "errors.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void pattern_clear(er_pattern *p) {
  free(p->label);
  free(p->id);
  free(p->phrase);
  free(p->regex);
}

void er_patterns_free(er_pattern_list *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->n; i++)
    pattern_clear(&list->items[i]);
  free(list->items);
  free(list);
}

/* A non-empty string member, copied with malloc; *out stays NULL when the key is
 * absent. Returns an error message (malloc()ed) or NULL. */
static char *take_string(struct json_object *obj, const char *key, bool strip, char **out) {
  struct json_object *v;
  *out = NULL;
  if (!json_object_object_get_ex(obj, key, &v))
    return NULL;
  if (!json_object_is_type(v, json_type_string)) {
    if (json_object_is_type(v, json_type_array) && strcmp(key, "pattern") == 0)
      return er_error_printf("\"pattern\": expected a string (token-pattern lists are not "
                             "supported; use \"regex\")");
    return er_error_printf("\"%s\": expected a string, got %s", key,
                           json_type_to_name(json_object_get_type(v)));
  }
  const char *s = json_object_get_string(v);
  size_t len = (size_t)json_object_get_string_len(v);
  /* json-c keeps \u0000 inside strings; a NUL would silently cut the value short. */
  if (memchr(s, '\0', len))
    return er_error_printf("\"%s\": expected a string without NUL characters", key);
  char *copy = strndup(s, len);
  if (!copy)
    return er_error_printf("out of memory");
  /* Phrases drop surrounding whitespace, as spaCy's tokenizer does for a trailing
   * space; a space-only phrase would otherwise match every gap between words. */
  if (strip)
    g_strstrip(copy);
  if (copy[0] == '\0') {
    free(copy);
    return er_error_printf("\"%s\": expected a non-empty string", key);
  }
  *out = copy;
  return NULL;
}

/* Fills *p from one parsed line; returns an error message or NULL. */
static char *pattern_from_json(struct json_object *obj, er_pattern *p) {
  if (!json_object_is_type(obj, json_type_object))
    return er_error_printf("expected a JSON object like {\"label\": \"ORG\", \"pattern\": "
                           "\"Acme Corp\"}, got %s",
                           json_type_to_name(json_object_get_type(obj)));
  json_object_object_foreach(obj, key, val) {
    (void)val;
    if (strcmp(key, "label") && strcmp(key, "pattern") && strcmp(key, "regex") &&
        strcmp(key, "id"))
      return er_error_printf("unknown key \"%s\" (expected \"label\", \"pattern\", "
                             "\"regex\" or \"id\")",
                             key);
  }
  char *err;
  if ((err = take_string(obj, "label", false, &p->label)))
    return err;
  if (!p->label)
    return er_error_printf("expected \"label\"");
  if ((err = take_string(obj, "id", false, &p->id)))
    return err;
  if ((err = take_string(obj, "pattern", true, &p->phrase)))
    return err;
  if ((err = take_string(obj, "regex", false, &p->regex)))
    return err;
  if (!p->phrase && !p->regex)
    return er_error_printf("expected \"pattern\" or \"regex\"");
  if (p->phrase && p->regex)
    return er_error_printf("expected only one of \"pattern\" or \"regex\"");
  return NULL;
}

/* Parses one line as exactly one JSON value; returns an error message or NULL. */
static char *parse_line(const char *line, size_t len, struct json_object **out) {
  *out = NULL;
  if (!g_utf8_validate(line, (gssize)len, NULL))
    return er_error_printf("expected UTF-8 text");
  struct json_tokener *tok = json_tokener_new();
  if (!tok)
    return er_error_printf("out of memory");
  /* Strict: json-c otherwise accepts trailing commas and single quotes, which Python's
   * json module (spaCy's reader) refuses; a file must mean the same to both. */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  struct json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr == json_tokener_continue)
    return er_error_printf("expected a JSON object on one line, the line ends inside it");
  if (jerr != json_tokener_success)
    return er_error_printf("expected one JSON object per line; column %zu: %s", end + 1,
                           json_tokener_error_desc(jerr));
  while (end < len && g_ascii_isspace(line[end]))
    end++;
  if (end < len) {
    json_object_put(obj);
    return er_error_printf("expected one JSON object per line, column %zu has more", end + 1);
  }
  *out = obj;
  return NULL;
}

er_pattern_list *er_patterns_load(const char *path, char **error) {
  gchar *contents = NULL;
  gsize size = 0;
  GError *gerr = NULL;
  if (!g_file_get_contents(path, &contents, &size, &gerr)) {
    *error = er_error_printf("patterns file: %s", gerr->message);
    g_error_free(gerr);
    return NULL;
  }
  er_pattern_list *list = calloc(1, sizeof *list);
  if (!list) {
    g_free(contents);
    *error = er_error_printf("out of memory");
    return NULL;
  }
  size_t cap = 0;
  char *err = NULL;
  size_t lineno = 0;
  for (size_t pos = 0; pos < size && !err;) {
    const char *line = contents + pos;
    const char *nl = memchr(line, '\n', size - pos);
    size_t len = nl ? (size_t)(nl - line) : size - pos;
    pos += len + (nl ? 1 : 0);
    lineno++;
    if (len > 0 && line[len - 1] == '\r')
      len--;
    size_t blank = 0;
    while (blank < len && g_ascii_isspace(line[blank]))
      blank++;
    if (blank == len)
      continue;
    struct json_object *obj;
    if ((err = parse_line(line, len, &obj)))
      break;
    if (list->n == cap) {
      cap = cap ? 2 * cap : 64;
      er_pattern *grown = realloc(list->items, cap * sizeof *grown);
      if (!grown) {
        json_object_put(obj);
        err = er_error_printf("out of memory");
        break;
      }
      list->items = grown;
    }
    er_pattern *p = &list->items[list->n];
    memset(p, 0, sizeof *p);
    p->line = lineno;
    err = pattern_from_json(obj, p);
    json_object_put(obj);
    if (err) {
      pattern_clear(p);
      break;
    }
    list->n++;
    if (p->phrase)
      list->n_phrases++;
    else
      list->n_regexes++;
  }
  g_free(contents);
  if (err) {
    *error = er_error_printf("%s:%zu: %s", path, lineno, err);
    free(err);
    er_patterns_free(list);
    return NULL;
  }
  return list;
}
