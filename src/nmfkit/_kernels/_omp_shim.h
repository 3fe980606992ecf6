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
#endif
