#include "pipeline/options.h"

#include <math.h>
#include <string.h>

#include "pipeline/problems.h"

static const char *base_type_name(nlp_option_type t) {
  switch (t) {
  case NLP_OPTION_BOOL: return "boolean";
  case NLP_OPTION_INT: return "integer";
  case NLP_OPTION_FLOAT: return "number";
  case NLP_OPTION_STRING: return "string";
  case NLP_OPTION_ENUM: return "string";
  case NLP_OPTION_PATH: return "path (string)";
  case NLP_OPTION_STRING_LIST: return "array of strings";
  }
  return "?";
}

/* Formats a bound without a spurious ".000000" for integers. */
static void append_number(GString *s, double v) {
  if (v == floor(v) && fabs(v) < 1e15)
    g_string_append_printf(s, "%.0f", v);
  else
    g_string_append_printf(s, "%g", v);
}

char *nlp_option_describe_type(const nlp_option_spec *opt) {
  GString *s = g_string_new(NULL);
  if (opt->type == NLP_OPTION_ENUM && opt->choices) {
    g_string_append(s, "one of ");
    for (const char *const *c = opt->choices; *c; c++)
      g_string_append_printf(s, "%s\"%s\"", c == opt->choices ? "" : ", ", *c);
  } else {
    g_string_append(s, base_type_name(opt->type));
    bool lo = opt->flags & NLP_OPTION_HAS_MIN, hi = opt->flags & NLP_OPTION_HAS_MAX;
    if (lo && hi) {
      g_string_append(s, " in [");
      append_number(s, opt->min);
      g_string_append(s, ", ");
      append_number(s, opt->max);
      g_string_append(s, "]");
    } else if (lo) {
      g_string_append(s, " >= ");
      append_number(s, opt->min);
    } else if (hi) {
      g_string_append(s, " <= ");
      append_number(s, opt->max);
    }
  }
  if (opt->flags & NLP_OPTION_NULLABLE) g_string_append(s, " or null");
  return g_string_free(s, FALSE);
}

static gboolean in_bounds(const nlp_option_spec *opt, double v) {
  if ((opt->flags & NLP_OPTION_HAS_MIN) && v < opt->min) return FALSE;
  if ((opt->flags & NLP_OPTION_HAS_MAX) && v > opt->max) return FALSE;
  return TRUE;
}

/* Returns the value to keep (new reference) or NULL after recording a problem. */
static json_object *check_value(const nlp_option_spec *opt, json_object *v, const char *path,
                                const char *base_dir, GPtrArray *problems) {
  char *what = nlp_option_describe_type(opt);
  json_object *keep = NULL;
  if (!v) {
    if (opt->flags & NLP_OPTION_NULLABLE) keep = NULL, g_free(what), what = NULL;
    goto done;
  }
  switch (opt->type) {
  case NLP_OPTION_BOOL:
    if (json_object_is_type(v, json_type_boolean)) keep = json_object_get(v);
    break;
  case NLP_OPTION_INT:
    if (json_object_is_type(v, json_type_int) && in_bounds(opt, (double)json_object_get_int64(v)))
      keep = json_object_get(v);
    break;
  case NLP_OPTION_FLOAT:
    if ((json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
        in_bounds(opt, json_object_get_double(v)))
      keep = json_object_new_double(json_object_get_double(v));
    break;
  case NLP_OPTION_STRING:
    if (json_object_is_type(v, json_type_string)) keep = json_object_get(v);
    break;
  case NLP_OPTION_ENUM:
    if (json_object_is_type(v, json_type_string) && opt->choices)
      for (const char *const *c = opt->choices; *c; c++)
        if (!strcmp(*c, json_object_get_string(v))) keep = json_object_get(v);
    break;
  case NLP_OPTION_PATH:
    if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
      const char *p = json_object_get_string(v);
      /* Made absolute here, so a plugin never has to know where the pipeline was. */
      char *full = g_canonicalize_filename(p, base_dir);
      if (g_file_test(full, G_FILE_TEST_EXISTS)) {
        keep = json_object_new_string(full);
      } else {
        nlp_problem_add(problems, path, "file not found: %s", full);
        g_free(full);
        g_free(what);
        return NULL;
      }
      g_free(full);
    }
    break;
  case NLP_OPTION_STRING_LIST:
    if (json_object_is_type(v, json_type_array)) {
      keep = json_object_get(v);
      for (size_t i = 0; i < json_object_array_length(v); i++)
        if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
          json_object_put(keep);
          keep = NULL;
        }
    }
    break;
  }
done:
  if (!keep && what) nlp_problem_expected(problems, path, what, v);
  g_free(what);
  return keep;
}

static const nlp_option_spec *find_option(const nlp_plugin_desc *desc, const char *name) {
  for (size_t i = 0; i < desc->n_options; i++)
    if (!strcmp(desc->options[i].name, name)) return &desc->options[i];
  return NULL;
}

json_object *nlp_options_check(const nlp_plugin_desc *desc, json_object *given,
                               const char *path, const char *base_dir, GPtrArray *problems) {
  guint before = problems->len;
  if (given && !json_object_is_type(given, json_type_object)) {
    nlp_problem_expected(problems, path, "an object", given);
    return NULL;
  }
  if (given) {
    json_object_object_foreach(given, key, val) {
      (void)val;
      if (find_option(desc, key)) continue;
      GString *known = g_string_new(NULL);
      for (size_t i = 0; i < desc->n_options; i++)
        g_string_append_printf(known, "%s%s", i ? ", " : "", desc->options[i].name);
      char *p = g_strdup_printf("%s.%s", path, key);
      nlp_problem_add(problems, p, "unknown option for plugin '%s' (it takes: %s)", desc->name,
                      desc->n_options ? known->str : "no options");
      g_free(p);
      g_string_free(known, TRUE);
    }
  }
  json_object *filled = json_object_new_object();
  for (size_t i = 0; i < desc->n_options; i++) {
    const nlp_option_spec *opt = &desc->options[i];
    char *p = g_strdup_printf("%s.%s", path, opt->name);
    json_object *v = NULL;
    gboolean present = given && json_object_object_get_ex(given, opt->name, &v);
    if (!present) {
      if ((opt->flags & NLP_OPTION_REQUIRED) || !opt->default_json) {
        char *what = nlp_option_describe_type(opt);
        nlp_problem_add(problems, p, "required option missing (expected %s)", what);
        g_free(what);
      } else {
        /* Defaults are the plugin's own JSON text; a bad one is the plugin's bug. */
        json_object *def = json_tokener_parse(opt->default_json);
        if (!def && strcmp(opt->default_json, "null"))
          nlp_problem_add(problems, p, "plugin '%s' has a malformed default: %s", desc->name,
                          opt->default_json);
        else if (def && opt->type == NLP_OPTION_PATH)
          json_object_object_add(filled, opt->name,
                                 check_value(opt, def, p, base_dir, problems));
        else
          json_object_object_add(filled, opt->name, json_object_get(def));
        json_object_put(def);
      }
    } else {
      json_object *keep = check_value(opt, v, p, base_dir, problems);
      if (keep || !v) json_object_object_add(filled, opt->name, keep);
    }
    g_free(p);
  }
  if (problems->len != before) {
    json_object_put(filled);
    return NULL;
  }
  return filled;
}
