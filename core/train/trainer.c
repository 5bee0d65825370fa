/* trainer.c — `nlpipe train` and `nlpipe eval HEAD`: opens the backbone, builds the
 * trainable parameters, and runs the epoch loop (shuffle, batches, AdamW, dev scoring,
 * early stopping, checkpoints). The parts live beside it: config.c, features.c, batch.c,
 * evaluate.c, save.c, checkpoint.c. See trainer.h. */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/arch.h"
#include "train/internal.h"
#include "tensor/gemm.h"
#include "tensor/safetensors.h"
#include "util/error.h"

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
  /* the pooler under the family's prefix, else a bare checkpoint's (RobertaModel) */
  const char *fam = nlp_train_arch_get(t->model)->family;
  char *with = g_strconcat(fam, "pooler.dense.weight", NULL);
  t->pooler_name = nlp_model_find_tensor(t->model, with) ? g_strconcat(fam, "pooler.dense", NULL)
                                                         : g_strdup("pooler.dense");
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
      json_object *v = nlp_tr_jobj(cw, t->labels->pdata[c]);
      t->class_weights[c] = v ? (float)json_object_get_double(v) : 1.0f;
    }
    json_object_object_foreach(cw, key, val) {
      (void)val;
      if (nlp_tr_label_index(t->labels, key) < 0) {
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

bool nlp_train_run(const char *config_path, const nlp_train_options *o, GError **error) {
  trainer t = {0};
  featset *train = NULL, *dev = NULL;
  batch_buf b = {0};
  size_t *order = NULL;
  bool ok = false;
  nlp_compute_init(o->threads > 0 ? o->threads : 1);
  t.threads = o->threads > 0 ? o->threads : 1;
  t.quiet = o->quiet;
  if (!nlp_tr_load_config(&t, config_path, error)) goto out;
  if (o->unfreeze_top >= 0) t.unfreeze = o->unfreeze_top;
  if (o->train_embeddings) t.train_emb = true;
  if (o->epochs > 0) t.epochs = o->epochs;
  if (o->data_seed >= 0) t.data_seed = (uint64_t)o->data_seed;
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
  if (!(train = nlp_tr_load_set(&t, t.train_path, t.max_train, true, error))) goto out;
  if (!(dev = nlp_tr_load_set(&t, t.dev_path, t.max_dev, false, error))) goto out;
  if (!open_backbone(&t, error)) goto out;
  if (!setup_class_weights(&t, train, error)) goto out;
  if (!build_params(&t, error)) goto out;
  if (!nlp_tr_featurize(&t, train, error) || !nlp_tr_featurize(&t, dev, error)) goto out;
  if (!train->seqs->len || !dev->seqs->len) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_INPUT, "%s: no usable example after tokenization",
                !train->seqs->len ? t.train_path : t.dev_path);
    goto out;
  }
  if (!nlp_tr_ensure_cache(&t, train, t.train_path, t.max_train, error) ||
      !nlp_tr_ensure_cache(&t, dev, t.dev_path, t.max_dev, error))
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
      if (!nlp_tr_load_checkpoint(&t, &opt, &pg, error)) goto out;
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
    nlp_rng shuf = nlp_rng_make(t.data_seed, 100, (uint64_t)epoch);
    nlp_rng_shuffle(&shuf, order, n);
    gint64 t0 = g_get_monotonic_time(), last_log = t0;
    double loss_sum = 0;
    size_t seen = 0;
    for (size_t s0 = 0; s0 < n; s0 += B) {
      size_t m = MIN(B, n - s0);
      nlp_rng drop = nlp_rng_make(t.seed, 200, pg.step);
      nlp_param_zero_grad(t.params);
      nlp_tr_batch_forward(&t, train, order + s0, m, &drop, &b);
      double loss = nlp_tr_batch_loss_backward(&t, train, order + s0, &b);
      nlp_param_clip_grad(t.params, t.clip);
      float lr = nlp_lr_linear((float)t.lr, pg.step, warmup, total);
      nlp_adamw_step(&opt, t.params, lr);
      pg.step++;
      loss_sum += loss * (double)m;
      seen += m;
      gint64 now = g_get_monotonic_time();
      double sec = (double)(now - t0) / 1e6, rate = seen / (sec > 0 ? sec : 1e-9);
      if (tty) {
        fprintf(stderr, "\repoch %d/%d step %zu/%" G_GUINT64_FORMAT " loss %.4f lr %.2e %.0f samples/s   ",
                epoch + 1, t.epochs, s0 / B + 1, steps_per_epoch, loss, lr, rate);
      } else if (!t.quiet && now - last_log >= (gint64)o->log_every * G_USEC_PER_SEC) {
        /* a log file gets a line every log_every seconds: the epoch's mean loss so far, its ETA */
        fprintf(stderr, "epoch %d/%d step %zu/%" G_GUINT64_FORMAT " (%.0f%%): loss %.4f, lr %.2e, %.0f samples/s, "
                "%.0f s left in the epoch\n", epoch + 1, t.epochs, s0 / B + 1, steps_per_epoch,
                100.0 * (double)(s0 + m) / (double)n, loss_sum / (double)seen, lr, rate, (double)(n - s0 - m) / rate);
        last_log = now;
      }
    }
    double train_sec = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (tty) fputc('\n', stderr);
    double dev_loss;
    json_object *dm = nlp_tr_evaluate(&t, dev, &dev_loss);
    json_object_object_add(dm, "loss", json_object_new_double(dev_loss));
    double metric = nlp_tr_metric_of(dm, t.metric);
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
      if (!nlp_tr_save_head(&t, dm, epoch, pg.best_loss, error)) {
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
    if (!nlp_tr_save_checkpoint(&t, &opt, &pg, error)) goto out;
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
  nlp_tr_buf_free(&b);
  nlp_tr_featset_free(train);
  nlp_tr_featset_free(dev);
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
  if (!nlp_tr_parse_spec(&t, hj, error)) goto out;
  /* head.json stores the numbers the run used */
  t.unfreeze = 0; /* an unfrozen head ships its own backbone folder */
  t.train_emb = false;
  json_object *bb = nlp_tr_jobj(t.root, "backbone");
  const char *bp = nlp_tr_jstr(bb, "path", NULL);
  if (!bp) {
    g_set_error(error, NLP_ERROR, NLP_ERROR_CONFIG, "%s: backbone.path: missing", hj);
    goto out;
  }
  t.backbone = nlp_tr_resolve(head_dir, bp);
  t.tokenizer_path = nlp_tr_resolve(head_dir, nlp_tr_jstr(bb, "tokenizer", NULL));
  json_object *labels = nlp_tr_jobj(t.root, "labels");
  t.labels = g_ptr_array_new_with_free_func(g_free);
  for (size_t i = 0; labels && i < json_object_array_length(labels); i++)
    g_ptr_array_add(t.labels, g_strdup(json_object_get_string(json_object_array_get_idx(labels, i))));
  if (!(fs = nlp_tr_load_set(&t, data, 0, false, error))) goto out;
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
  if (!nlp_tr_featurize(&t, fs, error)) goto out;
  /* no cache for evaluation: encode into a temporary mapping */
  char *tmpdir = g_dir_make_tmp("nlpipe-eval-XXXXXX", error);
  if (!tmpdir) goto out;
  t.cache_dir = tmpdir;
  ok = nlp_tr_ensure_cache(&t, fs, data, 0, error);
  if (ok) {
    *metrics = nlp_tr_evaluate(&t, fs, NULL);
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
  nlp_tr_featset_free(fs);
  trainer_clear(&t);
  return ok;
}
