/* context.c — the per-thread encode state (see context.h). GPrivate gives each thread
 * its own and frees it when the thread exits; the main thread's lives until the
 * process ends. */
#include <stdatomic.h>
#include <string.h>

#include "tokenizer/context.h"

/* buffers grown past this by one huge text are given back after the call */
#define KEEP_TOKENS ((size_t)1 << 16)

static void ctx_free(gpointer p) {
  nlp_tk_ctx *cx = p;
  nlp_tk_scratch_clear(&cx->sc);
  g_array_free(cx->pieces, TRUE);
  g_array_free(cx->np, TRUE);
  g_array_free(cx->toks, TRUE);
  nlp_tk_seq_clear(&cx->seq[0]);
  nlp_tk_seq_clear(&cx->seq[1]);
  for (size_t i = 0; i < NLP_TK_CTX_CACHES; i++)
    nlp_tk_wcache_free(cx->cache[i]);
  g_free(cx);
}

static GPrivate ctx_key = G_PRIVATE_INIT(ctx_free);

uint64_t nlp_tk_next_serial(void) {
  static atomic_uint_fast64_t next = 1;
  return (uint64_t)atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
}

nlp_tk_ctx *nlp_tk_ctx_acquire(void) {
  nlp_tk_ctx *cx = g_private_get(&ctx_key);
  if (!cx) {
    cx = g_new0(nlp_tk_ctx, 1);
    nlp_tk_scratch_init(&cx->sc);
    cx->pieces = g_array_new(FALSE, FALSE, sizeof(nlp_tk_piece));
    cx->np = g_array_new(FALSE, FALSE, sizeof(nlp_tk_piece));
    cx->toks = g_array_new(FALSE, FALSE, sizeof(nlp_tk_tok));
    g_private_set(&ctx_key, cx);
  }
  g_array_set_size(cx->pieces, 0);
  g_array_set_size(cx->np, 0);
  g_array_set_size(cx->toks, 0);
  cx->seq[0].n = cx->seq[1].n = 0;
  return cx;
}

/* Inputs longer than this may have grown any buffer in the middle of the call and
 * shrunk its length again (a per-word array after a huge word): the length seen at the
 * end says nothing of what a buffer holds, so everything is given back. */
#define KEEP_INPUT_BYTES ((size_t)1 << 16)

static void trim_array(GArray **a, size_t elt, bool always) {
  if (!always && (*a)->len <= KEEP_TOKENS) return;
  g_array_free(*a, TRUE);
  *a = g_array_new(FALSE, FALSE, (guint)elt);
}

void nlp_tk_ctx_release(nlp_tk_ctx *cx, size_t input_bytes) {
  bool huge = input_bytes > KEEP_INPUT_BYTES;
  if (huge) {
    nlp_tk_scratch_clear(&cx->sc); /* arena and work arrays */
    nlp_tk_scratch_init(&cx->sc);
  } else {
    nlp_tk_scratch_reset(&cx->sc);
    for (size_t i = 0; i < G_N_ELEMENTS(cx->sc.work); i++)
      if (cx->sc.work[i] && cx->sc.work[i]->len > KEEP_TOKENS) {
        g_array_free(cx->sc.work[i], TRUE);
        cx->sc.work[i] = NULL;
      }
  }
  trim_array(&cx->pieces, sizeof(nlp_tk_piece), huge);
  trim_array(&cx->np, sizeof(nlp_tk_piece), huge);
  trim_array(&cx->toks, sizeof(nlp_tk_tok), huge);
  for (int i = 0; i < 2; i++)
    if (huge || cx->seq[i].cap > KEEP_TOKENS) nlp_tk_seq_clear(&cx->seq[i]);
}

nlp_tk_wcache *nlp_tk_ctx_cache(nlp_tk_ctx *cx, uint64_t serial) {
  for (size_t i = 0; i < NLP_TK_CTX_CACHES; i++)
    if (cx->serial[i] == serial) return cx->cache[i];
  /* a thread serving more tokenizers than slots recycles the oldest slot */
  size_t v = cx->victim++ % NLP_TK_CTX_CACHES;
  nlp_tk_wcache_free(cx->cache[v]);
  cx->cache[v] = nlp_tk_wcache_new();
  cx->serial[v] = serial;
  return cx->cache[v];
}
