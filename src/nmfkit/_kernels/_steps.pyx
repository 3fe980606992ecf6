# Row-parallel update steps of one factor A (r x k) given its products with the data.
#
# Every factor update of nmfkit is, row by row, a function of A's own row, a numerator
# row (X B for Frobenius, (X / AB^T) B for KL) and a small k x k Gram matrix or a k-vector.
# Rows are independent, so each step is one parallel pass over A with no temporaries but a
# k-sized buffer per thread. Each step returns sums computed from the rows *before* the
# update, from which the caller gets the objective at the old iterate for free.
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt

from ._common cimport floating, NMFKIT_HAVE_OPENMP, nmfkit_max_threads

HAVE_OPENMP = bool(NMFKIT_HAVE_OPENMP)


def max_threads():
    """omp_get_max_threads() now (1 without OpenMP): honours threadpoolctl and OMP_NUM_THREADS."""
    return nmfkit_max_threads()


def mu_fro_step(floating[:, ::1] A not None, const floating[:, ::1] num not None, const floating[:, ::1] gram not None,
                double l1, double l2, double floor, double tiny, int n_threads):
    """Frobenius multiplicative step, in place.

    A (r x k) IN/OUT factor; num (r x k) IN = X B; gram (k x k) IN = B^T B.
    A <- max(floor, A * num / (A gram + l1 + l2 A)), a zero denominator read as tiny.
    Returns (sum(A_old * num), sum(A_old * (A_old gram)), ||A_new - A_old||^2).
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, l
    cdef double s_num = 0.0, s_gram = 0.0, s_delta = 0.0
    cdef double *den
    cdef double a, d, new
    with nogil, parallel(num_threads=n_threads):
        den = <double *> malloc(k * sizeof(double))
        for i in prange(r, schedule='static'):
            for c in range(k):
                d = 0.0
                for l in range(k):
                    d = d + A[i, l] * gram[l, c]
                den[c] = d
            for c in range(k):
                a = A[i, c]
                s_num += a * num[i, c]
                s_gram += a * den[c]
                d = den[c] + l1 + l2 * a
                if d <= 0.0:
                    d = tiny
                new = a * num[i, c] / d
                if new < floor:
                    new = floor
                s_delta += (new - a) * (new - a)
                A[i, c] = <floating> new
        free(den)
    return s_num, s_gram, s_delta


def mu_div_step(floating[:, ::1] A not None, const floating[:, ::1] num not None, const floating[::1] den not None,
                double l1, double l2, double floor, double tiny, int n_threads):
    """Multiplicative step with a per-column denominator (KL: den = column sums of B), in place.

    A (r x k) IN/OUT; num (r x k) IN; den (k) IN.
    A <- max(floor, A * num / (den + l1 + l2 A)), a zero denominator read as tiny.
    Returns ||A_new - A_old||^2.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c
    cdef double s_delta = 0.0
    cdef double a, d, new
    for i in prange(r, nogil=True, schedule='static', num_threads=n_threads):
        for c in range(k):
            a = A[i, c]
            d = den[c] + l1 + l2 * a
            if d <= 0.0:
                d = tiny
            new = a * num[i, c] / d
            if new < floor:
                new = floor
            s_delta += (new - a) * (new - a)
            A[i, c] = <floating> new
    return s_delta


def hals_step(floating[:, ::1] A not None, const floating[:, ::1] num not None, const floating[:, ::1] gram not None,
              double l1, double l2, double floor, int n_threads):
    """One HALS / cyclic coordinate-descent sweep over the columns of A, in place.

    A (r x k) IN/OUT; num (r x k) IN = X B; gram (k x k) IN = B^T B.
    For c = 0..k-1: A[:, c] <- max(floor, A[:, c] + (num[:, c] - l1 - (A gram)[:, c]
    - l2 A[:, c]) / (gram[c, c] + l2)). Rows are independent, so a row-parallel sweep is
    exactly the column-by-column HALS update (Cichocki & Phan 2009).
    Returns (sum(A_old * num), sum(A_old * (A_old gram)), ||A_new - A_old||^2).
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, l
    cdef double s_num = 0.0, s_gram = 0.0, s_delta = 0.0
    cdef double a, g, h, new
    for i in prange(r, nogil=True, schedule='static', num_threads=n_threads):
        for c in range(k):
            g = 0.0
            for l in range(k):
                g = g + A[i, l] * gram[l, c]
            a = A[i, c]
            s_num += a * num[i, c]
            s_gram += a * g
        for c in range(k):
            h = gram[c, c] + l2
            if h <= 0.0:
                continue
            g = 0.0
            for l in range(k):
                g = g + A[i, l] * gram[l, c]
            a = A[i, c]
            new = a + (num[i, c] - l1 - g - l2 * a) / h
            if new < floor:
                new = floor
            s_delta += (new - a) * (new - a)
            A[i, c] = <floating> new
    return s_num, s_gram, s_delta
