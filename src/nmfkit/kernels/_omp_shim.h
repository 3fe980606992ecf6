/* Thread-count query that also compiles without OpenMP (then: one thread). */
#ifndef NMFKIT_OMP_SHIM_H
#define NMFKIT_OMP_SHIM_H
#ifdef _OPENMP
#include <omp.h>
#define NMFKIT_HAVE_OPENMP 1
static inline int nmfkit_max_threads(void) { return omp_get_max_threads(); }
#else
#define NMFKIT_HAVE_OPENMP 0
static inline int nmfkit_max_threads(void) { return 1; }
#endif

/* Read hint for a row that will be needed shortly (random rows of a factor in the sparse
   products); a no-op where the compiler has no such builtin. */
#if defined(__GNUC__) || defined(__clang__)
#define nmfkit_prefetch(p) __builtin_prefetch((const void *)(p), 0, 3)
#else
#define nmfkit_prefetch(p) ((void)0)
#endif

/* max(a, b) without a branch, NaN a giving b: the clip of a HALS coordinate at the floor,
   which half the entries of a real factor hit in no predictable pattern (a compare and
   branch there, as compilers may emit for a ternary inside a large loop, mispredicts). */
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
static inline double nmfkit_max(double a, double b) {
    return _mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(a), _mm_set_sd(b)));
}
#else
static inline double nmfkit_max(double a, double b) { return a > b ? a : b; }
#endif
#endif
