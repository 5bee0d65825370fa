/* sentences.h — a rule-based sentence splitter with code-point offsets.
 *
 * A sentence ends after a run of terminators (. ! ? …) and any closing quotes or
 * brackets when whitespace follows and the next text starts like a sentence (an
 * upper-case or uncased letter, or an opening quote / bracket). Not an end: a single
 * "." after a known abbreviation (Mr. Dr. e.g. i.e. vs. ...) or after a one-letter
 * initial ("J. Smith"); a "." inside a number ("3.5") or a word ("U.S.A", "e.g.x")
 * since no whitespace follows. "。！？" end a sentence wherever they are. A blank line
 * (two line breaks) always ends one; a single line break is ordinary whitespace.
 * Sentences exclude surrounding whitespace. */
#ifndef NLP_PLUGIN_SENTENCES_H
#define NLP_PLUGIN_SENTENCES_H

#include <glib.h>

typedef struct {
  size_t start, end; /* [start, end) in code points */
} nlp_sentence_span;

/* Appends the sentences of text[0..n) (code points) to `out` (GArray of
 * nlp_sentence_span), in order; returns how many were added. */
size_t nlp_sentences_split(const gunichar *text, size_t n, GArray *out);

#endif
