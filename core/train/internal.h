/* internal.h — what the trainer's files share (not installed, not for plugins): the
 * trainer's state, a featurized data set, the per-batch scratch, and the functions each
 * file offers the others. Names carry nlp_tr_ because libnlpipe.a holds them all. */
#ifndef NLP_TRAIN_INTERNAL_H
#define NLP_TRAIN_INTERNAL_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"
#include "train/embeddings.h"
#include "train/heads.h"
#include "train/layer.h"
#include "train/param.h"
#include "train/rng.h"
#include "train/trainer.h"

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
  uint64_t data_seed; /* the shuffle order (training.data_seed, default: seed) */
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

/* Where a run stands: saved in every checkpoint. */
typedef struct {
  int epoch;      /* epochs completed */
  uint64_t step;
  double best;
  int best_epoch, bad;
  double best_loss;
} progress;


/* ---- config.c */
const char *nlp_tr_jstr(json_object *o, const char *key, const char *def);
json_object *nlp_tr_jobj(json_object *o, const char *key);
/* P relative to DIR unless absolute (NULL stays NULL); newly allocated. */
char *nlp_tr_resolve(const char *dir, const char *p);
/* Hex SHA-256 of a file's bytes, "" when unreadable; newly allocated. */
char *nlp_tr_file_sha256(const char *path);
/* FROM_DIR -> TO as a relative path when both exist, else TO unchanged. */
char *nlp_tr_relpath(const char *from_dir, const char *to);
/* Reads the parts shared by a train config and head.json (task, head, training) from
 * t->root; WHERE names the file in errors. */
bool nlp_tr_parse_spec(trainer *t, const char *where, GError **error);
bool nlp_tr_load_config(trainer *t, const char *path, GError **error);

/* ---- features.c */
/* Reads and validates a data file (at most MAX records, 0 = all); GROW collects the
 * label set from it when the config names none. */
featset *nlp_tr_load_set(trainer *t, const char *path, size_t max, bool grow, GError **error);
void nlp_tr_featset_free(featset *fs);
bool nlp_tr_ranged(const trainer *t);
int32_t nlp_tr_label_index(GPtrArray *labels, const char *s);
bool nlp_tr_featurize(trainer *t, featset *fs, GError **error);
void nlp_tr_row_get(const featset *fs, size_t row, size_t H, float *out);
bool nlp_tr_ensure_cache(trainer *t, featset *fs, const char *data_path, size_t max_records,
                         GError **error);

/* ---- batch.c */
void nlp_tr_buf_free(batch_buf *b);
/* RNG draws the dropout masks; NULL (evaluation) means no dropout. */
void nlp_tr_batch_forward(trainer *t, const featset *fs, const size_t *idx, size_t n, nlp_rng *rng,
                          batch_buf *b);
double nlp_tr_batch_loss_backward(trainer *t, const featset *fs, const size_t *idx, batch_buf *b);

/* ---- evaluate.c */
/* The task's metrics over FS as an object; the mean loss goes to *LOSS_OUT. */
json_object *nlp_tr_evaluate(trainer *t, featset *fs, double *loss_out);
double nlp_tr_metric_of(json_object *m, const char *name);

/* ---- save.c */
bool nlp_tr_save_head(trainer *t, json_object *dev, int epoch, double train_loss, GError **error);
/* Copies config.json from MODEL_DIR and the tokenizer files (and their licence notice)
 * from TOKENIZER_DIR when it is a folder, else MODEL_DIR, into DST: whichever exist. */
bool nlp_tr_copy_backbone_files(const char *model_dir, const char *tokenizer_dir, const char *dst, GError **error);
/* DIR/head.json, pretty-printed, newline-terminated. */
bool nlp_tr_write_head_json(const char *dir, json_object *head, GError **error);

/* ---- checkpoint.c */
bool nlp_tr_save_checkpoint(trainer *t, const nlp_adamw *opt, const progress *pg, GError **error);
bool nlp_tr_load_checkpoint(trainer *t, nlp_adamw *opt, progress *pg, GError **error);

#endif
