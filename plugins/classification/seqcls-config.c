/* seqcls-config.c — where a classification step's labels, problem type and head
 * settings come from (head.json or config.json); see seqcls.h for the rules. */
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqcls.h"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *g = g_strdup_vprintf(f, ap);
  va_end(ap);
  char *out = strdup(g); /* the host free()s error strings */
  g_free(g);
  return out;
}

static const char *get_string(struct json_object *o, const char *key) {
  struct json_object *v = NULL;
  if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* Labels from config.json: id2label {"0": ..} in index order; num_labels LABEL_i
 * otherwise (what HF's PretrainedConfig does). */
static bool labels_from_config(seqcls *s, struct json_object *cfg, char **error) {
  struct json_object *id2label = NULL, *num = NULL;
  size_t n = 0;
  if (cfg && json_object_object_get_ex(cfg, "id2label", &id2label) &&
      json_object_is_type(id2label, json_type_object))
    n = (size_t)json_object_object_length(id2label);
  else if (cfg && json_object_object_get_ex(cfg, "num_labels", &num) &&
           json_object_is_type(num, json_type_int) && json_object_get_int(num) > 0)
    n = (size_t)json_object_get_int(num);
  else
    n = 2; /* HF's PretrainedConfig default */
  s->labels = calloc(n, sizeof(char *));
  s->n_labels = n;
  for (size_t i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "%zu", i);
    const char *name = id2label ? get_string(id2label, key) : NULL;
    if (id2label && !name) {
      *error = fmt("%s/config.json: id2label has no string for id \"%s\" (expected ids 0..%zu)",
                   s->where, key, n - 1);
      return false;
    }
    s->labels[i] = name ? strdup(name) : fmt("LABEL_%zu", i);
  }
  return true;
}

static bool read_head_json(seqcls *s, const char *head_dir, char **error) {
  char *file = g_build_filename(head_dir, "head.json", NULL);
  struct json_object *head = json_object_from_file(file);
  bool ok = false;
  struct json_object *labels = NULL;
  if (!head) {
    *error = fmt("%s: cannot read or parse (a head folder needs head.json)", file);
    goto out;
  }
  if (!json_object_object_get_ex(head, "labels", &labels) ||
      !json_object_is_type(labels, json_type_array) || json_object_array_length(labels) == 0) {
    *error = fmt("%s: \"labels\": expected a non-empty array of strings", file);
    goto out;
  }
  s->n_labels = json_object_array_length(labels);
  s->labels = calloc(s->n_labels, sizeof(char *));
  for (size_t i = 0; i < s->n_labels; i++) {
    struct json_object *l = json_object_array_get_idx(labels, i);
    if (!json_object_is_type(l, json_type_string)) {
      *error = fmt("%s: \"labels[%zu]\": expected a string", file, i);
      goto out;
    }
    s->labels[i] = strdup(json_object_get_string(l));
  }
  const char *pt = get_string(head, "problem_type");
  if (pt) s->problem_type = strdup(pt);
  const char *pooling = get_string(head, "pooling");
  if (!pooling || !strcmp(pooling, "cls")) s->pooling = SEQCLS_POOL_CLS;
  else if (!strcmp(pooling, "pooler")) s->pooling = SEQCLS_POOL_POOLER;
  else if (!strcmp(pooling, "mean")) s->pooling = SEQCLS_POOL_MEAN;
  else {
    *error = fmt("%s: \"pooling\": expected \"cls\", \"pooler\" or \"mean\", got \"%s\"", file, pooling);
    goto out;
  }
  const char *act = get_string(head, "activation");
  if (!act) s->activation = SEQCLS_ACT_NONE;
  else if (!strcmp(act, "tanh")) s->activation = SEQCLS_ACT_TANH;
  else if (!strcmp(act, "relu")) s->activation = SEQCLS_ACT_RELU;
  else if (!strcmp(act, "gelu")) s->activation = SEQCLS_ACT_GELU;
  else {
    *error = fmt("%s: \"activation\": expected \"tanh\", \"relu\" or \"gelu\", got \"%s\"", file, act);
    goto out;
  }
  ok = true;
out:
  json_object_put(head);
  g_free(file);
  return ok;
}

seqcls *nlp_seqcls_new(const nlp_host *host, const nlp_step_info *step, char **error) {
  const nlp_model_info *info = step->model ? host->model_info(step->model) : NULL;
  if (!info) {
    *error = fmt("step \"%s\" needs a model (\"model\": a name from \"models\")", step->name);
    return NULL;
  }
  seqcls *s = calloc(1, sizeof *s);
  s->host = host;
  s->step = strdup(step->name);
  s->max_positions = info->max_positions;
  s->electra = info->architecture && !strcmp(info->architecture, "electra");
  bool ok;
  if (step->head_dir) {
    s->where = strdup(step->head_dir);
    s->from_head_dir = true;
    ok = read_head_json(s, step->head_dir, error);
  } else {
    s->where = strdup(info->path);
    /* Refused here rather than on the first batch: a bare backbone has no head. */
    struct json_object *archs = NULL;
    const char *arch0 = NULL;
    if (info->config && json_object_object_get_ex(info->config, "architectures", &archs) &&
        json_object_is_type(archs, json_type_array) && json_object_array_length(archs) > 0)
      arch0 = json_object_get_string(json_object_array_get_idx(archs, 0));
    if (!arch0 || !g_str_has_suffix(arch0, "ForSequenceClassification")) {
      *error = fmt("%s/config.json: architectures[0] is \"%s\", not a *ForSequenceClassification "
                   "model; give step \"%s\" a \"head\" folder (head.json + head.safetensors)",
                   info->path, arch0 ? arch0 : "(none)", step->name);
      ok = false;
    } else {
      ok = labels_from_config(s, info->config, error);
      const char *pt = get_string(info->config, "problem_type");
      if (pt) s->problem_type = strdup(pt);
    }
  }
  if (!ok) {
    nlp_seqcls_free(s);
    return NULL;
  }
  return s;
}

void nlp_seqcls_free(seqcls *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_labels; i++) free(s->labels ? s->labels[i] : NULL);
  free(s->labels);
  free(s->problem_type);
  free(s->pair_field);
  free(s->where);
  free(s->step);
  free(s);
}

seqcls_aggregation nlp_seqcls_parse_aggregation(const char *name) {
  if (name && !strcmp(name, "max")) return SEQCLS_AGG_MAX;
  if (name && !strcmp(name, "first")) return SEQCLS_AGG_FIRST;
  return SEQCLS_AGG_MEAN;
}

seqcls_function nlp_seqcls_parse_function(const char *name) {
  if (!name) return SEQCLS_FN_DEFAULT;
  if (!strcmp(name, "softmax")) return SEQCLS_FN_SOFTMAX;
  if (!strcmp(name, "sigmoid")) return SEQCLS_FN_SIGMOID;
  if (!strcmp(name, "none")) return SEQCLS_FN_NONE;
  return SEQCLS_FN_DEFAULT;
}

seqcls_function nlp_seqcls_default_function(const seqcls *s) {
  const char *pt = s->problem_type;
  if (pt && !strcmp(pt, "regression")) return SEQCLS_FN_NONE;
  if ((pt && !strcmp(pt, "multi_label_classification")) || s->n_labels == 1) return SEQCLS_FN_SIGMOID;
  return SEQCLS_FN_SOFTMAX; /* single_label_classification or num_labels > 1 */
}
