/* save.c — writing a head folder: head.safetensors under HF names, head.json, and
 * the fine-tuned backbone (HF layout) when layers were unfrozen. */
#include <errno.h>
#include <stdio.h>

#include "train/internal.h"
#include "tensor/safetensors.h"
#include "train/st-write.h"
#include "util/error.h"

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

/* The tokenizer files are those of BERT / DistilBERT (vocab.txt), RoBERTa (vocab.json,
 * merges.txt) and XLM-RoBERTa / CamemBERT (sentencepiece.bpe.model), whichever exist,
 * so that transformers loads the folder with its tokenizer too. */
bool nlp_tr_copy_backbone_files(const char *model_dir, const char *tokenizer_dir, const char *dst, GError **error) {
  const char *files[] = {"config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                         "special_tokens_map.json", "vocab.json", "merges.txt",
                         "sentencepiece.bpe.model", "LICENSE.tokenizer"};
  bool ok = true;
  for (size_t i = 0; i < G_N_ELEMENTS(files) && ok; i++) {
    const char *src_dir = i && tokenizer_dir && g_file_test(tokenizer_dir, G_FILE_TEST_IS_DIR) ? tokenizer_dir : model_dir;
    char *a = g_build_filename(src_dir, files[i], NULL), *b = g_build_filename(dst, files[i], NULL);
    if (g_file_test(a, G_FILE_TEST_EXISTS)) ok = copy_file(a, b, error);
    g_free(a);
    g_free(b);
  }
  return ok;
}

bool nlp_tr_write_head_json(const char *dir, json_object *head, GError **error) {
  char *path = g_build_filename(dir, "head.json", NULL);
  const char *txt = json_object_to_json_string_ext(head, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
  char *with_nl = g_strconcat(txt, "\n", NULL);
  bool ok = g_file_set_contents(path, with_nl, -1, error);
  g_free(with_nl);
  g_free(path);
  return ok;
}

/* Writes <output>/backbone: config + tokenizer files + every tensor of the original
 * checkpoint under its own name, the trained ones replaced, in the order stored. A
 * sharded checkpoint (model.safetensors.index.json) becomes one model.safetensors. */
static bool save_backbone(trainer *t, GError **error) {
  char *dir = g_build_filename(t->output, "backbone", NULL);
  g_mkdir_with_parents(dir, 0755);
  bool ok = nlp_tr_copy_backbone_files(t->backbone, t->tokenizer_path, dir, error);
  GArray *items = g_array_new(FALSE, TRUE, sizeof(nlp_st_item));
  for (size_t f = 0; ok && f < nlp_model_n_weight_files(t->model); f++) {
    const nlp_safetensors *st = nlp_model_weight_file(t->model, f);
    for (size_t i = 0; i < st->n_entries; i++) {
      const nlp_safetensors_entry *e = &st->entries[i];
      const nlp_tensor *tt = nlp_model_find_tensor(t->model, e->name);
      if (!tt) continue; /* integer buffers (position_ids) are not needed */
      nlp_param *p = nlp_param_find(t->params, e->name);
      nlp_st_item it = {e->name, p && !g_str_has_suffix(e->name, "pooler.dense.weight") &&
                                         !g_str_has_suffix(e->name, "pooler.dense.bias")
                                     ? p->w : tt->data, e->ndim, {0}};
      for (int d = 0; d < e->ndim && d < 4; d++) it.shape[d] = (size_t)e->shape[d];
      g_array_append_val(items, it);
    }
  }
  if (ok) {
    char *out = g_build_filename(dir, "model.safetensors", NULL);
    const char *meta[] = {"format", "pt", NULL};
    ok = nlp_safetensors_write(out, (const nlp_st_item *)(void *)items->data, items->len, NLP_DTYPE_F32, meta, error);
    g_free(out);
  }
  g_array_free(items, TRUE);
  g_free(dir);
  return ok;
}

bool nlp_tr_save_head(trainer *t, json_object *dev, int epoch, double train_loss, GError **error) {
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
  char *cfg = g_build_filename(t->backbone, "config.json", NULL), *sha = nlp_tr_file_sha256(cfg);
  char *orig = nlp_tr_relpath(t->output, t->backbone);
  if (t->unfreeze) {
    char *nb = g_build_filename(t->output, "backbone", NULL), *nbc = g_build_filename(nb, "config.json", NULL);
    char *nsha = nlp_tr_file_sha256(nbc);
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
    char *tp = nlp_tr_relpath(t->output, t->tokenizer_path);
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
  json_object_object_add(tr, "data_seed", json_object_new_int64((int64_t)t->data_seed));
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
  char *trp = nlp_tr_relpath(t->output, t->train_path), *dvp = nlp_tr_relpath(t->output, t->dev_path);
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
  ok = nlp_tr_write_head_json(t->output, h, error);
  json_object_put(h);
  return ok;
}
