/* heads.h — the trainable task heads, their losses and gradients.
 *
 * Every head reads a matrix of feature rows X (n x hidden) and writes logits:
 *  - SEQUENCE (sequence classification; one row per text, its [CLS] state):
 *      p = pooling == pooler ? tanh(pooler.dense(x)) : x        ("bert.pooler.dense.*")
 *      p = mlp ? relu(pre_classifier(drop(p))) : p              ("pre_classifier.*")
 *      logits = classifier(drop(p))                             ("classifier.*", labels x H)
 *    loss: softmax cross-entropy (optional class weights, torch's weighted mean) or,
 *    multi-label, sigmoid binary cross-entropy (BCEWithLogits, mean).
 *  - TOKEN (token classification; one row per token): logits = classifier(drop(x));
 *    cross-entropy over rows whose label is not -100. With crf: a linear-chain CRF
 *    over each window's labelled rows, in order (pytorch-crf's parameters and names:
 *    "crf.transitions" [C x C] from -> to, "crf.start_transitions" [C],
 *    "crf.end_transitions" [C]); loss = mean over windows of -log p(tags | window),
 *    decoding by Viterbi (nlp_train_head_viterbi).
 *  - QA (extractive QA; one row per token): [start, end] = qa_outputs(x) ("qa_outputs.*",
 *    2 x H); per window, cross-entropy of the start and of the end position over its
 *    tokens, averaged: (CE_start + CE_end) / 2, mean over windows (HF's loss).
 *  - SCORER (extractive summary; one row per sentence): score = scorer(drop(x))
 *    ("scorer.*", 1 x H); sigmoid binary cross-entropy against 0/1 labels.
 * Dropout is inverted dropout drawn from an nlp_rng; NULL rng = evaluation.
 * The parameters live in a caller's nlp_param_set under the names above. */
#ifndef NLP_TRAIN_HEADS_H
#define NLP_TRAIN_HEADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "train/param.h"
#include "train/rng.h"

typedef enum { NLP_TRAIN_HEAD_SEQUENCE, NLP_TRAIN_HEAD_TOKEN, NLP_TRAIN_HEAD_QA,
               NLP_TRAIN_HEAD_SCORER } nlp_train_head_kind;

typedef struct nlp_train_head {
  nlp_train_head_kind kind;
  size_t hidden, n_out;   /* n_out: labels (SEQUENCE/TOKEN), 2 (QA), 1 (SCORER) */
  bool multi_label, mlp, pooler, crf;
  const float *class_weights; /* n_out or NULL; borrowed */
  nlp_param *pool_w, *pool_b, *pre_w, *pre_b, *out_w, *out_b;
  nlp_param *crf_trans, *crf_start, *crf_end; /* TOKEN with crf */
} nlp_train_head;

/* Adds the head's tensors to SET. Fresh weights are N(0, 0.02) (HF's
 * initializer_range) from RNG, biases 0; POOLER_W/B (the backbone's pooler,
 * hidden x hidden) initialise the pooler when head->pooler. POOLER_NAME is the
 * name the backbone stores it under, reused so the head overrides it. */
void nlp_train_head_init(nlp_train_head *head, nlp_param_set *set, nlp_rng *rng,
                         const char *pooler_name, const float *pooler_w, const float *pooler_b);

typedef struct nlp_head_tape nlp_head_tape;
nlp_head_tape *nlp_head_tape_new(void);
void nlp_head_tape_free(nlp_head_tape *tape);

/* LOGITS (n x n_out) of the N rows of X. */
void nlp_train_head_forward(const nlp_train_head *head, nlp_head_tape *tape, const float *x,
                            size_t n, float p_drop, nlp_rng *rng, float *logits, int threads);

typedef struct nlp_head_targets {
  const int32_t *labels; /* SEQUENCE single-label, TOKEN: per row, -100 = ignored */
  const float *soft;     /* SEQUENCE multi-label: n x n_out of 0/1; SCORER: n */
  size_t n_windows;      /* QA, TOKEN with crf: windows, rows [row0[w], row0[w] + rows[w]) */
  const size_t *row0, *rows;
  const int32_t *start, *end; /* QA: target token index within the window */
} nlp_head_targets;

/* Mean loss of the batch; DLOGITS (n x n_out) = d loss / d logits when not NULL. */
double nlp_train_head_loss(const nlp_train_head *head, const float *logits, size_t n,
                           const nlp_head_targets *targets, float *dlogits);

/* Viterbi path of a CRF head over the N rows of LOGITS whose MASK entry is >= 0
 * (the labelled positions, in order, one chain: nlp_crf_viterbi); OUT[i] gets the
 * tag of row i there, -1 elsewhere. */
void nlp_train_head_viterbi(const nlp_train_head *head, const float *logits, size_t n,
                            const int32_t *mask, int32_t *out);

/* Accumulates the head's weight gradients; DX (n x hidden, may be NULL) = d loss / dx. */
void nlp_train_head_backward(const nlp_train_head *head, nlp_head_tape *tape, const float *dlogits,
                             size_t n, float *dx, int threads);

#endif
