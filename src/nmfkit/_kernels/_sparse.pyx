# CSR kernels: only the stored entries of X are touched; nothing of size m x n exists.
#
# X (r x c) is CSR with canonical format (no duplicates), `data` of the factors' dtype,
# index arrays int32 or int64. A (r x k) holds the factor whose rows follow X's rows, B
# (c x k) the other factor, so X ~= A B^T. The same kernels serve the W update (X = V,
# A = W, B = Ht) and the H update (X = V^T as CSR, A = Ht, B = W).
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport log
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free

from ._common cimport PAD, floating, new_partials, total

ctypedef fused index_t:
    int32_t
    int64_t


def matmul(const index_t[::1] indptr not None, const index_t[::1] indices not None, const floating[::1] data not None,
           const floating[:, ::1] B not None, floating[:, ::1] out not None, int n_threads):
    """out (r x k) OUT = X B; X CSR (r x c) IN; B (c x k) IN. Row-parallel SpMM."""
    cdef Py_ssize_t r = out.shape[0], k = B.shape[1], i, c, p, j
    cdef floating x
    for i in prange(r, nogil=True, schedule='guided', num_threads=n_threads):
        for c in range(k):
            out[i, c] = 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            x = data[p]
            for c in range(k):
                out[i, c] += x * B[j, c]


def kl_numerator(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                 const floating[::1] data not None, const floating[:, ::1] A not None,
                 const floating[:, ::1] B not None, floating[:, ::1] num not None, double tiny, int n_threads):
    """num (r x k) OUT = R B with R = X / max(A B^T, tiny) on X's stored entries only.

    X CSR (r x c) IN; A (r x k), B (c x k) IN. Each (AB^T)_ij is formed where X_ij is
    stored and immediately contracted: O(nnz k), no sampled matrix is kept.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, p, j
    cdef floating wh, ratio
    cdef floating ftiny = <floating> tiny
    for i in prange(r, nogil=True, schedule='guided', num_threads=n_threads):
        for c in range(k):
            num[i, c] = 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            wh = 0
            for c in range(k):
                wh = wh + A[i, c] * B[j, c]
            if wh < ftiny:
                wh = ftiny
            ratio = data[p] / wh
            for c in range(k):
                num[i, c] += ratio * B[j, c]


def stored_terms(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                 const floating[::1] data not None, const floating[:, ::1] A not None,
                 const floating[:, ::1] B not None, double beta, double tiny, int n_threads):
    """The part of a beta-divergence that needs (AB^T)_ij at stored entries, in double.

    X CSR (r x c), A (r x k), B (c x k) IN.
    beta = 2: sum x * wh (the cross term of ||X - AB^T||^2).
    beta = 1: sum over x > 0 of x log(x / max(wh, tiny)).
    Deterministic for a given thread count.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, p, j, tid
    cdef double part, wh, x, result
    cdef bint frob = beta == 2.0
    cdef double *partials = new_partials(n_threads, 1)
    if partials == NULL:
        raise MemoryError()
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        for i in prange(r, schedule='static'):
            part = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                x = data[p]
                wh = 0.0
                for c in range(k):
                    wh = wh + (<double> A[i, c]) * B[j, c]
                if frob:
                    part = part + x * wh
                elif x > 0.0:
                    if wh < tiny:
                        wh = tiny
                    part = part + x * log(x / wh)
            partials[tid * PAD] += part
    result = total(partials, n_threads, 1, 0)
    free(partials)
    return result
