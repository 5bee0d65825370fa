/* postprocess.c — the post-processor as one template (TemplateProcessing,
 * BertProcessing and RobertaProcessing all reduce to it) plus ByteLevel offset
 * trimming; the windows are built in encoding.c. Models' teardown lives here too. */
#include "tokenizer/internal.h"

static void tpl_clear(nlp_tk_template *t) {
  for (size_t i = 0; i < t->n; i++) {
    g_free(t->items[i].ids);
    for (size_t k = 0; k < t->items[i].n; k++) g_free(t->items[i].toks[k]);
    g_free(t->items[i].toks);
  }
  g_free(t->items);
  t->items = NULL;
  t->n = 0;
}

void nlp_tk_post_clear(nlp_tk_post *p) {
  tpl_clear(&p->single);
  tpl_clear(&p->pair);
}

void nlp_tk_model_clear(nlp_tk_model *m) {
  nlp_tk_vocab_clear(&m->vocab);
  nlp_tk_merges_clear(&m->merges);
  g_free(m->prefix);
  g_free(m->suffix);
  g_free(m->scores);
  g_free(m->sp_type);
  g_free(m->tr_keys);
  g_free(m->tr_child);
  g_free(m->tr_edge);
  g_free(m->tr_term);
}
