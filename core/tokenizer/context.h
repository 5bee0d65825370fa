/* context.h — what an encode call reuses from the previous one on the same thread:
 * scratch arena, work arrays, token sequences, and a word cache per tokenizer. The
 * loaded tokenizer stays immutable (and shareable between threads); this state is the
 * calling thread's own, found through thread-local storage and freed when the thread
 * exits. */
#ifndef NLP_TOKENIZER_CONTEXT_H
#define NLP_TOKENIZER_CONTEXT_H
#include "tokenizer/encoding.h"

/* ---- word cache (wordcache.c): piece bytes -> the model's tokens */
#define NLP_TK_WCACHE_MAX_BYTES 16
#define NLP_TK_WCACHE_MAX_TOKS 3
typedef struct nlp_tk_wcache nlp_tk_wcache;
nlp_tk_wcache *nlp_tk_wcache_new(void);
void nlp_tk_wcache_free(nlp_tk_wcache *c);
/* The tokens of word S (LEN bytes) into OUT (room for NLP_TK_WCACHE_MAX_TOKS) and their
 * number into N; false if not cached. */
bool nlp_tk_wcache_get(nlp_tk_wcache *c, const char *s, size_t len, nlp_tk_tok *out, size_t *n);
/* Remembers the N tokens of word S; words too long or with too many tokens are skipped. */
void nlp_tk_wcache_put(nlp_tk_wcache *c, const char *s, size_t len, const nlp_tk_tok *toks,
                       size_t n);

/* ---- per-thread encode state (context.c) */
#define NLP_TK_CTX_CACHES 4
typedef struct {
  nlp_tk_scratch sc;
  GArray *pieces, *np, *toks;
  nlp_tk_seq seq[2];
  /* caches by tokenizer serial (never by address: a freed tokenizer's address can be
   * reused by the next one loaded) */
  uint64_t serial[NLP_TK_CTX_CACHES];
  nlp_tk_wcache *cache[NLP_TK_CTX_CACHES];
  unsigned victim;
} nlp_tk_ctx;

/* A fresh serial for a loaded tokenizer (never 0). */
uint64_t nlp_tk_next_serial(void);
/* The calling thread's state, ready for one encode call (sequences and arrays empty). */
nlp_tk_ctx *nlp_tk_ctx_acquire(void);
/* After a call over INPUT_BYTES of text: drops per-call memory, and every buffer a huge
 * text may have grown. */
void nlp_tk_ctx_release(nlp_tk_ctx *cx, size_t input_bytes);
/* The thread's word cache for the tokenizer with SERIAL (created on first use). */
nlp_tk_wcache *nlp_tk_ctx_cache(nlp_tk_ctx *cx, uint64_t serial);
#endif
