/* rng.h — the one random stream of training: seeded, platform-independent.
 *
 * splitmix64: every draw is a pure function of (seed, position), so a run with the
 * same seed gives the same shuffles, dropout masks and initial weights on any
 * machine, and a resumed run re-derives its stream from (seed, epoch, step)
 * instead of saving generator state. */
#ifndef NLP_TRAIN_RNG_H
#define NLP_TRAIN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nlp_rng { uint64_t state; } nlp_rng;

/* A stream for (seed, a, b): independent streams per epoch / step / purpose. */
nlp_rng nlp_rng_make(uint64_t seed, uint64_t a, uint64_t b);
uint64_t nlp_rng_next(nlp_rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float nlp_rng_uniform(nlp_rng *r);
/* Standard normal (Box-Muller). */
float nlp_rng_normal(nlp_rng *r);
/* Fisher-Yates shuffle of N indices. */
void nlp_rng_shuffle(nlp_rng *r, size_t *idx, size_t n);

#endif
