/* The multiplicative step of entries e0 <= e < e1 of a factor A (r x k, C order) against one
   k-vector denominator, the hot case of steps.mu_rows_core (exponent 1, change not summed):
       a <- max(a * (num / d), floor),   d = dk + l2 a,   d <= 0 read as tiny,
   with dk = den + l1 for each column, given for LANES_ROWS rows back to back (dpat, 4 k
   entries), so that a block of 4 rows is a plain loop over contiguous entries that the
   compiler vectorizes. Every operation is elementwise and exactly rounded (no FMA: AVX2
   without FMA, and none at the baseline), in double as the scalar loop: the same bits as
   it, in any width. The AVX2 clone exists because the division per entry bounds the step,
   and AVX2 divides four doubles at once. */
#ifndef NMFKIT_MU_STEP_H
#define NMFKIT_MU_STEP_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NMFKIT_MU_STEP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NMFKIT_MU_STEP_CLONES
#endif
#define NMFKIT_MU_STEP_ROWS 4

#define NMFKIT_MU_STEP_DEFINE(S, T)                                                          \
static inline double nmfkit_mu_step_one_##S(double a, double dk, double num, double l2,     \
                                            double floor, double tiny) {                     \
    double d = dk + l2 * a;                                                                  \
    double x;                                                                                \
    d = d <= 0.0 ? tiny : d;                                                                 \
    x = a * (num / d);                                                                       \
    return x > floor ? x : floor; /* NaN x gives floor, as nmfkit_max */                     \
}                                                                                            \
                                                                                             \
NMFKIT_MU_STEP_CLONES                                                                        \
static void nmfkit_mu_step_##S(T *A, const T *num, const double *dpat, ptrdiff_t e0,        \
                               ptrdiff_t e1, ptrdiff_t k, double l2, double floor,           \
                               double tiny) {                                                \
    const ptrdiff_t P = NMFKIT_MU_STEP_ROWS * k;                                             \
    ptrdiff_t e = e0;                                                                        \
    for (; e + P <= e1; e += P) {                                                            \
        T *a = A + e;                                                                        \
        const T *x = num + e;                                                                \
        for (ptrdiff_t q = 0; q < P; q++)                                                    \
            a[q] = (T)nmfkit_mu_step_one_##S(a[q], dpat[q], x[q], l2, floor, tiny);          \
    }                                                                                        \
    for (; e < e1; e++)                                                                      \
        A[e] = (T)nmfkit_mu_step_one_##S(A[e], dpat[(e - e0) % P], num[e], l2, floor, tiny); \
}

NMFKIT_MU_STEP_DEFINE(f64, double)
NMFKIT_MU_STEP_DEFINE(f32, float)

/* The Frobenius multiplicative step of `count` entries (steps.mu_fro_core without its sums),
       a <- max(a num / d, floor),   d = den + l1 + l2 a,   d <= 0 read as tiny,
   with den the entries of A gram, formed by the caller. Elementwise and exactly rounded in
   double, the operations in the scalar loop's order ((a num) / d): the same bits as it. */
#define NMFKIT_MU_FRO_STEP_DEFINE(S, T)                                                      \
NMFKIT_MU_STEP_CLONES                                                                        \
static void nmfkit_mu_fro_step_##S(T *A, const T *num, const double *den, ptrdiff_t count,  \
                                   double l1, double l2, double floor, double tiny) {        \
    for (ptrdiff_t e = 0; e < count; e++) {                                                  \
        double a = A[e];                                                                     \
        double d = den[e] + l1 + l2 * a;                                                     \
        double x;                                                                            \
        d = d <= 0.0 ? tiny : d;                                                             \
        x = a * (double)num[e] / d;                                                          \
        A[e] = (T)(x > floor ? x : floor); /* NaN x gives floor, as nmfkit_max */            \
    }                                                                                        \
}
NMFKIT_MU_FRO_STEP_DEFINE(f64, double)
NMFKIT_MU_FRO_STEP_DEFINE(f32, float)

/* out (k) = the column sums of B (r x k, C order), each from 0 row after row in out's
   precision U: NumPy's B.sum(axis=0, dtype=U) for k > 1 (KL's denominator in B's precision,
   coordinate descent's in double). Sums in local variables for k <= 8 (the same additions in
   the same order): a sum kept in out, which may alias B as far as the compiler knows, waits
   for its own store at every row. */
#define NMFKIT_COLSUMS_DEFINE(S, T, U)                                                       \
static inline void nmfkit_colsums_k_##S(const T *B, ptrdiff_t r, const ptrdiff_t k, U *out) { \
    U s[8] = {0};                                                                            \
    for (ptrdiff_t i = 0; i < r; i++)                                                        \
        for (ptrdiff_t j = 0; j < k; j++)                                                    \
            s[j] = s[j] + (U)B[i * k + j];                                                   \
    for (ptrdiff_t j = 0; j < k; j++)                                                        \
        out[j] = s[j];                                                                       \
}                                                                                            \
                                                                                             \
static void nmfkit_colsums_##S(const T *B, ptrdiff_t r, ptrdiff_t k, U *out) {               \
    switch (k) {                                                                             \
    case 2: nmfkit_colsums_k_##S(B, r, 2, out); return;                                      \
    case 3: nmfkit_colsums_k_##S(B, r, 3, out); return;                                      \
    case 4: nmfkit_colsums_k_##S(B, r, 4, out); return;                                      \
    case 5: nmfkit_colsums_k_##S(B, r, 5, out); return;                                      \
    case 6: nmfkit_colsums_k_##S(B, r, 6, out); return;                                      \
    case 7: nmfkit_colsums_k_##S(B, r, 7, out); return;                                      \
    case 8: nmfkit_colsums_k_##S(B, r, 8, out); return;                                      \
    }                                                                                        \
    for (ptrdiff_t j = 0; j < k; j++)                                                        \
        out[j] = 0;                                                                          \
    for (ptrdiff_t i = 0; i < r; i++)                                                        \
        for (ptrdiff_t j = 0; j < k; j++)                                                    \
            out[j] = out[j] + (U)B[i * k + j];                                               \
}

NMFKIT_COLSUMS_DEFINE(f64, double, double)
NMFKIT_COLSUMS_DEFINE(f32, float, float)
NMFKIT_COLSUMS_DEFINE(f32_f64, float, double)
#endif
