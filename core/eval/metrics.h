/* metrics.h — the scores users compare, with the semantics of the reference scripts.
 *
 * - accuracy, macro-F1 (sklearn f1_score(average="macro") over the labels present
 *   in gold or predictions).
 * - entities: seqeval's default (non-strict) chunking of BIO/IOB2/IOBES tag
 *   sequences (get_entities: an I- after O or after another type starts an
 *   entity); precision/recall/F1 over exact (start, end, type) matches, micro.
 * - SQuAD v1.1 evaluate script: normalise (lower-case, drop ASCII punctuation,
 *   drop the words a/an/the, collapse white space), exact match, token F1; the best
 *   over the gold answers.
 * - ROUGE-1/2/L F-measure as Google's rouge-score with default options (lower-case,
 *   tokens = runs of [a-z0-9], no stemming); L is sentence-level LCS.
 * - BLEU (corpus, 4-gram, brevity penalty, sacrebleu's default exp smoothing) on
 *   a 13a-like tokenisation (punctuation split from words), and chrF (sacrebleu
 *   defaults: character 6-grams without spaces, beta 2, corpus statistics).
 * All values are fractions in [0, 1] (BLEU and chrF too; multiply by 100 for the
 * sacrebleu convention). */
#ifndef NLP_EVAL_METRICS_H
#define NLP_EVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

double nlp_metric_accuracy(const int32_t *gold, const int32_t *pred, size_t n);
double nlp_metric_macro_f1(const int32_t *gold, const int32_t *pred, size_t n, size_t n_labels);

typedef struct nlp_prf_counts {
  size_t gold, pred, correct;
} nlp_prf_counts;

typedef struct nlp_prf {
  double precision, recall, f1;
} nlp_prf;

nlp_prf nlp_prf_from_counts(nlp_prf_counts c);

/* An entity: [start, end) in token (or character) units and its type. */
typedef struct nlp_entity {
  int32_t start, end;
  char type[32];
} nlp_entity;

/* seqeval get_entities over N tags ("B-PER", "I-PER", "O", "S-LOC", "E-LOC"...).
 * Returns the number written to OUT (at most N). */
size_t nlp_metric_tags_to_entities(const char *const *tags, size_t n, nlp_entity *out);
/* Adds one sentence's exact-match counts. */
void nlp_metric_entities_add(nlp_prf_counts *c, const nlp_entity *gold, size_t n_gold,
                             const nlp_entity *pred, size_t n_pred);

/* SQuAD normalisation (newly allocated, g_free). */
char *nlp_squad_normalize(const char *s);
double nlp_squad_exact(const char *pred, const char *gold);
double nlp_squad_f1(const char *pred, const char *gold);

nlp_prf nlp_rouge_n(const char *pred, const char *ref, int n);
nlp_prf nlp_rouge_l(const char *pred, const char *ref);

double nlp_bleu_corpus(const char *const *hyps, const char *const *refs, size_t n);
double nlp_chrf_corpus(const char *const *hyps, const char *const *refs, size_t n);

#endif
