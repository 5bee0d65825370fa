/* checkpoint.c — the end-of-epoch checkpoint (parameters, AdamW moments, progress)
 * that --resume continues from with the numbers of an uninterrupted run. */
#include <stdio.h>
#include <string.h>

#include "train/internal.h"
#include "tensor/safetensors.h"
#include "train/st-write.h"
#include "util/error.h"

static char *config_fingerprint(trainer *t) {
  char *s = g_strdup_printf("%s|%d%s|%d|%d|%.9g|%.9g|%" G_GUINT64_FORMAT "|%" G_GUINT64_FORMAT "|%zu|%zu", nlp_train_task_name(t->task),
                            t->unfreeze, t->train_emb ? "+emb" : "", t->epochs, t->batch, t->lr, t->lr_backbone, t->seed, t->data_seed,
                            t->max_length, t->head.n_out);
  char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
  g_free(s);
  return h;
}

bool nlp_tr_save_checkpoint(trainer *t, const nlp_adamw *opt, const progress *pg, GError **error) {
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
  json_object *md = nlp_tr_jobj(*hold, "__metadata__");
  return nlp_tr_jstr(md, key, NULL);
}

bool nlp_tr_load_checkpoint(trainer *t, nlp_adamw *opt, progress *pg, GError **error) {
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
