/* average.c — `nlpipe average`: one head folder whose weights are the element-wise
 * mean of several fine-tuned from the same start.
 *
 * Why only from the same start: fine-tuning moves a model a short way from its
 * initial weights, and runs from one start (same backbone, same training.seed, so the
 * same head init) stay in one basin where their mean is as good as or better than
 * each of them ("model soups", Wortsman et al. 2022; checkpoint averaging in machine
 * translation). Two random head inits are permutations of each other's hidden units,
 * and their mean is neither. So the ingredients must agree on everything but the
 * data order (training.data_seed) or other training numbers, and this refuses them
 * otherwise, naming the field. */
#include <errno.h>
#include <string.h>

#include "train/internal.h"
#include "tensor/safetensors.h"
#include "train/st-write.h"
#include "util/error.h"

/* head.json fields every ingredient must share ("a.b" = field b of object a). */
static const char *const must_agree[] = {"task",         "labels",    "problem_type",           "head_type",
                                         "pooling",      "shapes",    "backbone.config_sha256", "backbone.unfrozen_layers",
                                         "training.seed", "data.fields"};

static json_object *field(json_object *o, const char *dotted) {
  char **parts = g_strsplit(dotted, ".", -1);
  for (char **p = parts; *p && o; p++)
    if (!json_object_object_get_ex(o, *p, &o)) o = NULL;
  g_strfreev(parts);
  return o;
}

static bool load_heads(const char *const *dirs, size_t n, json_object **heads, GError **error) {
  for (size_t i = 0; i < n; i++) {
    char *p = g_build_filename(dirs[i], "head.json", NULL);
    heads[i] = json_object_from_file(p);
    if (!heads[i]) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read a JSON object (is %s a head folder?)", p, dirs[i]);
      g_free(p);
      return false;
    }
    g_free(p);
    for (size_t k = 0; i && k < G_N_ELEMENTS(must_agree); k++) {
      json_object *a = field(heads[0], must_agree[k]), *b = field(heads[i], must_agree[k]);
      if (!json_object_equal(a, b)) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                    "%s/head.json: %s is %s but %s/head.json has %s: only heads fine-tuned from the same start "
                    "average (vary training.data_seed, not training.seed)",
                    dirs[i], must_agree[k], b ? json_object_to_json_string(b) : "missing", dirs[0],
                    a ? json_object_to_json_string(a) : "missing");
        return false;
      }
    }
  }
  return true;
}

static bool is_float(nlp_dtype d) { return d == NLP_DTYPE_F32 || d == NLP_DTYPE_F16 || d == NLP_DTYPE_BF16; }

static void to_f32(const nlp_safetensors_entry *e, float *dst) {
  if (e->dtype == NLP_DTYPE_F16) nlp_convert_f16_to_f32(e->data, dst, e->numel);
  else if (e->dtype == NLP_DTYPE_BF16) nlp_convert_bf16_to_f32(e->data, dst, e->numel);
  else memcpy(dst, e->data, e->numel * sizeof(float)); /* the mapping may be unaligned */
}

/* OUT = the mean of the N files DIRS[i]/NAME, tensor by tensor in the first file's order
 * (summed in double and rounded to float once). Written as F16 when every ingredient
 * stores F16 (the bundled backbones), else F32. */
static bool average_file(const char *const *dirs, size_t n, const char *name, const char *out, GError **error) {
  nlp_safetensors **st = g_new0(nlp_safetensors *, n);
  char *first = g_build_filename(dirs[0], name, NULL);
  bool ok = true, all_f16 = true;
  for (size_t i = 0; i < n && ok; i++) {
    char *p = g_build_filename(dirs[i], name, NULL);
    ok = (st[i] = nlp_safetensors_open(p, error)) != NULL;
    if (ok && st[i]->n_entries != st[0]->n_entries) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: %zu tensors, %s has %zu", p, st[i]->n_entries, first,
                  st[0]->n_entries);
      ok = false;
    }
    g_free(p);
  }
  size_t T = ok ? st[0]->n_entries : 0;
  nlp_st_item *items = g_new0(nlp_st_item, T + 1);
  float **means = g_new0(float *, T + 1);
  for (size_t k = 0; k < T && ok; k++) {
    const nlp_safetensors_entry *e0 = &st[0]->entries[k];
    if (!is_float(e0->dtype) || e0->ndim > 4) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: %s: only float tensors of up to 4 dimensions average",
                  first, e0->name);
      ok = false;
      break;
    }
    double *sum = g_new0(double, e0->numel + 1);
    float *row = g_new(float, e0->numel + 1);
    for (size_t i = 0; i < n && ok; i++) {
      const nlp_safetensors_entry *e = nlp_safetensors_find(st[i], e0->name);
      if (!e || !is_float(e->dtype) || e->ndim != e0->ndim ||
          memcmp(e->shape, e0->shape, sizeof(e->shape[0]) * (size_t)e->ndim)) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s/%s: %s %s (as in %s)", dirs[i], name, e0->name,
                    e ? "has another dtype or shape" : "is missing", first);
        ok = false;
        break;
      }
      all_f16 = all_f16 && e->dtype == NLP_DTYPE_F16;
      to_f32(e, row);
      for (size_t j = 0; j < e->numel; j++) sum[j] += row[j];
    }
    for (size_t j = 0; j < e0->numel; j++) row[j] = (float)(sum[j] / (double)n);
    g_free(sum);
    means[k] = row;
    items[k] = (nlp_st_item){e0->name, row, e0->ndim, {0}};
    for (int d = 0; d < e0->ndim; d++) items[k].shape[d] = (size_t)e0->shape[d];
  }
  const char *meta[] = {"format", "pt", NULL};
  if (ok) ok = nlp_safetensors_write(out, items, T, all_f16 ? NLP_DTYPE_F16 : NLP_DTYPE_F32, meta, error);
  for (size_t k = 0; k < T; k++) g_free(means[k]);
  for (size_t i = 0; i < n; i++) nlp_safetensors_free(st[i]);
  g_free(means);
  g_free(items);
  g_free(st);
  g_free(first);
  return ok;
}

/* A path field of head.json (relative to the ingredient folder FROM) made relative to OUT. */
static void rebase(json_object *obj, const char *key, const char *from, const char *out) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) return;
  char *abs = nlp_tr_resolve(from, json_object_get_string(v)), *rel = nlp_tr_relpath(out, abs);
  json_object_object_add(obj, key, json_object_new_string(rel));
  g_free(abs);
  g_free(rel);
}

/* The training numbers that differ between ingredients move from "training" into
 * "averaged_from", one entry per ingredient. */
static json_object *ingredient_record(json_object *head, const char *dir, const char *out) {
  json_object *r = json_object_new_object(), *tr = field(head, "training"), *v;
  char *rel = nlp_tr_relpath(out, dir);
  json_object_object_add(r, "path", json_object_new_string(rel));
  g_free(rel);
  const char *keys[] = {"data_seed", "best_epoch", "train_loss"};
  for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
    if (tr && json_object_object_get_ex(tr, keys[k], &v)) json_object_object_add(r, keys[k], json_object_get(v));
  if ((v = field(head, "dev_metrics"))) json_object_object_add(r, "dev_metrics", json_object_get(v));
  return r;
}

bool nlp_train_average(const char *const *dirs, size_t n, const nlp_average_options *o, GError **error) {
  if (n < 2) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "average: needs at least two head folders (got %zu)", n);
    return false;
  }
  json_object **heads = g_new0(json_object *, n);
  char *backbone0 = g_build_filename(dirs[0], "backbone", "model.safetensors", NULL);
  bool ok = load_heads(dirs, n, heads, error), own_backbone = g_file_test(backbone0, G_FILE_TEST_EXISTS);
  for (size_t i = 1; i < n && ok; i++) {
    char *b = g_build_filename(dirs[i], "backbone", "model.safetensors", NULL);
    if (g_file_test(b, G_FILE_TEST_EXISTS) != own_backbone) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: %s but %s %s", dirs[i],
                  own_backbone ? "has no backbone/model.safetensors" : "has a backbone/model.safetensors", backbone0,
                  own_backbone ? "exists" : "does not exist");
      ok = false;
    }
    g_free(b);
  }
  char *bdir = g_build_filename(o->output, "backbone", NULL);
  if (ok && g_mkdir_with_parents(own_backbone ? bdir : o->output, 0755) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot create: %s", o->output, g_strerror(errno));
    ok = false;
  }
  char *hw = g_build_filename(o->output, "head.safetensors", NULL);
  if (ok) ok = average_file(dirs, n, "head.safetensors", hw, error);
  if (ok && own_backbone) {
    char *bw = g_build_filename(bdir, "model.safetensors", NULL), *src = g_build_filename(dirs[0], "backbone", NULL);
    ok = average_file(dirs, n, "backbone/model.safetensors", bw, error) &&
         nlp_tr_copy_backbone_files(src, NULL, bdir, error);
    g_free(bw);
    g_free(src);
  }
  json_object *h = NULL;
  if (ok && json_object_deep_copy(heads[0], &h, NULL) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s/head.json: cannot copy", dirs[0]);
    ok = false;
  }
  if (ok) {
    rebase(field(h, "data"), "train", dirs[0], o->output);
    rebase(field(h, "data"), "dev", dirs[0], o->output);
    rebase(field(h, "backbone"), "base", dirs[0], o->output);
    rebase(field(h, "backbone"), "tokenizer", dirs[0], o->output);
    if (!own_backbone) rebase(field(h, "backbone"), "path", dirs[0], o->output);
    json_object *tr = field(h, "training"), *from = json_object_new_array();
    const char *varying[] = {"data_seed", "best_epoch", "train_loss"};
    for (size_t k = 0; tr && k < G_N_ELEMENTS(varying); k++) json_object_object_del(tr, varying[k]);
    for (size_t i = 0; i < n; i++) json_object_array_add(from, ingredient_record(heads[i], dirs[i], o->output));
    json_object_object_add(h, "averaged_from", from);
    json_object_object_del(h, "dev_metrics");
    ok = nlp_tr_write_head_json(o->output, h, error);
  }
  /* The mean is a new model: its dev numbers are measured, not inherited. */
  if (ok && !o->no_eval) {
    char *dev = o->dev ? g_strdup(o->dev) : nlp_tr_resolve(o->output, nlp_tr_jstr(field(h, "data"), "dev", NULL));
    json_object *m = NULL;
    if (!dev) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s/head.json: data.dev missing: pass a dev file or --no-eval",
                  dirs[0]);
      ok = false;
    } else if ((ok = nlp_train_evaluate_head(o->output, dev, o->threads, &m, error))) {
      json_object_object_add(h, "dev_metrics", m);
      ok = nlp_tr_write_head_json(o->output, h, error);
    }
    g_free(dev);
  }
  json_object_put(h);
  for (size_t i = 0; i < n; i++) json_object_put(heads[i]);
  g_free(heads);
  g_free(hw);
  g_free(bdir);
  g_free(backbone0);
  return ok;
}
