#include "pipeline/spec.h"

#include <string.h>

#include "pipeline/options.h"
#include "pipeline/problems.h"
#include "util/error.h"

/* ---- small typed getters that record a problem instead of failing -------------- */

typedef struct {
  GPtrArray *problems;
  const char *dir;
} parse_ctx;

static gboolean expect_type(parse_ctx *c, json_object *v, json_type t, const char *path,
                            const char *what) {
  if (json_object_is_type(v, t)) return TRUE;
  nlp_problem_expected(c->problems, path, what, v);
  return FALSE;
}

/* Flags keys of `obj` that are not in `allowed` (NULL-terminated). */
static void check_keys(parse_ctx *c, json_object *obj, const char *path,
                       const char *const *allowed) {
  json_object_object_foreach(obj, key, val) {
    (void)val;
    gboolean ok = FALSE;
    for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, key);
    if (ok) continue;
    GString *list = g_string_new(NULL);
    for (const char *const *a = allowed; *a; a++)
      g_string_append_printf(list, "%s\"%s\"", a == allowed ? "" : ", ", *a);
    char *p = *path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
    nlp_problem_add(c->problems, p, "unknown key (expected one of %s)", list->str);
    g_free(p);
    g_string_free(list, TRUE);
  }
}

static char *get_string(parse_ctx *c, json_object *obj, const char *key, const char *path,
                        gboolean required) {
  json_object *v = NULL;
  char *p = *path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
  char *out = NULL;
  if (!json_object_object_get_ex(obj, key, &v)) {
    if (required) nlp_problem_add(c->problems, p, "required key missing (expected a string)");
  } else if (expect_type(c, v, json_type_string, p, "a string")) {
    if (json_object_get_string_len(v) == 0)
      nlp_problem_add(c->problems, p, "expected a non-empty string");
    else
      out = g_strdup(json_object_get_string(v));
  }
  g_free(p);
  return out;
}

static gint64 get_int(parse_ctx *c, json_object *obj, const char *key, const char *path,
                      gint64 min, gint64 dflt) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, key, &v)) return dflt;
  char *p = *path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
  gint64 out = dflt;
  if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= min) {
    out = json_object_get_int64(v);
  } else {
    char *what = g_strdup_printf("integer >= %" G_GINT64_FORMAT, min);
    nlp_problem_expected(c->problems, p, what, v);
    g_free(what);
  }
  g_free(p);
  return out;
}

static char *resolve(const char *dir, const char *p) {
  if (!strcmp(p, "-") || g_path_is_absolute(p)) return g_strdup(p);
  return g_build_filename(dir, p, NULL);
}

/* ---- sections -------------------------------------------------------------------- */

static void parse_models(parse_ctx *c, nlp_pipeline_spec *spec, json_object *models) {
  if (!expect_type(c, models, json_type_object, "models", "an object of name -> folder"))
    return;
  static const char *const keys[] = {"path", "max_length", "stride", NULL};
  json_object_object_foreach(models, name, val) {
    char *p = g_strdup_printf("models.%s", name);
    nlp_model_spec *m = g_new0(nlp_model_spec, 1);
    m->name = g_strdup(name);
    m->stride = -1;
    char *path = NULL;
    if (json_object_is_type(val, json_type_string)) {
      path = g_strdup(json_object_get_string(val));
    } else if (json_object_is_type(val, json_type_object)) {
      check_keys(c, val, p, keys);
      path = get_string(c, val, "path", p, TRUE);
      m->max_length = get_int(c, val, "max_length", p, 2, 0);
      m->stride = get_int(c, val, "stride", p, 0, -1);
      if (m->max_length && m->stride >= m->max_length) {
        char *sp = g_strdup_printf("%s.stride", p);
        nlp_problem_add(c->problems, sp, "expected an integer < max_length (%" G_GINT64_FORMAT
                        "), got %" G_GINT64_FORMAT, m->max_length, m->stride);
        g_free(sp);
      }
    } else {
      nlp_problem_expected(c->problems, p, "a folder path or {\"path\": ...}", val);
    }
    if (path) {
      m->path = resolve(c->dir, path);
      g_free(path);
    }
    g_ptr_array_add(spec->models, m);
    g_free(p);
  }
}

static void parse_steps(parse_ctx *c, nlp_pipeline_spec *spec, json_object *steps) {
  if (!expect_type(c, steps, json_type_array, "steps", "an array of steps")) return;
  if (json_object_array_length(steps) == 0)
    nlp_problem_add(c->problems, "steps", "expected at least one step");
  static const char *const keys[] = {"name", "plugin", "model", "head", "options", NULL};
  for (size_t i = 0; i < json_object_array_length(steps); i++) {
    json_object *s = json_object_array_get_idx(steps, i);
    char *p = g_strdup_printf("steps[%zu]", i);
    if (expect_type(c, s, json_type_object, p, "an object")) {
      check_keys(c, s, p, keys);
      nlp_step_spec *st = g_new0(nlp_step_spec, 1);
      st->name = get_string(c, s, "name", p, TRUE);
      st->plugin_name = get_string(c, s, "plugin", p, TRUE);
      st->model = get_string(c, s, "model", p, FALSE);
      char *head = get_string(c, s, "head", p, FALSE);
      if (head) {
        st->head = resolve(c->dir, head);
        g_free(head);
      }
      json_object *opts = NULL;
      if (json_object_object_get_ex(s, "options", &opts)) st->options = json_object_get(opts);
      g_ptr_array_add(spec->steps, st);
    }
    g_free(p);
  }
}

static void parse_input(parse_ctx *c, nlp_pipeline_spec *spec, json_object *in) {
  if (!expect_type(c, in, json_type_object, "input", "an object")) return;
  static const char *const keys[] = {"format", "path", "text_field", "columns", "header", NULL};
  check_keys(c, in, "input", keys);
  char *fmt = get_string(c, in, "format", "input", FALSE);
  if (fmt && !nlp_input_format_parse(fmt, &spec->input.format))
    nlp_problem_add(c->problems, "input.format",
                    "expected one of \"text\", \"jsonl\", \"tsv\", got \"%s\"", fmt);
  g_free(fmt);
  char *path = get_string(c, in, "path", "input", FALSE);
  if (path) {
    g_free(spec->input.path);
    spec->input.path = resolve(c->dir, path);
    g_free(path);
  }
  char *field = get_string(c, in, "text_field", "input", FALSE);
  if (field) {
    g_free(spec->input.text_field);
    spec->input.text_field = field;
  }
  json_object *v = NULL;
  if (json_object_object_get_ex(in, "header", &v) &&
      expect_type(c, v, json_type_boolean, "input.header", "a boolean"))
    spec->input.header = json_object_get_boolean(v);
  if (json_object_object_get_ex(in, "columns", &v) &&
      expect_type(c, v, json_type_array, "input.columns", "an array of column names")) {
    size_t n = json_object_array_length(v);
    spec->input.columns = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(v, i);
      char *p = g_strdup_printf("input.columns[%zu]", i);
      spec->input.columns[i] = g_strdup(expect_type(c, e, json_type_string, p, "a string")
                                            ? json_object_get_string(e)
                                            : "?");
      g_free(p);
    }
  }
}

static void parse_output(parse_ctx *c, nlp_pipeline_spec *spec, json_object *out) {
  if (!expect_type(c, out, json_type_object, "output", "an object")) return;
  static const char *const keys[] = {"path", "reject_path", NULL};
  check_keys(c, out, "output", keys);
  char *path = get_string(c, out, "path", "output", FALSE);
  if (path) {
    g_free(spec->output_path);
    spec->output_path = resolve(c->dir, path);
    g_free(path);
  }
  char *rej = get_string(c, out, "reject_path", "output", FALSE);
  if (rej) {
    spec->reject_path = resolve(c->dir, rej);
    g_free(rej);
  }
}

static void line_col(const char *text, size_t offset, size_t *line, size_t *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < offset && text[i]; i++) {
    if (text[i] == '\n') {
      (*line)++;
      *col = 1;
    } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
      (*col)++; /* columns count characters, not bytes */
    }
  }
}

nlp_pipeline_spec *nlp_spec_parse(const char *json, const char *file, const char *dir,
                                  GError **error) {
  json_tokener *tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  size_t len = strlen(json);
  json_object *root = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr == json_tokener_continue) jerr = json_tokener_error_parse_eof;
  if (jerr == json_tokener_success)
    for (size_t i = end; i < len; i++)
      if (!g_ascii_isspace(json[i])) {
        jerr = json_tokener_error_parse_unexpected;
        end = i;
        break;
      }
  if (jerr != json_tokener_success) {
    size_t line, col;
    line_col(json, end, &line, &col);
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s:%zu:%zu: malformed JSON: %s", file,
                line, col, json_tokener_error_desc(jerr));
    json_object_put(root);
    return NULL;
  }

  nlp_pipeline_spec *spec = g_new0(nlp_pipeline_spec, 1);
  spec->file = g_strdup(file);
  /* Absolute, so resolved paths stay right whatever the plugin's working folder. */
  spec->dir = g_canonicalize_filename(dir, NULL);
  spec->models = g_ptr_array_new();
  spec->steps = g_ptr_array_new();
  spec->input.format = NLP_INPUT_TEXT;
  spec->input.path = g_strdup("-");
  spec->input.text_field = g_strdup("text");
  spec->output_path = g_strdup("-");
  spec->on_error = NLP_ON_ERROR_SKIP;
  spec->batch_size = 32;
  spec->threads = 0;

  parse_ctx c = {g_ptr_array_new_with_free_func(g_free), spec->dir};
  if (expect_type(&c, root, json_type_object, "(top level)", "a JSON object")) {
    static const char *const keys[] = {"models", "steps", "input", "output", "on_error",
                                       "batch_size", "threads", "description", NULL};
    check_keys(&c, root, "", keys);
    json_object *v = NULL;
    if (json_object_object_get_ex(root, "models", &v)) parse_models(&c, spec, v);
    if (json_object_object_get_ex(root, "steps", &v))
      parse_steps(&c, spec, v);
    else
      nlp_problem_add(c.problems, "steps", "required key missing (expected an array of steps)");
    if (json_object_object_get_ex(root, "input", &v)) parse_input(&c, spec, v);
    if (json_object_object_get_ex(root, "output", &v)) parse_output(&c, spec, v);
    char *on_error = get_string(&c, root, "on_error", "", FALSE);
    if (on_error) {
      if (!strcmp(on_error, "skip")) spec->on_error = NLP_ON_ERROR_SKIP;
      else if (!strcmp(on_error, "fail")) spec->on_error = NLP_ON_ERROR_FAIL;
      else if (!strcmp(on_error, "quarantine")) spec->on_error = NLP_ON_ERROR_QUARANTINE;
      else
        nlp_problem_add(c.problems, "on_error",
                        "expected one of \"skip\", \"fail\", \"quarantine\", got \"%s\"", on_error);
      g_free(on_error);
    }
    spec->batch_size = get_int(&c, root, "batch_size", "", 1, spec->batch_size);
    spec->threads = get_int(&c, root, "threads", "", 0, spec->threads);
    if (json_object_object_get_ex(root, "description", &v))
      expect_type(&c, v, json_type_string, "description", "a string");
  }
  json_object_put(root);
  gboolean ok = nlp_problems_to_error(c.problems, error);
  if (!ok && error && *error)
    g_prefix_error(error, "%s: invalid pipeline:\n", file);
  g_ptr_array_free(c.problems, TRUE);
  if (!ok) {
    nlp_spec_free(spec);
    return NULL;
  }
  return spec;
}

nlp_pipeline_spec *nlp_spec_load(const char *file, GError **error) {
  char *text = NULL;
  if (!g_file_get_contents(file, &text, NULL, error)) return NULL;
  char *dir = g_path_get_dirname(file);
  nlp_pipeline_spec *spec = nlp_spec_parse(text, file, dir, error);
  g_free(dir);
  g_free(text);
  return spec;
}

void nlp_spec_apply_overrides(nlp_pipeline_spec *spec, const nlp_spec_overrides *ov) {
  /* Command-line paths are relative to the working directory, not the pipeline. */
  if (ov->input_path) {
    g_free(spec->input.path);
    spec->input.path = g_strdup(ov->input_path);
  }
  if (ov->output_path) {
    g_free(spec->output_path);
    spec->output_path = g_strdup(ov->output_path);
  }
  if (ov->batch_size > 0) spec->batch_size = ov->batch_size;
  if (ov->threads >= 0) spec->threads = ov->threads;
}

const nlp_model_spec *nlp_spec_find_model(const nlp_pipeline_spec *spec, const char *name) {
  for (guint i = 0; i < spec->models->len; i++) {
    const nlp_model_spec *m = spec->models->pdata[i];
    if (!strcmp(m->name, name)) return m;
  }
  return NULL;
}

/* ---- semantic validation ------------------------------------------------------- */

static void validate_step(nlp_pipeline_spec *spec, nlp_registry *reg, guint i,
                          GHashTable *produced, GPtrArray *problems) {
  nlp_step_spec *st = spec->steps->pdata[i];
  char *p = g_strdup_printf("steps[%u]", i);
  for (guint j = 0; j < i; j++) {
    nlp_step_spec *prev = spec->steps->pdata[j];
    if (st->name && prev->name && !strcmp(st->name, prev->name))
      nlp_problem_add(problems, p, "duplicate step name \"%s\" (also steps[%u]); step names "
                      "are output keys and must be unique", st->name, j);
  }
  if (st->name && (!strcmp(st->name, "text") || !strcmp(st->name, "error")))
    nlp_problem_add(problems, p, "step name \"%s\" is reserved", st->name);
  if (st->model && !nlp_spec_find_model(spec, st->model)) {
    char *mp = g_strdup_printf("%s.model", p);
    nlp_problem_add(problems, mp, "no model named \"%s\" in \"models\"", st->model);
    g_free(mp);
  }
  if (st->head && !g_file_test(st->head, G_FILE_TEST_IS_DIR)) {
    char *hp = g_strdup_printf("%s.head", p);
    nlp_problem_add(problems, hp, "folder not found: %s", st->head);
    g_free(hp);
  }
  const nlp_plugin *plugin = st->plugin_name ? nlp_registry_find(reg, st->plugin_name) : NULL;
  if (st->plugin_name && !plugin) {
    char *pp = g_strdup_printf("%s.plugin", p);
    GString *known = g_string_new(NULL);
    const GPtrArray *all = nlp_registry_plugins(reg);
    for (guint k = 0; k < all->len; k++)
      g_string_append_printf(known, "%s%s", k ? ", " : "",
                             ((const nlp_plugin *)all->pdata[k])->desc->name);
    nlp_problem_add(problems, pp, "unknown plugin \"%s\" (found: %s; see `nlpipe plugins`)",
                    st->plugin_name, known->len ? known->str : "none");
    g_string_free(known, TRUE);
    g_free(pp);
  }
  if (plugin) {
    st->plugin = plugin;
    const nlp_plugin_desc *d = plugin->desc;
    for (const char *const *r = d->requires; r && *r; r++) {
      if (!strcmp(*r, "encoder")) {
        if (!st->model) {
          char *mp = g_strdup_printf("%s.model", p);
          nlp_problem_add(problems, mp, "plugin '%s' runs on a transformer: expected the name "
                          "of a model from \"models\"", d->name);
          g_free(mp);
        }
      } else if (!g_hash_table_contains(produced, *r)) {
        char *pp = g_strdup_printf("%s.plugin", p);
        nlp_problem_add(problems, pp, "plugin '%s' requires \"%s\", which no earlier step "
                        "produces", d->name, *r);
        g_free(pp);
      }
    }
    char *op = g_strdup_printf("%s.options", p);
    json_object *filled = nlp_options_check(d, st->options, op, spec->dir, problems);
    if (filled && d->validate) {
      char *opt_path = NULL, *why = NULL;
      if (d->validate(filled, &opt_path, &why) != NLP_STATUS_OK) {
        char *full = opt_path ? g_strdup_printf("%s.%s", op, opt_path) : g_strdup(op);
        nlp_problem_add(problems, full, "%s", why ? why : "invalid options");
        g_free(full);
      }
      free(opt_path);
      free(why);
    }
    json_object_put(st->options);
    st->options = filled;
    g_free(op);
    for (const char *const *q = d->produces; q && *q; q++)
      g_hash_table_add(produced, (gpointer)*q);
  }
  g_free(p);
}

gboolean nlp_spec_validate(nlp_pipeline_spec *spec, nlp_registry *reg, GError **error) {
  GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < spec->models->len; i++) {
    nlp_model_spec *m = spec->models->pdata[i];
    if (!m->path) continue;
    char *p = g_strdup_printf("models.%s", m->name);
    char *config = g_build_filename(m->path, "config.json", NULL);
    if (!g_file_test(m->path, G_FILE_TEST_IS_DIR))
      nlp_problem_add(problems, p, "folder not found: %s", m->path);
    else if (!g_file_test(config, G_FILE_TEST_EXISTS))
      nlp_problem_add(problems, p, "expected a Hugging Face model folder with config.json: %s",
                      m->path);
    g_free(config);
    g_free(p);
  }
  GHashTable *produced = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_add(produced, "text");
  for (guint i = 0; i < spec->steps->len; i++) validate_step(spec, reg, i, produced, problems);
  g_hash_table_destroy(produced);
  if (spec->input.format == NLP_INPUT_TSV && !spec->input.header && !spec->input.columns)
    nlp_problem_add(problems, "input", "format \"tsv\" needs \"columns\" or \"header\": true");
  if (strcmp(spec->input.path, "-") && !g_file_test(spec->input.path, G_FILE_TEST_EXISTS))
    nlp_problem_add(problems, "input.path", "file not found: %s", spec->input.path);
  if (spec->on_error == NLP_ON_ERROR_QUARANTINE && !spec->reject_path)
    nlp_problem_add(problems, "output.reject_path",
                    "on_error \"quarantine\" needs a file for rejected records");
  gboolean ok = nlp_problems_to_error(problems, error);
  if (!ok && error && *error) g_prefix_error(error, "%s: invalid pipeline:\n", spec->file);
  g_ptr_array_free(problems, TRUE);
  return ok;
}

static void model_free(nlp_model_spec *m) {
  g_free(m->name);
  g_free(m->path);
  g_free(m);
}

static void step_free(nlp_step_spec *s) {
  g_free(s->name);
  g_free(s->plugin_name);
  g_free(s->model);
  g_free(s->head);
  json_object_put(s->options);
  g_free(s);
}

void nlp_spec_free(nlp_pipeline_spec *spec) {
  if (!spec) return;
  for (guint i = 0; i < spec->models->len; i++) model_free(spec->models->pdata[i]);
  g_ptr_array_free(spec->models, TRUE);
  for (guint i = 0; i < spec->steps->len; i++) step_free(spec->steps->pdata[i]);
  g_ptr_array_free(spec->steps, TRUE);
  g_free(spec->input.path);
  g_free(spec->input.text_field);
  g_strfreev(spec->input.columns);
  g_free(spec->output_path);
  g_free(spec->reject_path);
  g_free(spec->file);
  g_free(spec->dir);
  g_free(spec);
}
