#include "pipeline/host.h"
#include "tensor/crf.h"
#include "tensor/gemm.h"
#include "text/sentences.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void host_log(nlp_log_level level, const char *plugin, const char *fmt, ...) {
  static const char *const names[] = {"error", "warning", "info", "debug"};
  /* Errors and warnings always; info with NLPIPE_VERBOSE, debug with NLPIPE_DEBUG, so
   * a normal run's stderr holds only what needs attention and the summary. */
  if (level == NLP_LOG_DEBUG && !g_getenv("NLPIPE_DEBUG")) return;
  if (level == NLP_LOG_INFO && !g_getenv("NLPIPE_VERBOSE") && !g_getenv("NLPIPE_DEBUG")) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nlpipe: %s: %s: ", plugin ? plugin : "?", names[level]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static size_t host_batch_size(const nlp_batch *b) { return b->n; }

static const char *host_doc_text(const nlp_batch *b, size_t i, size_t *len) {
  if (i >= b->n) return NULL;
  if (len) *len = b->docs[i]->text_len;
  return b->docs[i]->text;
}

static json_object *host_doc_record(const nlp_batch *b, size_t i) {
  return i < b->n ? b->docs[i]->record : NULL;
}

static json_object *host_doc_result(const nlp_batch *b, size_t i, const char *step) {
  json_object *v = NULL;
  if (i >= b->n || !b->docs[i]->results) return NULL;
  return json_object_object_get_ex(b->docs[i]->results, step, &v) ? v : NULL;
}

static void host_set_result(nlp_batch *b, size_t i, json_object *value) {
  if (i >= b->n) {
    json_object_put(value);
    return;
  }
  nlp_doc *d = b->docs[i];
  if (!d->results) d->results = json_object_new_object();
  json_object_object_add(d->results, b->step_name, value);
}

static void host_set_error(nlp_batch *b, size_t i, const char *message) {
  if (i >= b->n) return;
  nlp_doc_fail(b->docs[i], "step \"%s\": %s", b->step_name, message ? message : "failed");
}

static const nlp_model_info *host_model_info(const nlp_model *model) {
  return model ? nlp_backbone_info((const nlp_backbone *)model) : NULL;
}

static size_t host_batch_windows(nlp_batch *b, const nlp_window **out) {
  *out = NULL;
  if (!b->backbone) return 0;
  /* The backbone encodes the documents once per batch; each step sees them
   * through its own list of still-valid documents, so indices are remapped. */
  const nlp_window *all = NULL;
  nlp_doc *const *owners = NULL;
  size_t n = nlp_backbone_batch_windows(b->backbone, b->docs, b->n, &all, &owners);
  g_array_set_size(b->windows, 0);
  size_t visible = 0;
  for (size_t i = 0; i < n; i++) {
    const nlp_doc *owner = owners[all[i].doc];
    /* Both lists are in input order, so one forward scan maps owners to the
     * step's visible documents; failed ones are not visible and are skipped. */
    while (visible < b->n && b->docs[visible]->index < owner->index) visible++;
    if (visible == b->n || b->docs[visible] != owner) continue;
    nlp_window w = all[i];
    w.doc = visible;
    g_array_append_val(b->windows, w);
  }
  *out = (const nlp_window *)(void *)b->windows->data;
  return b->windows->len;
}

static size_t host_encode_pairs(nlp_batch *b, const char *const *first,
                                const char *const *second, size_t n_pairs,
                                const nlp_pair_params *params, const nlp_window **windows,
                                char **error) {
  if (!b->backbone) {
    if (error) *error = strdup("this step has no model");
    return (size_t)-1;
  }
  return nlp_backbone_encode_pairs(b->backbone, first, second, n_pairs, params, windows, error);
}

static const nlp_tensor_view *host_tensor(nlp_batch *b, const char *name) {
  return b->backbone ? nlp_backbone_tensor(b->backbone, b->head_dir, name) : NULL;
}

static char *host_decode(nlp_batch *b, const int32_t *ids, size_t n, bool skip_special) {
  return b->backbone ? nlp_backbone_decode(b->backbone, ids, n, skip_special) : NULL;
}

static const char *host_id_to_token(nlp_batch *b, int32_t id) {
  return b->backbone ? nlp_backbone_id_to_token(b->backbone, id) : NULL;
}

static char *host_decode_tokens(nlp_batch *b, const char *const *tokens, size_t n) {
  return b->backbone ? nlp_backbone_decode_tokens(b->backbone, tokens, n) : NULL;
}

static int32_t host_unk_id(nlp_batch *b) { return b->backbone ? nlp_backbone_unk_id(b->backbone) : -1; }

/* Plugins' head math on the host's BLAS; 0 threads = the process default. */
static void host_linear(const float *x, size_t n, size_t in, const float *w, const float *b,
                        size_t out, float *y) {
  nlp_gemm_linear(x, n, in, w, b, out, y, 0);
}

static const nlp_host host_table = {
    .abi_version = NLP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nlp_host),
    .log = host_log,
    .batch_size = host_batch_size,
    .doc_text = host_doc_text,
    .doc_record = host_doc_record,
    .doc_result = host_doc_result,
    .set_result = host_set_result,
    .set_error = host_set_error,
    .model_info = host_model_info,
    .batch_windows = host_batch_windows,
    .encode_pairs = host_encode_pairs,
    .tensor = host_tensor,
    .linear = host_linear,
    .decode = host_decode,
    .id_to_token = host_id_to_token,
    .decode_tokens = host_decode_tokens,
    .unk_id = host_unk_id,
    .crf_viterbi = nlp_crf_viterbi,
    .split_sentences = nlp_sentences_split,
};

const nlp_host *nlp_host_get(void) { return &host_table; }
