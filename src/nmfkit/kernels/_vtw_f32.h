/* out (n x k, row stride ldo) = V^T W for float32, V (m x n, row stride ldv) and
   W (m x k, row stride ldw) row-major, for the columns j0 <= j < j1 of V: the H-side
   product of a dense float32 Frobenius iteration.

   Why not BLAS: with k ~ 20, GEMM spends its time packing V, at a cost per entry, not per
   byte, so scipy's float32 GEMM ran this product barely faster than float64. This kernel
   reads V where it lies, in blocks of rows, and keeps a 4 x 24 block of out in twelve AVX
   registers. It is compiled for AVX2 + FMA through a target attribute
   and used only when the CPU has both (nmfkit_vtw_f32_available); elsewhere, and with other
   compilers, the caller uses BLAS. Each entry of out is computed by one thread, as running
   sums over blocks of rows added up in order: the same bits on any thread count. */
#ifndef NMFKIT_VTW_F32_H
#define NMFKIT_VTW_F32_H
#include <stddef.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>

static int nmfkit_vtw_f32_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma")))
static inline __m256i nmfkit_lanes_below(ptrdiff_t count) {
    /* lanes 0..count-1 set (count clipped to 0..8) */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int c = count < 0 ? 0 : (count > 8 ? 8 : (int)count);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), idx);
}

/* Rows per running sum. The rows go in blocks: each block's sums are added up in out, which
   bounds the rounding error by about (ROWS + m / ROWS) eps instead of m eps, and a block
   passes over all the columns before the next one, so its rows' pages stay in the TLB (one
   page per row: walking 4000 rows for each group of columns cost a page walk per row, and
   halved the speed). */
#define NMFKIT_VTW_ROWS 256

__attribute__((target("avx2,fma")))
static inline void nmfkit_vtw_add(float *o, __m256i m0, __m256i m1, __m256i m2, __m256 a0,
                                  __m256 a1, __m256 a2, int accumulate) {
    if (accumulate) {
        a0 = _mm256_add_ps(a0, _mm256_maskload_ps(o, m0));
        a1 = _mm256_add_ps(a1, _mm256_maskload_ps(o + 8, m1));
        a2 = _mm256_add_ps(a2, _mm256_maskload_ps(o + 16, m2));
    }
    _mm256_maskstore_ps(o, m0, a0);
    _mm256_maskstore_ps(o + 8, m1, a1);
    _mm256_maskstore_ps(o + 16, m2, a2);
}

__attribute__((target("avx2,fma")))
static void nmfkit_vtw_f32(const float *V, ptrdiff_t ldv, const float *W, ptrdiff_t ldw,
                           ptrdiff_t m, ptrdiff_t j0, ptrdiff_t j1, ptrdiff_t k,
                           float *out, ptrdiff_t ldo) {
    for (ptrdiff_t c0 = 0; c0 < k; c0 += 24) {
        const ptrdiff_t kc = (k - c0 < 24) ? k - c0 : 24;
        const __m256i m0 = nmfkit_lanes_below(kc), m1 = nmfkit_lanes_below(kc - 8),
                      m2 = nmfkit_lanes_below(kc - 16);
        for (ptrdiff_t i0 = 0; i0 < m; i0 += NMFKIT_VTW_ROWS) {
            const ptrdiff_t i1 = (m - i0 < NMFKIT_VTW_ROWS) ? m : i0 + NMFKIT_VTW_ROWS;
            ptrdiff_t j = j0;
            for (; j + 4 <= j1; j += 4) {
                __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00,
                       a12 = a00, a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00,
                       a32 = a00;
                const float *w = W + i0 * ldw + c0, *v = V + i0 * ldv + j;
                for (ptrdiff_t i = i0; i < i1; i++, w += ldw, v += ldv) {
                    const __m256 w0 = _mm256_maskload_ps(w, m0);
                    const __m256 w1 = _mm256_maskload_ps(w + 8, m1);
                    const __m256 w2 = _mm256_maskload_ps(w + 16, m2);
                    __m256 b = _mm256_broadcast_ss(v);
                    a00 = _mm256_fmadd_ps(b, w0, a00);
                    a01 = _mm256_fmadd_ps(b, w1, a01);
                    a02 = _mm256_fmadd_ps(b, w2, a02);
                    b = _mm256_broadcast_ss(v + 1);
                    a10 = _mm256_fmadd_ps(b, w0, a10);
                    a11 = _mm256_fmadd_ps(b, w1, a11);
                    a12 = _mm256_fmadd_ps(b, w2, a12);
                    b = _mm256_broadcast_ss(v + 2);
                    a20 = _mm256_fmadd_ps(b, w0, a20);
                    a21 = _mm256_fmadd_ps(b, w1, a21);
                    a22 = _mm256_fmadd_ps(b, w2, a22);
                    b = _mm256_broadcast_ss(v + 3);
                    a30 = _mm256_fmadd_ps(b, w0, a30);
                    a31 = _mm256_fmadd_ps(b, w1, a31);
                    a32 = _mm256_fmadd_ps(b, w2, a32);
                }
                float *o = out + j * ldo + c0;
                nmfkit_vtw_add(o, m0, m1, m2, a00, a01, a02, i0 > 0);
                nmfkit_vtw_add(o + ldo, m0, m1, m2, a10, a11, a12, i0 > 0);
                nmfkit_vtw_add(o + 2 * ldo, m0, m1, m2, a20, a21, a22, i0 > 0);
                nmfkit_vtw_add(o + 3 * ldo, m0, m1, m2, a30, a31, a32, i0 > 0);
            }
            for (; j < j1; j++) {  /* the last columns, one at a time */
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0;
                const float *w = W + i0 * ldw + c0, *v = V + i0 * ldv + j;
                for (ptrdiff_t i = i0; i < i1; i++, w += ldw, v += ldv) {
                    const __m256 b = _mm256_broadcast_ss(v);
                    a0 = _mm256_fmadd_ps(b, _mm256_maskload_ps(w, m0), a0);
                    a1 = _mm256_fmadd_ps(b, _mm256_maskload_ps(w + 8, m1), a1);
                    a2 = _mm256_fmadd_ps(b, _mm256_maskload_ps(w + 16, m2), a2);
                }
                nmfkit_vtw_add(out + j * ldo + c0, m0, m1, m2, a0, a1, a2, i0 > 0);
            }
        }
    }
}
#else
static int nmfkit_vtw_f32_available(void) { return 0; }
static void nmfkit_vtw_f32(const float *V, ptrdiff_t ldv, const float *W, ptrdiff_t ldw,
                           ptrdiff_t m, ptrdiff_t j0, ptrdiff_t j1, ptrdiff_t k,
                           float *out, ptrdiff_t ldo) {
    (void)V; (void)ldv; (void)W; (void)ldw; (void)m; (void)j0; (void)j1; (void)k;
    (void)out; (void)ldo;
}
#endif
#endif
