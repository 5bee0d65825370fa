/* Interim backbone: the encoder lands with issue 4 (core/model) and the tokenizer
 * with issue 3 (core/tokenizer); until both are wired in, a pipeline that names a
 * model is refused at open time with a clear message. */
#include "pipeline/backbone.h"

#include <string.h>

#include "util/error.h"

nlp_backbone *nlp_backbone_open(const char *name, const char *path, gint64 max_length,
                                gint64 stride, GError **error) {
  (void)max_length;
  (void)stride;
  g_set_error(error, NLP_ERROR, NLP_ERROR_UNSUPPORTED,
              "models.%s: %s: transformer backbones are not built into this nlpipe yet", name,
              path);
  return NULL;
}

void nlp_backbone_free(nlp_backbone *bb) { (void)bb; }
const nlp_model_info *nlp_backbone_info(const nlp_backbone *bb) { (void)bb; return NULL; }
void nlp_backbone_begin_batch(nlp_backbone *bb) { (void)bb; }
size_t nlp_backbone_batch_windows(nlp_backbone *bb, nlp_doc **docs, size_t n_docs,
                                  const nlp_window **windows) {
  (void)bb; (void)docs; (void)n_docs;
  *windows = NULL;
  return 0;
}
guint64 nlp_backbone_forward_count(const nlp_backbone *bb) { (void)bb; return 0; }
size_t nlp_backbone_encode_pairs(nlp_backbone *bb, const char *const *first,
                                 const char *const *second, size_t n_pairs,
                                 const nlp_pair_params *params, const nlp_window **windows,
                                 char **error) {
  (void)bb; (void)first; (void)second; (void)n_pairs; (void)params;
  *windows = NULL;
  if (error) *error = strdup("no encoder");
  return (size_t)-1;
}
const nlp_tensor_view *nlp_backbone_tensor(nlp_backbone *bb, const char *head_dir,
                                           const char *name) {
  (void)bb; (void)head_dir; (void)name;
  return NULL;
}
char *nlp_backbone_decode(nlp_backbone *bb, const int32_t *ids, size_t n, bool skip_special) {
  (void)bb; (void)ids; (void)n; (void)skip_special;
  return NULL;
}
void nlp_host_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                     size_t out, float *y);
void nlp_host_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                     size_t out, float *y) {
  for (size_t i = 0; i < n; i++)
    for (size_t o = 0; o < out; o++) {
      float acc = b ? b[o] : 0.0f;
      for (size_t k = 0; k < in; k++) acc += x[i * in + k] * w[o * in + k];
      y[i * out + o] = acc;
    }
}
