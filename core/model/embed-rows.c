/* embed-rows.c — see embed-rows.h. */
#include "model/embed-rows.h"

nlp_position_rule nlp_position_rule_of(const nlp_model_config *c) {
  if (c->arch == NLP_ARCH_ROBERTA) return (nlp_position_rule){c->pad_token_id, (size_t)c->position_offset};
  return (nlp_position_rule){-1, 0};
}

size_t nlp_embed_rows(const float *word, const float *pos, const float *type, size_t E,
                      const nlp_position_rule *rule, size_t n_seqs, const size_t *lengths,
                      const int32_t *ids, const int32_t *types, float *out) {
  size_t t = 0;
  for (size_t s = 0; s < n_seqs; s++) {
    size_t count = 0;
    for (size_t i = 0; i < lengths[s]; i++, t++) {
      const float *w = word + (size_t)ids[t] * E, *p = pos + nlp_position_row(rule, ids[t], i, &count) * E;
      float *o = out + t * E;
      if (type) {
        const float *ty = type + (size_t)(types ? types[t] : 0) * E;
        for (size_t j = 0; j < E; j++) o[j] = w[j] + ty[j] + p[j];
      } else {
        for (size_t j = 0; j < E; j++) o[j] = w[j] + p[j];
      }
    }
  }
  return t;
}
