/* encoding.h — one tokenized text before the post-processor (tokenizer.c fills it) and
 * the window builder (encoding.c: truncation, template, offset trimming, padding). */
#ifndef NLP_TOKENIZER_ENCODING_H
#define NLP_TOKENIZER_ENCODING_H
#include "tokenizer/internal.h"

typedef struct {
  size_t n, cap;
  int32_t *ids, *off, *word;
  const char **tok;
} nlp_tk_seq;

void nlp_tk_seq_push(nlp_tk_seq *q, int32_t id, int32_t s, int32_t e, int32_t word, const char *tok);
void nlp_tk_seq_clear(nlp_tk_seq *q);

/* Cuts windows from A (and B), applies the post-processor and padding. */
nlp_encoding_list *nlp_tk_build_windows(const nlp_tokenizer *tok, const nlp_tk_seq *a, const nlp_tk_seq *b,
                                        const nlp_encode_params *p, GError **error);
#endif
