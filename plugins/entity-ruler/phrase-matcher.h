/* phrase-matcher.h — exact phrase lookup for thousands of phrases at once.
 *
 * A trie over code points: one walk from each candidate start position finds every
 * phrase starting there, so the cost is (text length x longest match prefix),
 * independent of the number of phrases. With `lowercase` (phrase_matcher_attr
 * "LOWER") phrases and text are compared through per-code-point simple lowercase
 * mapping, which never changes the number of code points, so offsets stay those of
 * the original text. Immutable after building: find() may run on several threads. */
#ifndef ER_PHRASE_MATCHER_H
#define ER_PHRASE_MATCHER_H

#include "text-index.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct er_phrase_matcher er_phrase_matcher;

er_phrase_matcher *er_phrase_matcher_new(bool lowercase, bool word_boundaries);

/* Adds a phrase (valid, non-empty UTF-8) for pattern `index`. When the same phrase
 * (after lowercasing) was added before, the first pattern keeps it and the index of
 * that earlier pattern is returned so the caller can warn; otherwise returns -1. */
int64_t er_phrase_matcher_add(er_phrase_matcher *m, const char *phrase, uint32_t index);

/* Appends every match in `text` (overlaps included) to `spans`, a GArray of er_span. */
void er_phrase_matcher_find(const er_phrase_matcher *m, const er_text *text, GArray *spans);

/* Number of trie nodes, for the log. */
size_t er_phrase_matcher_size(const er_phrase_matcher *m);

/* NULL is a no-op. */
void er_phrase_matcher_free(er_phrase_matcher *m);

#endif
