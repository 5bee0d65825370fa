/* answers.h — turning the spans of a document's windows into Hugging Face's answers
 * (QuestionAnsweringPipeline.postprocess, transformers 4.54 .. 5.2).
 *
 * Each span becomes character offsets into the context: with align_to_words, from the
 * first character of the start token's word to the last of the end token's word (as
 * Rust's Encoding::word_to_chars sees them *within the window*, so a word cut by the
 * window edge is cut too); a token without a word ([CLS]) falls back to the tokens'
 * own offsets, as HF's try/except does. An answer whose text equals, ignoring case, an
 * earlier one (of any window) adds its score to it and keeps the earlier offsets.
 * handle_impossible_answer appends {"answer": "", start 0, end 0} scored by the
 * smallest null score over the windows. Answers are sorted by score (stable) and cut
 * to top_k: one answer is an object, several (or none) an array.
 *
 * Offsets are Unicode code points into the context; the answer text is the context's
 * slice [start, end) (empty when start >= end, as Python slicing gives). */
#ifndef QA_ANSWERS_H
#define QA_ANSWERS_H

#include <nlpipe/plugin.h>

#include "spans.h"

typedef struct qa_answer {
  double score;  /* summed over merged spans in double, as Python floats add */
  size_t start, end;
  char *text;    /* slice of the context, owned (g_free) */
  char *folded;  /* lowercased text for merging, owned */
} qa_answer;

/* The answers of one document, with its context indexed by code point. */
typedef struct qa_answers {
  const char *context; /* borrowed UTF-8 */
  size_t n_chars;
  size_t *byte_at;     /* n_chars + 1 byte offsets, owned */
  qa_answer *items;
  size_t n, cap;
  double min_null;     /* smallest null score so far (HF starts at 1000000) */
} qa_answers;

/* Returns false when memory runs out. */
bool qa_answers_init(qa_answers *a, const char *context, size_t len);
void qa_answers_clear(qa_answers *a);

/* Adds one window's decoded spans (highest first) and its null score. */
bool qa_answers_add_window(qa_answers *a, const nlp_window *w, const qa_span *spans, size_t n,
                           float null_score, bool align_to_words);

/* HF's return value for the document (new reference). */
struct json_object *qa_answers_to_json(qa_answers *a, size_t top_k, bool handle_impossible);

#endif
