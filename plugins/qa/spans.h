/* spans.h — the best answer spans of one window, as Hugging Face's question-answering
 * pipeline picks them (select_starts_ends + decode_spans).
 *
 * Per window: positions that cannot hold an answer (question, special tokens,
 * padding: p_mask = 1) get logit -10000, [CLS] stays in; each of the
 * start and end logits goes through a softmax over the window; the null score is
 * p_start[0] * p_end[0]; then [CLS]'s probabilities are zeroed. A span (s, e) scores
 * p_start[s] * p_end[e] when s <= e < s + max_answer_len, else 0; the n_best best
 * spans whose two ends are allowed (or at 0) are kept, highest first.
 *
 * Ties: HF orders equal scores by numpy's argpartition/argsort, which is not
 * specified. Here equal scores keep (start, end) row-major order, and when fewer than
 * n_best spans score above 0, zero-score spans fill up in that order too (HF fills
 * them in an unspecified order; they only surface when top_k exceeds the answers). */
#ifndef QA_SPANS_H
#define QA_SPANS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct qa_span {
  size_t start, end; /* token indices in the window, inclusive */
  float score;       /* p_start * p_end in float32, as numpy computes it */
} qa_span;

/* Decodes one window of n tokens. allowed[i] is true where HF's p_mask is 0: the
 * context tokens and [CLS] (which must be at position 0: its probability becomes the
 * null score, and no span starts or ends there). Writes at most n_best spans to out (highest first) and
 * returns their number; *null_score gets p_start[0] * p_end[0]. Returns (size_t)-1
 * when memory runs out. */
size_t qa_spans_decode(const float *start_logits, const float *end_logits, const bool *allowed,
                       size_t n, size_t max_answer_len, size_t n_best, qa_span *out,
                       float *null_score);

#endif
