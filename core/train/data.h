/* data.h — labelled training / evaluation records, read and validated.
 *
 * Record formats (one JSON object per line, as ../shared/data/README.md):
 *   text-classification   {"text", "label"} (label: a string; an array of strings
 *                         for multi-label)
 *   token-classification  {"tokens": [...], "tags": [...]} (BIO / IOB2 or BIOES);
 *                         the text is the tokens joined by single spaces
 *   question-answering    {"question", "context", "answers": [{"text", "start"}]}
 *                         (start in code points; SQuAD-format; .gz files are read
 *                         through gzip)
 *   extractive-summary    {"document", "summary"} plus optional "sentences" and
 *                         "sentence_labels" (0/1 per sentence, SciTLDR); otherwise
 *                         the document is split into sentences by the pipeline's
 *                         rules (text/sentences.h) and the sentence with the best
 *                         ROUGE-1 F against the summary is the positive one
 * Field names can be changed (nlp_data_fields). Every problem is reported as
 * FILE:LINE: what is wrong — a missing or unknown label, a span outside its text, a
 * tag that is not BIO/BIOES, an empty file — and loading fails when there is any:
 * training never starts on a silently broken set. */
#ifndef NLP_TRAIN_DATA_H
#define NLP_TRAIN_DATA_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
  NLP_TASK_CLASSIFICATION,
  NLP_TASK_TOKEN_CLASSIFICATION,
  NLP_TASK_QUESTION_ANSWERING,
  NLP_TASK_SUMMARY,
} nlp_train_task;

/* "text-classification", "token-classification", "question-answering",
 * "extractive-summary" -> task; false if unknown. */
bool nlp_train_task_from_name(const char *name, nlp_train_task *task);
const char *nlp_train_task_name(nlp_train_task task);

typedef struct nlp_data_fields {
  const char *text, *label, *tokens, *tags, *question, *context, *answers, *document, *summary;
  const char *source;       /* keep only records whose "source" equals this (NULL: all) */
  size_t max_records;       /* 0 = all */
} nlp_data_fields;

nlp_data_fields nlp_data_fields_default(void);

typedef struct nlp_train_example {
  size_t line;
  char *text;          /* classification text, NER joined tokens, QA context, summary document */
  char *question;      /* QA */
  char *label_str;     /* single label as read (classification) */
  char **label_strs;   /* multi-label, NULL-terminated */
  int32_t label;       /* resolved index, -1 before */
  float *multi;        /* resolved multi-hot, n_labels */
  size_t n_words;      /* NER */
  int32_t *word_start, *word_end, *word_tag; /* code points in text; tag index */
  char **tag_strs;
  size_t n_answers;    /* QA */
  int32_t *ans_start, *ans_end;
  char **ans_text;
  size_t n_sents;      /* summary */
  int32_t *sent_start, *sent_end;
  float *sent_label;
  char *reference;
} nlp_train_example;

typedef struct nlp_train_data {
  char *path;
  nlp_train_task task;
  GPtrArray *examples; /* nlp_train_example*, owned */
} nlp_train_data;

/* Reads PATH. Problems are collected (up to 20) and returned together in ERROR. */
nlp_train_data *nlp_train_data_load(const char *path, nlp_train_task task,
                                    const nlp_data_fields *fields, GError **error);
void nlp_train_data_free(nlp_train_data *data);

/* Resolves label strings to indices in LABELS (GPtrArray of char*). When GROW, labels
 * not yet in LABELS are added (the caller sorts them first with
 * nlp_train_labels_collect); otherwise an unknown label is an error naming FILE:LINE. */
bool nlp_train_data_resolve(nlp_train_data *data, GPtrArray *labels, bool multi_label,
                            GError **error);
/* The sorted set of labels in DATA ("O" first for tags). Newly allocated strings. */
GPtrArray *nlp_train_labels_collect(const nlp_train_data *data);

#endif
