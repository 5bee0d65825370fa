/* param.h — trainable tensors, AdamW, the learning-rate schedule and clipping.
 *
 * A parameter set owns, for each tensor, its weights, gradient and the two AdamW
 * moments, all f32. Names are the Hugging Face names the tensor is saved under
 * ("classifier.weight", "bert.encoder.layer.3.output.dense.bias"), so saving a
 * head or a backbone is a walk over the set.
 *
 * AdamW is torch.optim.AdamW: bias-corrected moments and decoupled weight decay
 * (w -= lr * wd * w) applied only to tensors marked `decay` (by HF convention not
 * to biases and LayerNorm weights). Ownership: nlp_param_set_new / _free; tensors
 * added with nlp_param_add belong to the set. */
#ifndef NLP_TRAIN_PARAM_H
#define NLP_TRAIN_PARAM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nlp_param {
  char *name;
  size_t n, shape[2];
  int ndim;
  bool decay;
  float lr_scale; /* this tensor's learning rate = lr * lr_scale (1 by default) */
  float *w, *g, *m, *v;
} nlp_param;

typedef struct nlp_param_set {
  GPtrArray *items; /* nlp_param*, owned */
} nlp_param_set;

nlp_param_set *nlp_param_set_new(void);
void nlp_param_set_free(nlp_param_set *set);
/* A new zeroed tensor [d0] (d1 = 0) or [d0 x d1]; INIT, if not NULL, is copied in. */
nlp_param *nlp_param_add(nlp_param_set *set, const char *name, size_t d0, size_t d1, bool decay,
                         const float *init);
nlp_param *nlp_param_find(const nlp_param_set *set, const char *name);
void nlp_param_zero_grad(nlp_param_set *set);
/* Global L2 norm of all gradients; scales them to MAX_NORM when above (max_norm
 * <= 0: no clipping, norm still returned), as torch.nn.utils.clip_grad_norm_. */
double nlp_param_clip_grad(nlp_param_set *set, double max_norm);

typedef struct nlp_adamw {
  float beta1, beta2, eps, weight_decay;
  uint64_t step; /* number of updates done */
} nlp_adamw;

nlp_adamw nlp_adamw_default(void); /* 0.9, 0.999, 1e-8, 0.01 */
/* One update of every tensor of SET with learning rate LR (moments in the set). */
void nlp_adamw_step(nlp_adamw *opt, nlp_param_set *set, float lr);

/* Linear warm-up over WARMUP steps from 0 to PEAK, then linear decay to 0 at TOTAL
 * (transformers' get_linear_schedule_with_warmup), for the update number STEP
 * (0-based: the learning rate of the first update is peak / warmup). */
float nlp_lr_linear(float peak, uint64_t step, uint64_t warmup, uint64_t total);

#endif
