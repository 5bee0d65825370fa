/* packed-linear.c — the prepacked-weight Linear: 16-column weight panels, a 6 x 16
 * AVX2/FMA register tile or, where the CPU has AVX-512, a 12 x 16 one; activations
 * repacked per row block. See packed-linear.h for why it exists. */
#include "tensor/packed-linear.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NR 16  /* panel width: two 8-float AVX registers */
#define MR 6   /* rows per tile: 12 accumulators + 2 weight registers + 1 broadcast */
#define KC 256 /* reduction block: one panel block (16 KB) stays in L1 across the rows */
#define MC 72  /* row block: an MC x KC activation block (72 KB) stays in L2 */
_Static_assert(MC % (2 * MR) == 0, "a row block is whole tiles of either kernel");

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

/* The AVX-512 tile: one 16-float register per row, so 12 rows (two 6-row slivers of
 * the same packing, a0 and a1) fit in 12 accumulators. Per step it loads the panel row
 * once for 12 FMAs where the AVX2 tile loads it (in two halves) for 6 rows, and it
 * issues half the instructions per multiply-add. Lane j of row r computes exactly what
 * the AVX2 tile's lane does (a zero start, one FMA per k in order, then c +=), so the
 * two kernels give the same bits. */
#define MR512 (2 * MR)
static inline __attribute__((always_inline, target("avx512f"))) void
tile512(int R, size_t kc, const float *a0, const float *a1, const float *bp, float *c,
        size_t ldc, size_t cols, const float *pf, size_t pf_next, size_t pf_step) {
  __m512 acc[MR512];
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) {
    acc[r] = _mm512_setzero_ps();
    _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
  }
  for (size_t k = 0; k < kc; k++) {
    if (pf && k == pf_next) {
      _mm_prefetch((const char *)(pf + k * NR), _MM_HINT_T0);
      pf_next += pf_step;
    }
    __m512 b = _mm512_load_ps(bp + k * NR);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
      const float *ar = r < MR ? a0 + k * MR + r : a1 + k * MR + (r - MR);
      acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(*ar), b, acc[r]);
    }
  }
  __mmask16 m = cols == NR ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) {
    float *cr = c + (size_t)r * ldc;
    _mm512_mask_storeu_ps(cr, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, cr), acc[r]));
  }
}

/* PF: the next panel block, fetched by all the tiles of a panel together (tile t of
 * nt takes lines t, t + nt, ...), so the stream from DRAM is spread over the panel's
 * whole time rather than crowded into its first tile. */
#define TILE512_CASE(n) \
  case n: tile512(n, kc, a, a + kc * MR, bp, c, ldc, cols, pf, pf_first, pf_step); break;
__attribute__((target("avx512f"))) static void tile_rows512(size_t rows, size_t kc,
                                                             const float *a, const float *bp,
                                                             float *c, size_t ldc, size_t cols,
                                                             const float *pf, size_t pf_first,
                                                             size_t pf_step) {
  switch (rows) {
    TILE512_CASE(12) TILE512_CASE(11) TILE512_CASE(10) TILE512_CASE(9) TILE512_CASE(8)
    TILE512_CASE(7) TILE512_CASE(6) TILE512_CASE(5) TILE512_CASE(4) TILE512_CASE(3)
    TILE512_CASE(2)
  default: tile512(1, kc, a, a + kc * MR, bp, c, ldc, cols, pf, pf_first, pf_step); break;
  }
}

static bool avx512_on, avx512_chosen;

bool nlp_packed_linear_use_avx512(bool on) {
  avx512_on = on && __builtin_cpu_supports("avx512f");
  avx512_chosen = true;
  return avx512_on;
}

/* The first product picks the kernel, once per process even when several threads start
 * at the same time, unless nlp_packed_linear_use_avx512 chose before;
 * NLPIPE_PACKED_KERNEL=avx2 keeps AVX2 (to compare). */
static void choose_kernel_once(void) {
  const char *env = getenv("NLPIPE_PACKED_KERNEL");
  if (!avx512_chosen) nlp_packed_linear_use_avx512(!env || strcmp(env, "avx2") != 0);
}

static void choose_kernel(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, choose_kernel_once);
}

const char *nlp_packed_linear_kernel(void) {
  choose_kernel();
  return avx512_on ? "avx512 12x16" : "avx2 6x16";
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
  choose_kernel();
  bool wide = avx512_on;
  size_t mr = wide ? MR512 : MR;
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
          size_t nt = (i1 - i0 + mr - 1) / mr;
          for (size_t i = i0; i < i1; i += mr) {
            size_t rows = i1 - i < mr ? i1 - i : mr;
            const float *a = rows_packed + (i - i0) * kc, *next = last ? NULL : bp + kc * NR;
            if (wide)
              tile_rows512(rows, kc, a, bp, y + i * out + p * NR, out, cols, next, (i - i0) / mr, nt);
            else
              tile_rows(rows, kc, a, bp, y + i * out + p * NR, out, cols, i == i0 ? next : NULL);
          }
        }
      }
    }
  }
}
