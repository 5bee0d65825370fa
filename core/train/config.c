/* config.c — `nlpipe train`'s task definition (and a head's head.json, read back by
 * `nlpipe eval`): parsing, defaults and range checks, and the path helpers the other
 * trainer files share. See trainer.h for the format. */
#include <stdlib.h>
#include <string.h>

#include "train/internal.h"
#include "util/error.h"

const char *nlp_tr_jstr(json_object *o, const char *key, const char *def) {
  json_object *v;
  if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return def;
}

json_object *nlp_tr_jobj(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool jnum(json_object *o, const char *key, double def, double lo, double hi, double *out,
                 const char *where, GError **error) {
  json_object *v = nlp_tr_jobj(o, key);
  if (!v) {
    *out = def;
    return true;
  }
  if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s.%s: expected a number", where, key);
    return false;
  }
  *out = json_object_get_double(v);
  if (*out < lo || *out > hi) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s.%s: expected a number in [%g, %g], got %g",
                where, key, lo, hi, *out);
    return false;
  }
  return true;
}

static bool jbool(json_object *o, const char *key, bool def) {
  json_object *v = nlp_tr_jobj(o, key);
  return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

char *nlp_tr_resolve(const char *dir, const char *p) {
  if (!p) return NULL;
  return g_path_is_absolute(p) ? g_strdup(p) : g_build_filename(dir, p, NULL);
}

char *nlp_tr_file_sha256(const char *path) {
  gchar *buf = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &buf, &len, NULL)) return g_strdup("");
  char *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)buf, len);
  g_free(buf);
  return s;
}

char *nlp_tr_relpath(const char *from_dir, const char *to) {
  char *a = realpath(from_dir, NULL), *b = realpath(to, NULL);
  if (!a || !b) {
    free(a);
    free(b);
    return g_strdup(to);
  }
  char **pa = g_strsplit(a, "/", -1), **pb = g_strsplit(b, "/", -1);
  size_t i = 0;
  while (pa[i] && pb[i] && !strcmp(pa[i], pb[i])) i++;
  GString *r = g_string_new(NULL);
  for (size_t j = i; pa[j]; j++)
    if (*pa[j]) g_string_append(r, "../");
  for (size_t j = i; pb[j]; j++) {
    if (!*pb[j]) continue;
    g_string_append(r, pb[j]);
    if (pb[j + 1]) g_string_append_c(r, '/');
  }
  if (!r->len) g_string_append_c(r, '.');
  g_strfreev(pa);
  g_strfreev(pb);
  free(a);
  free(b);
  return g_string_free(r, FALSE);
}

static const char *default_metric(nlp_train_task task) {
  switch (task) {
  case NLP_TASK_CLASSIFICATION: return "accuracy";
  case NLP_TASK_TOKEN_CLASSIFICATION: return "f1";
  case NLP_TASK_QUESTION_ANSWERING: return "f1";
  case NLP_TASK_SUMMARY: return "rouge1";
  }
  return "accuracy";
}

static bool parse_fields(trainer *t, json_object *data) {
  t->fields = nlp_data_fields_default();
  json_object *f = nlp_tr_jobj(data, "fields");
  t->fields.text = nlp_tr_jstr(f, "text", t->fields.text);
  t->fields.label = nlp_tr_jstr(f, "label", t->fields.label);
  t->fields.tokens = nlp_tr_jstr(f, "tokens", t->fields.tokens);
  t->fields.tags = nlp_tr_jstr(f, "tags", t->fields.tags);
  t->fields.question = nlp_tr_jstr(f, "question", t->fields.question);
  t->fields.context = nlp_tr_jstr(f, "context", t->fields.context);
  t->fields.answers = nlp_tr_jstr(f, "answers", t->fields.answers);
  t->fields.document = nlp_tr_jstr(f, "document", t->fields.document);
  t->fields.summary = nlp_tr_jstr(f, "summary", t->fields.summary);
  t->fields.source = nlp_tr_jstr(data, "source", NULL);
  return true;
}

/* Reads the parts shared by a train config and head.json: task, head, training. */
bool nlp_tr_parse_spec(trainer *t, const char *where, GError **error) {
  json_object *r = t->root;
  const char *task = nlp_tr_jstr(r, "task", NULL);
  if (!nlp_train_task_from_name(task, &t->task)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "%s: task: expected \"text-classification\", \"token-classification\", "
                "\"question-answering\" or \"extractive-summary\", got %s", where,
                task ? task : "nothing");
    return false;
  }
  json_object *head = nlp_tr_jobj(r, "head");
  const char *type = nlp_tr_jstr(head, "type", nlp_tr_jstr(r, "head_type", "linear"));
  const char *pooling = nlp_tr_jstr(head, "pooling", nlp_tr_jstr(r, "pooling", "pooler"));
  const char *problem = nlp_tr_jstr(head, "problem_type", nlp_tr_jstr(r, "problem_type", "single_label_classification"));
  /* head.json of other tasks says "span", "scorer", "token", "mean": only a
   * sequence classifier has a choice */
  bool cls = t->task == NLP_TASK_CLASSIFICATION;
  if (cls && strcmp(type, "linear") && strcmp(type, "mlp")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: head.type: expected \"linear\" or \"mlp\", got \"%s\"", where, type);
    return false;
  }
  if (cls && strcmp(pooling, "pooler") && strcmp(pooling, "cls") && strcmp(pooling, "mean")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: head.pooling: expected \"pooler\", \"cls\" or \"mean\", got \"%s\"", where, pooling);
    return false;
  }
  if (cls && strcmp(problem, "single_label_classification") && strcmp(problem, "multi_label_classification")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: head.problem_type: expected \"single_label_classification\" or \"multi_label_classification\", got \"%s\"", where, problem);
    return false;
  }
  t->mlp = !strcmp(type, "mlp");
  t->pooler = !strcmp(pooling, "pooler");
  t->pool_mean = cls && !strcmp(pooling, "mean");
  t->multi = !strcmp(problem, "multi_label_classification");
  t->crf = jbool(head, "crf", jbool(r, "crf", false));
  /* a CRF chains the words: only their first pieces are labelled */
  t->label_all = !t->crf && jbool(head, "label_all_subwords", jbool(r, "label_all_subwords", true));
  t->class_weights_json = nlp_tr_jobj(head, "class_weights");
  const char *scheme = nlp_tr_jstr(head, "scheme", nlp_tr_jstr(r, "scheme", "BIO"));
  if (t->task == NLP_TASK_TOKEN_CLASSIFICATION && strcmp(scheme, "BIO") && strcmp(scheme, "BIOES")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: head.scheme: expected \"BIO\" or \"BIOES\", got \"%s\"", where, scheme);
    return false;
  }
  t->bioes = !strcmp(scheme, "BIOES");
  json_object *tr = nlp_tr_jobj(r, "training");
  const char *w = "training";
  double v;
  bool qa = t->task == NLP_TASK_QUESTION_ANSWERING;
  if (!jnum(tr, "epochs", 10, 1, 10000, &v, w, error)) return false;
  t->epochs = (int)v;
  if (!jnum(tr, "batch_size", 32, 1, 65536, &v, w, error)) return false;
  t->batch = (int)v;
  if (!jnum(tr, "lr", 1e-3, 0, 10, &t->lr, w, error)) return false;
  if (!jnum(tr, "lr_backbone", 5e-5, 0, 10, &t->lr_backbone, w, error)) return false;
  if (!jnum(tr, "weight_decay", 0.01, 0, 10, &t->wd, w, error)) return false;
  if (!jnum(tr, "warmup_ratio", 0.1, 0, 1, &t->warmup_ratio, w, error)) return false;
  if (!jnum(tr, "dropout", 0.1, 0, 0.95, &t->dropout, w, error)) return false;
  if (!jnum(tr, "attention_dropout", 0.1, 0, 0.95, &t->attn_dropout, w, error)) return false;
  if (!jnum(tr, "clip_norm", 1.0, 0, 1e9, &t->clip, w, error)) return false;
  if (!jnum(tr, "seed", 42, 0, 9007199254740991.0, &v, w, error)) return false;
  t->seed = (uint64_t)v;
  if (!jnum(tr, "data_seed", v, 0, 9007199254740991.0, &v, w, error)) return false;
  t->data_seed = (uint64_t)v;
  if (!jnum(tr, "patience", 3, 0, 10000, &v, w, error)) return false;
  t->patience = (int)v;
  if (!jnum(tr, "max_length", qa ? 384 : t->task == NLP_TASK_SUMMARY ? 512 : 128, 4, 100000, &v, w, error)) return false;
  t->max_length = (size_t)v;
  if (!jnum(tr, "stride", qa ? 128 : 32, 0, 100000, &v, w, error)) return false;
  t->stride = (size_t)v;
  if (!jnum(tr, "unfreeze_top", 0, 0, 1000, &v, w, error)) return false;
  t->unfreeze = (int)v;
  t->train_emb = jbool(tr, "train_embeddings", false);
  t->metric = nlp_tr_jstr(tr, "metric", default_metric(t->task));
  const char *cd = nlp_tr_jstr(tr, "cache_dtype", "f32");
  if (strcmp(cd, "f32") && strcmp(cd, "f16")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: training.cache_dtype: expected \"f32\" or \"f16\"", where);
    return false;
  }
  t->cache_f16 = !strcmp(cd, "f16");
  json_object *data = nlp_tr_jobj(r, "data");
  parse_fields(t, data);
  if (!jnum(data, "max_train", 0, 0, 1e12, &v, "data", error)) return false;
  t->max_train = (size_t)v;
  if (!jnum(data, "max_dev", 0, 0, 1e12, &v, "data", error)) return false;
  t->max_dev = (size_t)v;
  return true;
}

bool nlp_tr_load_config(trainer *t, const char *path, GError **error) {
  gchar *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, error)) return false;
  json_tokener *tk = json_tokener_new();
  t->root = json_tokener_parse_ex(tk, text, (int)strlen(text));
  enum json_tokener_error je = json_tokener_get_error(tk);
  json_tokener_free(tk);
  g_free(text);
  if (!t->root || je != json_tokener_success || !json_object_is_type(t->root, json_type_object)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_PARSE, "%s: not a JSON object (%s)", path,
                json_tokener_error_desc(je));
    return false;
  }
  char *d = g_path_get_dirname(path);
  t->dir = d;
  if (!nlp_tr_parse_spec(t, path, error)) return false;
  const char *bb = nlp_tr_jstr(t->root, "backbone", NULL), *out = nlp_tr_jstr(t->root, "output", NULL);
  json_object *data = nlp_tr_jobj(t->root, "data");
  const char *tr = nlp_tr_jstr(data, "train", NULL), *dv = nlp_tr_jstr(data, "dev", NULL);
  if (!bb || !out || !tr || !dv) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: %s: missing (a path)", path,
                !bb ? "backbone" : !out ? "output" : !tr ? "data.train" : "data.dev");
    return false;
  }
  t->backbone = nlp_tr_resolve(d, bb);
  t->tokenizer_path = nlp_tr_resolve(d, nlp_tr_jstr(t->root, "tokenizer", NULL));
  t->output = nlp_tr_resolve(d, out);
  t->train_path = nlp_tr_resolve(d, tr);
  t->dev_path = nlp_tr_resolve(d, dv);
  t->cache_dir = nlp_tr_resolve(d, nlp_tr_jstr(t->root, "cache", NULL));
  json_object *labels = nlp_tr_jobj(t->root, "labels");
  if (labels) {
    if (!json_object_is_type(labels, json_type_array) || !json_object_array_length(labels)) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: labels: expected a non-empty array of strings", path);
      return false;
    }
    t->labels = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < json_object_array_length(labels); i++)
      g_ptr_array_add(t->labels, g_strdup(json_object_get_string(json_object_array_get_idx(labels, i))));
  }
  return true;
}
