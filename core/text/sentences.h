/* sentences.h — a rule-based sentence splitter with code-point offsets, shared by the
 * summarization plugin (through nlp_host.split_sentences, plugin ABI 1.3) and `nlpipe
 * train` / `nlpipe eval` (documents given without their sentences), so a scorer is
 * trained and evaluated on the sentences a pipeline will cut.
 *
 * A sentence ends after a run of terminators (. ! ? …) and any closing quotes or
 * brackets when whitespace follows and the next text starts like a sentence (an
 * upper-case or uncased letter, or an opening quote / bracket). Not an end: a single
 * "." after a known abbreviation (Mr. Dr. e.g. i.e. vs. ...) or after a one-letter
 * initial ("J. Smith"); a "." inside a number ("3.5") or a word ("U.S.A", "e.g.x")
 * since no whitespace follows. "。！？" end a sentence wherever they are. A blank line
 * (two line breaks) always ends one; a single line break is ordinary whitespace.
 * Sentences exclude surrounding whitespace. */
#ifndef NLP_TEXT_SENTENCES_H
#define NLP_TEXT_SENTENCES_H

#include <stddef.h>
#include <stdint.h>

/* Splits text[0..n) (Unicode code points) into sentences; returns how many and writes
 * sentence i's [start, end) code-point range to bounds[2i], bounds[2i + 1], in order.
 * BOUNDS needs room for 2 x n entries (sentences are non-empty and disjoint). */
size_t nlp_sentences_split(const uint32_t *text, size_t n, size_t *bounds);

#endif
