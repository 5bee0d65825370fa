/* merge.c — model entities and rule-based (entity-ruler) entities in one list under a
 * stated policy (see ner.h and the plugin's header comment). */
#include "ner.h"

#include <stdlib.h>

static bool overlaps(const ner_span *a, const ner_span *b) {
  return a->start < b->end && b->start < a->end;
}

static bool overlaps_any(const ner_span *s, const ner_span *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (overlaps(s, &list[i])) return true;
  return false;
}

/* Output order: by start, then model before rules, then each list's own order. */
static int by_span_start(const void *a, const void *b) {
  const ner_span *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  if (x->from_rules != y->from_rules) return x->from_rules ? 1 : -1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* LONGEST's preference: longer, then higher score, then rules, then earlier. */
static int by_preference(const void *a, const void *b) {
  const ner_span *x = a, *y = b;
  int32_t lx = x->end - x->start, ly = y->end - y->start;
  if (lx != ly) return lx > ly ? -1 : 1;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->from_rules != y->from_rules) return x->from_rules ? -1 : 1;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

GArray *ner_merge(const ner_span *model, size_t n_model, const ner_span *rules, size_t n_rules,
                  ner_merge_policy policy) {
  GArray *out = g_array_new(FALSE, FALSE, sizeof(ner_span));
  if (policy == NER_MERGE_LONGEST) {
    GArray *all = g_array_new(FALSE, FALSE, sizeof(ner_span));
    g_array_append_vals(all, model, (guint)n_model);
    g_array_append_vals(all, rules, (guint)n_rules);
    qsort(all->data, all->len, sizeof(ner_span), by_preference);
    for (guint i = 0; i < all->len; i++) {
      const ner_span *s = &g_array_index(all, ner_span, i);
      if (!overlaps_any(s, (const ner_span *)(void *)out->data, out->len)) g_array_append_val(out, *s);
    }
    g_array_free(all, TRUE);
  } else {
    bool model_wins = policy == NER_MERGE_NER_FIRST;
    const ner_span *winners = model_wins ? model : rules, *losers = model_wins ? rules : model;
    size_t n_winners = model_wins ? n_model : n_rules, n_losers = model_wins ? n_rules : n_model;
    g_array_append_vals(out, winners, (guint)n_winners);
    for (size_t i = 0; i < n_losers; i++)
      if (!overlaps_any(&losers[i], winners, n_winners)) g_array_append_val(out, losers[i]);
  }
  qsort(out->data, out->len, sizeof(ner_span), by_span_start);
  return out;
}
