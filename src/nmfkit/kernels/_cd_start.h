/* The start of a CSR row in KL coordinate descent (cd.pyx, kl_cd_csr). For each of the row's
   n stored entries p (value x[p], column j = idx[p]):
       wh[p]   = a . B[j]      (k products, entry c added to running sum c % 4, the four
                                sums added as (s0 + s1) + (s2 + s3): _common.pxd's dot),
       cols[p] = j k        (the offset of the entry's row of B),
   and the row's sums, entry after entry,
       t[c] = sum_p (x[p] / max(wh[p], tiny)) B[j][c]     (in double).
   B's row of the entry PREFETCH entries ahead is fetched early while that entry is one of
   the `ahead` entries that follow the row's first (the row's or the next rows').
   Every operation is elementwise and exactly rounded, each sum in the scalar order (no FMA:
   AVX2 without FMA, none at the baseline): the clones give the same bits. AVX2 works on
   four doubles at once, where the baseline's SSE2 takes two. */
#ifndef NMFKIT_CD_START_H
#define NMFKIT_CD_START_H
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NMFKIT_CD_START_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NMFKIT_CD_START_CLONES
#endif
#define NMFKIT_CD_PREFETCH 8
/* tells the compiler that c holds (where it can be told): no code, only what it may fold */
#if defined(__GNUC__) || defined(__clang__)
#define NMFKIT_ASSUME(c) do { if (!(c)) __builtin_unreachable(); } while (0)
#else
#define NMFKIT_ASSUME(c) ((void)0)
#endif
typedef double nmfkit_cd_v4d __attribute__((vector_size(32)));
typedef float nmfkit_cd_v4f __attribute__((vector_size(16)));

/* Four entries of p as doubles (unaligned; a float's product with another is rounded to
   float first, as in the scalar dot). */
static inline nmfkit_cd_v4d nmfkit_cd_load_f64(const double *p) {
    nmfkit_cd_v4d v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}
static inline nmfkit_cd_v4d nmfkit_cd_load_f32(const float *p) {
    nmfkit_cd_v4f v;
    __builtin_memcpy(&v, p, sizeof(v));
    return __builtin_convertvector(v, nmfkit_cd_v4d);
}
static inline nmfkit_cd_v4d nmfkit_cd_product_f64(const double *a, const double *b) {
    return nmfkit_cd_load_f64(a) * nmfkit_cd_load_f64(b);
}
static inline nmfkit_cd_v4d nmfkit_cd_product_f32(const float *a, const float *b) {
    nmfkit_cd_v4f x, y;
    __builtin_memcpy(&x, a, sizeof(x));
    __builtin_memcpy(&y, b, sizeof(y));
    return __builtin_convertvector(x * y, nmfkit_cd_v4d);
}

#define NMFKIT_CD_START_DEFINE(S, T, I, F)                                                   \
NMFKIT_CD_START_CLONES                                                                       \
static void nmfkit_cd_start_##S(const T *restrict a, const T *restrict B, ptrdiff_t k,      \
                                const I *restrict idx, const T *restrict x, ptrdiff_t n,     \
                                ptrdiff_t ahead, T tiny, T *restrict wh,                     \
                                ptrdiff_t *restrict cols, double *restrict t) {              \
    const ptrdiff_t k4 = k - k % 4;                                                          \
    for (ptrdiff_t c = 0; c < k; c++)                                                        \
        t[c] = 0.0;                                                                          \
    for (ptrdiff_t p = 0; p < n; p++) {                                                      \
        const ptrdiff_t j = (ptrdiff_t)idx[p];                                               \
        const T *b = B + j * k;                                                              \
        nmfkit_cd_v4d s = {0.0, 0.0, 0.0, 0.0}; /* lane l: the entries c = l mod 4 */       \
        double ratio;                                                                        \
        T v;                                                                                 \
        if (p + NMFKIT_CD_PREFETCH < ahead) { /* a random row of B: each of its lines */     \
            const T *next = B + (ptrdiff_t)idx[p + NMFKIT_CD_PREFETCH] * k;                  \
            for (ptrdiff_t c = 0; c < k; c += 8)                                             \
                __builtin_prefetch(next + c);                                                \
        }                                                                                    \
        for (ptrdiff_t c = 0; c < k4; c += 4)                                                \
            s = s + nmfkit_cd_product_##F(a + c, b + c);                                     \
        for (ptrdiff_t c = k4; c < k; c++)                                                   \
            s[0] = s[0] + (double)(a[c] * b[c]);                                             \
        wh[p] = (T)((s[0] + s[1]) + (s[2] + s[3]));                                          \
        cols[p] = j * k;                                                                     \
        v = wh[p] > tiny ? wh[p] : tiny;                                                     \
        ratio = (double)x[p] / (double)v;                                                    \
        for (ptrdiff_t c = 0; c < k4; c += 4) {                                              \
            nmfkit_cd_v4d u = nmfkit_cd_load_f64(t + c) + ratio * nmfkit_cd_load_##F(b + c); \
            __builtin_memcpy(t + c, &u, sizeof(u));                                          \
        }                                                                                    \
        for (ptrdiff_t c = k4; c < k; c++)                                                   \
            t[c] = t[c] + ratio * (double)b[c];                                              \
    }                                                                                        \
}

NMFKIT_CD_START_DEFINE(f64_i32, double, int32_t, f64)
NMFKIT_CD_START_DEFINE(f64_i64, double, int64_t, f64)
NMFKIT_CD_START_DEFINE(f32_i32, float, int32_t, f32)
NMFKIT_CD_START_DEFINE(f32_i64, float, int64_t, f32)

#endif
