# The dense kernels' cores on raw pointers, without the GIL: the def functions of dense.pyx
# check their arguments and call these, and so does the compiled iteration loop (loop.pyx),
# so both run the same arithmetic. Arrays are C-contiguous; no dimension is zero.
from ._common cimport floating

cdef void matmul_core(const floating *X, Py_ssize_t p, Py_ssize_t q, const floating *B,
                      Py_ssize_t k, floating *out, bint trans_x,
                      int n_threads) noexcept nogil

cdef int gram_core(const floating *B, Py_ssize_t r, Py_ssize_t k, floating *out,
                   int n_threads) noexcept nogil

cdef void walk_tiles(const floating *V, const floating *W, const floating *Ht, Py_ssize_t m,
                     Py_ssize_t n, Py_ssize_t k, bint h_side, floating *num, floating *den,
                     floating *buf, Py_ssize_t L, floating *buf2, Py_ssize_t ld2,
                     Py_ssize_t col_block, bint kl, double beta, double tiny,
                     int n_threads) noexcept nogil

cdef int objective_core(const floating *V, const floating *W, const floating *Ht,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, floating *buf, Py_ssize_t L,
                        double beta, double tiny, int n_threads,
                        double *result) noexcept nogil
