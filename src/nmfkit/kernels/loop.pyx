# The whole multiplicative-update iteration of one dense, fully observed problem in compiled
# code: Frobenius or KL, both factors or W alone, the stopping rule every check_every
# iterations. A small problem spends most of a Python iteration in the interpreter (about
# a dozen kernel calls, each a few microseconds of work); here the GIL is held only at the
# checks, and only to evaluate a penalty.
#
# The loop is the Python one of nmfkit.solvers.alternating, step for step: it calls the same
# cores as the def kernels (dense.pxd, steps.pxd), and forms what the Python loop forms with
# NumPy (the Frobenius objective's dot products, KL's column sums, the stopping rule) with
# the same operations in the same order, so W, H, the history and the iteration count are
# the same bits. Sides are numbered 0 (W, V's rows) and 1 (Ht, V's columns).
from libc.math cimport sqrt
from libc.stdlib cimport calloc, free

from scipy.linalg.cython_blas cimport ddot

from ._common cimport floating
from .dense cimport gram_core, matmul_core, objective_core, walk_tiles
from .steps cimport mu_fro_core, mu_rows_core


cdef inline double _py_max0(double x) noexcept nogil:
    """Python's max(x, 0.0): x unless 0.0 > x (so NaN stays NaN, -0.0 stays -0.0)."""
    return 0.0 if 0.0 > x else x


cdef double _dot64(const floating *a, const floating *b, Py_ssize_t size,
                   double *scratch) noexcept nogil:
    """<a, b> as the Python objective forms it (losses.frobenius.dot64): both cast to double,
    then NumPy's dot, which is BLAS ddot added to 0.0. scratch holds 2 * size doubles
    (float32 only). size fits a BLAS int (the caller checks)."""
    cdef int n = <int> size, one = 1
    cdef Py_ssize_t i
    cdef double s = 0.0
    if floating is double:
        s += ddot(&n, <double *> a, &one, <double *> b, &one)
        return s
    for i in range(size):
        scratch[i] = a[i]
        scratch[size + i] = b[i]
    s += ddot(&n, scratch, &one, scratch + size, &one)
    return s


cdef floating _pairwise_sum(const floating *a, Py_ssize_t n) noexcept nogil:
    """NumPy's pairwise sum of n contiguous entries, in their precision (its add.reduce of a
    contiguous run): 8 running sums in blocks of up to 128, halves above."""
    cdef Py_ssize_t i, n2
    cdef floating res, r0, r1, r2, r3, r4, r5, r6, r7
    if n < 8:
        res = -0.0
        for i in range(n):
            res = res + a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
        r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
        i = 8
        while i < n - n % 8:
            r0 = r0 + a[i]
            r1 = r1 + a[i + 1]
            r2 = r2 + a[i + 2]
            r3 = r3 + a[i + 3]
            r4 = r4 + a[i + 4]
            r5 = r5 + a[i + 5]
            r6 = r6 + a[i + 6]
            r7 = r7 + a[i + 7]
            i = i + 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res = res + a[i]
            i = i + 1
        return res
    n2 = n // 2
    n2 = n2 - n2 % 8
    return _pairwise_sum(a, n2) + _pairwise_sum(a + n2, n - n2)


cdef extern from "_mu_step.h":
    void colsums_f64 "nmfkit_colsums_f64"(const double *B, Py_ssize_t r, Py_ssize_t k,
                                          double *out) noexcept nogil
    void colsums_f32 "nmfkit_colsums_f32"(const float *B, Py_ssize_t r, Py_ssize_t k,
                                          float *out) noexcept nogil


cdef void _column_sums(const floating *B, Py_ssize_t r, Py_ssize_t k,
                       floating *out) noexcept nogil:
    """B.sum(axis=0) of a C-ordered B (r x k) as NumPy forms it (KL's denominator): from 0,
    row after row (_mu_step.h); with one column, a contiguous run, its pairwise sum."""
    cdef floating zero = 0
    if k == 1:
        out[0] = zero + _pairwise_sum(B, r)
    elif floating is float:
        colsums_f32(B, r, k, out)
    else:
        colsums_f64(B, r, k, out)


cdef class _Progress:
    """solvers.progress.Progress without output: the history and scikit-learn's stopping
    rule, in the same floating-point operations."""
    cdef list history, iters
    cdef double err_init, err_prev, tol

    def __init__(self, double obj0, double tol):
        self.history, self.iters = [obj0], [0]
        self.err_init = self.err_prev = sqrt(2.0 * _py_max0(obj0))
        self.tol = tol

    cdef bint check(self, int it, double obj):
        cdef double err
        self.history.append(obj)
        self.iters.append(it)
        err = sqrt(2.0 * _py_max0(obj))
        if self.tol > 0 and (self.err_init == 0
                             or (self.err_prev - err) / self.err_init < self.tol):
            return True
        self.err_prev = err
        return False


cdef int _step(bint kl, int s, bint fresh, const floating *V, Py_ssize_t m, Py_ssize_t n,
               Py_ssize_t k, floating **A, const Py_ssize_t *rows, floating **num,
               floating **gram, floating *den, const double *l1, const double *l2,
               double floor, double tiny, const int *threads, int threads_pass,
               floating *buf, Py_ssize_t L, Py_ssize_t col_block) noexcept nogil:
    """One update of side s (the Python loop's _ProductUpdates / _PassUpdates.update), without
    the step's squared change and sums, which the Python loop does not use either with
    solver 'mu'; -1 when out of memory."""
    if kl:  # numerator by tiles, the other factor's column sums, one MU step
        walk_tiles(V, A[0], A[1], m, n, k, s == 1, num[s], NULL, buf, L, NULL, 0, col_block,
                   True, 1.0, tiny, threads_pass)
        _column_sums(A[1 - s], rows[1 - s], k, den)
        return mu_rows_core(A[s], rows[s], k, num[s], den, 0, l1[s], l2[s], 1.0, floor, tiny,
                            threads[s], NULL)
    if fresh:  # V Ht or V^T W
        matmul_core(V, m, n, A[1 - s], k, num[s], s == 1, threads_pass)
    if mu_fro_core(A[s], rows[s], k, num[s], gram[1 - s], l1[s], l2[s], floor, tiny,
                   threads[s], NULL) < 0:
        return -1
    return gram_core(A[s], rows[s], k, gram[s], threads[s])


cdef int _loss(bint kl, int s, const floating *V, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               floating **A, const Py_ssize_t *rows, floating **num, floating **gram,
               double sq_norm, double tiny, int threads_pass, floating *buf, Py_ssize_t L,
               double *scratch, double *out) noexcept nogil:
    """The loss without penalty: KL by a pass over V; Frobenius from side s's numerator and
    the Gram matrices (Frobenius.product_objective). -1 when out of memory."""
    cdef double cross, grams
    if kl:
        return objective_core(V, A[0], A[1], m, n, k, buf, L, 1.0, tiny, threads_pass, out)
    cross = _dot64(A[s], num[s], rows[s] * k, scratch)
    grams = _dot64(gram[s], gram[1 - s], k * k, scratch)
    out[0] = _py_max0(0.5 * (sq_norm - 2.0 * cross + grams))
    return 0


def mu_loop(const floating[:, ::1] V not None, floating[:, ::1] W not None,
            floating[:, ::1] Ht not None, bint kl, bint h_first, bint update_h,
            int max_iter, double tol, int check_every, tuple penalties, double floor,
            double tiny, double sq_norm, tuple threads, floating[:, ::1] buf_num,
            floating[:, ::1] buf_obj, Py_ssize_t col_block, penalty_value):
    """Multiplicative updates of V (m x n) ~= W Ht^T from (W, Ht), in place, as
    nmfkit.solvers.alternating runs them with solver 'mu' (see there).

    kl: KL (else Frobenius); h_first: Ht is updated first in each iteration (V is the
    caller's transpose); update_h false: only the first side moves. penalties: (l1, l2) of
    side 0 then side 1. threads: (side 0's steps, side 1's steps, a product pass, a KL
    numerator pass). buf_num and buf_obj: the KL numerator's and objective's workspaces
    (Matrix.buffers; None for Frobenius). penalty_value: None (no penalty), or a callable
    returning the penalty of the current factors, called with the GIL at each check.
    V, W, Ht have no empty dimension, and W and Ht under 2**31 entries. Returns
    (n_iter, history, history_iters, converged).
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = W.shape[1], L_num = 0, L_obj = 0
    cdef Py_ssize_t rows[2]
    cdef floating *A[2]
    cdef floating *num[2]
    cdef floating *gram[2]
    cdef floating *den = NULL
    cdef floating *b_num = NULL
    cdef floating *b_obj = NULL
    cdef double *scratch = NULL
    cdef double l1[2]
    cdef double l2[2]
    cdef int thr[2]
    cdef int thr_pass = threads[2], thr_kl = threads[3]
    cdef int first = 1 if h_first else 0, last, it = 0, j, s, status = 0
    cdef bint fresh, converged = False
    cdef double obj = 0.0
    cdef _Progress progress
    if W.shape[0] != m or Ht.shape[0] != n or Ht.shape[1] != k or m == 0 or n == 0 or k == 0:
        raise ValueError("mu_loop: V (m x n), W (m x k), Ht (n x k), none empty")
    last = first if not update_h else 1 - first
    rows[0], rows[1] = m, n
    A[0], A[1] = &W[0, 0], &Ht[0, 0]
    l1[0], l2[0], l1[1], l2[1] = penalties
    thr[0], thr[1] = threads[0], threads[1]
    if kl:
        b_num, L_num = &buf_num[0, 0], buf_num.shape[1]
        b_obj, L_obj = &buf_obj[0, 0], buf_obj.shape[1]
    num[0] = <floating *> calloc(m * k, sizeof(floating))
    num[1] = <floating *> calloc(n * k, sizeof(floating))
    gram[0] = <floating *> calloc(k * k, sizeof(floating))
    gram[1] = <floating *> calloc(k * k, sizeof(floating))
    den = <floating *> calloc(k, sizeof(floating))
    scratch = <double *> calloc(2 * max(m, n) * k + 2 * k * k, sizeof(double))
    try:
        if (num[0] == NULL or num[1] == NULL or gram[0] == NULL or gram[1] == NULL
                or den == NULL or scratch == NULL):
            raise MemoryError()
        with nogil:
            if kl:
                status = _loss(kl, first, &V[0, 0], m, n, k, A, rows, num, gram, sq_norm,
                               tiny, thr_pass, b_obj, L_obj, scratch, &obj)
            else:  # the Gram matrices, and the first numerator, which gives the objective
                status = min(gram_core(A[0], m, k, gram[0], thr[0]),
                             gram_core(A[1], n, k, gram[1], thr[1]))
                matmul_core(&V[0, 0], m, n, A[1 - first], k, num[first], first == 1,
                            thr_pass)
                status = min(status, _loss(kl, first, &V[0, 0], m, n, k, A, rows, num, gram,
                                           sq_norm, tiny, thr_pass, b_obj, L_obj, scratch,
                                           &obj))
        if status < 0:
            raise MemoryError()
        progress = _Progress(obj + _penalty(penalty_value), tol)
        while it < max_iter:
            with nogil:  # to the next check
                while True:
                    it = it + 1
                    for j in range(2 if update_h else 1):
                        s = first if j == 0 else 1 - first
                        fresh = (update_h or it == 1) and not (it == 1 and s == first)
                        if _step(kl, s, fresh, &V[0, 0], m, n, k, A, rows, num, gram, den,
                                 l1, l2, floor, tiny, thr, thr_kl if kl else thr_pass, b_num,
                                 L_num, col_block) < 0:
                            status = -1
                    if it % check_every == 0 or it == max_iter:
                        break
                status = min(status, _loss(kl, last, &V[0, 0], m, n, k, A, rows, num, gram,
                                           sq_norm, tiny, thr_pass, b_obj, L_obj, scratch,
                                           &obj))
            if status < 0:
                raise MemoryError()
            if progress.check(it, obj + _penalty(penalty_value)):
                converged = True
                break
    finally:
        free(num[0])
        free(num[1])
        free(gram[0])
        free(gram[1])
        free(den)
        free(scratch)
    return it, progress.history, progress.iters, converged


cdef double _penalty(penalty_value) except? -1.0:
    """The penalty term (penalty_value(), a Python float), or 0.0 with no penalty, as the
    Python loop adds it."""
    if penalty_value is None:
        return 0.0
    return penalty_value()
