/* backbone.h — a transformer backbone as the pipeline runner uses it: the model
 * folder's tokenizer and encoder, opened once per run and shared by every step
 * that names it, and the per-batch cache that makes those steps share one
 * forward pass. */
#ifndef NLP_PIPELINE_BACKBONE_H
#define NLP_PIPELINE_BACKBONE_H

#include <glib.h>

#include "nlpipe/plugin.h"
#include "pipeline/doc.h"

typedef struct nlp_backbone nlp_backbone;

/* Opens the folder (tokenizer + weights, mmapped). max_length 0 = the model's
 * maximum; stride < 0 = a default of a quarter of the window. */
nlp_backbone *nlp_backbone_open(const char *name, const char *path, gint64 max_length,
                                gint64 stride, int threads, GError **error);
void nlp_backbone_free(nlp_backbone *bb);

const nlp_model_info *nlp_backbone_info(const nlp_backbone *bb);

/* Starts a new batch: forgets the cached windows of the previous one. */
void nlp_backbone_begin_batch(nlp_backbone *bb);

/* Tokenizes docs into windows and runs the encoder on them, once per batch: later
 * calls in the same batch return the cache (whatever docs they pass). Documents
 * that cannot be encoded are failed (nlp_doc_fail) and get no windows. window.doc
 * indexes *owners, the documents of the call that made the cache. */
size_t nlp_backbone_batch_windows(nlp_backbone *bb, nlp_doc **docs, size_t n_docs,
                                  const nlp_window **windows, nlp_doc *const **owners);
/* Number of encoder forward passes run so far (for tests and benchmarks). */
guint64 nlp_backbone_forward_count(const nlp_backbone *bb);

/* An extra pass over text pairs (see nlp_host.encode_pairs). */
size_t nlp_backbone_encode_pairs(nlp_backbone *bb, const char *const *first,
                                 const char *const *second, size_t n_pairs,
                                 const nlp_pair_params *params, const nlp_window **windows,
                                 char **error);

/* A tensor from head_dir (when not NULL and it has it) or the model (borrowed). */
const nlp_tensor_view *nlp_backbone_tensor(nlp_backbone *bb, const char *head_dir,
                                           const char *name);
char *nlp_backbone_decode(nlp_backbone *bb, const int32_t *ids, size_t n, bool skip_special);
/* Token strings through the tokenizer's decoder (HF convert_tokens_to_string);
 * malloc()ed. */
char *nlp_backbone_decode_tokens(nlp_backbone *bb, const char *const *tokens, size_t n);
/* Borrowed vocabulary string of an id, NULL if out of range. */
const char *nlp_backbone_id_to_token(nlp_backbone *bb, int32_t id);
int32_t nlp_backbone_unk_id(nlp_backbone *bb);

#endif
