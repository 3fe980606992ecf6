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
#endif
