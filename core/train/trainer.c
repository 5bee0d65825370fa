/* trainer.c — nlpipe train: config, featurization + cache, the epoch loop, dev
 * evaluation, checkpoints, and writing head folders. See trainer.h. */
#include "train/trainer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/metrics.h"
#include "model/model.h"
#include "tensor/gemm.h"
#include "tensor/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"
#include "train/embeddings.h"
#include "train/heads.h"
#include "train/layer.h"
#include "train/param.h"
#include "train/st-write.h"
#include "util/error.h"

/* ---- data structures */

typedef struct {
  size_t ex, tok0, n_tok, row0, n_rows, feat0, n_feat;
  int32_t start, end; /* QA targets within the window */
} seq_info;

typedef struct {
  nlp_train_data *data;
  GArray *seqs;                 /* seq_info */
  GArray *ids, *types;          /* int32 per token */
  GArray *tok_label, *word_first; /* token task */
  GArray *offs, *seq_id, *word_id; /* 2 int32 / 1 int32 / 1 int32 per token */
  GArray *feat_a, *feat_n, *feat_sent; /* summary: token range (in the seq) and sentence */
  GArray *feat_soft;            /* summary: 0/1 per feature */
  size_t n_rows;
  void *map;
  size_t map_len;
  const unsigned char *rows;    /* into map */
  bool f16;
} featset;

typedef struct {
  /* spec */
  json_object *root;     /* the config or head.json; strings below may borrow from it */
  char *dir;             /* its folder */
  nlp_train_task task;
  char *backbone, *tokenizer_path, *output, *cache_dir, *train_path, *dev_path;
  nlp_data_fields fields;
  size_t max_train, max_dev;
  bool mlp, pooler, pool_mean, multi, label_all, bioes, crf;
  json_object *class_weights_json;
  GPtrArray *labels;
  float *class_weights;
  int epochs, batch, patience, unfreeze;
  bool train_emb; /* training.train_embeddings: the embedding block learns too */
  double lr, lr_backbone, wd, warmup_ratio, dropout, attn_dropout, clip;
  uint64_t seed;
  size_t max_length, stride;
  const char *metric;
  bool cache_f16;
  /* runtime */
  int threads;
  bool quiet;
  nlp_model *model;
  nlp_tokenizer *tok;
  size_t H, L;
  nlp_param_set *params;
  size_t n_head_params;
  nlp_train_head head;
  nlp_train_layer *layers; /* unfreeze of them, bottom first */
  nlp_layer_tape **tapes;
  nlp_train_embeddings emb; /* with train_emb */
  nlp_head_tape *htape;
  char *pooler_name;
} trainer;

/* per-batch scratch */
typedef struct {
  size_t cap_t, cap_f, cap_s;
  float *x, *y, *f, *logits, *dl, *df, *dy;
  int32_t *ids, *types; /* the batch's tokens, with train_emb */
  size_t *lengths, *row0, *rows;
  int32_t *labels, *start, *end;
  float *soft;
  size_t T, nF, n_seq;
  const float *feat; /* rows the head reads */
} batch_buf;

/* ---- small helpers */

static const char *jstr(json_object *o, const char *key, const char *def) {
  json_object *v;
  if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return def;
}

static json_object *jobj(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool jnum(json_object *o, const char *key, double def, double lo, double hi, double *out,
                 const char *where, GError **error) {
  json_object *v = jobj(o, key);
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
  json_object *v = jobj(o, key);
  return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

static char *resolve(const char *dir, const char *p) {
  if (!p) return NULL;
  return g_path_is_absolute(p) ? g_strdup(p) : g_build_filename(dir, p, NULL);
}

static char *file_sha256(const char *path) {
  gchar *buf = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &buf, &len, NULL)) return g_strdup("");
  char *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)buf, len);
  g_free(buf);
  return s;
}

/* FROM_DIR -> TO as a relative path when both exist, else TO unchanged. */
static char *relpath(const char *from_dir, const char *to) {
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

static void featset_free(featset *fs) {
  if (!fs) return;
  nlp_train_data_free(fs->data);
  GArray *as[] = {fs->seqs, fs->ids, fs->types, fs->tok_label, fs->word_first, fs->offs,
                  fs->seq_id, fs->word_id, fs->feat_a, fs->feat_n, fs->feat_sent, fs->feat_soft};
  for (size_t i = 0; i < G_N_ELEMENTS(as); i++)
    if (as[i]) g_array_free(as[i], TRUE);
  if (fs->map) munmap(fs->map, fs->map_len);
  g_free(fs);
}

static void trainer_clear(trainer *t) {
  json_object_put(t->root);
  g_free(t->dir); g_free(t->backbone); g_free(t->tokenizer_path); g_free(t->output);
  g_free(t->cache_dir); g_free(t->train_path); g_free(t->dev_path); g_free(t->class_weights);
  g_free(t->pooler_name);
  if (t->labels) g_ptr_array_free(t->labels, TRUE);
  if (t->tapes)
    for (int i = 0; i < t->unfreeze; i++) nlp_layer_tape_free(t->tapes[i]);
  g_free(t->tapes);
  g_free(t->layers);
  nlp_train_embeddings_clear(&t->emb);
  nlp_head_tape_free(t->htape);
  nlp_param_set_free(t->params);
  nlp_tokenizer_free(t->tok);
  nlp_model_free(t->model);
}

/* Features pooled over token ranges (feat_a / feat_n): summary sentences, and
 * classification with mean pooling (the window's non-special tokens). */
static bool ranged(const trainer *t) {
  return t->task == NLP_TASK_SUMMARY || (t->task == NLP_TASK_CLASSIFICATION && t->pool_mean);
}

/* ---- configuration */

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
  json_object *f = jobj(data, "fields");
  t->fields.text = jstr(f, "text", t->fields.text);
  t->fields.label = jstr(f, "label", t->fields.label);
  t->fields.tokens = jstr(f, "tokens", t->fields.tokens);
  t->fields.tags = jstr(f, "tags", t->fields.tags);
  t->fields.question = jstr(f, "question", t->fields.question);
  t->fields.context = jstr(f, "context", t->fields.context);
  t->fields.answers = jstr(f, "answers", t->fields.answers);
  t->fields.document = jstr(f, "document", t->fields.document);
  t->fields.summary = jstr(f, "summary", t->fields.summary);
  t->fields.source = jstr(data, "source", NULL);
  return true;
}

/* Reads the parts shared by a train config and head.json: task, head, training. */
static bool parse_spec(trainer *t, const char *where, GError **error) {
  json_object *r = t->root;
  const char *task = jstr(r, "task", NULL);
  if (!nlp_train_task_from_name(task, &t->task)) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "%s: task: expected \"text-classification\", \"token-classification\", "
                "\"question-answering\" or \"extractive-summary\", got %s", where,
                task ? task : "nothing");
    return false;
  }
  json_object *head = jobj(r, "head");
  const char *type = jstr(head, "type", jstr(r, "head_type", "linear"));
  const char *pooling = jstr(head, "pooling", jstr(r, "pooling", "pooler"));
  const char *problem = jstr(head, "problem_type", jstr(r, "problem_type", "single_label_classification"));
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
  t->class_weights_json = jobj(head, "class_weights");
  const char *scheme = jstr(head, "scheme", jstr(r, "scheme", "BIO"));
  if (t->task == NLP_TASK_TOKEN_CLASSIFICATION && strcmp(scheme, "BIO") && strcmp(scheme, "BIOES")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: head.scheme: expected \"BIO\" or \"BIOES\", got \"%s\"", where, scheme);
    return false;
  }
  t->bioes = !strcmp(scheme, "BIOES");
  json_object *tr = jobj(r, "training");
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
  if (!jnum(tr, "patience", 3, 0, 10000, &v, w, error)) return false;
  t->patience = (int)v;
  if (!jnum(tr, "max_length", qa ? 384 : t->task == NLP_TASK_SUMMARY ? 512 : 128, 4, 100000, &v, w, error)) return false;
  t->max_length = (size_t)v;
  if (!jnum(tr, "stride", qa ? 128 : 32, 0, 100000, &v, w, error)) return false;
  t->stride = (size_t)v;
  if (!jnum(tr, "unfreeze_top", 0, 0, 1000, &v, w, error)) return false;
  t->unfreeze = (int)v;
  t->train_emb = jbool(tr, "train_embeddings", false);
  t->metric = jstr(tr, "metric", default_metric(t->task));
  const char *cd = jstr(tr, "cache_dtype", "f32");
  if (strcmp(cd, "f32") && strcmp(cd, "f16")) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: training.cache_dtype: expected \"f32\" or \"f16\"", where);
    return false;
  }
  t->cache_f16 = !strcmp(cd, "f16");
  json_object *data = jobj(r, "data");
  parse_fields(t, data);
  if (!jnum(data, "max_train", 0, 0, 1e12, &v, "data", error)) return false;
  t->max_train = (size_t)v;
  if (!jnum(data, "max_dev", 0, 0, 1e12, &v, "data", error)) return false;
  t->max_dev = (size_t)v;
  return true;
}

static bool load_config(trainer *t, const char *path, GError **error) {
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
  if (!parse_spec(t, path, error)) return false;
  const char *bb = jstr(t->root, "backbone", NULL), *out = jstr(t->root, "output", NULL);
  json_object *data = jobj(t->root, "data");
  const char *tr = jstr(data, "train", NULL), *dv = jstr(data, "dev", NULL);
  if (!bb || !out || !tr || !dv) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: %s: missing (a path)", path,
                !bb ? "backbone" : !out ? "output" : !tr ? "data.train" : "data.dev");
    return false;
  }
  t->backbone = resolve(d, bb);
  t->tokenizer_path = resolve(d, jstr(t->root, "tokenizer", NULL));
  t->output = resolve(d, out);
  t->train_path = resolve(d, tr);
  t->dev_path = resolve(d, dv);
  t->cache_dir = resolve(d, jstr(t->root, "cache", NULL));
  json_object *labels = jobj(t->root, "labels");
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

/* ---- backbone and parameters */

static bool open_backbone(trainer *t, GError **error) {
  t->model = nlp_model_open(t->backbone, error);
  if (!t->model) return false;
  t->tok = nlp_tokenizer_load(t->tokenizer_path ? t->tokenizer_path : t->backbone, error);
  if (!t->tok) return false;
  const nlp_model_config *c = nlp_model_get_config(t->model);
  t->H = c->hidden_size;
  t->L = c->num_layers;
  size_t limit = c->max_positions - (size_t)c->position_offset;
  if (t->max_length > limit) t->max_length = limit;
  if (t->unfreeze > (int)t->L) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "unfreeze_top %d: the backbone has only %zu layers", t->unfreeze, t->L);
    return false;
  }
  size_t specials = nlp_tokenizer_num_special_tokens(t->tok, t->task == NLP_TASK_QUESTION_ANSWERING);
  if (t->stride + specials + 2 >= t->max_length) t->stride = (t->max_length - specials) / 4;
  if (t->train_emb && t->unfreeze != (int)t->L) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "training.train_embeddings needs every layer trainable: unfreeze_top %zu (got %d)",
                t->L, t->unfreeze);
    return false;
  }
  if (t->unfreeze && !nlp_train_model_prefix(t->model, error)) return false;
  const char *fam = c->arch == NLP_ARCH_BERT ? "bert." : c->arch == NLP_ARCH_ROBERTA ? "roberta."
                    : c->arch == NLP_ARCH_ELECTRA ? "electra." : "distilbert.";
  char *with = g_strconcat(fam, "pooler.dense.weight", NULL);
  t->pooler_name = g_strdup(nlp_model_find_tensor(t->model, with) ? "bert.pooler.dense" : "pooler.dense");
  if (c->arch != NLP_ARCH_BERT) {
    g_free(t->pooler_name);
    t->pooler_name = g_strconcat(fam, "pooler.dense", NULL);
  }
  g_free(with);
  return true;
}

static bool build_params(trainer *t, GError **error) {
  t->params = nlp_param_set_new();
  nlp_train_head *h = &t->head;
  memset(h, 0, sizeof *h);
  h->hidden = t->H;
  switch (t->task) {
  case NLP_TASK_CLASSIFICATION: h->kind = NLP_TRAIN_HEAD_SEQUENCE; h->n_out = t->labels->len; break;
  case NLP_TASK_TOKEN_CLASSIFICATION: h->kind = NLP_TRAIN_HEAD_TOKEN; h->n_out = t->labels->len; break;
  case NLP_TASK_QUESTION_ANSWERING: h->kind = NLP_TRAIN_HEAD_QA; h->n_out = 2; break;
  case NLP_TASK_SUMMARY: h->kind = NLP_TRAIN_HEAD_SCORER; h->n_out = 1; break;
  }
  h->multi_label = t->multi && t->task == NLP_TASK_CLASSIFICATION;
  h->mlp = t->mlp && t->task == NLP_TASK_CLASSIFICATION;
  h->pooler = t->pooler && t->task == NLP_TASK_CLASSIFICATION;
  h->crf = t->crf && t->task == NLP_TASK_TOKEN_CLASSIFICATION;
  const float *pw = NULL, *pb = NULL;
  if (h->pooler) {
    char *wn = g_strconcat(t->pooler_name, ".weight", NULL), *bn = g_strconcat(t->pooler_name, ".bias", NULL);
    const nlp_tensor *a = nlp_model_find_tensor(t->model, wn), *b = nlp_model_find_tensor(t->model, bn);
    g_free(wn);
    g_free(bn);
    if (!a || !b) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                  "head.pooling \"pooler\": the backbone %s has no %s tensors; use \"cls\"",
                  t->backbone, t->pooler_name);
      return false;
    }
    pw = a->data;
    pb = b->data;
  }
  nlp_rng rng = nlp_rng_make(t->seed, 1, 0);
  nlp_train_head_init(h, t->params, &rng, t->pooler_name, pw, pb);
  h->class_weights = t->class_weights;
  t->n_head_params = t->params->items->len;
  t->htape = nlp_head_tape_new();
  if (t->unfreeze) {
    t->layers = g_new0(nlp_train_layer, t->unfreeze);
    t->tapes = g_new0(nlp_layer_tape *, t->unfreeze);
    for (int i = 0; i < t->unfreeze; i++) {
      if (!nlp_train_layer_from_model(&t->layers[i], t->params, t->model, t->L - t->unfreeze + i, error))
        return false;
      t->tapes[i] = nlp_layer_tape_new();
    }
    if (t->train_emb && !nlp_train_embeddings_from_model(&t->emb, t->params, t->model, error))
      return false;
    float scale = t->lr > 0 ? (float)(t->lr_backbone / t->lr) : 0.0f;
    for (guint i = t->n_head_params; i < t->params->items->len; i++)
      ((nlp_param *)t->params->items->pdata[i])->lr_scale = scale;
  }
  return true;
}

/* ---- featurization: tokens, targets, then the cache */

static featset *featset_new(nlp_train_data *d) {
  featset *fs = g_new0(featset, 1);
  fs->data = d;
  fs->seqs = g_array_new(FALSE, FALSE, sizeof(seq_info));
  fs->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->types = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->tok_label = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->word_first = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->offs = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->seq_id = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->word_id = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->feat_a = g_array_new(FALSE, FALSE, sizeof(size_t));
  fs->feat_n = g_array_new(FALSE, FALSE, sizeof(size_t));
  fs->feat_sent = g_array_new(FALSE, FALSE, sizeof(int32_t));
  fs->feat_soft = g_array_new(FALSE, FALSE, sizeof(float));
  return fs;
}

static int32_t label_index(GPtrArray *labels, const char *s) {
  for (guint i = 0; i < labels->len; i++)
    if (!strcmp(labels->pdata[i], s)) return (int32_t)i;
  return -1;
}

/* the I- tag continuing tag K (B-X -> I-X), or K itself */
static int32_t continuation(GPtrArray *labels, int32_t k) {
  const char *s = labels->pdata[k];
  if (s[0] != 'B' || s[1] != '-') return k;
  char *i = g_strdup(s);
  i[0] = 'I';
  int32_t r = label_index(labels, i);
  g_free(i);
  return r >= 0 ? r : k;
}

static bool featurize(trainer *t, featset *fs, GError **error) {
  nlp_encode_params ep = nlp_encode_default_params();
  ep.max_length = t->max_length;
  bool qa = t->task == NLP_TASK_QUESTION_ANSWERING, tokc = t->task == NLP_TASK_TOKEN_CLASSIFICATION;
  if (qa) {
    ep.truncation = NLP_TRUNCATE_ONLY_SECOND;
    ep.stride = t->stride;
  } else if (tokc) {
    ep.stride = t->stride;
  }
  size_t rows = 0;
  for (guint x = 0; x < fs->data->examples->len; x++) {
    nlp_train_example *e = fs->data->examples->pdata[x];
    GError *err = NULL;
    nlp_encoding_list *list =
        qa ? nlp_tokenizer_encode(t->tok, e->question, strlen(e->question), e->text,
                                  strlen(e->text), &ep, &err)
           : nlp_tokenizer_encode(t->tok, e->text, strlen(e->text), NULL, 0, &ep, &err);
    if (!list) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s:%zu: cannot tokenize: %s",
                  fs->data->path, e->line, err->message);
      g_error_free(err);
      return false;
    }
    size_t n_win = (qa || tokc) ? list->n : 1;
    for (size_t w = 0; w < n_win; w++) {
      nlp_encoding *en = &list->items[w];
      seq_info s = {.ex = x, .tok0 = fs->ids->len, .n_tok = en->n, .feat0 = 0};
      g_array_append_vals(fs->ids, en->ids, en->n);
      g_array_append_vals(fs->types, en->type_ids, en->n);
      g_array_append_vals(fs->offs, en->offsets, 2 * en->n);
      g_array_append_vals(fs->seq_id, en->seq_ids, en->n);
      g_array_append_vals(fs->word_id, en->word_ids, en->n);
      if (tokc) {
        for (size_t i = 0; i < en->n; i++) {
          int32_t lab = -100, first = -1;
          if (en->seq_ids[i] == 0 && en->offsets[2 * i + 1] > en->offsets[2 * i]) {
            int32_t a = en->offsets[2 * i];
            size_t lo = 0, hi = e->n_words; /* last word starting at or before a */
            while (hi - lo > 1) {
              size_t mid = (lo + hi) / 2;
              if (e->word_start[mid] <= a) lo = mid;
              else hi = mid;
            }
            if (a >= e->word_start[lo] && a < e->word_end[lo]) {
              bool is_first = a == e->word_start[lo];
              if (is_first) first = (int32_t)lo;
              lab = is_first ? e->word_tag[lo]
                    /* BIOES: an E-/S- word's later pieces have no consistent tag */
                    : t->label_all && !t->bioes ? continuation(t->labels, e->word_tag[lo]) : -100;
            }
          }
          g_array_append_val(fs->tok_label, lab);
          g_array_append_val(fs->word_first, first);
        }
      }
      if (qa) {
        s.start = s.end = 0;
        int32_t as = e->n_answers ? e->ans_start[0] : -1, ae = e->n_answers ? e->ans_end[0] : -1;
        int32_t ts = -1, te = -1;
        if (as >= 0)
          for (size_t i = 0; i < en->n; i++) {
            if (en->seq_ids[i] != 1) continue;
            if (ts < 0 && en->offsets[2 * i + 1] > as && en->offsets[2 * i] <= as) ts = (int32_t)i;
            if (en->offsets[2 * i] < ae && en->offsets[2 * i + 1] >= ae) te = (int32_t)i;
          }
        if (ts >= 0 && te >= ts) {
          s.start = ts;
          s.end = te;
        }
      }
      s.feat0 = fs->feat_a->len;
      if (t->task == NLP_TASK_SUMMARY) {
        for (size_t k = 0; k < e->n_sents; k++) {
          size_t a = SIZE_MAX, n = 0;
          for (size_t i = 0; i < en->n; i++) {
            if (en->seq_ids[i] != 0) continue;
            /* a token belongs to the sentence holding its first code point, as the
             * summarization plugin counts it */
            if (en->offsets[2 * i] >= e->sent_start[k] && en->offsets[2 * i] < e->sent_end[k] &&
                en->offsets[2 * i + 1] > en->offsets[2 * i]) {
              if (a == SIZE_MAX) a = i;
              n = i - a + 1;
            }
          }
          if (a == SIZE_MAX) continue; /* the sentence is past the window */
          int32_t ks = (int32_t)k;
          g_array_append_val(fs->feat_a, a);
          g_array_append_val(fs->feat_n, n);
          g_array_append_val(fs->feat_sent, ks);
          g_array_append_val(fs->feat_soft, e->sent_label[k]);
        }
        s.n_feat = fs->feat_a->len - s.feat0;
      } else if (t->pool_mean && t->task == NLP_TASK_CLASSIFICATION) {
        /* the mean of the non-special tokens, as the classification plugin's "mean" */
        size_t a = SIZE_MAX, m = 0;
        for (size_t i = 0; i < en->n; i++)
          if (en->seq_ids[i] >= 0) {
            if (a == SIZE_MAX) a = i;
            m = i - a + 1;
          }
        if (a == SIZE_MAX) a = 0, m = 1; /* empty text: the [CLS] state */
        int32_t zero = 0;
        float fz = 0;
        g_array_append_val(fs->feat_a, a);
        g_array_append_val(fs->feat_n, m);
        g_array_append_val(fs->feat_sent, zero);
        g_array_append_val(fs->feat_soft, fz);
        s.n_feat = 1;
      } else {
        s.n_feat = t->task == NLP_TASK_CLASSIFICATION ? 1 : en->n;
      }
      s.row0 = rows;
      s.n_rows = t->unfreeze ? en->n : t->task == NLP_TASK_CLASSIFICATION ? 1 : s.n_feat;
      if (s.n_feat == 0) { /* a summary document whose sentences all fall outside */
        g_array_set_size(fs->feat_a, s.feat0);
        continue;
      }
      rows += s.n_rows;
      g_array_append_val(fs->seqs, s);
    }
    nlp_encoding_list_free(list);
  }
  fs->n_rows = rows;
  return true;
}

static char *cache_key(trainer *t, const char *data_path, size_t max_records) {
  GString *k = g_string_new("nlpipe-features-v1\n");
  struct stat st;
  char *mf = g_build_filename(t->backbone, "model.safetensors", NULL);
  char *cf = g_build_filename(t->backbone, "config.json", NULL);
  char *sha = file_sha256(cf);
  char *abs_bb = realpath(t->backbone, NULL), *abs_data = realpath(data_path, NULL);
  g_string_append_printf(k, "%s\n%s\n", abs_bb ? abs_bb : t->backbone, sha);
  if (stat(mf, &st) == 0) g_string_append_printf(k, "%lld %lld\n", (long long)st.st_size, (long long)st.st_mtime);
  if (stat(data_path, &st) == 0) g_string_append_printf(k, "%s %lld %lld\n", abs_data ? abs_data : data_path, (long long)st.st_size, (long long)st.st_mtime);
  g_string_append_printf(k, "%s %d %zu %zu %zu %d %d %s %s %s\n", nlp_train_task_name(t->task), ranged(t), t->max_length,
                         t->stride, max_records, t->unfreeze, t->cache_f16,
                         t->fields.source ? t->fields.source : "-",
                         t->tokenizer_path ? t->tokenizer_path : "-", t->fields.text);
  char *r = g_compute_checksum_for_string(G_CHECKSUM_SHA256, k->str, -1);
  g_string_free(k, TRUE);
  g_free(mf); g_free(cf); g_free(sha);
  free(abs_bb); free(abs_data);
  return r;
}

#define CACHE_HEADER 64

static uint16_t to_half(float f) {
  /* round to nearest even through the writer's converter */
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00u);
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) return (uint16_t)sign; /* tiny values flush to 0: features are O(1) */
  uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static void row_get(const featset *fs, size_t row, size_t H, float *out) {
  if (fs->f16) nlp_convert_f16_to_f32(fs->rows + row * H * 2, out, H);
  else memcpy(out, fs->rows + row * H * 4, H * sizeof(float));
}

/* Encodes the frozen part over FS and writes its rows to PATH (rows x H). */
static bool write_cache(trainer *t, featset *fs, const char *path, GError **error) {
  char *tmp = g_strconcat(path, ".tmp", NULL);
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot write: %s", tmp, g_strerror(errno));
    g_free(tmp);
    return false;
  }
  size_t H = t->H;
  unsigned char hdr[CACHE_HEADER] = "NLPFEAT1";
  uint32_t dt = t->cache_f16, h32 = (uint32_t)H;
  uint64_t nr = fs->n_rows;
  memcpy(hdr + 8, &dt, 4);
  memcpy(hdr + 12, &h32, 4);
  memcpy(hdr + 16, &nr, 8);
  bool ok = fwrite(hdr, 1, CACHE_HEADER, f) == CACHE_HEADER;
  /* frozen lower layers for unfreeze mode */
  nlp_param_set *lower = NULL;
  nlp_train_layer *low = NULL;
  size_t n_low = t->L - (size_t)t->unfreeze;
  nlp_layer_tape *tape = NULL;
  if (t->unfreeze) {
    lower = nlp_param_set_new();
    low = g_new0(nlp_train_layer, n_low ? n_low : 1);
    for (size_t l = 0; l < n_low && ok; l++)
      ok = nlp_train_layer_from_model(&low[l], lower, t->model, l, error);
    tape = nlp_layer_tape_new();
  }
  nlp_forward_ctx *ctx = nlp_forward_ctx_new(t->model, t->threads);
  GArray *lens = g_array_new(FALSE, FALSE, sizeof(size_t));
  float *hid = NULL, *tmpb = NULL, *row = g_new(float, H);
  uint16_t *half = g_new(uint16_t, H);
  size_t cap = 0, n_seq = fs->seqs->len, done_tokens = 0, total_tokens = fs->ids->len;
  gint64 t0 = g_get_monotonic_time();
  for (size_t s0 = 0; s0 < n_seq && ok;) {
    size_t s1 = s0, T = 0;
    g_array_set_size(lens, 0);
    while (s1 < n_seq && (T == 0 || T + g_array_index(fs->seqs, seq_info, s1).n_tok <= 4096)) {
      size_t n = g_array_index(fs->seqs, seq_info, s1).n_tok;
      g_array_append_val(lens, n);
      T += n;
      s1++;
    }
    if (T > cap) {
      g_free(hid);
      g_free(tmpb);
      hid = g_new(float, T * H);
      tmpb = g_new(float, T * H);
      cap = T;
    }
    const seq_info *first = &g_array_index(fs->seqs, seq_info, s0);
    nlp_forward_input in = {s1 - s0, (size_t *)(void *)lens->data,
                            &g_array_index(fs->ids, int32_t, first->tok0),
                            &g_array_index(fs->types, int32_t, first->tok0)};
    if (!t->unfreeze) {
      ok = nlp_model_forward(t->model, ctx, &in, hid, error);
    } else {
      ok = nlp_train_embed(t->model, &in, hid, error);
      nlp_layer_batch b = {s1 - s0, in.lengths, T};
      for (size_t l = 0; l < n_low && ok; l++) {
        nlp_train_layer_forward(&low[l], tape, &b, hid, tmpb, 0, 0, NULL, t->threads);
        float *sw = hid; hid = tmpb; tmpb = sw;
      }
    }
    size_t off = 0;
    for (size_t s = s0; s < s1 && ok; s++) {
      const seq_info *si = &g_array_index(fs->seqs, seq_info, s);
      const float *base = hid + off * H;
      for (size_t r = 0; r < si->n_rows && ok; r++) {
        const float *src = base + r * H;
        if (!t->unfreeze && ranged(t)) {
          size_t a = g_array_index(fs->feat_a, size_t, si->feat0 + r);
          size_t n = g_array_index(fs->feat_n, size_t, si->feat0 + r);
          memset(row, 0, H * sizeof(float));
          for (size_t i = a; i < a + n; i++)
            for (size_t j = 0; j < H; j++) row[j] += base[i * H + j];
          for (size_t j = 0; j < H; j++) row[j] /= (float)n;
          src = row;
        }
        if (t->cache_f16) {
          for (size_t j = 0; j < H; j++) half[j] = to_half(src[j]);
          ok = fwrite(half, 2, H, f) == H;
        } else {
          ok = fwrite(src, sizeof(float), H, f) == H;
        }
      }
      off += si->n_tok;
    }
    done_tokens += T;
    if (!t->quiet && isatty(2)) {
      double sec = (double)(g_get_monotonic_time() - t0) / 1e6;
      fprintf(stderr, "\rencoding %s: %zu/%zu tokens, %.0f tokens/s   ", fs->data->path,
              done_tokens, total_tokens, done_tokens / (sec > 0 ? sec : 1e-9));
    }
    s0 = s1;
  }
  if (!t->quiet && isatty(2)) fputc('\n', stderr);
  if (fclose(f) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot write: %s", path, g_strerror(errno));
    ok = false;
  }
  if (!ok) remove(tmp);
  g_free(tmp);
  g_free(hid); g_free(tmpb); g_free(row); g_free(half);
  g_array_free(lens, TRUE);
  nlp_forward_ctx_free(ctx);
  nlp_layer_tape_free(tape);
  g_free(low);
  nlp_param_set_free(lower);
  return ok;
}

static bool map_cache(trainer *t, featset *fs, const char *path, GError **error) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot open: %s", path, g_strerror(errno));
    return false;
  }
  size_t esz = t->cache_f16 ? 2 : 4, want = CACHE_HEADER + fs->n_rows * t->H * esz;
  if ((size_t)st.st_size != want) {
    close(fd);
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: %lld bytes, expected %zu", path,
                (long long)st.st_size, want);
    return false;
  }
  void *m = mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: mmap: %s", path, g_strerror(errno));
    return false;
  }
  fs->map = m;
  fs->map_len = want;
  fs->rows = (const unsigned char *)m + CACHE_HEADER;
  fs->f16 = t->cache_f16;
  return true;
}

static bool ensure_cache(trainer *t, featset *fs, const char *data_path, size_t max_records,
                         GError **error) {
  if (g_mkdir_with_parents(t->cache_dir, 0755) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot create: %s", t->cache_dir, g_strerror(errno));
    return false;
  }
  /* Training the embedding tables, every batch embeds its token ids with the current
   * tables (batch_forward): frozen features would never be read. The folder still
   * holds the epoch checkpoints. */
  if (t->train_emb) return true;
  char *key = cache_key(t, data_path, max_records);
  char *name = g_strdup_printf("features-%.16s.bin", key);
  char *path = g_build_filename(t->cache_dir, name, NULL);
  bool ok = true;
  struct stat st;
  size_t esz = t->cache_f16 ? 2 : 4;
  if (stat(path, &st) != 0 || (size_t)st.st_size != CACHE_HEADER + fs->n_rows * t->H * esz) {
    if (!t->quiet) fprintf(stderr, "nlpipe train: encoding %s once (%zu windows, %zu tokens) -> %s\n",
                           data_path, (size_t)fs->seqs->len, (size_t)fs->ids->len, path);
    ok = write_cache(t, fs, path, error);
  }
  if (ok) ok = map_cache(t, fs, path, error);
  g_free(key);
  g_free(name);
  g_free(path);
  return ok;
}

/* ---- one batch through the trainable part */

static void buf_ensure(batch_buf *b, size_t T, size_t nF, size_t ns, size_t H, size_t C) {
  if (T > b->cap_t) {
    g_free(b->x); g_free(b->y); g_free(b->dy); g_free(b->ids); g_free(b->types);
    b->x = g_new(float, T * H);
    b->y = g_new(float, T * H);
    b->dy = g_new(float, T * H);
    b->ids = g_new(int32_t, T);
    b->types = g_new(int32_t, T);
    b->cap_t = T;
  }
  if (nF > b->cap_f) {
    g_free(b->f); g_free(b->logits); g_free(b->dl); g_free(b->df); g_free(b->labels); g_free(b->soft);
    b->f = g_new(float, nF * H);
    b->df = g_new(float, nF * H);
    b->logits = g_new(float, nF * (C + 2));
    b->dl = g_new(float, nF * (C + 2));
    b->labels = g_new(int32_t, nF);
    b->soft = g_new(float, nF * (C + 1));
    b->cap_f = nF;
  }
  if (ns > b->cap_s) {
    g_free(b->lengths); g_free(b->row0); g_free(b->rows); g_free(b->start); g_free(b->end);
    b->lengths = g_new(size_t, ns);
    b->row0 = g_new(size_t, ns);
    b->rows = g_new(size_t, ns);
    b->start = g_new(int32_t, ns);
    b->end = g_new(int32_t, ns);
    b->cap_s = ns;
  }
}

static void buf_free(batch_buf *b) {
  g_free(b->x); g_free(b->y); g_free(b->dy); g_free(b->ids); g_free(b->types); g_free(b->f); g_free(b->df); g_free(b->logits);
  g_free(b->dl); g_free(b->labels); g_free(b->soft); g_free(b->lengths); g_free(b->row0);
  g_free(b->rows); g_free(b->start); g_free(b->end);
}

/* Forward of sequences IDX[0..n): fills b->logits (and targets); RNG NULL = eval. */
static void batch_forward(trainer *t, const featset *fs, const size_t *idx, size_t n,
                          nlp_rng *rng, batch_buf *b) {
  size_t H = t->H, C = t->head.n_out, T = 0, nF = 0;
  for (size_t i = 0; i < n; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    T += s->n_rows;
    nF += s->n_feat;
  }
  buf_ensure(b, T, nF, n, H, C);
  b->T = T;
  b->nF = nF;
  b->n_seq = n;
  size_t r = 0, fo = 0;
  for (size_t i = 0; i < n; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    if (t->train_emb) { /* rows are tokens: embed them below, with the current tables */
      memcpy(b->ids + r, &g_array_index(fs->ids, int32_t, s->tok0), s->n_rows * sizeof(int32_t));
      memcpy(b->types + r, &g_array_index(fs->types, int32_t, s->tok0), s->n_rows * sizeof(int32_t));
    } else {
      for (size_t k = 0; k < s->n_rows; k++) row_get(fs, s->row0 + k, H, b->x + (r + k) * H);
    }
    b->lengths[i] = s->n_rows;
    b->row0[i] = fo;
    b->rows[i] = s->n_feat;
    b->start[i] = s->start;
    b->end[i] = s->end;
    const nlp_train_example *e = fs->data->examples->pdata[s->ex];
    switch (t->task) {
    case NLP_TASK_CLASSIFICATION:
      b->labels[fo] = e->label;
      if (t->head.multi_label) memcpy(b->soft + fo * C, e->multi, C * sizeof(float));
      break;
    case NLP_TASK_TOKEN_CLASSIFICATION:
      memcpy(b->labels + fo, &g_array_index(fs->tok_label, int32_t, s->tok0), s->n_tok * sizeof(int32_t));
      break;
    case NLP_TASK_SUMMARY:
      memcpy(b->soft + fo, &g_array_index(fs->feat_soft, float, s->feat0), s->n_feat * sizeof(float));
      break;
    case NLP_TASK_QUESTION_ANSWERING: break;
    }
    r += s->n_rows;
    fo += s->n_feat;
  }
  if (t->train_emb) nlp_train_embeddings_forward(&t->emb, n, b->lengths, b->ids, b->types, b->x);
  if (t->unfreeze) {
    nlp_layer_batch lb = {n, b->lengths, T};
    float *in = b->x, *out = b->y;
    for (int l = 0; l < t->unfreeze; l++) {
      nlp_train_layer_forward(&t->layers[l], t->tapes[l], &lb, in, out,
                              rng ? (float)t->dropout : 0.0f, rng ? (float)t->attn_dropout : 0.0f,
                              rng, t->threads);
      float *sw = in; in = out; out = sw;
    }
    /* in = top hidden states; pool to features */
    if (in != b->y) memcpy(b->y, in, T * H * sizeof(float));
    size_t off = 0, f = 0;
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
      const float *base = b->y + off * H;
      if (ranged(t)) {
        for (size_t k = 0; k < s->n_feat; k++) {
          size_t a = g_array_index(fs->feat_a, size_t, s->feat0 + k), m = g_array_index(fs->feat_n, size_t, s->feat0 + k);
          float *o = b->f + (f + k) * H;
          memset(o, 0, H * sizeof(float));
          for (size_t q = a; q < a + m; q++)
            for (size_t j = 0; j < H; j++) o[j] += base[q * H + j];
          for (size_t j = 0; j < H; j++) o[j] /= (float)m;
        }
      } else if (t->task == NLP_TASK_CLASSIFICATION) {
        memcpy(b->f + f * H, base, H * sizeof(float));
      } else {
        memcpy(b->f + f * H, base, s->n_tok * H * sizeof(float));
      }
      off += s->n_tok;
      f += s->n_feat;
    }
    b->feat = b->f;
  } else {
    b->feat = b->x;
  }
  nlp_train_head_forward(&t->head, t->htape, b->feat, nF, rng ? (float)t->dropout : 0.0f, rng,
                         b->logits, t->threads);
}

static double batch_loss_backward(trainer *t, const featset *fs, const size_t *idx, batch_buf *b) {
  nlp_head_targets tg = {.labels = b->labels, .soft = b->soft, .n_windows = b->n_seq,
                         .row0 = b->row0, .rows = b->rows, .start = b->start, .end = b->end};
  double loss = nlp_train_head_loss(&t->head, b->logits, b->nF, &tg, b->dl);
  size_t H = t->H;
  nlp_train_head_backward(&t->head, t->htape, b->dl, b->nF, t->unfreeze ? b->df : NULL, t->threads);
  if (!t->unfreeze) return loss;
  memset(b->dy, 0, b->T * H * sizeof(float));
  size_t off = 0, f = 0;
  for (size_t i = 0; i < b->n_seq; i++) {
    const seq_info *s = &g_array_index(fs->seqs, seq_info, idx[i]);
    float *base = b->dy + off * H;
    if (ranged(t)) {
      for (size_t k = 0; k < s->n_feat; k++) {
        size_t a = g_array_index(fs->feat_a, size_t, s->feat0 + k), m = g_array_index(fs->feat_n, size_t, s->feat0 + k);
        const float *g = b->df + (f + k) * H;
        for (size_t q = a; q < a + m; q++)
          for (size_t j = 0; j < H; j++) base[q * H + j] += g[j] / (float)m;
      }
    } else if (t->task == NLP_TASK_CLASSIFICATION) {
      memcpy(base, b->df + f * H, H * sizeof(float)); /* the [CLS] row */
    } else {
      memcpy(base, b->df + f * H, s->n_tok * H * sizeof(float));
    }
    off += s->n_tok;
    f += s->n_feat;
  }
  nlp_layer_batch lb = {b->n_seq, b->lengths, b->T};
  for (int l = t->unfreeze - 1; l >= 0; l--)
    nlp_train_layer_backward(&t->layers[l], t->tapes[l], &lb, b->dy, b->dy, t->threads);
  if (t->train_emb) nlp_train_embeddings_backward(&t->emb, b->n_seq, b->lengths, b->ids, b->types, b->dy);
  return loss;
}

/* ---- evaluation */

static char *span_text(const char *text, int32_t a, int32_t b) {
  const char *p = g_utf8_offset_to_pointer(text, a), *q = g_utf8_offset_to_pointer(text, b);
  return g_strndup(p, (gsize)(q - p));
}

typedef struct { double p; size_t a, c; } cand;

static gint cmp_cand(gconstpointer x, gconstpointer y) {
  const cand *a = x, *b = y;
  if (a->p != b->p) return a->p > b->p ? -1 : 1;
  if (a->a != b->a) return a->a < b->a ? -1 : 1;
  return a->c < b->c ? -1 : a->c > b->c;
}

static json_object *evaluate(trainer *t, featset *fs, double *loss_out) {
  size_t n = fs->seqs->len, C = t->head.n_out, chunk = (size_t)t->batch * 4;
  size_t total_f = 0;
  for (size_t i = 0; i < n; i++) total_f += g_array_index(fs->seqs, seq_info, i).n_feat;
  float *logits = g_new(float, total_f * C + 1);
  size_t *idx = g_new(size_t, chunk);
  batch_buf b = {0};
  double loss = 0;
  size_t fo = 0;
  for (size_t s0 = 0; s0 < n; s0 += chunk) {
    size_t m = MIN(chunk, n - s0);
    for (size_t i = 0; i < m; i++) idx[i] = s0 + i;
    batch_forward(t, fs, idx, m, NULL, &b);
    nlp_head_targets tg = {.labels = b.labels, .soft = b.soft, .n_windows = b.n_seq,
                           .row0 = b.row0, .rows = b.rows, .start = b.start, .end = b.end};
    loss += nlp_train_head_loss(&t->head, b.logits, b.nF, &tg, NULL) * (double)m;
    memcpy(logits + fo * C, b.logits, b.nF * C * sizeof(float));
    fo += b.nF;
  }
  buf_free(&b);
  g_free(idx);
  if (loss_out) *loss_out = n ? loss / (double)n : 0;
  json_object *res = json_object_new_object();
  GPtrArray *ex = fs->data->examples;
  json_object_object_add(res, "examples", json_object_new_int64((int64_t)ex->len));
  if (t->task == NLP_TASK_CLASSIFICATION) {
    size_t m = n;
    if (t->head.multi_label) {
      nlp_prf_counts c = {0};
      size_t exact = 0;
      for (size_t i = 0; i < m; i++) {
        const nlp_train_example *e = ex->pdata[g_array_index(fs->seqs, seq_info, i).ex];
        bool all = true;
        for (size_t k = 0; k < C; k++) {
          bool p = logits[i * C + k] > 0, g = e->multi[k] > 0.5f;
          c.pred += p;
          c.gold += g;
          c.correct += p && g;
          all = all && p == g;
        }
        exact += all;
      }
      nlp_prf r = nlp_prf_from_counts(c);
      json_object_object_add(res, "micro_f1", json_object_new_double(r.f1));
      json_object_object_add(res, "subset_accuracy", json_object_new_double(m ? (double)exact / m : 0));
      json_object_object_add(res, "accuracy", json_object_new_double(m ? (double)exact / m : 0));
    } else {
      int32_t *gold = g_new(int32_t, m + 1), *pred = g_new(int32_t, m + 1);
      for (size_t i = 0; i < m; i++) {
        const nlp_train_example *e = ex->pdata[g_array_index(fs->seqs, seq_info, i).ex];
        gold[i] = e->label;
        int32_t best = 0;
        for (size_t k = 1; k < C; k++)
          if (logits[i * C + k] > logits[i * C + (size_t)best]) best = (int32_t)k;
        pred[i] = best;
      }
      json_object_object_add(res, "accuracy", json_object_new_double(nlp_metric_accuracy(gold, pred, m)));
      json_object_object_add(res, "macro_f1", json_object_new_double(nlp_metric_macro_f1(gold, pred, m, C)));
      g_free(gold);
      g_free(pred);
    }
  } else if (t->task == NLP_TASK_TOKEN_CLASSIFICATION) {
    /* word tag = prediction on its first sub-token, first window that has it */
    GPtrArray *pred_tags = g_ptr_array_new();
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      g_ptr_array_add(pred_tags, g_new0(int32_t, e->n_words + 1));
      int32_t *p = pred_tags->pdata[x];
      for (size_t w = 0; w < e->n_words; w++) p[w] = -1;
    }
    size_t f = 0, tok_ok = 0, tok_n = 0;
    GArray *path = g_array_new(FALSE, FALSE, sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      int32_t *p = pred_tags->pdata[s->ex];
      if (t->head.crf) {
        g_array_set_size(path, s->n_tok);
        nlp_train_head_viterbi(&t->head, logits + f * C, s->n_tok,
                               &g_array_index(fs->tok_label, int32_t, s->tok0), (int32_t *)(void *)path->data);
      }
      for (size_t k = 0; k < s->n_tok; k++, f++) {
        int32_t w = g_array_index(fs->word_first, int32_t, s->tok0 + k);
        if (w < 0 || p[w] >= 0) continue;
        int32_t best = 0;
        for (size_t c = 1; c < C; c++)
          if (logits[f * C + c] > logits[f * C + (size_t)best]) best = (int32_t)c;
        if (t->head.crf && g_array_index(path, int32_t, k) >= 0) best = g_array_index(path, int32_t, k);
        p[w] = best;
      }
    }
    g_array_free(path, TRUE);
    nlp_prf_counts counts = {0};
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      int32_t *p = pred_tags->pdata[x];
      const char **pt = g_new(const char *, e->n_words + 1);
      int32_t o = label_index(t->labels, "O");
      for (size_t w = 0; w < e->n_words; w++) {
        int32_t k = p[w] >= 0 ? p[w] : o;
        pt[w] = k >= 0 ? t->labels->pdata[k] : "O";
        tok_ok += !strcmp(pt[w], e->tag_strs[w]);
        tok_n++;
      }
      nlp_entity *ge = g_new(nlp_entity, e->n_words + 1), *pe = g_new(nlp_entity, e->n_words + 1);
      size_t ng = nlp_metric_tags_to_entities((const char *const *)e->tag_strs, e->n_words, ge);
      size_t np = nlp_metric_tags_to_entities(pt, e->n_words, pe);
      nlp_metric_entities_add(&counts, ge, ng, pe, np);
      g_free(ge);
      g_free(pe);
      g_free(pt);
      g_free(p);
    }
    g_ptr_array_free(pred_tags, TRUE);
    nlp_prf r = nlp_prf_from_counts(counts);
    json_object_object_add(res, "precision", json_object_new_double(r.precision));
    json_object_object_add(res, "recall", json_object_new_double(r.recall));
    json_object_object_add(res, "f1", json_object_new_double(r.f1));
    json_object_object_add(res, "token_accuracy", json_object_new_double(tok_n ? (double)tok_ok / tok_n : 0));
  } else if (t->task == NLP_TASK_QUESTION_ANSWERING) {
    /* Answers as HF's question-answering pipeline (and the qa plugin) pick them:
     * per window, p_start and p_end are softmaxes over the context tokens and
     * [CLS]; spans s <= e < s + 15 score p_start[s] * p_end[e]; the window's 12
     * best (top_k * 2 + 10) are widened to whole words of the window; answers with
     * the same lower-cased text add their scores across spans and windows; the best
     * answer is scored with the SQuAD script against every gold answer. */
    GPtrArray *cands = g_ptr_array_new_with_free_func(g_free); /* per example: GHashTable */
    for (guint x = 0; x < ex->len; x++) g_ptr_array_add(cands, NULL);
    GHashTable **tabs = g_new0(GHashTable *, ex->len + 1);
    size_t f = 0;
    GArray *cs = g_array_new(FALSE, FALSE, sizeof(cand));
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      nlp_train_example *e = ex->pdata[s->ex];
      const int32_t *sid = &g_array_index(fs->seq_id, int32_t, s->tok0);
      const int32_t *wid = &g_array_index(fs->word_id, int32_t, s->tok0);
      const int32_t *off = &g_array_index(fs->offs, int32_t, 2 * s->tok0);
      const float *z = logits + f * 2;
      double ms = -INFINITY, me = -INFINITY, ss = 0, se = 0;
      for (size_t a = 0; a < s->n_tok; a++)
        if (sid[a] == 1 || a == 0) ms = fmax(ms, z[a * 2]), me = fmax(me, z[a * 2 + 1]);
      for (size_t a = 0; a < s->n_tok; a++)
        if (sid[a] == 1 || a == 0) ss += exp(z[a * 2] - ms), se += exp(z[a * 2 + 1] - me);
      g_array_set_size(cs, 0);
      for (size_t a = 0; a < s->n_tok; a++) {
        if (sid[a] != 1) continue;
        double ps = exp(z[a * 2] - ms) / ss;
        for (size_t c = a; c < s->n_tok && c < a + 15; c++) {
          if (sid[c] != 1) continue;
          cand k = {ps * exp(z[c * 2 + 1] - me) / se, a, c};
          g_array_append_val(cs, k);
        }
      }
      /* the 12 best, ties in (start, end) order (the order they were made in) */
      g_array_sort(cs, cmp_cand);
      size_t keep = MIN((size_t)12, cs->len);
      if (!tabs[s->ex]) tabs[s->ex] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
      for (size_t k = 0; k < keep; k++) {
        cand c = g_array_index(cs, cand, k);
        int32_t a0 = off[2 * c.a], c1 = off[2 * c.c + 1];
        for (size_t q = 0; q < s->n_tok; q++) { /* widen to the words within the window */
          if (sid[q] != 1) continue;
          if (wid[q] == wid[c.a] && off[2 * q] < a0) a0 = off[2 * q];
          if (wid[q] == wid[c.c] && off[2 * q + 1] > c1) c1 = off[2 * q + 1];
        }
        char *text = span_text(e->text, a0, c1), *fold = g_utf8_strdown(text, -1);
        double *sc = g_hash_table_lookup(tabs[s->ex], fold);
        if (sc) {
          sc[0] += c.p;
          g_free(fold);
        } else {
          sc = g_new(double, 3);
          sc[0] = c.p;
          sc[1] = a0;
          sc[2] = c1;
          g_hash_table_insert(tabs[s->ex], fold, sc);
        }
        g_free(text);
      }
      f += s->n_tok;
    }
    g_array_free(cs, TRUE);
    g_ptr_array_free(cands, TRUE);
    double em = 0, f1 = 0;
    for (guint x = 0; x < ex->len; x++) {
      nlp_train_example *e = ex->pdata[x];
      double best = -1, bs = 0, be = 0;
      if (tabs[x]) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, tabs[x]);
        while (g_hash_table_iter_next(&it, &k, &v)) {
          double *sc = v;
          /* equal scores: the earlier span in the text, so the pick is deterministic */
          if (sc[0] > best || (sc[0] == best && sc[1] < bs)) best = sc[0], bs = sc[1], be = sc[2];
        }
        g_hash_table_destroy(tabs[x]);
      }
      char *pred = best >= 0 ? span_text(e->text, (int32_t)bs, (int32_t)be) : g_strdup("");
      double bem = 0, bf = 0;
      if (!e->n_answers) bem = bf = !*pred;
      for (size_t k = 0; k < e->n_answers; k++) {
        bem = fmax(bem, nlp_squad_exact(pred, e->ans_text[k]));
        bf = fmax(bf, nlp_squad_f1(pred, e->ans_text[k]));
      }
      em += bem;
      f1 += bf;
      g_free(pred);
    }
    g_free(tabs);
    json_object_object_add(res, "exact_match", json_object_new_double(ex->len ? em / ex->len : 0));
    json_object_object_add(res, "f1", json_object_new_double(ex->len ? f1 / ex->len : 0));
  } else {
    double r1 = 0, r2 = 0, rl = 0, top1 = 0;
    size_t docs = 0, f = 0;
    for (size_t i = 0; i < n; i++) {
      const seq_info *s = &g_array_index(fs->seqs, seq_info, i);
      nlp_train_example *e = ex->pdata[s->ex];
      size_t bk = 0;
      for (size_t k = 1; k < s->n_feat; k++)
        if (logits[f + k] > logits[f + bk]) bk = k;
      int32_t sent = g_array_index(fs->feat_sent, int32_t, s->feat0 + bk);
      char *pick = span_text(e->text, e->sent_start[sent], e->sent_end[sent]);
      r1 += nlp_rouge_n(pick, e->reference, 1).f1;
      r2 += nlp_rouge_n(pick, e->reference, 2).f1;
      rl += nlp_rouge_l(pick, e->reference).f1;
      top1 += e->sent_label[sent] > 0.5f;
      docs++;
      g_free(pick);
      f += s->n_feat;
    }
    json_object_object_add(res, "rouge1", json_object_new_double(docs ? r1 / docs : 0));
    json_object_object_add(res, "rouge2", json_object_new_double(docs ? r2 / docs : 0));
    json_object_object_add(res, "rougeL", json_object_new_double(docs ? rl / docs : 0));
    json_object_object_add(res, "top1_accuracy", json_object_new_double(docs ? top1 / docs : 0));
  }
  g_free(logits);
  return res;
}

static double metric_of(json_object *m, const char *name) {
  json_object *v = jobj(m, name);
  return v ? json_object_get_double(v) : -INFINITY;
}

/* ---- saving */

static bool save_params(nlp_param_set *set, size_t from, size_t to, const char *path,
                        const char *const *meta, GError **error) {
  size_t n = to - from;
  nlp_st_item *items = g_new0(nlp_st_item, n + 1);
  for (size_t i = 0; i < n; i++) {
    nlp_param *p = set->items->pdata[from + i];
    items[i] = (nlp_st_item){p->name, p->w, p->ndim, {p->shape[0], p->shape[1]}};
  }
  bool ok = nlp_safetensors_write(path, items, n, NLP_DTYPE_F32, meta, error);
  g_free(items);
  return ok;
}

static bool copy_file(const char *from, const char *to, GError **error) {
  gchar *buf;
  gsize len;
  if (!g_file_get_contents(from, &buf, &len, error)) return false;
  bool ok = g_file_set_contents(to, buf, (gssize)len, error);
  g_free(buf);
  return ok;
}

/* Writes <output>/backbone: config + tokenizer files + every tensor of the original
 * checkpoint, the trained layers replaced. */
static bool save_backbone(trainer *t, GError **error) {
  char *dir = g_build_filename(t->output, "backbone", NULL);
  g_mkdir_with_parents(dir, 0755);
  const char *files[] = {"config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                         "special_tokens_map.json"};
  bool ok = true;
  for (size_t i = 0; i < G_N_ELEMENTS(files) && ok; i++) {
    const char *src_dir = i && t->tokenizer_path && g_file_test(t->tokenizer_path, G_FILE_TEST_IS_DIR)
                              ? t->tokenizer_path : t->backbone;
    char *a = g_build_filename(src_dir, files[i], NULL), *b = g_build_filename(dir, files[i], NULL);
    if (g_file_test(a, G_FILE_TEST_EXISTS)) ok = copy_file(a, b, error);
    g_free(a);
    g_free(b);
  }
  char *src = g_build_filename(t->backbone, "model.safetensors", NULL);
  nlp_safetensors *st = ok ? nlp_safetensors_open(src, error) : NULL;
  if (!st) ok = false;
  if (ok) {
    nlp_st_item *items = g_new0(nlp_st_item, st->n_entries);
    size_t n = 0;
    for (size_t i = 0; i < st->n_entries; i++) {
      const nlp_safetensors_entry *e = &st->entries[i];
      const nlp_tensor *tt = nlp_model_find_tensor(t->model, e->name);
      if (!tt) continue; /* integer buffers (position_ids) are not needed */
      nlp_param *p = nlp_param_find(t->params, e->name);
      items[n] = (nlp_st_item){e->name, p && !g_str_has_suffix(e->name, "pooler.dense.weight") &&
                                                !g_str_has_suffix(e->name, "pooler.dense.bias")
                                            ? p->w : tt->data, e->ndim, {0}};
      for (int d = 0; d < e->ndim && d < 4; d++) items[n].shape[d] = (size_t)e->shape[d];
      n++;
    }
    char *out = g_build_filename(dir, "model.safetensors", NULL);
    const char *meta[] = {"format", "pt", NULL};
    ok = nlp_safetensors_write(out, items, n, NLP_DTYPE_F32, meta, error);
    g_free(out);
    g_free(items);
  }
  nlp_safetensors_free(st);
  g_free(src);
  g_free(dir);
  return ok;
}

static bool save_head(trainer *t, json_object *dev, int epoch, double train_loss, GError **error) {
  if (g_mkdir_with_parents(t->output, 0755) != 0) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot create: %s", t->output, g_strerror(errno));
    return false;
  }
  char *wpath = g_build_filename(t->output, "head.safetensors", NULL);
  const char *meta[] = {"format", "pt", "task", nlp_train_task_name(t->task), NULL};
  bool ok = save_params(t->params, 0, t->n_head_params, wpath, meta, error);
  g_free(wpath);
  if (ok && t->unfreeze) ok = save_backbone(t, error);
  if (!ok) return false;
  json_object *h = json_object_new_object();
  json_object_object_add(h, "task", json_object_new_string(
      t->task == NLP_TASK_SUMMARY ? "summarization" : nlp_train_task_name(t->task)));
  json_object *labels = json_object_new_array();
  if (t->task == NLP_TASK_QUESTION_ANSWERING) {
    json_object_array_add(labels, json_object_new_string("start"));
    json_object_array_add(labels, json_object_new_string("end"));
  } else if (t->task == NLP_TASK_SUMMARY) {
    json_object_array_add(labels, json_object_new_string("summary"));
  } else {
    for (guint i = 0; i < t->labels->len; i++)
      json_object_array_add(labels, json_object_new_string(t->labels->pdata[i]));
  }
  json_object_object_add(h, "labels", labels);
  json_object *id2label = json_object_new_object();
  for (size_t i = 0; i < json_object_array_length(labels); i++) {
    char k[24];
    snprintf(k, sizeof k, "%zu", i);
    json_object_object_add(id2label, k, json_object_get(json_object_array_get_idx(labels, i)));
  }
  json_object_object_add(h, "id2label", id2label);
  const char *problem = t->task == NLP_TASK_CLASSIFICATION
                            ? (t->head.multi_label ? "multi_label_classification" : "single_label_classification")
                        : t->task == NLP_TASK_TOKEN_CLASSIFICATION ? "token_classification"
                        : t->task == NLP_TASK_QUESTION_ANSWERING ? "question_answering" : "sentence_scoring";
  json_object_object_add(h, "problem_type", json_object_new_string(problem));
  json_object_object_add(h, "head_type", json_object_new_string(
      t->task == NLP_TASK_CLASSIFICATION ? (t->head.mlp ? "mlp" : "linear")
      : t->task == NLP_TASK_TOKEN_CLASSIFICATION ? (t->head.crf ? "crf" : "linear")
      : t->task == NLP_TASK_QUESTION_ANSWERING ? "span" : "scorer"));
  json_object_object_add(h, "pooling", json_object_new_string(
      t->task == NLP_TASK_CLASSIFICATION ? (t->pool_mean ? "mean" : t->head.pooler ? "pooler" : "cls")
      : t->task == NLP_TASK_SUMMARY ? "mean" : "token"));
  if (t->head.pooler) json_object_object_add(h, "pooler", json_object_new_string(t->pooler_name));
  if (t->task == NLP_TASK_TOKEN_CLASSIFICATION) {
    bool es = t->bioes;
    for (guint i = 0; i < t->labels->len; i++) {
      const char *l = t->labels->pdata[i];
      es = es || ((l[0] == 'E' || l[0] == 'S') && l[1] == '-');
    }
    json_object_object_add(h, "scheme", json_object_new_string(es ? "BIOES" : "BIO"));
    json_object_object_add(h, "label_all_subwords", json_object_new_boolean(t->label_all));
    json_object_object_add(h, "crf", json_object_new_boolean(t->head.crf));
  }
  json_object_object_add(h, "hidden_size", json_object_new_int64((int64_t)t->H));
  json_object *shapes = json_object_new_object();
  for (size_t i = 0; i < t->n_head_params; i++) {
    nlp_param *p = t->params->items->pdata[i];
    json_object *s = json_object_new_array();
    for (int d = 0; d < p->ndim; d++) json_object_array_add(s, json_object_new_int64((int64_t)p->shape[d]));
    json_object_object_add(shapes, p->name, s);
  }
  json_object_object_add(h, "shapes", shapes);
  json_object *bb = json_object_new_object();
  char *cfg = g_build_filename(t->backbone, "config.json", NULL), *sha = file_sha256(cfg);
  char *orig = relpath(t->output, t->backbone);
  if (t->unfreeze) {
    char *nb = g_build_filename(t->output, "backbone", NULL), *nbc = g_build_filename(nb, "config.json", NULL);
    char *nsha = file_sha256(nbc);
    json_object_object_add(bb, "path", json_object_new_string("backbone"));
    json_object_object_add(bb, "config_sha256", json_object_new_string(nsha));
    json_object_object_add(bb, "base", json_object_new_string(orig));
    json_object_object_add(bb, "unfrozen_layers", json_object_new_int(t->unfreeze));
    g_free(nb); g_free(nbc); g_free(nsha);
  } else {
    json_object_object_add(bb, "path", json_object_new_string(orig));
    json_object_object_add(bb, "config_sha256", json_object_new_string(sha));
  }
  if (t->tokenizer_path) {
    char *tp = relpath(t->output, t->tokenizer_path);
    json_object_object_add(bb, "tokenizer", json_object_new_string(tp));
    g_free(tp);
  }
  json_object_object_add(h, "backbone", bb);
  g_free(cfg); g_free(sha); g_free(orig);
  /* the training section as used (defaults filled in) */
  json_object *tr = json_object_new_object();
  json_object_object_add(tr, "epochs", json_object_new_int(t->epochs));
  json_object_object_add(tr, "batch_size", json_object_new_int(t->batch));
  json_object_object_add(tr, "lr", json_object_new_double(t->lr));
  json_object_object_add(tr, "lr_backbone", json_object_new_double(t->lr_backbone));
  json_object_object_add(tr, "weight_decay", json_object_new_double(t->wd));
  json_object_object_add(tr, "warmup_ratio", json_object_new_double(t->warmup_ratio));
  json_object_object_add(tr, "dropout", json_object_new_double(t->dropout));
  json_object_object_add(tr, "attention_dropout", json_object_new_double(t->attn_dropout));
  json_object_object_add(tr, "clip_norm", json_object_new_double(t->clip));
  json_object_object_add(tr, "seed", json_object_new_int64((int64_t)t->seed));
  json_object_object_add(tr, "patience", json_object_new_int(t->patience));
  json_object_object_add(tr, "metric", json_object_new_string(t->metric));
  json_object_object_add(tr, "max_length", json_object_new_int64((int64_t)t->max_length));
  json_object_object_add(tr, "stride", json_object_new_int64((int64_t)t->stride));
  json_object_object_add(tr, "unfreeze_top", json_object_new_int(t->unfreeze));
  json_object_object_add(tr, "train_embeddings", json_object_new_boolean(t->train_emb));
  json_object_object_add(tr, "cache_dtype", json_object_new_string(t->cache_f16 ? "f16" : "f32"));
  json_object_object_add(tr, "best_epoch", json_object_new_int(epoch + 1));
  json_object_object_add(tr, "train_loss", json_object_new_double(train_loss));
  if (t->class_weights_json) json_object_object_add(tr, "class_weights", json_object_get(t->class_weights_json));
  json_object_object_add(h, "training", tr);
  json_object *data = json_object_new_object();
  char *trp = relpath(t->output, t->train_path), *dvp = relpath(t->output, t->dev_path);
  json_object_object_add(data, "train", json_object_new_string(trp));
  json_object_object_add(data, "dev", json_object_new_string(dvp));
  g_free(trp);
  g_free(dvp);
  if (t->max_train) json_object_object_add(data, "max_train", json_object_new_int64((int64_t)t->max_train));
  if (t->max_dev) json_object_object_add(data, "max_dev", json_object_new_int64((int64_t)t->max_dev));
  if (t->fields.source) json_object_object_add(data, "source", json_object_new_string(t->fields.source));
  json_object *fields = json_object_new_object();
  const char *fk[] = {"text", "label", "tokens", "tags", "question", "context", "answers", "document", "summary"};
  const char *fv[] = {t->fields.text, t->fields.label, t->fields.tokens, t->fields.tags, t->fields.question,
                      t->fields.context, t->fields.answers, t->fields.document, t->fields.summary};
  for (size_t i = 0; i < G_N_ELEMENTS(fk); i++) json_object_object_add(fields, fk[i], json_object_new_string(fv[i]));
  json_object_object_add(data, "fields", fields);
  json_object_object_add(h, "data", data);
  json_object_object_add(h, "dev_metrics", json_object_get(dev));
  char *jpath = g_build_filename(t->output, "head.json", NULL);
  const char *txt = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
  char *with_nl = g_strconcat(txt, "\n", NULL);
  ok = g_file_set_contents(jpath, with_nl, -1, error);
  g_free(with_nl);
  g_free(jpath);
  json_object_put(h);
  return ok;
}

/* ---- checkpoints */

typedef struct {
  int epoch;      /* epochs completed */
  uint64_t step;
  double best;
  int best_epoch, bad;
  double best_loss;
} progress;

static char *config_fingerprint(trainer *t) {
  char *s = g_strdup_printf("%s|%d%s|%d|%d|%.9g|%.9g|%" G_GUINT64_FORMAT "|%zu|%zu", nlp_train_task_name(t->task),
                            t->unfreeze, t->train_emb ? "+emb" : "", t->epochs, t->batch, t->lr, t->lr_backbone, t->seed,
                            t->max_length, t->head.n_out);
  char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
  g_free(s);
  return h;
}

static bool save_checkpoint(trainer *t, const nlp_adamw *opt, const progress *pg, GError **error) {
  size_t n = t->params->items->len;
  nlp_st_item *items = g_new0(nlp_st_item, 3 * n);
  char **names = g_new0(char *, 2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    nlp_param *p = t->params->items->pdata[i];
    names[2 * i] = g_strconcat(p->name, ".adam_m", NULL);
    names[2 * i + 1] = g_strconcat(p->name, ".adam_v", NULL);
    items[3 * i] = (nlp_st_item){p->name, p->w, p->ndim, {p->shape[0], p->shape[1]}};
    items[3 * i + 1] = (nlp_st_item){names[2 * i], p->m, p->ndim, {p->shape[0], p->shape[1]}};
    items[3 * i + 2] = (nlp_st_item){names[2 * i + 1], p->v, p->ndim, {p->shape[0], p->shape[1]}};
  }
  char *fp = config_fingerprint(t);
  char *e = g_strdup_printf("%d", pg->epoch), *s = g_strdup_printf("%" G_GUINT64_FORMAT, pg->step);
  char *b = g_strdup_printf("%.17g", pg->best), *be = g_strdup_printf("%d", pg->best_epoch);
  char *bad = g_strdup_printf("%d", pg->bad), *as = g_strdup_printf("%" G_GUINT64_FORMAT, opt->step);
  char *bl = g_strdup_printf("%.17g", pg->best_loss);
  const char *meta[] = {"fingerprint", fp, "epoch", e, "step", s, "best", b, "best_epoch", be,
                        "bad_epochs", bad, "adam_step", as, "best_loss", bl, NULL};
  char *path = g_build_filename(t->cache_dir, "checkpoint.safetensors", NULL);
  bool ok = nlp_safetensors_write(path, items, 3 * n, NLP_DTYPE_F32, meta, error);
  g_free(path);
  g_free(fp); g_free(e); g_free(s); g_free(b); g_free(be); g_free(bad); g_free(as); g_free(bl);
  g_strfreev(names);
  g_free(items);
  return ok;
}

static const char *st_meta(const char *path, const char *key, json_object **hold) {
  /* the header is small: re-read it as JSON */
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char l8[8];
  uint64_t n = 0;
  if (fread(l8, 1, 8, f) == 8)
    for (int i = 0; i < 8; i++) n |= (uint64_t)l8[i] << (8 * i);
  char *h = n && n < (1u << 26) ? g_malloc(n + 1) : NULL;
  if (h && fread(h, 1, n, f) == n) {
    h[n] = 0;
    if (!*hold) *hold = json_tokener_parse(h);
  }
  g_free(h);
  fclose(f);
  json_object *md = jobj(*hold, "__metadata__");
  return jstr(md, key, NULL);
}

static bool load_checkpoint(trainer *t, nlp_adamw *opt, progress *pg, GError **error) {
  char *path = g_build_filename(t->cache_dir, "checkpoint.safetensors", NULL);
  json_object *hdr = NULL;
  nlp_safetensors *st = nlp_safetensors_open(path, error);
  bool ok = st != NULL;
  char *fp = config_fingerprint(t);
  if (ok) {
    const char *cfp = st_meta(path, "fingerprint", &hdr);
    if (!cfp || strcmp(cfp, fp)) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                  "%s: this checkpoint is from a different training configuration; "
                  "remove it or run without --resume", path);
      ok = false;
    }
  }
  for (guint i = 0; ok && i < t->params->items->len; i++) {
    nlp_param *p = t->params->items->pdata[i];
    char *mn = g_strconcat(p->name, ".adam_m", NULL), *vn = g_strconcat(p->name, ".adam_v", NULL);
    const nlp_safetensors_entry *w = nlp_safetensors_find(st, p->name), *m = nlp_safetensors_find(st, mn),
                                *v = nlp_safetensors_find(st, vn);
    if (!w || !m || !v || w->numel != p->n || w->dtype != NLP_DTYPE_F32) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s: tensor %s missing or of another shape", path, p->name);
      ok = false;
    } else {
      memcpy(p->w, w->data, p->n * 4);
      memcpy(p->m, m->data, p->n * 4);
      memcpy(p->v, v->data, p->n * 4);
    }
    g_free(mn);
    g_free(vn);
  }
  if (ok) {
    pg->epoch = atoi(st_meta(path, "epoch", &hdr));
    pg->step = g_ascii_strtoull(st_meta(path, "step", &hdr), NULL, 10);
    pg->best = g_ascii_strtod(st_meta(path, "best", &hdr), NULL);
    pg->best_epoch = atoi(st_meta(path, "best_epoch", &hdr));
    pg->bad = atoi(st_meta(path, "bad_epochs", &hdr));
    pg->best_loss = g_ascii_strtod(st_meta(path, "best_loss", &hdr), NULL);
    opt->step = g_ascii_strtoull(st_meta(path, "adam_step", &hdr), NULL, 10);
  }
  g_free(fp);
  json_object_put(hdr);
  nlp_safetensors_free(st);
  g_free(path);
  return ok;
}

/* ---- class weights */

static bool setup_class_weights(trainer *t, const featset *train, GError **error) {
  json_object *cw = t->class_weights_json;
  if (!cw || t->task != NLP_TASK_CLASSIFICATION || t->multi) return true;
  size_t C = t->labels->len;
  t->class_weights = g_new(float, C);
  if (json_object_is_type(cw, json_type_string) && !strcmp(json_object_get_string(cw), "balanced")) {
    size_t *count = g_new0(size_t, C), n = train->data->examples->len;
    for (size_t i = 0; i < n; i++) count[((nlp_train_example *)train->data->examples->pdata[i])->label]++;
    for (size_t c = 0; c < C; c++) t->class_weights[c] = count[c] ? (float)n / (float)(C * count[c]) : 0.0f;
    g_free(count);
  } else if (json_object_is_type(cw, json_type_object)) {
    for (size_t c = 0; c < C; c++) {
      json_object *v = jobj(cw, t->labels->pdata[c]);
      t->class_weights[c] = v ? (float)json_object_get_double(v) : 1.0f;
    }
    json_object_object_foreach(cw, key, val) {
      (void)val;
      if (label_index(t->labels, key) < 0) {
        g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "head.class_weights.%s: not a label", key);
        return false;
      }
    }
  } else {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG,
                "head.class_weights: expected \"balanced\" or an object label -> weight");
    return false;
  }
  t->head.class_weights = t->class_weights;
  return true;
}

/* ---- the run */

/* BIO(ES) tags of one sentence rewritten as BIOES: one-token entities S-X, the
 * last token of longer ones E-X (entities as seqeval reads them). */
static void to_bioes(nlp_train_example *e) {
  nlp_entity *ents = g_new(nlp_entity, e->n_words + 1);
  size_t k = nlp_metric_tags_to_entities((const char *const *)e->tag_strs, e->n_words, ents);
  for (size_t w = 0; w < e->n_words; w++) {
    g_free(e->tag_strs[w]);
    e->tag_strs[w] = g_strdup("O");
  }
  for (size_t i = 0; i < k; i++)
    for (int32_t w = ents[i].start; w < ents[i].end; w++) {
      char p = ents[i].end - ents[i].start == 1 ? 'S' : w == ents[i].start ? 'B' : w == ents[i].end - 1 ? 'E' : 'I';
      g_free(e->tag_strs[w]);
      e->tag_strs[w] = g_strdup_printf("%c-%s", p, ents[i].type);
    }
  g_free(ents);
}

static featset *load_set(trainer *t, const char *path, size_t max, bool grow, GError **error) {
  nlp_data_fields f = t->fields;
  f.max_records = max;
  nlp_train_data *d = nlp_train_data_load(path, t->task, &f, error);
  if (!d) return NULL;
  if (t->task == NLP_TASK_TOKEN_CLASSIFICATION && t->bioes)
    for (guint i = 0; i < d->examples->len; i++) to_bioes(d->examples->pdata[i]);
  if (t->task == NLP_TASK_CLASSIFICATION || t->task == NLP_TASK_TOKEN_CLASSIFICATION) {
    if (!t->labels && grow) t->labels = nlp_train_labels_collect(d);
    if (!nlp_train_data_resolve(d, t->labels, t->multi, error)) {
      nlp_train_data_free(d);
      return NULL;
    }
  }
  return featset_new(d);
}

bool nlp_train_run(const char *config_path, const nlp_train_options *o, GError **error) {
  trainer t = {0};
  featset *train = NULL, *dev = NULL;
  batch_buf b = {0};
  size_t *order = NULL;
  bool ok = false;
  nlp_compute_init(o->threads > 0 ? o->threads : 1);
  t.threads = o->threads > 0 ? o->threads : 1;
  t.quiet = o->quiet;
  if (!load_config(&t, config_path, error)) goto out;
  if (o->unfreeze_top >= 0) t.unfreeze = o->unfreeze_top;
  if (o->train_embeddings) t.train_emb = true;
  if (o->epochs > 0) t.epochs = o->epochs;
  if (o->output) {
    g_free(t.output);
    t.output = g_strdup(o->output);
  }
  if (o->backbone) {
    g_free(t.backbone);
    t.backbone = g_strdup(o->backbone);
  }
  if (!t.cache_dir) t.cache_dir = g_strconcat(t.output, ".cache", NULL);
  /* data first: a broken set fails before any weight is loaded */
  if (!(train = load_set(&t, t.train_path, t.max_train, true, error))) goto out;
  if (!(dev = load_set(&t, t.dev_path, t.max_dev, false, error))) goto out;
  if (!open_backbone(&t, error)) goto out;
  if (!setup_class_weights(&t, train, error)) goto out;
  if (!build_params(&t, error)) goto out;
  if (!featurize(&t, train, error) || !featurize(&t, dev, error)) goto out;
  if (!train->seqs->len || !dev->seqs->len) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s: no usable example after tokenization",
                !train->seqs->len ? t.train_path : t.dev_path);
    goto out;
  }
  if (!ensure_cache(&t, train, t.train_path, t.max_train, error) ||
      !ensure_cache(&t, dev, t.dev_path, t.max_dev, error))
    goto out;
  size_t n = train->seqs->len, B = (size_t)t.batch;
  uint64_t steps_per_epoch = (n + B - 1) / B, total = steps_per_epoch * (uint64_t)t.epochs;
  uint64_t warmup = (uint64_t)(t.warmup_ratio * (double)total);
  nlp_adamw opt = nlp_adamw_default();
  opt.weight_decay = (float)t.wd;
  progress pg = {0, 0, -INFINITY, -1, 0, 0};
  if (o->resume) {
    char *cp = g_build_filename(t.cache_dir, "checkpoint.safetensors", NULL);
    bool have = g_file_test(cp, G_FILE_TEST_EXISTS);
    g_free(cp);
    if (have) {
      if (!load_checkpoint(&t, &opt, &pg, error)) goto out;
      if (!t.quiet) fprintf(stderr, "nlpipe train: resuming after epoch %d (step %" G_GUINT64_FORMAT ")\n", pg.epoch, pg.step);
    } else if (!t.quiet) {
      fprintf(stderr, "nlpipe train: no checkpoint in %s; starting from scratch\n", t.cache_dir);
    }
  }
  if (!t.quiet)
    fprintf(stderr, "nlpipe train: %s, %zu train / %zu dev windows, %zu labels, %s head%s, "
            "%d epochs x %" G_GUINT64_FORMAT " steps, batch %d\n",
            nlp_train_task_name(t.task), n, (size_t)dev->seqs->len, t.labels ? (size_t)t.labels->len : t.head.n_out,
            t.head.mlp ? "mlp" : "linear", t.unfreeze ? " + top layers" : " (frozen backbone)",
            t.epochs, steps_per_epoch, t.batch);
  order = g_new(size_t, n);
  bool tty = isatty(2) && !t.quiet;
  int ran = 0;
  if (pg.bad > t.patience && t.patience > 0) pg.epoch = t.epochs;
  for (int epoch = pg.epoch; epoch < t.epochs; epoch++) {
    for (size_t i = 0; i < n; i++) order[i] = i;
    nlp_rng shuf = nlp_rng_make(t.seed, 100, (uint64_t)epoch);
    nlp_rng_shuffle(&shuf, order, n);
    gint64 t0 = g_get_monotonic_time();
    double loss_sum = 0;
    size_t seen = 0;
    for (size_t s0 = 0; s0 < n; s0 += B) {
      size_t m = MIN(B, n - s0);
      nlp_rng drop = nlp_rng_make(t.seed, 200, pg.step);
      nlp_param_zero_grad(t.params);
      batch_forward(&t, train, order + s0, m, &drop, &b);
      double loss = batch_loss_backward(&t, train, order + s0, &b);
      nlp_param_clip_grad(t.params, t.clip);
      float lr = nlp_lr_linear((float)t.lr, pg.step, warmup, total);
      nlp_adamw_step(&opt, t.params, lr);
      pg.step++;
      loss_sum += loss * (double)m;
      seen += m;
      if (tty) {
        double sec = (double)(g_get_monotonic_time() - t0) / 1e6;
        fprintf(stderr, "\repoch %d/%d step %zu/%" G_GUINT64_FORMAT " loss %.4f lr %.2e %.0f samples/s   ",
                epoch + 1, t.epochs, s0 / B + 1, steps_per_epoch, loss, lr, seen / (sec > 0 ? sec : 1e-9));
      }
    }
    double train_sec = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (tty) fputc('\n', stderr);
    double dev_loss;
    json_object *dm = evaluate(&t, dev, &dev_loss);
    json_object_object_add(dm, "loss", json_object_new_double(dev_loss));
    double metric = metric_of(dm, t.metric);
    if (metric == -INFINITY) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "training.metric \"%s\": not a metric of %s (see head.json dev_metrics)",
                  t.metric, nlp_train_task_name(t.task));
      json_object_put(dm);
      goto out;
    }
    bool improved = metric > pg.best;
    if (improved) {
      pg.best = metric;
      pg.best_epoch = epoch;
      pg.bad = 0;
      pg.best_loss = loss_sum / (double)seen;
      if (!save_head(&t, dm, epoch, pg.best_loss, error)) {
        json_object_put(dm);
        goto out;
      }
    } else {
      pg.bad++;
    }
    pg.epoch = epoch + 1;
    if (!t.quiet)
      fprintf(stderr, "epoch %d/%d: train loss %.4f, dev loss %.4f, dev %s %.4f%s, %.0f samples/s, %.1f s\n",
              epoch + 1, t.epochs, loss_sum / (double)seen, dev_loss, t.metric, metric,
              improved ? " (best, saved)" : "", (double)seen / train_sec, train_sec);
    json_object_put(dm);
    if (!save_checkpoint(&t, &opt, &pg, error)) goto out;
    ran++;
    if (t.patience > 0 && pg.bad >= t.patience) {
      if (!t.quiet) fprintf(stderr, "nlpipe train: early stop: no dev improvement for %d epochs\n", t.patience);
      break;
    }
    if (o->stop_after > 0 && ran >= o->stop_after) {
      if (!t.quiet) fprintf(stderr, "nlpipe train: stopping after %d epoch(s) as asked; --resume continues\n", ran);
      break;
    }
  }
  if (!t.quiet && pg.best_epoch >= 0)
    fprintf(stderr, "nlpipe train: best dev %s %.4f at epoch %d -> %s\n", t.metric, pg.best,
            pg.best_epoch + 1, t.output);
  ok = true;
out:
  g_free(order);
  buf_free(&b);
  featset_free(train);
  featset_free(dev);
  trainer_clear(&t);
  return ok;
}

/* ---- evaluation of a saved head */

bool nlp_train_evaluate_head(const char *head_dir, const char *data, int threads,
                             json_object **metrics, GError **error) {
  trainer t = {0};
  featset *fs = NULL;
  bool ok = false;
  nlp_safetensors *st = NULL;
  nlp_compute_init(threads > 0 ? threads : 1);
  t.threads = threads > 0 ? threads : 1;
  t.quiet = true;
  char *hj = g_build_filename(head_dir, "head.json", NULL);
  t.root = json_object_from_file(hj);
  if (!t.root) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_IO, "%s: cannot read a JSON object", hj);
    g_free(hj);
    return false;
  }
  t.dir = g_strdup(head_dir);
  if (!parse_spec(&t, hj, error)) goto out;
  /* head.json stores the numbers the run used */
  t.unfreeze = 0; /* an unfrozen head ships its own backbone folder */
  t.train_emb = false;
  json_object *bb = jobj(t.root, "backbone");
  const char *bp = jstr(bb, "path", NULL);
  if (!bp) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: backbone.path: missing", hj);
    goto out;
  }
  t.backbone = resolve(head_dir, bp);
  t.tokenizer_path = resolve(head_dir, jstr(bb, "tokenizer", NULL));
  json_object *labels = jobj(t.root, "labels");
  t.labels = g_ptr_array_new_with_free_func(g_free);
  for (size_t i = 0; labels && i < json_object_array_length(labels); i++)
    g_ptr_array_add(t.labels, g_strdup(json_object_get_string(json_object_array_get_idx(labels, i))));
  if (!(fs = load_set(&t, data, 0, false, error))) goto out;
  if (!open_backbone(&t, error)) goto out;
  if (!build_params(&t, error)) goto out;
  char *wp = g_build_filename(head_dir, "head.safetensors", NULL);
  st = nlp_safetensors_open(wp, error);
  g_free(wp);
  if (!st) goto out;
  for (size_t i = 0; i < t.n_head_params; i++) {
    nlp_param *p = t.params->items->pdata[i];
    const nlp_safetensors_entry *e = nlp_safetensors_find(st, p->name);
    if (!e || e->numel != p->n || e->dtype != NLP_DTYPE_F32) {
      g_set_error(error, NLP_ERROR, NLP_ERROR_MODEL, "%s/head.safetensors: %s missing or of another shape", head_dir, p->name);
      goto out;
    }
    memcpy(p->w, e->data, p->n * sizeof(float));
  }
  if (!featurize(&t, fs, error)) goto out;
  /* no cache for evaluation: encode into a temporary mapping */
  char *tmpdir = g_dir_make_tmp("nlpipe-eval-XXXXXX", error);
  if (!tmpdir) goto out;
  t.cache_dir = tmpdir;
  ok = ensure_cache(&t, fs, data, 0, error);
  if (ok) {
    *metrics = evaluate(&t, fs, NULL);
    char *p = g_strdup_printf("%s/features-", tmpdir);
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *nm;
    while (d && (nm = g_dir_read_name(d))) {
      char *f = g_build_filename(tmpdir, nm, NULL);
      remove(f);
      g_free(f);
    }
    if (d) g_dir_close(d);
    g_free(p);
  }
  rmdir(tmpdir);
out:
  g_free(hj);
  nlp_safetensors_free(st);
  featset_free(fs);
  trainer_clear(&t);
  return ok;
}
