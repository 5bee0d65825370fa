/* rng.c — splitmix64 and the few distributions training needs. */
#include "train/rng.h"

#include <math.h>

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

nlp_rng nlp_rng_make(uint64_t seed, uint64_t a, uint64_t b) {
  nlp_rng r = {mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ mix(a + 0x632be59bd9b4e019ULL) ^
                   mix(b * 0x85ebca6bULL + 0x27bb2ee687b0b0fdULL))};
  return r;
}

uint64_t nlp_rng_next(nlp_rng *r) {
  r->state += 0x9e3779b97f4a7c15ULL;
  return mix(r->state);
}

float nlp_rng_uniform(nlp_rng *r) { return (float)(nlp_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

float nlp_rng_normal(nlp_rng *r) {
  double u1 = ((double)(nlp_rng_next(r) >> 11) + 1.0) / 9007199254740993.0;
  double u2 = (double)(nlp_rng_next(r) >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void nlp_rng_shuffle(nlp_rng *r, size_t *idx, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(nlp_rng_next(r) % i);
    size_t t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}
