# Dense kernels: BLAS products and the row-tiled KL numerator and objective.
#
# Conventions: V (m x n) is C-contiguous; W (m x k) and Ht (n x k) are C-contiguous, so
# that V ~= W Ht^T and both factor updates are row-parallel. WH is never stored whole:
# the KL kernels form it one row tile at a time in `buf` (tile x n).
from cython.parallel cimport prange
from libc.math cimport log

from ._common cimport floating, gemm_rm


def matmul(const floating[:, ::1] X not None, const floating[:, ::1] B not None, floating[:, ::1] out not None,
           bint trans_x):
    """out = op(X) B through BLAS; X (p x q) IN, B IN, out OUT; op(X) = X^T if trans_x."""
    cdef int p = X.shape[0], q = X.shape[1]
    cdef int rows = q if trans_x else p
    cdef int inner = p if trans_x else q
    cdef int k = B.shape[1]
    with nogil:
        gemm_rm(trans_x, False, rows, k, inner, 1.0, &X[0, 0] if p * q else NULL, q,
                &B[0, 0] if inner * k else NULL, k, 0.0, &out[0, 0] if rows * k else NULL, k)


def gram(const floating[:, ::1] B not None, floating[:, ::1] out not None):
    """out (k x k) OUT = B^T B; B (r x k) IN. Returns the array behind out."""
    cdef int r = B.shape[0], k = B.shape[1]
    with nogil:
        gemm_rm(True, False, k, k, r, 1.0, &B[0, 0], k, &B[0, 0], k, 0.0, &out[0, 0], k)
    return out.base


cdef inline void _wh_tile(const floating[:, ::1] W, const floating[:, ::1] Ht, Py_ssize_t t0,
                          int rows, floating[:, ::1] buf) noexcept nogil:
    # buf[:rows] = W[t0:t0+rows] Ht^T  (rows x n)
    cdef int n = Ht.shape[0], k = W.shape[1]
    gemm_rm(False, True, rows, n, k, 1.0, &W[t0, 0], k, &Ht[0, 0], k, 0.0, &buf[0, 0], n)


def kl_numerator(const floating[:, ::1] V not None, const floating[:, ::1] W not None,
                 const floating[:, ::1] Ht not None, bint h_side, floating[:, ::1] num not None,
                 floating[:, ::1] buf not None, double tiny, int n_threads):
    """KL numerator, one row tile of R = V / max(W Ht^T, tiny) at a time.

    V (m x n), W (m x k), Ht (n x k) IN; buf (tile x n) workspace, tile >= 1.
    h_side false: num (m x k) OUT = R Ht      (the numerator of the W update)
    h_side true:  num (n x k) OUT = R^T W     (the numerator of the H update)
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = W.shape[1]
    cdef Py_ssize_t tile = buf.shape[0], t0, i, j
    cdef int rows
    cdef floating wh
    cdef floating ftiny = <floating> tiny
    with nogil:
        t0 = 0
        while t0 < m:
            rows = <int> min(tile, m - t0)
            _wh_tile(W, Ht, t0, rows, buf)
            for i in prange(rows, schedule='static', num_threads=n_threads):
                for j in range(n):
                    wh = buf[i, j]
                    if wh < ftiny:
                        wh = ftiny
                    buf[i, j] = V[t0 + i, j] / wh
            if h_side:
                gemm_rm(True, False, <int> n, <int> k, rows, 1.0, &buf[0, 0], <int> n,
                        &W[t0, 0], <int> k, 0.0 if t0 == 0 else 1.0, &num[0, 0], <int> k)
            else:
                gemm_rm(False, False, rows, <int> k, <int> n, 1.0, &buf[0, 0], <int> n,
                        &Ht[0, 0], <int> k, 0.0, &num[t0, 0], <int> k)
            t0 += rows


def objective(const floating[:, ::1] V not None, const floating[:, ::1] W not None,
              const floating[:, ::1] Ht not None, floating[:, ::1] buf not None, double beta,
              double tiny, int n_threads):
    """Beta-divergence D(V | W Ht^T) for beta in {2, 1}, summed in double, tile by tile.

    V (m x n), W (m x k), Ht (n x k) IN; buf (tile x n) workspace.
    beta = 2: 1/2 sum (v - wh)^2.
    beta = 1: sum over v > 0 of v log(v / max(wh, tiny)) - v, plus sum of wh.
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1]
    cdef Py_ssize_t tile = buf.shape[0], t0, i, j
    cdef int rows
    cdef double total = 0.0, v, wh, d
    cdef bint frob = beta == 2.0
    with nogil:
        t0 = 0
        while t0 < m:
            rows = <int> min(tile, m - t0)
            _wh_tile(W, Ht, t0, rows, buf)
            for i in prange(rows, schedule='static', num_threads=n_threads):
                for j in range(n):
                    v = V[t0 + i, j]
                    wh = buf[i, j]
                    if frob:
                        d = v - wh
                        total += 0.5 * d * d
                    else:
                        total += wh
                        if v > 0.0:
                            if wh < tiny:
                                wh = tiny
                            total += v * log(v / wh) - v
            t0 += rows
    return total
