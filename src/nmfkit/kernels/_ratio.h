/* The KL ratio of a tile, t <- v / max(t, tiny) (t dense rows x cols, v with row stride
   ldv; a NaN in t stays NaN, as `t < tiny ? tiny : t` has it). A division per entry bounds
   the dense KL numerator of a small k: where GCC can make an x86-64 function in two
   versions picked at load time, it gets an AVX2 one, twice as wide as the baseline's SSE2.
   Divisions and comparisons are exact in any width: the same bits either way. */
#ifndef NMFKIT_RATIO_H
#define NMFKIT_RATIO_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NMFKIT_RATIO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NMFKIT_RATIO_CLONES
#endif

NMFKIT_RATIO_CLONES
static void nmfkit_ratio_f64(const double *v, ptrdiff_t ldv, double *t, ptrdiff_t rows,
                             ptrdiff_t cols, double tiny) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const double *vi = v + i * ldv;
        double *ti = t + i * cols;
        for (ptrdiff_t j = 0; j < cols; j++) {
            double wh = ti[j];
            ti[j] = vi[j] / (wh < tiny ? tiny : wh);
        }
    }
}

NMFKIT_RATIO_CLONES
static void nmfkit_ratio_f32(const float *v, ptrdiff_t ldv, float *t, ptrdiff_t rows,
                             ptrdiff_t cols, float tiny) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        const float *vi = v + i * ldv;
        float *ti = t + i * cols;
        for (ptrdiff_t j = 0; j < cols; j++) {
            float wh = ti[j];
            ti[j] = vi[j] / (wh < tiny ? tiny : wh);
        }
    }
}
#endif
