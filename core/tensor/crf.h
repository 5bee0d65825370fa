/* crf.h — decoding a linear-chain CRF (pytorch-crf's parameters), shared by the
 * trainer's evaluation (core/train/heads.c) and the plugins (nlp_host.crf_viterbi), so
 * a pipeline decodes a CRF head with the very code that scored it. */
#ifndef NLP_TENSOR_CRF_H
#define NLP_TENSOR_CRF_H

#include <stddef.h>
#include <stdint.h>

/* The best tag path over N positions: argmax over y of
 *     start[y0] + sum_t emissions[t][yt] + sum_{t>0} transitions[y(t-1)][yt] + end[y(n-1)]
 * EMISSIONS n x n_tags row-major, TRANSITIONS n_tags x n_tags (row = from, column = to),
 * START and END n_tags. Writes PATH[0..n). Sums in double from the f32 inputs; of equal
 * scores the lowest tag wins. N = 0 writes nothing. */
void nlp_crf_viterbi(const float *emissions, size_t n, size_t n_tags, const float *transitions,
                     const float *start, const float *end, int32_t *path);

#endif
