/* spans.c — overlap filtering and output order of matched spans (see spans.h). */
#include "spans.h"

static int cmp_size(size_t a, size_t b) { return (a > b) - (a < b); }

/* filter_spans order: longer first, then earlier start, then file order. */
static gint by_priority(gconstpointer pa, gconstpointer pb) {
  const er_span *a = pa, *b = pb;
  int c = cmp_size(b->end - b->start, a->end - a->start);
  if (!c)
    c = cmp_size(a->start, b->start);
  if (!c)
    c = (a->pattern > b->pattern) - (a->pattern < b->pattern);
  return c;
}

static gint by_position(gconstpointer pa, gconstpointer pb) {
  const er_span *a = pa, *b = pb;
  int c = cmp_size(a->start, b->start);
  if (!c)
    c = cmp_size(a->end, b->end);
  if (!c)
    c = (a->pattern > b->pattern) - (a->pattern < b->pattern);
  return c;
}

void er_spans_sort(GArray *spans) { g_array_sort(spans, by_position); }

void er_spans_keep_longest(GArray *spans, size_t n_cps) {
  if (spans->len < 2)
    return;
  g_array_sort(spans, by_priority);
  /* One flag per code point: a span is kept when none of its code points is taken.
   * Linear in the total span length, where pairwise checks would be quadratic in
   * the number of matches on a long document. */
  guint8 *taken = g_malloc0(n_cps ? n_cps : 1);
  guint kept = 0;
  for (guint i = 0; i < spans->len; i++) {
    er_span s = g_array_index(spans, er_span, i);
    gboolean free_run = TRUE;
    for (size_t k = s.start; k < s.end && free_run; k++)
      free_run = !taken[k];
    if (!free_run)
      continue;
    for (size_t k = s.start; k < s.end; k++)
      taken[k] = 1;
    g_array_index(spans, er_span, kept++) = s;
  }
  g_free(taken);
  g_array_set_size(spans, kept);
  er_spans_sort(spans);
}
