/* param.c — parameter sets and AdamW. */
#include "train/param.h"

#include <math.h>
#include <string.h>

nlp_param_set *nlp_param_set_new(void) {
  nlp_param_set *s = g_new0(nlp_param_set, 1);
  s->items = g_ptr_array_new();
  return s;
}

static void param_free(nlp_param *p) {
  g_free(p->name);
  g_free(p->w);
  g_free(p->g);
  g_free(p->m);
  g_free(p->v);
  g_free(p);
}

void nlp_param_set_free(nlp_param_set *s) {
  if (!s) return;
  for (guint i = 0; i < s->items->len; i++) param_free(s->items->pdata[i]);
  g_ptr_array_free(s->items, TRUE);
  g_free(s);
}

nlp_param *nlp_param_add(nlp_param_set *s, const char *name, size_t d0, size_t d1, bool decay,
                         const float *init) {
  nlp_param *p = g_new0(nlp_param, 1);
  p->name = g_strdup(name);
  p->ndim = d1 ? 2 : 1;
  p->shape[0] = d0;
  p->shape[1] = d1;
  p->n = d0 * (d1 ? d1 : 1);
  p->decay = decay;
  p->lr_scale = 1.0f;
  p->w = g_new0(float, p->n);
  p->g = g_new0(float, p->n);
  p->m = g_new0(float, p->n);
  p->v = g_new0(float, p->n);
  if (init) memcpy(p->w, init, p->n * sizeof(float));
  g_ptr_array_add(s->items, p);
  return p;
}

nlp_param *nlp_param_find(const nlp_param_set *s, const char *name) {
  for (guint i = 0; i < s->items->len; i++) {
    nlp_param *p = s->items->pdata[i];
    if (!strcmp(p->name, name)) return p;
  }
  return NULL;
}

void nlp_param_zero_grad(nlp_param_set *s) {
  for (guint i = 0; i < s->items->len; i++) {
    nlp_param *p = s->items->pdata[i];
    memset(p->g, 0, p->n * sizeof(float));
  }
}

double nlp_param_clip_grad(nlp_param_set *s, double max_norm) {
  double sq = 0.0;
  for (guint i = 0; i < s->items->len; i++) {
    nlp_param *p = s->items->pdata[i];
    for (size_t j = 0; j < p->n; j++) sq += (double)p->g[j] * p->g[j];
  }
  double norm = sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    float scale = (float)(max_norm / (norm + 1e-6));
    for (guint i = 0; i < s->items->len; i++) {
      nlp_param *p = s->items->pdata[i];
      for (size_t j = 0; j < p->n; j++) p->g[j] *= scale;
    }
  }
  return norm;
}

nlp_adamw nlp_adamw_default(void) {
  return (nlp_adamw){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
}

void nlp_adamw_step(nlp_adamw *o, nlp_param_set *s, float lr) {
  o->step++;
  double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
  float bc2_sqrt = (float)sqrt(bc2);
  for (guint i = 0; i < s->items->len; i++) {
    nlp_param *p = s->items->pdata[i];
    float plr = lr * p->lr_scale, step_size = (float)(plr / bc1);
    float decay = p->decay ? 1.0f - plr * o->weight_decay : 1.0f;
    for (size_t j = 0; j < p->n; j++) {
      float g = p->g[j];
      p->w[j] *= decay;
      p->m[j] = o->beta1 * p->m[j] + (1.0f - o->beta1) * g;
      p->v[j] = o->beta2 * p->v[j] + (1.0f - o->beta2) * g * g;
      p->w[j] -= step_size * p->m[j] / (sqrtf(p->v[j]) / bc2_sqrt + o->eps);
    }
  }
}

float nlp_lr_linear(float peak, uint64_t step, uint64_t warmup, uint64_t total) {
  if (step < warmup) return peak * (float)(step + 1) / (float)warmup;
  if (step >= total) return 0.0f;
  return peak * (float)(total - step) / (float)(total - warmup > 0 ? total - warmup : 1);
}
