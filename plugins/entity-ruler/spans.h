/* spans.h — matched spans and the overlap policy.
 *
 * Spans are half-open [start, end) in code points. The "longest" policy is spaCy's
 * filter_spans (what EntityRuler applies): take spans longest first, then earliest,
 * drop any that overlaps one already taken. spaCy measures length in tokens, here in
 * code points; exact ties (same start and end) keep the pattern that comes first in
 * the patterns file, so the output never depends on hash order. */
#ifndef ER_SPANS_H
#define ER_SPANS_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef struct er_span {
  size_t start, end; /* code points, end exclusive */
  uint32_t pattern;  /* index into the pattern list */
} er_span;

/* Keeps a non-overlapping subset of `spans` (GArray of er_span) chosen longest-first
 * then earliest, and leaves it sorted by start. `n_cps` is the text length in code
 * points (every span lies inside it). */
void er_spans_keep_longest(GArray *spans, size_t n_cps);

/* Sorts by start, then end, then pattern order: the output order for every policy. */
void er_spans_sort(GArray *spans);

#endif
