# The multiplicative steps' cores on raw pointers, without the GIL: the def functions of
# steps.pyx call these, and so does the compiled iteration loop (loop.pyx), so both run
# the same arithmetic. A (r x k) and num are C-contiguous; r and k are not zero.
from ._common cimport floating

cdef int mu_fro_core(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                     const floating *gram, double l1, double l2, double floor, double tiny,
                     int n_threads, double *sums) noexcept nogil

cdef int mu_rows_core(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                      const floating *den, Py_ssize_t den_stride, double l1, double l2,
                      double gamma, double floor, double tiny, int n_threads,
                      double *delta) noexcept nogil
