/* labels.c — label names, the tag scheme and the grouping rule (HF get_tag, extended
 * to BIOES). */
#include "ner.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ner_prefix prefix_of(const char *name, ner_scheme scheme) {
  if (name[0] && name[1] == '-') {
    if (name[0] == 'B') return NER_PREFIX_B;
    if (name[0] == 'I') return NER_PREFIX_I;
    if (scheme == NER_SCHEME_BIOES && name[0] == 'E') return NER_PREFIX_E;
    if (scheme == NER_SCHEME_BIOES && name[0] == 'S') return NER_PREFIX_S;
  }
  return NER_PREFIX_NONE;
}

ner_labels *ner_labels_new(const char *const *names, size_t n, ner_scheme scheme) {
  if (scheme == NER_SCHEME_AUTO) {
    scheme = NER_SCHEME_BIO;
    for (size_t i = 0; i < n; i++)
      if (!strncmp(names[i], "E-", 2) || !strncmp(names[i], "S-", 2)) scheme = NER_SCHEME_BIOES;
  }
  ner_labels *l = g_new0(ner_labels, 1);
  l->n = n;
  l->scheme = scheme;
  l->names = g_new0(char *, n + 1);
  l->groups = g_new0(char *, n + 1);
  l->tags = g_new0(char *, n + 1);
  l->prefix = g_new0(ner_prefix, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    l->names[i] = g_strdup(names[i]);
    /* HF: entity["entity"].split("-", 1)[-1], whatever the prefix. */
    const char *dash = strchr(names[i], '-');
    l->groups[i] = g_strdup(dash ? dash + 1 : names[i]);
    l->prefix[i] = prefix_of(names[i], scheme);
    /* HF get_tag: a label without B-/I- is its own tag (so "E-PER" only groups with
     * "E-PER" under BIO, as HF does). */
    l->tags[i] = g_strdup(l->prefix[i] == NER_PREFIX_NONE ? names[i] : names[i] + 2);
  }
  return l;
}

void ner_labels_free(ner_labels *l) {
  if (!l) return;
  g_strfreev(l->names);
  g_strfreev(l->groups);
  g_strfreev(l->tags);
  g_free(l->prefix);
  g_free(l);
}

bool ner_labels_continues(const ner_labels *l, int prev, int cur) {
  if (strcmp(l->tags[prev], l->tags[cur]) != 0) return false;
  ner_prefix p = l->prefix[prev], c = l->prefix[cur];
  if (c == NER_PREFIX_B || c == NER_PREFIX_S) return false;
  if (p == NER_PREFIX_E || p == NER_PREFIX_S) return false; /* BIOES: the group is closed */
  return true;
}

static char **labels_from_list(struct json_object *list, size_t *n, const char *where, char **error) {
  size_t count = json_object_array_length(list);
  char **names = g_new0(char *, count + 1);
  for (size_t i = 0; i < count; i++) {
    struct json_object *v = json_object_array_get_idx(list, i);
    if (!json_object_is_type(v, json_type_string)) {
      *error = g_strdup_printf("%s[%zu]: expected a label string", where, i);
      g_strfreev(names);
      return NULL;
    }
    names[i] = g_strdup(json_object_get_string(v));
  }
  *n = count;
  return names;
}

char **ner_labels_read(const char *head_dir, struct json_object *config, size_t *n, char **error) {
  *n = 0;
  *error = NULL;
  if (head_dir) {
    char *file = g_build_filename(head_dir, "head.json", NULL);
    struct json_object *head = json_object_from_file(file), *list;
    char **names = NULL;
    if (!head) {
      *error = g_strdup_printf("%s: cannot read or parse it (a head folder needs head.json with "
                               "\"labels\")", file);
    } else if (!json_object_object_get_ex(head, "labels", &list) ||
               !json_object_is_type(list, json_type_array) || !json_object_array_length(list)) {
      *error = g_strdup_printf("%s: expected \"labels\": a non-empty array of strings", file);
    } else {
      char *where = g_strdup_printf("%s: labels", file);
      names = labels_from_list(list, n, where, error);
      g_free(where);
    }
    json_object_put(head);
    g_free(file);
    return names;
  }
  struct json_object *map;
  if (!config || !json_object_object_get_ex(config, "id2label", &map) ||
      !json_object_is_type(map, json_type_object) || !json_object_object_length(map)) {
    *error = g_strdup("the model's config.json has no id2label and the step has no \"head\" "
                      "folder: no labels");
    return NULL;
  }
  size_t count = (size_t)json_object_object_length(map);
  char **names = g_new0(char *, count + 1);
  json_object_object_foreach(map, key, val) {
    char *end = NULL;
    long id = strtol(key, &end, 10);
    if (!*key || *end || id < 0 || (size_t)id >= count || names[id] ||
        !json_object_is_type(val, json_type_string)) {
      *error = g_strdup_printf("config.json id2label: expected keys \"0\"..\"%zu\" with label "
                               "strings, got key \"%s\"", count - 1, key);
      for (size_t i = 0; i < count; i++) g_free(names[i]); /* may have holes */
      g_free(names);
      return NULL;
    }
    names[id] = g_strdup(json_object_get_string(val));
  }
  *n = count;
  return names;
}
