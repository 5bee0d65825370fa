/* embed-rows.h — the sum an encoder's embedding block starts with, shared by the
 * inference encoder (encoder.c) and the trainer's embedding block (train/embeddings.c)
 * so both read the same rows: out[t] = word[id] + position[row] (+ token_type[type]). */
#ifndef NLP_MODEL_EMBED_ROWS_H
#define NLP_MODEL_EMBED_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Which position row each token reads. pad_id < 0: its index in the sequence. Else
 * RoBERTa's rule (HF create_position_ids_from_input_ids): a padding token (pad_id)
 * reads row pad_id, the others row first + the number of non-padding tokens before
 * them in the sequence. */
typedef struct nlp_position_rule {
  int32_t pad_id;
  size_t first;
} nlp_position_rule;

/* The rule of the model CONFIG describes. */
nlp_position_rule nlp_position_rule_of(const nlp_model_config *c);

/* The position row of token I (id ID) of a sequence; *COUNT carries the non-padding
 * tokens seen so far in it (start each sequence at 0). */
static inline size_t nlp_position_row(const nlp_position_rule *r, int32_t id, size_t i, size_t *count) {
  if (r->pad_id < 0) return i;
  return id == r->pad_id ? (size_t)r->pad_id : r->first + (*count)++;
}

/* out[t] = word[ids[t]] + pos[row of t] (+ type[types[t]]; TYPE NULL: the model has no
 * token types; TYPES NULL: all 0), rows of E floats, over N_SEQS sequences of LENGTHS
 * tokens packed one after the other. Returns the number of tokens. */
size_t nlp_embed_rows(const float *word, const float *pos, const float *type, size_t E,
                      const nlp_position_rule *rule, size_t n_seqs, const size_t *lengths,
                      const int32_t *ids, const int32_t *types, float *out);

#endif
