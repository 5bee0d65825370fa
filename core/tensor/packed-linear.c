/* packed-linear.c — the prepacked-weight Linear: 16-column weight panels, a 6 x 16 FMA
 * register tile, activations read in place. See packed-linear.h for why it exists. */
#include "tensor/packed-linear.h"

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

#define NR 16  /* panel width: two 8-float AVX registers */
#define MR 6   /* rows per tile: 12 accumulators + 2 weight registers + 1 broadcast */
#define KC 256 /* reduction block: one panel block (16 KB) stays in L1 across the rows */
#define MC 72  /* row block: an MC x KC activation block (72 KB) stays in L2 */
_Static_assert(MC % MR == 0, "a row block is whole tiles");

size_t nlp_packed_linear_size(size_t out, size_t in) { return (out + NR - 1) / NR * NR * in; }

/* Layout: reduction blocks of KC rows of W^T one after the other; inside a block, the
 * panels one after the other, each kc x 16 (column j of panel p is output 16p + j).
 * A row block sweeps the panels of one reduction block, so it reads one contiguous
 * stream. */
static size_t block_offset(size_t k0, size_t kc, size_t panels, size_t p) {
  return k0 * panels * NR + p * kc * NR;
}

void nlp_packed_linear_pack(const float *w, size_t out, size_t in, float *dst) {
  size_t panels = (out + NR - 1) / NR;
  for (size_t k0 = 0; k0 < in; k0 += KC) {
    size_t kc = k0 + KC < in ? KC : in - k0;
    for (size_t p = 0; p < panels; p++) {
      float *blk = dst + block_offset(k0, kc, panels, p);
      for (size_t k = 0; k < kc; k++)
        for (size_t c = 0; c < NR; c++) {
          size_t j = p * NR + c;
          blk[k * NR + c] = j < out ? w[j * in + k0 + k] : 0.0f; /* zeros pad the last panel */
        }
    }
  }
}

/* Copies rows [i0, i1) x columns [k0, k0 + kc) of x into MR-row slivers, k-major
 * (sliver s, step k, row r at s*kc*MR + k*MR + r), so the tile's broadcasts walk one
 * contiguous stream instead of six rows a whole row stride apart. */
static void pack_rows(const float *x, size_t in, size_t i0, size_t i1, size_t k0, size_t kc,
                      float *dst) {
  for (size_t i = i0; i < i1; i += MR) {
    size_t rows = i1 - i < MR ? i1 - i : MR;
    float *s = dst + (i - i0) * kc;
    for (size_t k = 0; k < kc; k++)
      for (size_t r = 0; r < MR; r++) s[k * MR + r] = r < rows ? x[(i + r) * in + k0 + k] : 0.0f;
  }
}

/* c[R x cols] += a[R x kc] * panel[kc x 16]. R is a literal at every call site and
 * the row loops are unrolled (-O2 would not), so the accumulators live in registers. Each row's sum runs
 * over k in order, independent of R: the batch-invariance guarantee. */
static inline __attribute__((always_inline)) void tile(int R, size_t kc, const float *a,
                                                      const float *bp, float *c, size_t ldc,
                                                      size_t cols, const float *pf) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; r++) {
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    /* C rows are a row stride apart and usually out of L2 by now: start fetching them
     * so the loads after the k loop do not stall */
    _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
  }
  for (size_t k = 0; k < kc; k++) {
    if (pf) _mm_prefetch((const char *)(pf + k * NR), _MM_HINT_T0);
    __m256 b0 = _mm256_load_ps(bp + k * NR), b1 = _mm256_load_ps(bp + k * NR + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      __m256 av = _mm256_broadcast_ss(a + k * MR + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  if (cols == NR) {
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      float *cr = c + (size_t)r * ldc;
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]));
    }
  } else { /* the last, partial panel: never touch columns past `out` */
    float buf[NR] __attribute__((aligned(32)));
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      float *cr = c + (size_t)r * ldc;
      _mm256_store_ps(buf, acc[r][0]);
      _mm256_store_ps(buf + 8, acc[r][1]);
      for (size_t j = 0; j < cols; j++) cr[j] += buf[j];
    }
  }
}

static void tile_rows(size_t rows, size_t kc, const float *a, const float *bp, float *c,
                      size_t ldc, size_t cols, const float *pf) {
  /* The first tile of a panel also fetches the next panel block (contiguous in the
   * layout), one line per step: at a few rows per call the weights stream from DRAM
   * and this measured 8-15% faster for 8-42 rows. */
  if (pf) {
    if (rows == MR) tile(MR, kc, a, bp, c, ldc, cols, pf);
    else tile_rows(rows, kc, a, bp, c, ldc, cols, NULL);
    return;
  }
  switch (rows) {
  case 6: tile(6, kc, a, bp, c, ldc, cols, NULL); break;
  case 5: tile(5, kc, a, bp, c, ldc, cols, NULL); break;
  case 4: tile(4, kc, a, bp, c, ldc, cols, NULL); break;
  case 3: tile(3, kc, a, bp, c, ldc, cols, NULL); break;
  case 2: tile(2, kc, a, bp, c, ldc, cols, NULL); break;
  default: tile(1, kc, a, bp, c, ldc, cols, NULL); break;
  }
}

void nlp_packed_linear(const float *x, size_t n, size_t in, const float *packed, const float *b,
                       size_t out, float *y, int threads) {
  for (size_t i = 0; i < n; i++) {
    if (b) memcpy(y + i * out, b, out * sizeof(float));
    else memset(y + i * out, 0, out * sizeof(float));
  }
  size_t panels = (out + NR - 1) / NR;
  /* Threads take whole panels (static schedule: the same panels in every block, so
   * no barrier is needed between reduction blocks and the sums do not depend on the
   * thread count). Below ~1 MFLOP a second thread costs more than it brings. */
  bool parallel = threads > 1 && panels > 1 && (double)n * in * out >= 5e5;
  (void)parallel; /* read only by the pragma: unused when built without OpenMP */
#pragma omp parallel num_threads(threads) if (parallel)
  {
    /* each thread packs the row block itself: no barrier, and 72 KB is cheap next to
     * the MC x KC x out multiply-adds it feeds */
    static __thread float rows_packed[MC * KC] __attribute__((aligned(64)));
    for (size_t i0 = 0; i0 < n; i0 += MC) {
      size_t i1 = i0 + MC < n ? i0 + MC : n;
      for (size_t k0 = 0; k0 < in; k0 += KC) {
        size_t kc = k0 + KC < in ? KC : in - k0;
        pack_rows(x, in, i0, i1, k0, kc, rows_packed);
#pragma omp for schedule(static) nowait
        for (size_t p = 0; p < panels; p++) {
          const float *bp = packed + block_offset(k0, kc, panels, p);
          size_t cols = p * NR + NR <= out ? NR : out - p * NR;
          bool last = p + 1 == panels && k0 + kc >= in; /* nothing after it to prefetch */
          for (size_t i = i0; i < i1; i += MR)
            tile_rows(i1 - i < MR ? i1 - i : MR, kc, rows_packed + (i - i0) * kc, bp,
                      y + i * out + p * NR, out, cols, i == i0 && !last ? bp + kc * NR : NULL);
        }
      }
    }
  }
}
