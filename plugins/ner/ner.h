/* ner.h — the ner plugin's post-processing, kept free of host calls so that the tests
 * can run it on hand-made scores (tests/test-ner-post.c includes these files).
 *
 * The flow for one document (plugin.c drives it):
 *   softmax per token            -> ner_token (HF gather_pre_entities: one per text token)
 *   ner_window_aggregate         -> per window: HF aggregate / aggregate_words /
 *                                   group_entities, then ignore_labels
 *   ner_stitch                   -> windows of a long text made one list (HF
 *                                   aggregate_overlapping_entities, plus joining the
 *                                   parts of an entity cut by a window boundary)
 *   ner_merge                    -> optional: with an entity-ruler step's entities
 * A CRF head takes another road instead of the first three: ner_crf_decode (Viterbi
 * over the words' first pieces, as `nlpipe eval HEAD` decodes).
 *
 * Ownership: every ner_entity is g_new'd and freed with ner_entity_free (a GPtrArray
 * made by these functions frees its entities itself). Strings inside are owned by
 * the entity. Token pieces and score rows are borrowed from the caller. */
#ifndef NLP_PLUGIN_NER_H
#define NLP_PLUGIN_NER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

typedef enum { NER_AGG_NONE, NER_AGG_SIMPLE, NER_AGG_FIRST, NER_AGG_AVERAGE, NER_AGG_MAX } ner_strategy;
typedef enum { NER_SCHEME_AUTO, NER_SCHEME_BIO, NER_SCHEME_BIOES } ner_scheme;
typedef enum { NER_MERGE_NER_FIRST, NER_MERGE_RULER_FIRST, NER_MERGE_LONGEST } ner_merge_policy;

/* ---- labels (labels.c) ---------------------------------------------------------- */

typedef enum { NER_PREFIX_NONE, NER_PREFIX_B, NER_PREFIX_I, NER_PREFIX_E, NER_PREFIX_S } ner_prefix;

typedef struct ner_labels {
  size_t n;
  char **names;       /* id -> label, e.g. "B-PER" */
  char **groups;      /* id -> entity_group: HF's label.split("-", 1)[-1] */
  ner_prefix *prefix; /* id -> prefix under the resolved scheme */
  char **tags;        /* id -> the tag compared when grouping (see ner_labels_continues) */
  ner_scheme scheme;  /* resolved: BIO or BIOES */
} ner_labels;

/* Builds the table from label names. SCHEME AUTO picks BIOES when some label starts
 * with "E-" or "S-", else BIO. */
ner_labels *ner_labels_new(const char *const *names, size_t n, ner_scheme scheme);
void ner_labels_free(ner_labels *l);
/* Labels of a model or head: head_dir/head.json "labels" when head_dir is given,
 * else config.json's id2label. NULL with *error (g_malloc'd) when there are none. */
char **ner_labels_read(const char *head_dir, struct json_object *config, size_t *n, char **error);
/* Whether a unit labelled CUR continues a group whose last unit is labelled PREV.
 * BIO (HF get_tag): same tag and CUR is not B-; a label without B-/I- counts as I-
 * of its whole name. BIOES: also E-X continues B-X/I-X, and E-X and S-X close a
 * group (nothing continues them) while S-X never continues one. */
bool ner_labels_continues(const ner_labels *l, int prev, int cur);

/* ---- one window (aggregate.c) ----------------------------------------------------- */

/* A text token of a window, HF's "pre_entity". */
typedef struct ner_token {
  const char *piece;   /* vocabulary string; for the unknown token the text it covers */
  int32_t start, end;  /* code points of the document text */
  size_t index;        /* position in its window ([CLS] = 0), HF "index" */
  bool is_subword;     /* same word id as the token before it in the window (not [UNK]) */
  const float *scores; /* n_labels probabilities */
} ner_token;

/* What a group is made of: a token (none, simple) or a word (first, average, max). */
typedef struct ner_unit {
  char *piece;  /* the token string, or the word decoded from its tokens */
  int label;
  double score;
  int32_t start, end;
} ner_unit;

typedef struct ner_entity {
  int label;      /* label of the first unit; for strategy none, the token's label */
  double score;
  int32_t start, end;
  size_t index;   /* none: token position (in the document when it has several windows) */
  size_t window;  /* which window it came from */
  bool at_window_start, at_window_end; /* first / last unit is the window's first / last text token */
  GArray *units;  /* ner_unit, in order */
  char *word;     /* decoded, filled by ner_entity_set_word */
} ner_entity;

/* Joins strings through the tokenizer's decoder (HF convert_tokens_to_string);
 * returns a malloc()ed string. */
typedef char *(*ner_decode_fn)(void *ctx, const char *const *pieces, size_t n);

typedef struct ner_context {
  const ner_labels *labels;
  ner_strategy strategy;
  ner_decode_fn decode;
  void *decode_ctx;
  char *const *ignore; /* labels / groups dropped (HF ignore_labels), NULL-terminated */
} ner_context;

ner_entity *ner_entity_new(size_t window);
void ner_entity_free(ner_entity *e);
/* Pieces joined through cx->decode, or by spaces without a decoder; malloc()ed. */
char *ner_decode_pieces(const ner_context *cx, const char *const *pieces, size_t n);
/* Whether NAME (a group, or a label for strategy none) is in cx->ignore. */
bool ner_ignored(const ner_context *cx, const char *name);
/* Entities of one window, HF aggregate() + the ignore_labels filter. Tokens are the
 * window's text tokens in order. */
GPtrArray *ner_window_aggregate(const ner_context *cx, const ner_token *tokens, size_t n,
                                size_t window);
/* Mean of the units' scores, HF np.nanmean (for joined entities). */
void ner_entity_rescore(ner_entity *e);
/* Decoded word of the units (HF group_sub_entities: convert_tokens_to_string). */
void ner_entity_set_word(const ner_context *cx, ner_entity *e);

/* ---- several windows (stitch.c) --------------------------------------------------- */

/* Takes every window's entities (moved out of PER_WINDOW, which is emptied) and returns
 * one list sorted by start without overlaps. JOIN false: HF aggregate_overlapping_entities
 * exactly (the longer of two overlapping entities wins, then the higher score). JOIN
 * true: the same, except that two entities of the same group from different windows
 * that overlap without one containing the other, or that touch at a window boundary
 * where the second continues the first (an I-/E- tag at the start of its window), are
 * one entity cut by the boundary: they are joined (units of the first, then the
 * second's units after it; score = mean of the units, word re-decoded). */
GPtrArray *ner_stitch(const ner_context *cx, GPtrArray *per_window, bool join);

/* ---- CRF heads (crf.c) ------------------------------------------------------------- */

/* A head with "crf.transitions" is decoded as `nlpipe eval HEAD` decodes it (the
 * trainer's evaluate()): its words are the text's whitespace-separated words with edge
 * punctuation cut off (a training record's text is its "tokens" joined by spaces; see
 * crf.c for the exceptions); a token is a word's first piece when it starts where the
 * word starts. Per window, one Viterbi chain over the
 * emissions (logits) of the window's first pieces, in order; a word takes the tag of
 * its first piece in the first window that has one (windows overlap by the stride).
 * Words without a first piece are outside every entity. Entities: runs of words
 * grouped by ner_labels_continues (seqeval's chunks, for BIO and BIOES), from the start
 * of the first word to the end of the last (the text's word boundaries), score = the
 * mean over the words of the softmax probability of their tag at their first piece,
 * word decoded from all their tokens. Strategy none: one item per tagged word, its
 * first piece (index = token position in the document, as dedupe_tokens counts). */
typedef void (*ner_viterbi_fn)(const float *emissions, size_t n, size_t n_tags,
                               const float *transitions, const float *start, const float *end,
                               int32_t *path);

typedef struct ner_crf {
  const float *transitions; /* labels x labels, row = from, column = to */
  const float *start, *end; /* labels */
  ner_viterbi_fn viterbi;   /* the host's crf_viterbi */
} ner_crf;

typedef struct ner_crf_window {
  const ner_token *tokens; /* the window's text tokens, in order (scores: softmax rows) */
  size_t n;
  const float *logits;     /* the window's emission rows (labels wide), row = ner_token.index */
  size_t overlap;          /* leading tokens shared with the window before (0 for the first) */
} ner_crf_window;

/* Entities of one document (TEXT, LEN bytes of UTF-8) from its windows, sorted by start. */
GPtrArray *ner_crf_decode(const ner_context *cx, const ner_crf *crf, const char *text, size_t len,
                          const ner_crf_window *windows, size_t n_windows);
/* Whether HEAD_DIR/head.json says the head is a CRF ("crf": true or head_type "crf"). */
bool ner_head_declares_crf(const char *head_dir);

/* ---- merging with rule-based entities (merge.c) ----------------------------------- */

typedef struct ner_span {
  int32_t start, end;
  double score;
  bool from_rules;
  size_t order; /* position in its own list */
  void *data;   /* caller's item */
} ner_span;

/* Chooses which spans survive (returns a new array of ner_span, sorted by start then
 * model before rules): NER_FIRST keeps every model span and the rule spans that overlap
 * none; RULER_FIRST the reverse; LONGEST keeps, greedily, the longest span first (ties:
 * higher score, then the rule span, then the earlier one) and drops what overlaps it. */
GArray *ner_merge(const ner_span *model, size_t n_model, const ner_span *rules, size_t n_rules,
                  ner_merge_policy policy);

#endif
