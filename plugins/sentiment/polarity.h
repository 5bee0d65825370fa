/* polarity.h — maps a classification head's labels to negative / neutral / positive.
 *
 * The rule, per label name, case-insensitively:
 *  1. every label unnamed (LABEL_<i> or absent id2label): 2 labels -> 0 negative,
 *     1 positive; 3 labels -> 0 negative, 1 neutral, 2 positive (SST-2 / cardiffnlp
 *     conventions); other counts cannot be mapped;
 *  2. a name containing "neg" -> negative, "pos" -> positive, "neu" -> neutral
 *     (NEGATIVE, neg, LABEL_NEG, Positive, neutral, ...);
 *  3. star ratings "<n> star(s)": 1-2 negative, 3 neutral, 4-5 positive;
 *  4. anything else is refused when the step is created, naming the label.
 * A one-label head (sigmoid) gives positive with p and negative with 1 - p. */
#ifndef NLP_PLUGIN_POLARITY_H
#define NLP_PLUGIN_POLARITY_H

#include <stddef.h>

typedef enum { POLARITY_NEGATIVE, POLARITY_NEUTRAL, POLARITY_POSITIVE, POLARITY_UNKNOWN } polarity;

extern const char *const nlp_polarity_names[3];

/* Fills out[i] for each of the n labels; returns the index of the first label that
 * cannot be mapped, or n when all could. */
size_t nlp_polarity_map_labels(char *const *labels, size_t n, polarity *out);

#endif
