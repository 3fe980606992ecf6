# Dense kernels: chunked BLAS products and the row-tiled KL numerator and objective.
#
# Conventions: V (m x n) is C-contiguous; W (m x k) and Ht (n x k) are C-contiguous, so
# that V ~= W Ht^T and both factor updates are row-parallel. All parallelism is OpenMP:
# each thread calls BLAS on its own chunk or row tile, so the caller must keep BLAS itself
# single-threaded meanwhile (nmfkit._threads.blas_single_threaded) or the pools multiply.
# WH is never stored whole: each thread forms one row tile of it at a time in its slice of
# `buf` (n_threads * tile x n).
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport log
from libc.stdlib cimport free
from libc.string cimport memset

from ._common cimport PAD, floating, gemm_rm, new_partials, total


def matmul(const floating[:, ::1] X not None, const floating[:, ::1] B not None,
           floating[:, ::1] out not None, bint trans_x, int n_threads):
    """out = op(X) B; X (p x q) IN, B IN, out OUT; op(X) = X^T if trans_x.

    The rows of out are split into one chunk per thread, each a single-threaded GEMM.
    """
    cdef Py_ssize_t p = X.shape[0], q = X.shape[1], k = B.shape[1]
    cdef Py_ssize_t rows = q if trans_x else p
    cdef Py_ssize_t inner = p if trans_x else q
    cdef Py_ssize_t n_chunks = min(rows, max(n_threads, 1))
    cdef Py_ssize_t chunk = (rows + n_chunks - 1) // n_chunks
    cdef Py_ssize_t c, r0, r1
    for c in prange(n_chunks, nogil=True, schedule='static', num_threads=n_threads):
        r0 = c * chunk
        r1 = min(rows, r0 + chunk)
        if r1 <= r0:
            continue
        if trans_x:
            gemm_rm(True, False, <int> (r1 - r0), <int> k, <int> inner, 1.0, &X[0, r0],
                    <int> q, &B[0, 0], <int> k, 0.0, &out[r0, 0], <int> k)
        else:
            gemm_rm(False, False, <int> (r1 - r0), <int> k, <int> inner, 1.0, &X[r0, 0],
                    <int> q, &B[0, 0], <int> k, 0.0, &out[r0, 0], <int> k)


def gram(const floating[:, ::1] B not None, floating[:, ::1] out not None):
    """out (k x k) OUT = B^T B; B (r x k) IN. Returns the array behind out."""
    cdef int r = B.shape[0], k = B.shape[1]
    with nogil:
        gemm_rm(True, False, k, k, r, 1.0, &B[0, 0], k, &B[0, 0], k, 0.0, &out[0, 0], k)
    return out.base


cdef _check_workspace(const floating[:, ::1] buf, Py_ssize_t n, int n_threads):
    if n_threads < 1 or buf.shape[0] < n_threads or buf.shape[1] != n:
        raise ValueError("buf must have shape (n_threads * tile, n) with tile >= 1")


cdef inline void _wh_tile(const floating *w_rows, const floating *ht, int rows, int n, int k,
                          floating *tile) noexcept nogil:
    # tile (rows x n) = w_rows (rows x k) ht^T, ht (n x k)
    gemm_rm(False, True, rows, n, k, 1.0, w_rows, k, ht, k, 0.0, tile, n)


def kl_numerator(const floating[:, ::1] V not None, const floating[:, ::1] W not None,
                 const floating[:, ::1] Ht not None, bint h_side,
                 floating[:, ::1] num not None, floating[:, ::1] buf not None,
                 floating[:, :, ::1] acc not None, double tiny, int n_threads):
    """KL numerator, R = V / max(W Ht^T, tiny) formed one row tile per thread at a time.

    V (m x n), W (m x k), Ht (n x k) IN. buf (n_threads * tile x n) workspace, tile >= 1.
    h_side false: num (m x k) OUT = R Ht      (the numerator of the W update)
    h_side true:  num (n x k) OUT = R^T W     (the numerator of the H update); acc
                  (n_threads x n x k) holds each thread's partial sum.
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = W.shape[1]
    cdef Py_ssize_t tile = buf.shape[0] // n_threads
    cdef Py_ssize_t n_tiles
    cdef Py_ssize_t t, t0, i, j, c, tid
    cdef int rows
    cdef floating wh
    cdef floating ftiny = <floating> tiny
    cdef floating *b
    cdef floating s
    _check_workspace(buf, n, n_threads)
    if h_side and (acc.shape[0] < n_threads or acc.shape[1] != n or acc.shape[2] != k):
        raise ValueError("acc must have shape (>= n_threads, n, k)")
    n_tiles = (m + tile - 1) // tile
    if h_side:
        memset(&acc[0, 0, 0], 0, acc.shape[0] * n * k * sizeof(floating))
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        b = &buf[tid * tile, 0]
        for t in prange(n_tiles, schedule='static'):
            t0 = t * tile
            rows = <int> min(tile, m - t0)
            _wh_tile(&W[t0, 0], &Ht[0, 0], rows, <int> n, <int> k, b)
            for i in range(rows):
                for j in range(n):
                    wh = b[i * n + j]
                    if wh < ftiny:
                        wh = ftiny
                    b[i * n + j] = V[t0 + i, j] / wh
            if h_side:
                gemm_rm(True, False, <int> n, <int> k, rows, 1.0, b, <int> n,
                        &W[t0, 0], <int> k, 1.0, &acc[tid, 0, 0], <int> k)
            else:
                gemm_rm(False, False, rows, <int> k, <int> n, 1.0, b, <int> n,
                        &Ht[0, 0], <int> k, 0.0, &num[t0, 0], <int> k)
    if h_side:
        for j in prange(n, nogil=True, schedule='static', num_threads=n_threads):
            for c in range(k):
                s = 0
                for t in range(acc.shape[0]):
                    s = s + acc[t, j, c]
                num[j, c] = s


def objective(const floating[:, ::1] V not None, const floating[:, ::1] W not None,
              const floating[:, ::1] Ht not None, floating[:, ::1] buf not None,
              double beta, double tiny, int n_threads):
    """Beta-divergence D(V | W Ht^T) for beta in {2, 1}, summed in double, tile by tile.

    V (m x n), W (m x k), Ht (n x k) IN; buf (n_threads * tile x n) workspace.
    beta = 2: 1/2 sum (v - wh)^2.
    beta = 1: sum over v > 0 of v log(v / max(wh, tiny)) - v, plus sum of wh.
    Deterministic for a given thread count.
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = W.shape[1]
    cdef Py_ssize_t tile = buf.shape[0] // n_threads
    cdef Py_ssize_t n_tiles
    cdef Py_ssize_t t, t0, i, j, tid
    cdef int rows
    cdef double part, v, wh, d, result
    cdef bint frob = beta == 2.0
    cdef floating *b
    cdef double *partials
    _check_workspace(buf, n, n_threads)
    n_tiles = (m + tile - 1) // tile
    partials = new_partials(n_threads, 1)
    if partials == NULL:
        raise MemoryError()
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        b = &buf[tid * tile, 0]
        for t in prange(n_tiles, schedule='static'):
            t0 = t * tile
            rows = <int> min(tile, m - t0)
            _wh_tile(&W[t0, 0], &Ht[0, 0], rows, <int> n, <int> k, b)
            part = 0.0
            for i in range(rows):
                for j in range(n):
                    v = V[t0 + i, j]
                    wh = b[i * n + j]
                    if frob:
                        d = v - wh
                        part = part + 0.5 * d * d
                    else:
                        part = part + wh
                        if v > 0.0:
                            if wh < tiny:
                                wh = tiny
                            part = part + v * log(v / wh) - v
            partials[tid * PAD] += part
    result = total(partials, n_threads, 1, 0)
    free(partials)
    return result
