/* heap.h — a small binary max-heap for the BPE merge loops (best priority first,
 * ties to the leftmost position, as HF's and sentencepiece's queues order them). */
#ifndef NLP_TOKENIZER_HEAP_H
#define NLP_TOKENIZER_HEAP_H
#include <glib.h>
#include <stdint.h>

typedef struct { double pri; int32_t pos, right, newid; uint32_t mid, end; } nlp_tk_hent;

static inline int nlp_tk_hent_better(const nlp_tk_hent *a, const nlp_tk_hent *b) {
  if (a->pri != b->pri) return a->pri > b->pri;
  return a->pos < b->pos;
}
static inline void nlp_tk_heap_push(GArray *h, nlp_tk_hent e) {
  g_array_append_val(h, e);
  nlp_tk_hent *d = (nlp_tk_hent *)h->data;
  size_t i = h->len - 1;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!nlp_tk_hent_better(&d[i], &d[p])) break;
    nlp_tk_hent t = d[i]; d[i] = d[p]; d[p] = t;
    i = p;
  }
}
static inline nlp_tk_hent nlp_tk_heap_pop(GArray *h) {
  nlp_tk_hent *d = (nlp_tk_hent *)h->data;
  nlp_tk_hent top = d[0];
  d[0] = d[h->len - 1];
  g_array_set_size(h, h->len - 1);
  d = (nlp_tk_hent *)h->data;
  size_t n = h->len, i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, b = i;
    if (l < n && nlp_tk_hent_better(&d[l], &d[b])) b = l;
    if (r < n && nlp_tk_hent_better(&d[r], &d[b])) b = r;
    if (b == i) break;
    nlp_tk_hent t = d[i]; d[i] = d[b]; d[b] = t;
    i = b;
  }
  return top;
}
#endif
