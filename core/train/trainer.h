/* trainer.h — `nlpipe train` and head evaluation: the whole loop.
 *
 * A training config (tasks/<task>/train.json; relative paths are relative to the
 * config file):
 *   {"task": "text-classification" | "token-classification" | "question-answering"
 *            | "extractive-summary",
 *    "backbone": "../../models/nlpipe-bert-mini",  "tokenizer": (optional, else the backbone's),
 *    "output": "../../models/nlpipe-bert-mini/heads/sentiment",
 *    "cache": (optional; default "<output>.cache": features, checkpoint),
 *    "labels": [...] (optional; default: the sorted labels of the train set),
 *    "head": {"type": "linear" | "mlp", "pooling": "pooler" | "cls" | "mean",
 *             "problem_type": "single_label_classification" | "multi_label_classification",
 *             "class_weights": "balanced" | {"label": w, ...},
 *             "label_all_subwords": true, "scheme": "BIO" | "BIOES", "crf": false},
 *    "data": {"train": FILE, "dev": FILE, "max_train": 0, "max_dev": 0, "source": null,
 *             "fields": {"text": "text", "label": "label", ...}},
 *    "training": {"epochs": 10, "batch_size": 32, "lr": 1e-3, "lr_backbone": 5e-5,
 *                 "weight_decay": 0.01, "warmup_ratio": 0.1, "dropout": 0.1,
 *                 "attention_dropout": 0.1, "clip_norm": 1.0, "seed": 42, "data_seed": (seed),
 *                 "patience": 3,
 *                 "metric": (task default), "max_length": 128, "stride": 32,
 *                 "unfreeze_top": 0, "train_embeddings": false,
 *                 "cache_dtype": "f32" | "f16"}}
 * train_embeddings (with unfreeze_top = every layer) also trains the word, position and
 * token-type tables (where the architecture has one) and their LayerNorm, which then go
 * into <output>/backbone too. unfreeze_top and train_embeddings work on BERT, RoBERTa
 * (also XLM-RoBERTa, CamemBERT), DistilBERT and ELECTRA backbones (with ELECTRA's
 * embeddings_project, where its embeddings are narrower than its layers), bare or with
 * their family's prefix (train/arch.h), single-file or sharded.
 *
 * What a run does: reads and validates both data files (file:line errors, nothing
 * trains on a broken set); tokenizes; encodes the frozen part of the backbone once
 * into a memory-mapped feature cache (reused by later runs with the same inputs);
 * trains with AdamW, linear warm-up/decay, dropout, clipping; evaluates the dev set
 * after every epoch, keeps the best epoch (early stopping after `patience` epochs
 * without improvement) and writes it as a head folder:
 *   <output>/head.safetensors   the head's tensors under HF names
 *   <output>/head.json          {"task", "labels", "problem_type", "pooling", "head_type",
 *                                "backbone": {"path", "config_sha256"}, "training", "data",
 *                                "dev_metrics", ...}
 *   <output>/backbone/          with unfreeze_top > 0: the updated backbone (HF layout: the
 *                               checkpoint's config, tokenizer files and tensor names)
 * A checkpoint (<cache>/checkpoint.safetensors) is written after every epoch;
 * resume = true continues from it with the same numbers as an uninterrupted run.
 * The same seed gives bit-identical results (same thread count). */
#ifndef NLP_TRAIN_TRAINER_H
#define NLP_TRAIN_TRAINER_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>

typedef struct nlp_train_options {
  int unfreeze_top;   /* -1: as the config says */
  bool train_embeddings; /* true: train the embedding block too (else as the config says) */
  int epochs;         /* -1: as the config says */
  gint64 data_seed;   /* -1: as the config says */
  int stop_after;     /* > 0: stop after this many epochs of this run (tests interruption) */
  bool resume;
  int threads;        /* BLIS threads, 0 = 1 */
  bool quiet;         /* no progress or epoch lines */
  int log_every;      /* seconds between progress lines when stderr is not a terminal (0: every step) */
  const char *output; /* overrides the config's output when not NULL */
  const char *backbone; /* overrides the config's backbone when not NULL */
} nlp_train_options;

/* Trains per CONFIG_PATH. Returns false with ERROR (NLP_ERROR_CONFIG / _INPUT for the
 * user's mistakes, naming the file and key or line). */
bool nlp_train_run(const char *config_path, const nlp_train_options *opts, GError **error);

/* Evaluates the head folder HEAD_DIR on DATA (same record format as its training
 * data). *METRICS receives a new JSON object of metric -> value (fractions). */
bool nlp_train_evaluate_head(const char *head_dir, const char *data, int threads,
                             json_object **metrics, GError **error);

/* `nlpipe average`: the element-wise mean of head folders fine-tuned from the same
 * start (train/average.c says why only then). */
typedef struct nlp_average_options {
  const char *output; /* the new head folder */
  const char *dev;    /* scores it here (NULL: the ingredients' data.dev) ... */
  bool no_eval;       /* ... unless true: head.json then has no dev_metrics */
  int threads;
} nlp_average_options;

/* Writes OUTPUT/head.safetensors (+ backbone/ when the ingredients have one) and
 * head.json: the first ingredient's, paths rebased, the per-run numbers (data_seed,
 * best_epoch, train_loss, dev_metrics) listed under "averaged_from", dev_metrics
 * measured on the mean. Refuses heads that differ in task, labels, head shape,
 * backbone config or training.seed, naming the field. */
bool nlp_train_average(const char *const *dirs, size_t n, const nlp_average_options *o, GError **error);

#endif
