/* The dense KL numerator of a small rank k in one walk over V, without BLAS:
     rows side:    num (r x k) = R Ht,    R = V / max(W Ht^T, tiny),
     columns side: num (n x k) = R^T W.
   With k = 2..5 a BLAS call on a tile spends its time packing operands and being called,
   and the tiled walk reads each entry three times (the product, the ratio, the
   contraction). Here each entry of V is read once: its product wh, its ratio and its share
   of the contraction are formed in registers. A division per entry is then the bound.

   H = Ht^T, zero-padded to ldh >= n + LANES columns (nmfkit_kl_pad_*), gives LANES
   consecutive columns in one vector. The arithmetic is written on GCC vector types of a
   fixed width (4 doubles or 8 floats), so every lane does the same operations in the same
   order whatever instructions carry them, and any split of the work among threads gives the
   same bits. With GCC on x86-64 Linux the kernels are compiled twice, for x86-64-v3 (AVX2
   and FMA: a product and its sum in one rounding, which took 12-18% off an iteration at
   k = 3..5) and for the baseline, and the CPU picks one at each call (NMFKIT_KL_PICK); the
   two round differently, as BLAS's kernels for different CPUs do, but a machine always runs
   the same one: its results are the same bits run after run, on any thread count and in
   both iteration loops. Each version has its own clamp max(wh, tiny) (nmfkit_kl_clamp_*):
   one vmaxpd in the v3 one, where GCC makes a compare and a byte blend of the portable
   select, which cost 5-7% of a walk at k = 3..5.

   Sums: wh = w_0 h_0 + w_1 h_1 + ... in index order. Rows side: each of the LANES lanes
   keeps a running sum over its columns j = lane (mod LANES), in column order; the lanes are
   then added pairwise. Columns side: a running sum down the rows, in row order.
   Padded lanes hold v = 0 and h = 0: their ratio is 0 / tiny = 0 and adds nothing. */
#ifndef NMFKIT_KL_SMALL_H
#define NMFKIT_KL_SMALL_H
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
/* the largest k with a fused kernel; above it (or without vector types: 0) the caller walks
   tiles with BLAS */
#define NMFKIT_KL_SMALL_KMAX 6
#else
#define NMFKIT_KL_SMALL_KMAX 0
#endif
#define NMFKIT_KL_LANES_F64 4
#define NMFKIT_KL_LANES_F32 8
/* rows shorter than this take the kernel with rows in the lanes (the sums' order, hence the
   bits, follow the shapes alone) */
#define NMFKIT_KL_SHORT_ROWS 128
#define NMFKIT_KL_GROUP 16       /* vectors of columns per walk down V (columns side) */
#define NMFKIT_KL_ROW_BLOCK 32   /* rows per block of that walk */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NMFKIT_KL_DISPATCH 1
#else
#define NMFKIT_KL_DISPATCH 0
#endif
/* whether the x86-64-v3 versions may run (where the CPU has them): 0 makes every call take
   the baseline one (nmfkit_kl_use_v3: for the tests and benchmarks) */
static int nmfkit_kl_v3_allowed = 1;

/* whether this CPU has x86-64-v3, and the versions are made */
static int nmfkit_kl_v3_available(void) {
#if NMFKIT_KL_DISPATCH
    return __builtin_cpu_supports("x86-64-v3") != 0;
#else
    return 0;
#endif
}

/* allow (1) or forbid (0) the x86-64-v3 versions; returns whether they run now */
static int nmfkit_kl_use_v3(int allow) {
    nmfkit_kl_v3_allowed = allow;
    return allow && nmfkit_kl_v3_available();
}

#if NMFKIT_KL_SMALL_KMAX > 0

/* the x86-64-v3 version of a kernel where it may run, else the baseline one */
#if NMFKIT_KL_DISPATCH
#define NMFKIT_KL_PICK(name)                                                                 \
    (nmfkit_kl_v3_allowed && __builtin_cpu_supports("x86-64-v3") ? name##_v3 : name##_base)
#else
#define NMFKIT_KL_PICK(name) name##_base
#endif
#define NMFKIT_KL_INLINE static inline __attribute__((always_inline))

typedef double nmfkit_v4d __attribute__((vector_size(32)));
typedef long long nmfkit_v4l __attribute__((vector_size(32)));
typedef unsigned long long nmfkit_v4ul __attribute__((vector_size(32)));
typedef float nmfkit_v8f __attribute__((vector_size(32)));
typedef int nmfkit_v8i __attribute__((vector_size(32)));

/* x[q] = column q of the 4 x 4 block at v (rows ldv apart), for doubles; only data move */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define NMFKIT_KL_TRANSPOSE4 1
#endif
#endif
#ifndef NMFKIT_KL_TRANSPOSE4
#define NMFKIT_KL_TRANSPOSE4 0
#endif
NMFKIT_KL_INLINE void nmfkit_kl_transpose4_f64(const double *v, ptrdiff_t ldv, nmfkit_v4d *x) {
#if NMFKIT_KL_TRANSPOSE4
    nmfkit_v4d r0, r1, r2, r3;
    memcpy(&r0, v, sizeof r0);
    memcpy(&r1, v + ldv, sizeof r1);
    memcpy(&r2, v + 2 * ldv, sizeof r2);
    memcpy(&r3, v + 3 * ldv, sizeof r3);
    nmfkit_v4d t0 = __builtin_shufflevector(r0, r1, 0, 4, 2, 6);
    nmfkit_v4d t1 = __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
    nmfkit_v4d t2 = __builtin_shufflevector(r2, r3, 0, 4, 2, 6);
    nmfkit_v4d t3 = __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
    x[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    x[1] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    x[2] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    x[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
#else
    (void)v; (void)ldv; (void)x;
#endif
}

/* never called (float vectors have 8 lanes); for the kernels' shared text */
NMFKIT_KL_INLINE void nmfkit_kl_transpose4_f32(const float *v, ptrdiff_t ldv, nmfkit_v8f *x) {
    (void)v; (void)ldv; (void)x;
}

/* max(wh, tiny) lane by lane, as `wh < tiny ? tiny : wh` (a NaN wh stays NaN): the
   portable select, and vmaxpd / vmaxps (tiny > wh ? tiny : wh, the same in every case) in
   the x86-64-v3 version */
#define NMFKIT_KL_CLAMP_DEFINE(S, VT, IT)                                                    \
NMFKIT_KL_INLINE VT nmfkit_kl_clamp_##S(VT wh, VT tiny) {                                    \
    IT low = (IT)(wh < tiny);                                                                \
    return (VT)((low & (IT)tiny) | (~low & (IT)wh));                                        \
}

/* Hp (k x ldh) = Ht^T (Ht n x k), zero from column n on */
#define NMFKIT_KL_PAD_DEFINE(P, T)                                                           \
static void nmfkit_kl_pad_##P(const T *Ht, ptrdiff_t n, ptrdiff_t k, T *Hp, ptrdiff_t ldh) { \
    for (ptrdiff_t j = 0; j < n; j++)                                                        \
        for (ptrdiff_t c = 0; c < k; c++)                                                    \
            Hp[c * ldh + j] = Ht[j * k + c];                                                 \
    for (ptrdiff_t c = 0; c < k; c++)                                                        \
        for (ptrdiff_t j = n; j < ldh; j++)                                                  \
            Hp[c * ldh + j] = 0;                                                             \
}
NMFKIT_KL_PAD_DEFINE(f64, double)
NMFKIT_KL_PAD_DEFINE(f32, float)

/* the arithmetic of a step (nmfkit_kl_step, nmfkit_kl_stepb): MULT[c], a scalar or its
   vector, times v[c] summed into wh; the ratio; ratio times MULT[c] into acc[c] */
#define NMFKIT_KL_STEP_BODY(S, VT, MULT)                                                     \
    VT wh = MULT[0] * v[0];                                                                  \
    for (ptrdiff_t c = 1; c < k; c++)                                                        \
        wh = wh + MULT[c] * v[c];                                                            \
    VT r = nmfkit_kl_ratio_##S(x, wh, vtiny);                                                \
    for (ptrdiff_t c = 0; c < k; c++)                                                        \
        acc[c] = acc[c] + r * MULT[c];

/* NMFKIT_KL_DEFINE(S, P, T, VT, IT, LANES): the kernels for scalar T (P: f64 or f32), its
   vector VT of LANES entries and the integer vector IT of the same width, named with suffix
   S, over the clamp nmfkit_kl_clamp_##S. */
#define NMFKIT_KL_DEFINE(S, P, T, VT, IT, LANES)                                             \
                                                                                             \
/* v / max(wh, tiny), lane by lane */                                                        \
NMFKIT_KL_INLINE VT nmfkit_kl_ratio_##S(VT v, VT wh, VT tiny) {                              \
    return v / nmfkit_kl_clamp_##S(wh, tiny);                                                \
}                                                                                            \
                                                                                             \
/* LANES copies of s, as a scalar operand of a vector operation is broadcast (no arithmetic:  \
   a -0.0 stays -0.0) */                                                                     \
NMFKIT_KL_INLINE VT nmfkit_kl_splat_##S(T s) {                                               \
    VT x;                                                                                    \
    for (int l = 0; l < LANES; l++)                                                          \
        x[l] = s;                                                                            \
    return x;                                                                                \
}                                                                                            \
                                                                                             \
NMFKIT_KL_INLINE VT nmfkit_kl_load_##S(const T *p) {                                         \
    VT x;                                                                                    \
    memcpy(&x, p, sizeof x);                                                                 \
    return x;                                                                                \
}                                                                                            \
                                                                                             \
/* the first `count` (< LANES) entries of p, zeros after */                                 \
NMFKIT_KL_INLINE VT nmfkit_kl_load_part_##S(const T *p, ptrdiff_t count) {                   \
    T part[LANES] = {0};                                                                     \
    for (int l = 0; l < LANES - 1; l++)                                                      \
        if (l < count)                                                                       \
            part[l] = p[l];                                                                  \
    return nmfkit_kl_load_##S(part);                                                         \
}                                                                                            \
                                                                                             \
/* the lanes of x added pairwise: ((x0 + x1) + (x2 + x3)) + ... */                           \
NMFKIT_KL_INLINE T nmfkit_kl_lanes_sum_##S(VT x) {                                           \
    T s[LANES];                                                                              \
    for (int l = 0; l < LANES; l++)                                                          \
        s[l] = x[l];                                                                         \
    for (int w = 1; w < LANES; w *= 2)                                                       \
        for (int l = 0; l + w < LANES; l += 2 * w)                                           \
            s[l] = s[l] + s[l + w];                                                          \
    return s[0];                                                                             \
}                                                                                            \
                                                                                             \
/* one vector x of row i's entries at columns j..j+LANES-1 into acc (rows side) */           \
NMFKIT_KL_INLINE void nmfkit_kl_rows_step_##S(VT x, const T *Hp, ptrdiff_t ldh, ptrdiff_t j, \
                                              const VT *w, VT *acc, const ptrdiff_t k,       \
                                              VT vtiny) {                                    \
    VT h[NMFKIT_KL_SMALL_KMAX];                                                              \
    for (ptrdiff_t c = 0; c < k; c++)                                                        \
        h[c] = nmfkit_kl_load_##S(Hp + c * ldh + j);                                         \
    VT wh = w[0] * h[0];                                                                     \
    for (ptrdiff_t c = 1; c < k; c++)                                                        \
        wh = wh + w[c] * h[c];                                                               \
    VT r = nmfkit_kl_ratio_##S(x, wh, vtiny);                                                \
    for (ptrdiff_t c = 0; c < k; c++)                                                        \
        acc[c] = acc[c] + r * h[c];                                                          \
}                                                                                            \
                                                                                             \
/* rows r0 <= i < r1 of num = R Ht, for a k known where it is inlined */                     \
NMFKIT_KL_INLINE void nmfkit_kl_rows_k_##S(const T *V, ptrdiff_t ldv, const T *W,            \
                                           const T *Hp, ptrdiff_t ldh, ptrdiff_t n,          \
                                           ptrdiff_t r0, ptrdiff_t r1, const ptrdiff_t k,    \
                                           T tiny, T *num) {                                 \
    const VT vtiny = (VT){0} + tiny;                                                         \
    const ptrdiff_t n_full = n - n % LANES;                                                  \
    for (ptrdiff_t i = r0; i < r1; i++) {                                                    \
        const T *v = V + i * ldv;                                                            \
        VT w[NMFKIT_KL_SMALL_KMAX], acc[NMFKIT_KL_SMALL_KMAX];                               \
        for (ptrdiff_t c = 0; c < k; c++) {                                                  \
            w[c] = (VT){0} + W[i * k + c];                                                   \
            acc[c] = (VT){0};                                                                \
        }                                                                                    \
        for (ptrdiff_t j = 0; j < n_full; j += LANES)                                        \
            nmfkit_kl_rows_step_##S(nmfkit_kl_load_##S(v + j), Hp, ldh, j, w, acc, k, vtiny); \
        if (n_full < n)                                                                      \
            nmfkit_kl_rows_step_##S(nmfkit_kl_load_part_##S(v + n_full, n - n_full), Hp, ldh, \
                                    n_full, w, acc, k, vtiny);                               \
        for (ptrdiff_t c = 0; c < k; c++)                                                    \
            num[i * k + c] = nmfkit_kl_lanes_sum_##S(acc[c]);                                \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* one vector x of entries of V into acc, each with its own products: from the scalars s     \
   and the vectors v, wh = s_0 v_0 + s_1 v_1 + ... and acc_c += ratio s_c. Columns side:     \
   x is row i at a block of columns, s = row i of W, v = H's rows at those columns */        \
NMFKIT_KL_INLINE void nmfkit_kl_step_##S(VT x, const T *s, const VT *v, VT *acc,             \
                                         const ptrdiff_t k, VT vtiny) {                      \
    NMFKIT_KL_STEP_BODY(S, VT, s)                                                            \
}                                                                                            \
                                                                                             \
/* nmfkit_kl_step with the scalars given as vectors sb (each lane of sb_c the same s_c: the  \
   same arithmetic, without k broadcasts per step). Rows side, short rows: x is column j of  \
   a block of rows, sb = row j of Ht (broadcast once per call), v = the block's rows of W    \
   (one per lane) */                                                                         \
NMFKIT_KL_INLINE void nmfkit_kl_stepb_##S(VT x, const VT *sb, const VT *v, VT *acc,          \
                                          const ptrdiff_t k, VT vtiny) {                     \
    NMFKIT_KL_STEP_BODY(S, VT, sb)                                                           \
}                                                                                            \
                                                                                             \
/* two vectors x0, x1 of one row of V, side by side (columns side): each as                \
   nmfkit_kl_step with its own v, sharing the broadcasts of s */                             \
NMFKIT_KL_INLINE void nmfkit_kl_step2_##S(VT x0, VT x1, const T *s, const VT *v0,           \
                                          const VT *v1, VT *acc0, VT *acc1,                  \
                                          const ptrdiff_t k, VT vtiny) {                     \
    VT wh0 = s[0] * v0[0], wh1 = s[0] * v1[0];                                               \
    for (ptrdiff_t c = 1; c < k; c++) {                                                      \
        wh0 = wh0 + s[c] * v0[c];                                                            \
        wh1 = wh1 + s[c] * v1[c];                                                            \
    }                                                                                        \
    VT r0 = nmfkit_kl_ratio_##S(x0, wh0, vtiny), r1 = nmfkit_kl_ratio_##S(x1, wh1, vtiny);   \
    for (ptrdiff_t c = 0; c < k; c++) {                                                      \
        acc0[c] = acc0[c] + r0 * s[c];                                                       \
        acc1[c] = acc1[c] + r1 * s[c];                                                       \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* rows c0 <= j < c1 of num = R^T W (V m x n), for a k known where it is inlined: groups     \
   of NMFKIT_KL_GROUP vectors of columns walk down V in blocks of NMFKIT_KL_ROW_BLOCK rows,  \
   which stay in cache for every vector of the group (a tall V is read once, not once per    \
   vector), two vectors side by side where there are two (nmfkit_kl_step2); each column's    \
   sums still run down all the rows in order */                                              \
NMFKIT_KL_INLINE void nmfkit_kl_cols_k_##S(const T *V, ptrdiff_t ldv, const T *W,            \
                                           const T *Hp, ptrdiff_t ldh, ptrdiff_t m,          \
                                           ptrdiff_t n, ptrdiff_t c0, ptrdiff_t c1,          \
                                           const ptrdiff_t k, T tiny, T *num) {              \
    const VT vtiny = (VT){0} + tiny;                                                         \
    VT kept[NMFKIT_KL_GROUP][NMFKIT_KL_SMALL_KMAX];                                          \
    for (ptrdiff_t g0 = c0; g0 < c1; g0 += NMFKIT_KL_GROUP * LANES) {                        \
        const ptrdiff_t span = NMFKIT_KL_GROUP * LANES;                                      \
        const ptrdiff_t g1 = c1 - g0 < span ? c1 : g0 + span;                                \
        const int contiguous = g0 == 0 && g1 == n && ldv == n;                               \
        for (ptrdiff_t i0 = 0; i0 < m; i0 += NMFKIT_KL_ROW_BLOCK) {                          \
            const ptrdiff_t i1 = m - i0 < NMFKIT_KL_ROW_BLOCK ? m : i0 + NMFKIT_KL_ROW_BLOCK; \
            /* the next block's part of V, whose rows lie far apart for the prefetchers      \
               (not when the group spans whole rows of V: then the block is one run) */     \
            for (ptrdiff_t i = i1; i < i1 + NMFKIT_KL_ROW_BLOCK && i < m && !contiguous; i++) \
                for (ptrdiff_t j = g0; j < g1; j += 64 / (ptrdiff_t)sizeof(T))               \
                    __builtin_prefetch(V + i * ldv + j);                                     \
            ptrdiff_t j = g0, q = 0;                                                         \
            for (; j + 2 * LANES <= g1 && j + 2 * LANES <= n; j += 2 * LANES, q += 2) {      \
                VT h[2][NMFKIT_KL_SMALL_KMAX], acc[2][NMFKIT_KL_SMALL_KMAX];                 \
                for (int p = 0; p < 2; p++)                                                  \
                    for (ptrdiff_t c = 0; c < k; c++) {                                      \
                        h[p][c] = nmfkit_kl_load_##S(Hp + c * ldh + j + p * LANES);          \
                        acc[p][c] = i0 == 0 ? (VT){0} : kept[q + p][c];                      \
                    }                                                                        \
                for (ptrdiff_t i = i0; i < i1; i++)                                          \
                    nmfkit_kl_step2_##S(nmfkit_kl_load_##S(V + i * ldv + j),                 \
                                        nmfkit_kl_load_##S(V + i * ldv + j + LANES),         \
                                        W + i * k, h[0], h[1], acc[0], acc[1], k, vtiny);    \
                for (int p = 0; p < 2; p++)                                                  \
                    for (ptrdiff_t c = 0; c < k; c++)                                        \
                        kept[q + p][c] = acc[p][c];                                          \
            }                                                                                \
            for (; j < g1; j += LANES, q++) {                                                \
                const ptrdiff_t width = n - j < LANES ? n - j : LANES;                       \
                VT h[NMFKIT_KL_SMALL_KMAX], acc[NMFKIT_KL_SMALL_KMAX];                       \
                for (ptrdiff_t c = 0; c < k; c++) {                                          \
                    h[c] = nmfkit_kl_load_##S(Hp + c * ldh + j);                             \
                    acc[c] = i0 == 0 ? (VT){0} : kept[q][c];                                 \
                }                                                                            \
                if (width == LANES) {                                                        \
                    for (ptrdiff_t i = i0; i < i1; i++)                                      \
                        nmfkit_kl_step_##S(nmfkit_kl_load_##S(V + i * ldv + j), W + i * k,   \
                                                h, acc, k, vtiny);                           \
                } else {  /* the last columns: a whole vector read into the next row,        \
                             its lanes past n zeroed, but in V's last row */                 \
                    IT keep = (IT){0};                                                       \
                    for (ptrdiff_t l = 0; l < width; l++)                                    \
                        keep[l] = -1;                                                        \
                    const ptrdiff_t i_end = i1 < m ? i1 : m - 1;                             \
                    for (ptrdiff_t i = i0; i < i_end; i++)                                   \
                        nmfkit_kl_step_##S(                                                  \
                            (VT)((IT)nmfkit_kl_load_##S(V + i * ldv + j) & keep), W + i * k, h, \
                            acc, k, vtiny);                                                  \
                    if (i_end < i1)                                                          \
                        nmfkit_kl_step_##S(nmfkit_kl_load_part_##S(V + i_end * ldv + j,      \
                                                                         width),             \
                                                W + i_end * k, h, acc, k, vtiny);            \
                }                                                                            \
                for (ptrdiff_t c = 0; c < k; c++)                                            \
                    kept[q][c] = acc[c];                                                     \
            }                                                                                \
        }                                                                                    \
        for (ptrdiff_t j = g0, q = 0; j < g1; j += LANES, q++)                               \
            for (ptrdiff_t l = 0; l < LANES && j + l < g1; l++)                              \
                for (ptrdiff_t c = 0; c < k; c++)                                            \
                    num[(j + l) * k + c] = kept[q][c][l];                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* rows i <= . < i + rows (rows <= LANES) of num = R Ht for short rows, for a k and (whole   \
   blocks) a rows known where it is inlined */                                               \
NMFKIT_KL_INLINE void nmfkit_kl_rows_block_##S(const T *V, ptrdiff_t ldv, const T *W,        \
                                               const VT *Ht, ptrdiff_t n, ptrdiff_t i,       \
                                               const ptrdiff_t rows, const ptrdiff_t k,      \
                                               VT vtiny, T *num) {                           \
    VT w[NMFKIT_KL_SMALL_KMAX], acc[NMFKIT_KL_SMALL_KMAX];                                   \
    for (ptrdiff_t c = 0; c < k; c++) {                                                      \
        w[c] = (VT){0};                                                                      \
        for (ptrdiff_t l = 0; l < rows; l++)                                                 \
            w[c][l] = W[(i + l) * k + c];                                                    \
        acc[c] = (VT){0};                                                                    \
    }                                                                                        \
    const T *v = V + i * ldv;                                                                \
    ptrdiff_t j = 0;                                                                         \
    if (NMFKIT_KL_TRANSPOSE4 && LANES == 4 && rows == LANES) {                               \
        /* 4 columns of 4 rows at a time: 4 loads and a transpose, not 16 scalar loads */    \
        for (; j + 4 <= n; j += 4) {                                                         \
            VT x[4];                                                                         \
            nmfkit_kl_transpose4_##P(v + j, ldv, x);                                         \
            for (int q = 0; q < 4; q++)                                                      \
                nmfkit_kl_stepb_##S(x[q], Ht + (j + q) * k, w, acc, k, vtiny);               \
        }                                                                                    \
    }                                                                                        \
    for (; j < n; j++) {                                                                     \
        VT x = (VT){0};                                                                      \
        for (ptrdiff_t l = 0; l < rows; l++)                                                 \
            x[l] = v[l * ldv + j];                                                           \
        nmfkit_kl_stepb_##S(x, Ht + j * k, w, acc, k, vtiny);                                \
    }                                                                                        \
    for (ptrdiff_t l = 0; l < rows; l++)                                                     \
        for (ptrdiff_t c = 0; c < k; c++)                                                    \
            num[(i + l) * k + c] = acc[c][l];                                                \
}                                                                                            \
                                                                                             \
/* rows r0 <= i < r1 of num = R Ht for short rows (n < NMFKIT_KL_SHORT_ROWS), for a k known  \
   where it is inlined: a vector holds LANES rows, each lane summing its row's columns in    \
   order (no sum across lanes, whose cost per row a short row does not repay); Ht's entries  \
   are broadcast once, for all blocks (at most 127 x 6 vectors, 24 KiB) */                   \
NMFKIT_KL_INLINE void nmfkit_kl_rows_short_k_##S(const T *V, ptrdiff_t ldv, const T *W,      \
                                                 const T *Ht, ptrdiff_t n, ptrdiff_t r0,     \
                                                 ptrdiff_t r1, const ptrdiff_t k, T tiny,    \
                                                 T *num) {                                   \
    const VT vtiny = (VT){0} + tiny;                                                         \
    VT hb[NMFKIT_KL_SHORT_ROWS * NMFKIT_KL_SMALL_KMAX];                                      \
    for (ptrdiff_t j = 0; j < n; j++)                                                        \
        for (ptrdiff_t c = 0; c < k; c++)                                                    \
            hb[j * k + c] = nmfkit_kl_splat_##S(Ht[j * k + c]);                              \
    ptrdiff_t i = r0;                                                                        \
    for (; i + LANES <= r1; i += LANES)                                                      \
        nmfkit_kl_rows_block_##S(V, ldv, W, hb, n, i, LANES, k, vtiny, num);                 \
    if (i < r1)                                                                              \
        nmfkit_kl_rows_block_##S(V, ldv, W, hb, n, i, r1 - i, k, vtiny, num);                \
}                                                                                            \
                                                                                             \
static void nmfkit_kl_rows_##S(const T *V, ptrdiff_t ldv, const T *W, const T *Ht,           \
                               const T *Hp, ptrdiff_t ldh, ptrdiff_t n, ptrdiff_t r0,        \
                               ptrdiff_t r1, ptrdiff_t k, T tiny, T *num) {                  \
    if (n < NMFKIT_KL_SHORT_ROWS) {                                                          \
        switch (k) {                                                                         \
        case 1: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 1, tiny, num); break;   \
        case 2: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 2, tiny, num); break;   \
        case 3: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 3, tiny, num); break;   \
        case 4: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 4, tiny, num); break;   \
        case 5: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 5, tiny, num); break;   \
        default: nmfkit_kl_rows_short_k_##S(V, ldv, W, Ht, n, r0, r1, 6, tiny, num); break;  \
        }                                                                                    \
        return;                                                                              \
    }                                                                                        \
    switch (k) {                                                                             \
    case 1: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 1, tiny, num); break;        \
    case 2: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 2, tiny, num); break;        \
    case 3: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 3, tiny, num); break;        \
    case 4: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 4, tiny, num); break;        \
    case 5: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 5, tiny, num); break;        \
    default: nmfkit_kl_rows_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 6, tiny, num); break;       \
    }                                                                                        \
}                                                                                            \
                                                                                             \
static void nmfkit_kl_cols_##S(const T *V, ptrdiff_t ldv, const T *W, const T *Hp,           \
                               ptrdiff_t ldh, ptrdiff_t m, ptrdiff_t n, ptrdiff_t c0,        \
                               ptrdiff_t c1, ptrdiff_t k, T tiny, T *num) {                  \
    switch (k) {                                                                             \
    case 1: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 1, tiny, num); break;     \
    case 2: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 2, tiny, num); break;     \
    case 3: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 3, tiny, num); break;     \
    case 4: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 4, tiny, num); break;     \
    case 5: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 5, tiny, num); break;     \
    default: nmfkit_kl_cols_k_##S(V, ldv, W, Hp, ldh, m, n, c0, c1, 6, tiny, num); break;    \
    }                                                                                        \
}


/* The natural logarithm of 4 doubles, each normal, positive and finite, to within an ulp,
   in vector operations only (the scalar log is the bound of the KL objective). y = 2^e m
   with m in [sqrt(2)/2, sqrt(2)); f = m - 1 (exact); log(1 + f) = f - hfsq + s (hfsq + R)
   with s = f / (2 + f), hfsq = f^2 / 2 and R(s^2) a minimax polynomial (the coefficients of
   the classic argument reduction of Tang and of fdlibm); log 2 in two parts. */
NMFKIT_KL_INLINE nmfkit_v4d nmfkit_kl_log_f64(nmfkit_v4d y) {
    const long long shift = 0x3ff0000000000000LL - 0x3fe6a09e667f3bcdLL;
    const nmfkit_v4d L1 = (nmfkit_v4d){0} + 6.666666666666735130e-01,
                     L2 = (nmfkit_v4d){0} + 3.999999999940941908e-01,
                     L3 = (nmfkit_v4d){0} + 2.857142874366239149e-01,
                     L4 = (nmfkit_v4d){0} + 2.222219843214978396e-01,
                     L5 = (nmfkit_v4d){0} + 1.818357216161805012e-01,
                     L6 = (nmfkit_v4d){0} + 1.531383769920937332e-01,
                     L7 = (nmfkit_v4d){0} + 1.479819860511658591e-01;
    const nmfkit_v4d one = (nmfkit_v4d){0} + 1.0, two = (nmfkit_v4d){0} + 2.0,
                     half = (nmfkit_v4d){0} + 0.5;
    const nmfkit_v4d ln2_hi = (nmfkit_v4d){0} + 6.93147180369123816490e-01,
                     ln2_lo = (nmfkit_v4d){0} + 1.90821492927058770002e-10;
    /* 2^52, whose low bits take e + 1024 exactly; then 2^52 + 1024 off */
    const nmfkit_v4d two52 = (nmfkit_v4d){0} + 4503599627370496.0,
                     offset = (nmfkit_v4d){0} + 4503599627371520.0;
    nmfkit_v4l ix = (nmfkit_v4l)y + shift;  /* positive: y is normal, positive, finite */
    nmfkit_v4l biased = (nmfkit_v4l)((nmfkit_v4ul)ix >> 52);  /* e + 1023 */
    nmfkit_v4d m = (nmfkit_v4d)((ix & 0x000fffffffffffffLL) + 0x3fe6a09e667f3bcdLL);
    nmfkit_v4d dk = (nmfkit_v4d)((nmfkit_v4l)two52 | (biased + 1)) - offset;
    nmfkit_v4d f = m - one;
    nmfkit_v4d s = f / (two + f);
    nmfkit_v4d hfsq = half * f * f;
    nmfkit_v4d z = s * s;
    nmfkit_v4d w = z * z;
    nmfkit_v4d t1 = w * (L2 + w * (L4 + w * L6));
    nmfkit_v4d t2 = z * (L1 + w * (L3 + w * (L5 + w * L7)));
    nmfkit_v4d R = t2 + t1;
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
}

/* sum over rows r0 <= i < r1 of V of d_KL(v | wh) = wh + (v > 0: v log(v / max(wh, tiny))
   - v), in double: per row, each lane sums its columns in order, the lanes are added
   pairwise, and the rows one after the other; a NaN v (unobserved) is left out. Blocks of
   a row go in three loops (quotients, logarithms, sums), which keep more independent
   divisions in flight than one loop of long dependent chains. A quotient that is not a
   normal positive number (subnormal; NaN or infinite data) sends its block through the C
   library's log, the same in every build. */
#define NMFKIT_KL_OBJ_BLOCK 64  /* vectors per block of a row: the quotients, then logs */

/* NMFKIT_KL_OBJECTIVE_DEFINE(S): the objective over version S's double kernels */
#define NMFKIT_KL_OBJECTIVE_DEFINE(S)                                                        \
NMFKIT_KL_INLINE double nmfkit_kl_objective_k_##S(const double *V, ptrdiff_t ldv,            \
                                                  const double *W, const double *Hp,         \
                                                  ptrdiff_t ldh, ptrdiff_t n, ptrdiff_t r0,  \
                                                  ptrdiff_t r1, const ptrdiff_t k,           \
                                                  double tiny) {                             \
    const nmfkit_v4d vtiny = (nmfkit_v4d){0} + tiny, zero = (nmfkit_v4d){0},                 \
                     one = (nmfkit_v4d){0} + 1.0, lowest = (nmfkit_v4d){0} + DBL_MIN,        \
                     highest = (nmfkit_v4d){0} + DBL_MAX;                                    \
    const ptrdiff_t n_full = n - n % 4;                                                      \
    nmfkit_v4d xs[NMFKIT_KL_OBJ_BLOCK], whs[NMFKIT_KL_OBJ_BLOCK], ys[NMFKIT_KL_OBJ_BLOCK];   \
    double total = 0.0;                                                                      \
    for (ptrdiff_t i = r0; i < r1; i++) {                                                    \
        const double *v = V + i * ldv;                                                       \
        const double *w = W + i * k;                                                         \
        nmfkit_v4d acc = zero;                                                               \
        for (ptrdiff_t j0 = 0; j0 < n; j0 += 4 * NMFKIT_KL_OBJ_BLOCK) {                      \
            const ptrdiff_t span = 4 * NMFKIT_KL_OBJ_BLOCK;                                  \
            const ptrdiff_t j1 = n - j0 < span ? n : j0 + span;                              \
            const ptrdiff_t count = (j1 - j0 + 3) / 4;                                       \
            nmfkit_v4l all_normal = (nmfkit_v4l){0} - 1;                                     \
            /* the products, and the quotients v / max(wh, tiny) where v > 0, else 1 */      \
            for (ptrdiff_t q = 0; q < count; q++) {                                          \
                const ptrdiff_t j = j0 + 4 * q;                                              \
                nmfkit_v4d x = j < n_full ? nmfkit_kl_load_##S(v + j)                        \
                                          : nmfkit_kl_load_part_##S(v + j, n - j);           \
                nmfkit_v4d wh = w[0] * nmfkit_kl_load_##S(Hp + j);                           \
                for (ptrdiff_t c = 1; c < k; c++)                                            \
                    wh = wh + w[c] * nmfkit_kl_load_##S(Hp + c * ldh + j);                   \
                nmfkit_v4l pos = (nmfkit_v4l)(x > zero);                                     \
                nmfkit_v4l q_ = (nmfkit_v4l)nmfkit_kl_ratio_##S(x, wh, vtiny);               \
                nmfkit_v4d y = (nmfkit_v4d)((pos & q_) | (~pos & (nmfkit_v4l)one));          \
                all_normal &= (nmfkit_v4l)(y >= lowest) & (nmfkit_v4l)(y <= highest);        \
                xs[q] = x;                                                                   \
                whs[q] = wh;                                                                 \
                ys[q] = y;                                                                   \
            }                                                                                \
            if (all_normal[0] & all_normal[1] & all_normal[2] & all_normal[3]) {             \
                for (ptrdiff_t q = 0; q < count; q++)                                        \
                    ys[q] = nmfkit_kl_log_f64(ys[q]);                                        \
            } else {                                                                         \
                for (ptrdiff_t q = 0; q < count; q++)                                        \
                    for (int l = 0; l < 4; l++)                                              \
                        ys[q][l] = log(ys[q][l]);                                            \
            }                                                                                \
            for (ptrdiff_t q = 0; q < count; q++) {                                          \
                nmfkit_v4d x = xs[q];                                                        \
                acc = acc + (nmfkit_v4d)((nmfkit_v4l)(x == x) & (nmfkit_v4l)whs[q]);         \
                acc = acc + (nmfkit_v4d)((nmfkit_v4l)(x > zero)                              \
                                         & (nmfkit_v4l)(x * ys[q] - x));                     \
            }                                                                                \
        }                                                                                    \
        total = total + nmfkit_kl_lanes_sum_##S(acc);                                        \
    }                                                                                        \
    return total;                                                                            \
}                                                                                            \
                                                                                             \
static double nmfkit_kl_objective_##S(const double *V, ptrdiff_t ldv, const double *W,       \
                                      const double *Hp, ptrdiff_t ldh, ptrdiff_t n,          \
                                      ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t k, double tiny) { \
    switch (k) {                                                                             \
    case 1: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 1, tiny);        \
    case 2: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 2, tiny);        \
    case 3: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 3, tiny);        \
    case 4: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 4, tiny);        \
    case 5: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 5, tiny);        \
    default: return nmfkit_kl_objective_k_##S(V, ldv, W, Hp, ldh, n, r0, r1, 6, tiny);       \
    }                                                                                        \
}

#if NMFKIT_KL_DISPATCH
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
NMFKIT_KL_INLINE nmfkit_v4d nmfkit_kl_clamp_f64_v3(nmfkit_v4d wh, nmfkit_v4d tiny) {
    return __builtin_ia32_maxpd256(tiny, wh);
}
NMFKIT_KL_INLINE nmfkit_v8f nmfkit_kl_clamp_f32_v3(nmfkit_v8f wh, nmfkit_v8f tiny) {
    return __builtin_ia32_maxps256(tiny, wh);
}
NMFKIT_KL_DEFINE(f64_v3, f64, double, nmfkit_v4d, nmfkit_v4l, NMFKIT_KL_LANES_F64)
NMFKIT_KL_DEFINE(f32_v3, f32, float, nmfkit_v8f, nmfkit_v8i, NMFKIT_KL_LANES_F32)
NMFKIT_KL_OBJECTIVE_DEFINE(f64_v3)
#pragma GCC pop_options
#endif
NMFKIT_KL_CLAMP_DEFINE(f64_base, nmfkit_v4d, nmfkit_v4l)
NMFKIT_KL_CLAMP_DEFINE(f32_base, nmfkit_v8f, nmfkit_v8i)
NMFKIT_KL_DEFINE(f64_base, f64, double, nmfkit_v4d, nmfkit_v4l, NMFKIT_KL_LANES_F64)
NMFKIT_KL_DEFINE(f32_base, f32, float, nmfkit_v8f, nmfkit_v8i, NMFKIT_KL_LANES_F32)
NMFKIT_KL_OBJECTIVE_DEFINE(f64_base)

/* the entries called from dense.pyx: this CPU's version */
#define NMFKIT_KL_ENTRIES_DEFINE(P, T)                                                       \
static void nmfkit_kl_rows_##P(const T *V, ptrdiff_t ldv, const T *W, const T *Ht,           \
                               const T *Hp, ptrdiff_t ldh, ptrdiff_t n, ptrdiff_t r0,        \
                               ptrdiff_t r1, ptrdiff_t k, T tiny, T *num) {                  \
    NMFKIT_KL_PICK(nmfkit_kl_rows_##P)(V, ldv, W, Ht, Hp, ldh, n, r0, r1, k, tiny, num);     \
}                                                                                            \
static void nmfkit_kl_cols_##P(const T *V, ptrdiff_t ldv, const T *W, const T *Hp,           \
                               ptrdiff_t ldh, ptrdiff_t m, ptrdiff_t n, ptrdiff_t c0,        \
                               ptrdiff_t c1, ptrdiff_t k, T tiny, T *num) {                  \
    NMFKIT_KL_PICK(nmfkit_kl_cols_##P)(V, ldv, W, Hp, ldh, m, n, c0, c1, k, tiny, num);      \
}
NMFKIT_KL_ENTRIES_DEFINE(f64, double)
NMFKIT_KL_ENTRIES_DEFINE(f32, float)

static double nmfkit_kl_objective_f64(const double *V, ptrdiff_t ldv, const double *W,
                                      const double *Hp, ptrdiff_t ldh, ptrdiff_t n,
                                      ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t k, double tiny) {
    return NMFKIT_KL_PICK(nmfkit_kl_objective_f64)(V, ldv, W, Hp, ldh, n, r0, r1, k, tiny);
}

#else  /* no vector types: never called (NMFKIT_KL_SMALL_KMAX is 0), declared for Cython */
#define NMFKIT_KL_STUBS(S, T)                                                                \
static void nmfkit_kl_pad_##S(const T *Ht, ptrdiff_t n, ptrdiff_t k, T *Hp, ptrdiff_t ldh) { \
    (void)Ht; (void)n; (void)k; (void)Hp; (void)ldh;                                         \
}                                                                                            \
static void nmfkit_kl_rows_##S(const T *V, ptrdiff_t ldv, const T *W, const T *Ht,           \
                               const T *Hp, ptrdiff_t ldh, ptrdiff_t n, ptrdiff_t r0,        \
                               ptrdiff_t r1, ptrdiff_t k, T tiny, T *num) {                  \
    (void)V; (void)ldv; (void)W; (void)Ht; (void)Hp; (void)ldh; (void)n; (void)r0; (void)r1; \
    (void)k; (void)tiny; (void)num;                                                          \
}                                                                                            \
static void nmfkit_kl_cols_##S(const T *V, ptrdiff_t ldv, const T *W, const T *Hp,           \
                               ptrdiff_t ldh, ptrdiff_t m, ptrdiff_t n, ptrdiff_t c0,        \
                               ptrdiff_t c1, ptrdiff_t k, T tiny, T *num) {                  \
    (void)V; (void)ldv; (void)W; (void)Hp; (void)ldh; (void)m; (void)n; (void)c0;            \
    (void)c1; (void)k; (void)tiny; (void)num;                                                \
}
NMFKIT_KL_STUBS(f64, double)
NMFKIT_KL_STUBS(f32, float)
static double nmfkit_kl_objective_f64(const double *V, ptrdiff_t ldv, const double *W,
                                      const double *Hp, ptrdiff_t ldh, ptrdiff_t n,
                                      ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t k, double tiny) {
    (void)V; (void)ldv; (void)W; (void)Hp; (void)ldh; (void)n; (void)r0; (void)r1; (void)k;
    (void)tiny;
    return 0.0;
}
#endif
#endif
