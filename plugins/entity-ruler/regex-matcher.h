/* regex-matcher.h — the patterns' regular expressions, compiled once with GRegex
 * (PCRE2 syntax, UTF-8 and Unicode classes: \w matches "é"), G_REGEX_OPTIMIZE.
 *
 * Each regex reports its leftmost non-overlapping matches, as Python's re.finditer;
 * empty matches are skipped. Regexes are not subject to word_boundaries (write \b)
 * nor to phrase_matcher_attr (write (?i)): the pattern says exactly what it means.
 * Immutable after building: find() may run on several threads. */
#ifndef ER_REGEX_MATCHER_H
#define ER_REGEX_MATCHER_H

#include "text-index.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct er_regex_matcher er_regex_matcher;

er_regex_matcher *er_regex_matcher_new(void);

/* Compiles `regex` for pattern `index`. On a syntax error returns false and sets
 * *error (malloc()ed) to "bad regex: <PCRE message>". */
bool er_regex_matcher_add(er_regex_matcher *m, const char *regex, uint32_t index,
                          char **error);

/* Appends every match in `text` to `spans` (GArray of er_span). Returns false with
 * *error (malloc()ed) and *failed_pattern set when the engine gives up (e.g. its
 * backtracking limit), in which case the document should be failed rather than
 * silently under-tagged. */
bool er_regex_matcher_find(const er_regex_matcher *m, const er_text *text, GArray *spans,
                           uint32_t *failed_pattern, char **error);

/* NULL is a no-op. */
void er_regex_matcher_free(er_regex_matcher *m);

#endif
