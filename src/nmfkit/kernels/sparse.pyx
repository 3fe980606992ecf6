# CSR kernels: only the stored entries of X are touched; nothing of size m x n exists.
#
# X (r x c) is CSR with canonical format (no duplicates), `data` of the factors' dtype,
# index arrays int32 or int64. A (r x k) holds the factor whose rows follow X's rows, B
# (c x k) the other factor, so X ~= A B^T. The same kernels serve the W update (X = V,
# A = W, B = Ht) and the H update (X = V^T as CSR, A = Ht, B = W). Rows are independent;
# they go in fixed chunks, scheduled dynamically (rows differ in length).
from cython.parallel cimport prange
from libc.math cimport log
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free

from ._beta cimport beta_div, clip_wh, pow_m2
from ._common cimport CHUNK, dot, floating, new_partials, nmfkit_prefetch, total

# Rows of B are read in the order of X's column indices, at random for a large B: each one
# is requested this many stored entries ahead (a prefetch), so that the loads overlap.
cdef enum:
    AHEAD = 16

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline void _axpy(floating x, const floating *b, floating *out,
                       Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(k):
        out[c] += x * b[c]


def matmul(const index_t[::1] indptr not None, const index_t[::1] indices not None,
           const floating[::1] data not None, const floating[:, ::1] B not None,
           floating[:, ::1] out not None, int n_threads):
    """out (r x k) OUT = X B; X CSR (r x c) IN; B (c x k) IN. Row-parallel SpMM."""
    cdef Py_ssize_t r = out.shape[0], k = B.shape[1], i, c, p
    cdef Py_ssize_t last = indptr[r] - AHEAD  # prefetch across rows, within the matrix
    cdef floating *o
    for i in prange(r, nogil=True, schedule='dynamic', chunksize=CHUNK,
                    num_threads=n_threads):
        o = &out[i, 0]
        for c in range(k):
            o[c] = 0
        for p in range(indptr[i], indptr[i + 1]):
            if p < last:
                nmfkit_prefetch(&B[indices[p + AHEAD], 0])
            _axpy(data[p], &B[indices[p], 0], o, k)


def kl_numerator(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                 const floating[::1] data not None, const floating[:, ::1] A not None,
                 const floating[:, ::1] B not None, floating[:, ::1] num not None,
                 double tiny, int n_threads):
    """num (r x k) OUT = R B with R = X / max(A B^T, tiny) on X's stored entries only.

    X CSR (r x c) IN; A (r x k), B (c x k) IN. Each (AB^T)_ij is formed where X_ij is
    stored and immediately contracted: O(nnz k), no sampled matrix is kept.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, p
    cdef Py_ssize_t last = indptr[r] - AHEAD
    cdef floating wh
    cdef floating ftiny = <floating> tiny
    cdef floating *o
    cdef const floating *b
    for i in prange(r, nogil=True, schedule='dynamic', chunksize=CHUNK,
                    num_threads=n_threads):
        o = &num[i, 0]
        for c in range(k):
            o[c] = 0
        for p in range(indptr[i], indptr[i + 1]):
            if p < last:
                nmfkit_prefetch(&B[indices[p + AHEAD], 0])
            b = &B[indices[p], 0]
            wh = <floating> dot(&A[i, 0], b, k)
            if wh < ftiny:
                wh = ftiny
            _axpy(data[p] / wh, b, o, k)


def stored_terms(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                 const floating[::1] data not None, const floating[:, ::1] A not None,
                 const floating[:, ::1] B not None, double beta, double tiny, int n_threads):
    """The part of a beta-divergence that needs (AB^T)_ij at stored entries, in double.

    X CSR (r x c), A (r x k), B (c x k) IN.
    beta = 2: sum x * wh (the cross term of ||X - AB^T||^2).
    beta = 1: sum over x > 0 of x log(x / max(wh, tiny)).
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, p, ch
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK
    cdef Py_ssize_t last = indptr[r] - AHEAD
    cdef double part, wh, x, result
    cdef bint frob = beta == 2.0
    cdef double *partials = new_partials(n_chunks, 1)
    if partials == NULL:
        raise MemoryError()
    for ch in prange(n_chunks, nogil=True, schedule='dynamic', num_threads=n_threads):
        part = 0.0
        for i in range(ch * CHUNK, min(r, (ch + 1) * CHUNK)):
            for p in range(indptr[i], indptr[i + 1]):
                if p < last:
                    nmfkit_prefetch(&B[indices[p + AHEAD], 0])
                x = data[p]
                wh = dot(&A[i, 0], &B[indices[p], 0], k)
                if frob:
                    part = part + x * wh
                elif x > 0.0:
                    if wh < tiny:
                        wh = tiny
                    part = part + x * log(x / wh)
        partials[ch] = part
    result = total(partials, n_chunks, 1, 0)
    free(partials)
    return result


def beta_numerator(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                   const floating[::1] data not None, const floating[:, ::1] A not None,
                   const floating[:, ::1] B not None, floating[:, ::1] num not None,
                   floating[:, ::1] den, double beta, double tiny, int n_threads):
    """Beta-update products over X's stored entries, each (AB^T)_ij formed and contracted.

    X CSR (r x c), A (r x k), B (c x k) IN; num (r x k) OUT = P B with
    P = X o (AB^T)^(beta-2) at the stored entries; den (r x k) OUT, unless None,
    = Q B with Q = (AB^T)^(beta-1) at the stored entries (when the stored entries are the
    observed ones: missing values). O(nnz k); stored zeros count in den.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, p
    cdef Py_ssize_t last = indptr[r] - AHEAD
    cdef bint with_den = den is not None
    cdef double wh, w
    cdef floating *o
    cdef floating *d
    cdef const floating *b
    for i in prange(r, nogil=True, schedule='dynamic', chunksize=CHUNK,
                    num_threads=n_threads):
        o = &num[i, 0]
        for c in range(k):
            o[c] = 0
        if with_den:
            d = &den[i, 0]
            for c in range(k):
                d[c] = 0
        for p in range(indptr[i], indptr[i + 1]):
            if p < last:
                nmfkit_prefetch(&B[indices[p + AHEAD], 0])
            b = &B[indices[p], 0]
            wh = clip_wh(dot(&A[i, 0], b, k), beta, tiny)
            w = pow_m2(wh, beta)
            _axpy(<floating> (data[p] * w), b, o, k)
            if with_den:
                _axpy(<floating> (wh * w), b, d, k)


def beta_stored(const index_t[::1] indptr not None, const index_t[::1] indices not None,
                const floating[::1] data not None, const floating[:, ::1] A not None,
                const floating[:, ::1] B not None, double beta, double tiny,
                bint observed_only, int n_threads):
    """Sum over X's stored entries of d(x | wh) (observed_only) or d(x | wh) - d(0 | wh).

    X CSR (r x c), A (r x k), B (c x k) IN; in double. The second form is what a sparse
    V adds to the divergence of an all-zero matrix (see dense.objective with V None).
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, p, ch
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK
    cdef Py_ssize_t last = indptr[r] - AHEAD
    cdef double part, wh, x, result
    cdef double *partials = new_partials(n_chunks, 1)
    if partials == NULL:
        raise MemoryError()
    for ch in prange(n_chunks, nogil=True, schedule='dynamic', num_threads=n_threads):
        part = 0.0
        for i in range(ch * CHUNK, min(r, (ch + 1) * CHUNK)):
            for p in range(indptr[i], indptr[i + 1]):
                if p < last:
                    nmfkit_prefetch(&B[indices[p + AHEAD], 0])
                x = data[p]
                wh = dot(&A[i, 0], &B[indices[p], 0], k)
                part = part + beta_div(x, wh, beta, tiny)
                if not observed_only:
                    part = part - beta_div(0.0, wh, beta, tiny)
        partials[ch] = part
    result = total(partials, n_chunks, 1, 0)
    free(partials)
    return result
