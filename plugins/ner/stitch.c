/* stitch.c — the windows of a long text made one entity list: HF
 * aggregate_overlapping_entities, optionally joining an entity cut by a window
 * boundary (see ner.h). */
#include "ner.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  ner_entity *e;
  size_t order;
} ranked;

/* Python's sorted(key=start) is stable: ties keep window order. */
static int by_ranked_start(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->e->start != y->e->start) return x->e->start < y->e->start ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static bool same_group(const ner_context *cx, const ner_entity *a, const ner_entity *b) {
  return !strcmp(cx->labels->groups[a->label], cx->labels->groups[b->label]);
}

/* The second entity continues the first across the boundary between their windows. */
static bool continues_across(const ner_context *cx, const ner_entity *prev, const ner_entity *e) {
  if (e->window != prev->window + 1 || !prev->at_window_end || !e->at_window_start) return false;
  if (e->start < prev->end || !same_group(cx, prev, e)) return false;
  int last = g_array_index(prev->units, ner_unit, prev->units->len - 1).label;
  int first = g_array_index(e->units, ner_unit, 0).label;
  return ner_labels_continues(cx->labels, last, first);
}

/* PREV absorbs the units of E that lie after it. */
static void join(const ner_context *cx, ner_entity *prev, ner_entity *e) {
  for (guint i = 0; i < e->units->len; i++) {
    ner_unit *u = &g_array_index(e->units, ner_unit, i);
    if (u->start < prev->end) continue;
    g_array_append_val(prev->units, *u);
    u->piece = NULL; /* moved */
  }
  if (e->end > prev->end) prev->end = e->end;
  prev->window = e->window;
  prev->at_window_end = e->at_window_end;
  ner_entity_rescore(prev);
  ner_entity_set_word(cx, prev);
}

GPtrArray *ner_stitch(const ner_context *cx, GPtrArray *per_window, bool join_parts) {
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)ner_entity_free);
  GArray *all = g_array_new(FALSE, FALSE, sizeof(ranked));
  for (guint w = 0; w < per_window->len; w++) {
    GPtrArray *list = g_ptr_array_index(per_window, w);
    for (guint i = 0; i < list->len; i++) {
      ranked r = {g_ptr_array_index(list, i), all->len};
      g_array_append_val(all, r);
      list->pdata[i] = NULL; /* moved */
    }
    g_ptr_array_set_size(list, 0);
  }
  if (!all->len) {
    g_array_free(all, TRUE);
    return out;
  }
  qsort(all->data, all->len, sizeof(ranked), by_ranked_start);
  ner_entity *prev = g_array_index(all, ranked, 0).e;
  for (guint i = 1; i < all->len; i++) {
    ner_entity *e = g_array_index(all, ranked, i).e;
    if (prev->start <= e->start && e->start < prev->end) {
      int32_t len = e->end - e->start, prev_len = prev->end - prev->start;
      if (join_parts && e->window != prev->window && e->end > prev->end && e->start > prev->start &&
          same_group(cx, prev, e)) {
        join(cx, prev, e);
        ner_entity_free(e);
      } else if (len > prev_len || (len == prev_len && e->score > prev->score)) {
        ner_entity_free(prev);
        prev = e;
      } else {
        ner_entity_free(e);
      }
    } else if (join_parts && continues_across(cx, prev, e)) {
      join(cx, prev, e);
      ner_entity_free(e);
    } else {
      g_ptr_array_add(out, prev);
      prev = e;
    }
  }
  g_ptr_array_add(out, prev);
  g_array_free(all, TRUE);
  return out;
}
