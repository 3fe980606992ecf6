# Cyclic coordinate descent for the generalized Kullback-Leibler divergence, Newton steps per
# variable (Hsieh & Dhillon 2011), updating one factor A (r x k) in place against the fixed
# B, with X ~= A B^T.
#
# One pass visits every coordinate of every row of A once, each with up to max_inner Newton
# steps (fewer once a step changes it by at most inner_rtol of its value). For the variable
# w = A_ir, everything else fixed, with wh_j = (A B^T)_ij (read as tiny when below it):
#
#   f(w)  = sum_j [wh_j - x_j log wh_j] + l1 w + l2 w^2 / 2 (+ const)
#   f'(w) = S_r - T + l1 + l2 w,  S_r = sum_j B_jr (every column j), T = sum_j x_j B_jr / wh_j
#   f''(w) = sum_j x_j B_jr^2 / wh_j^2 + l2
#
# f''' = -2 sum_j x_j B_jr^3 / wh_j^3 <= 0: f' is concave, so it lies below its tangent at w.
# - f'(w) < 0: the Newton point w - f'/f'' moves right and has f' <= 0 there: it lies between
#   w and the minimizer, where f decreases.
# - f'(w) > 0: the Newton point moves left and may overshoot. The minimizer of Jensen's
#   majorizer of f at w (the multiplicative step; with l2 it is the positive root of
#   l2 v^2 + (S_r + l1) v - T w = 0, not w T / (S_r + l1 + l2 w), which passes the root) also
#   lies left of w with f there <= f(w). Both points lie left of w, and by convexity every
#   point between the majorizer's point and w has f <= f(w): the larger of the two is taken.
# - Projection onto [floor, inf): a point left of the floor goes to the floor, which lies
#   between it and w (w >= floor), so f does not increase either.
# - f'' <= 0 (x_j B_jr = 0 for every j and no l2): f is linear with slope S_r + l1 >= 0, and
#   the floor is a minimizer.
# So no step increases the objective (up to rounding), with no objective evaluation.
#
# Most coordinates of a factor of sparse counts sit at the floor (on a corpus of glosses,
# 80% of W and 91% of H), where a step costs a sum over the row's entries only to find that
# the slope is positive. So the sums T of all k coordinates are formed once at the start of
# each row, from the row's products before any of its coordinates moves (one division per
# entry for all k, against one per entry for each), and a coordinate at the floor whose slope
# is positive there is skipped in this pass: not moving never increases the objective, and a
# coordinate whose slope turns negative while the row's other coordinates move is moved in
# the next pass. On that corpus it saves a third of a pass, for about one pass more to a given
# objective.
#
# A CSR row is updated on its own (_row), reading B's rows where they lie: its few rows of B
# are in cache after its start, and with most coordinates skipped, interleaving several rows
# (as dense rows are, _rows) cost more in bookkeeping and mispredicted branches than it gained.
# Its start (products, columns, sums T) is _cd_start.h's, with an AVX2 clone of the same bits.
#
# Rows of A are independent and each is computed by the same arithmetic whatever the chunk
# or thread that runs it: the results are the same bits on any thread count. The dense
# H-side kernel runs blocks of columns of V side by side, each column by exactly the
# arithmetic of a column on its own, so its blocking does not change the results either.
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport fabs, sqrt
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

from ._common cimport CHUNK, dot, floating, gemm_rm, new_partials, nmfkit_max, total

ctypedef fused index_t:
    int32_t
    int64_t

cdef enum:
    DENSE_GROUP_ROWS = 4    # dense rows updated side by side (see _rows)
    RATIO_ROWS = 256        # dense columns: rows of V / WH per product for the sums T

cdef extern from "_cd_start.h":
    void NMFKIT_ASSUME(bint c) noexcept nogil  # a hint that c holds, for the compiler only
    # a CSR row's products, columns and sums T at its start (see the header)
    void nmfkit_cd_start_f64_i32(const double *a, const double *B, Py_ssize_t k,
                                 const int32_t *idx, const double *x, Py_ssize_t n,
                                 Py_ssize_t ahead, double tiny, double *wh, Py_ssize_t *cols,
                                 double *t) noexcept nogil
    void nmfkit_cd_start_f64_i64(const double *a, const double *B, Py_ssize_t k,
                                 const int64_t *idx, const double *x, Py_ssize_t n,
                                 Py_ssize_t ahead, double tiny, double *wh, Py_ssize_t *cols,
                                 double *t) noexcept nogil
    void nmfkit_cd_start_f32_i32(const float *a, const float *B, Py_ssize_t k,
                                 const int32_t *idx, const float *x, Py_ssize_t n,
                                 Py_ssize_t ahead, float tiny, float *wh, Py_ssize_t *cols,
                                 double *t) noexcept nogil
    void nmfkit_cd_start_f32_i64(const float *a, const float *B, Py_ssize_t k,
                                 const int64_t *idx, const float *x, Py_ssize_t n,
                                 Py_ssize_t ahead, float tiny, float *wh, Py_ssize_t *cols,
                                 double *t) noexcept nogil


cdef inline double _coordinate(double w, double s, double inv_c, double t, double h2,
                               double l1, double l2, double floor) noexcept nogil:
    """The next value of a coordinate at w, from S_r (s), 1 / (S_r + l1) (inv_c), T (t) and
    sum x B^2 / wh^2 (h2): the monotone Newton rule of the module notes."""
    cdef double g = s + l1 + l2 * w - t
    cdef double h = h2 + l2
    cdef double c, root, majorizer
    if h <= 0.0:
        return floor
    if g <= 0.0:  # moves right, up to the minimizer
        return nmfkit_max(w - g / h, floor)
    if w <= floor:  # would move left of the floor: stays (most entries of a sparse factor)
        return floor
    if l2 == 0.0:  # g > 0 makes S_r + l1 > T >= 0
        majorizer = t * w * inv_c
    else:
        c = s + l1
        root = c + sqrt(c * c + 4.0 * l2 * t * w)
        majorizer = 2.0 * t * w / root if root > 0.0 else 0.0
    return nmfkit_max(nmfkit_max(w - g / h, majorizer), floor)


cdef inline bint _skipped(double w, double s, double t_start, double l1, double l2,
                          double floor) noexcept nogil:
    """Whether a coordinate at w is skipped in this pass: at the floor, with f' > 0 by the
    sum T of its row's (or column's) start, t_start (see the module notes)."""
    return w <= floor and s + l1 + l2 * w > t_start


cdef inline bint _below_floor(double w, double s, double t, double h2, double l1, double l2,
                             double floor) noexcept nogil:
    """Whether the Newton step from w > floor, f'(w) > 0, lands below the floor: then the
    floor itself is the minimizer over [floor, inf) if f' >= 0 there (_trial_sum), a step
    that the majorizer (which only approaches the floor geometrically) would take forever."""
    cdef double g = s + l1 + l2 * w - t
    cdef double h = h2 + l2
    return g > 0.0 and h > 0.0 and w > floor and w - g / h < floor


cdef inline floating _at(const floating *b, const Py_ssize_t *cols,
                         Py_ssize_t p) noexcept nogil:
    """B's coordinate at entry p: b[p] when cols is NULL (B by coordinate, contiguous), else
    b[cols[p]], b pointing at the coordinate in B's first row and cols[p] the offset of the
    entry's row of B (its column j times k: CSR, B's rows read in place, no copy). Callers
    pass cols NULL as a literal, so the test folds away."""
    return b[cols[p]] if cols != NULL else b[p]


cdef inline double _trial_sum(const floating *x, const floating *wh, const floating *b,
                              const Py_ssize_t *cols, double shift, Py_ssize_t n,
                              floating tiny) noexcept nogil:
    """T = sum x b / (wh + shift b) (read as tiny below it) at a trial value of the
    coordinate, wh left as it is, B's coordinate b read by _at; two running sums."""
    cdef Py_ssize_t p, n2 = n - n % 2
    cdef double t0 = 0.0, t1 = 0.0
    cdef floating v0, v1, b0, b1, fs = <floating> shift
    for p in range(0, n2, 2):
        b0 = _at(b, cols, p)
        b1 = _at(b, cols, p + 1)
        v0 = wh[p] + fs * b0
        v1 = wh[p + 1] + fs * b1
        if v0 < tiny:
            v0 = tiny
        if v1 < tiny:
            v1 = tiny
        t0 = t0 + x[p] * (b0 / <double> v0)
        t1 = t1 + x[p + 1] * (b1 / <double> v1)
    if n2 < n:
        b0 = _at(b, cols, n2)
        v0 = wh[n2] + fs * b0
        if v0 < tiny:
            v0 = tiny
        t0 = t0 + x[n2] * (b0 / <double> v0)
    return t0 + t1


cdef struct Workspace:
    # what every pass allocates: 1 / (S_r + l1) per coordinate (0 where that is not
    # positive), the threads' scratch rows (buf) and their groups or sums (extra), and one
    # partial sum per chunk of rows or block of columns
    double *inv_c
    void *buf
    void *extra
    double *partials
    Py_ssize_t n_chunks


cdef int _open(Workspace *ws, const double[::1] colsum, Py_ssize_t k, double l1,
               size_t buf_bytes, size_t extra_bytes, Py_ssize_t n_chunks) except -1:
    """Allocate ws (MemoryError, with nothing left allocated, if that fails)."""
    cdef Py_ssize_t r
    ws.n_chunks = n_chunks
    ws.inv_c = <double *> malloc((k if k > 0 else 1) * sizeof(double))
    ws.buf = malloc(buf_bytes if buf_bytes > 0 else 1)
    ws.extra = malloc(extra_bytes if extra_bytes > 0 else 1)
    ws.partials = new_partials(n_chunks, 1)
    if ws.inv_c == NULL or ws.buf == NULL or ws.extra == NULL or ws.partials == NULL:
        _close(ws)
        raise MemoryError()
    for r in range(k):
        ws.inv_c[r] = 1.0 / (colsum[r] + l1) if colsum[r] + l1 > 0.0 else 0.0
    return 0


cdef double _close(Workspace *ws) noexcept:
    """Free ws; returns the sum of its partials, in chunk order (0 if it has none)."""
    cdef double result = 0.0
    if ws.partials != NULL:
        result = total(ws.partials, ws.n_chunks, 1, 0)
    free(ws.inv_c)
    free(ws.buf)
    free(ws.extra)
    free(ws.partials)
    return result


cdef inline void _sums(const floating *x, floating *wh, const floating *b,
                       const floating *pending, const Py_ssize_t *cols, floating change,
                       Py_ssize_t n, floating tiny, double *t, double *h2) noexcept nogil:
    """t = sum x b / wh, h2 = sum x b^2 / wh^2 over n entries (wh read as tiny below it),
    after wh += change * pending when pending is not NULL (the previous step, applied in the
    same pass over the entries); b and pending read by _at. Two running sums each, in a fixed
    order."""
    cdef Py_ssize_t p, n2 = n - n % 2
    cdef double t0 = 0.0, t1 = 0.0, q0 = 0.0, q1 = 0.0, r0, r1, u0, u1
    cdef floating v0, v1
    for p in range(0, n2, 2):
        if pending != NULL:  # the same pass over the entries (loop-invariant: unswitched)
            wh[p] = wh[p] + change * _at(pending, cols, p)
            wh[p + 1] = wh[p + 1] + change * _at(pending, cols, p + 1)
        v0 = wh[p]
        v1 = wh[p + 1]
        if v0 < tiny:
            v0 = tiny
        if v1 < tiny:
            v1 = tiny
        r0 = _at(b, cols, p) / <double> v0
        r1 = _at(b, cols, p + 1) / <double> v1
        u0 = x[p] * r0
        u1 = x[p + 1] * r1
        t0 = t0 + u0
        t1 = t1 + u1
        q0 = q0 + u0 * r0
        q1 = q1 + u1 * r1
    if n2 < n:
        if pending != NULL:
            wh[n2] = wh[n2] + change * _at(pending, cols, n2)
        v0 = wh[n2]
        if v0 < tiny:
            v0 = tiny
        r0 = _at(b, cols, n2) / <double> v0
        u0 = x[n2] * r0
        t0 = t0 + u0
        q0 = q0 + u0 * r0
    t[0] = t0 + t1
    h2[0] = q0 + q1


cdef inline bint _newton(floating *w, floating *change, Py_ssize_t *pending, Py_ssize_t r,
                       const floating *x, floating *wh, const floating *b,
                       const floating *pb, const Py_ssize_t *cols, Py_ssize_t n,
                       double s, double inv_c, double l1, double l2, double floor,
                       floating tiny, double inner_rtol) noexcept nogil:
    """One Newton step of coordinate r of a row at w[0], in place: its sums over the row's n
    entries (applying the row's pending step first: pb, change[0]), the rule of the module
    notes, the floor confirmed as the minimizer when the step lands below it. Leaves the
    step pending (change[0], pending[0] = r, or -1 if it did not move). Returns whether the
    coordinate is done in this pass (at the floor, or moved by at most inner_rtol of its
    value)."""
    cdef double t, h2
    cdef floating w_new
    cdef bint at_floor
    if pb != NULL:  # two inlined copies of the sums, each with pb's test folded away
        _sums(x, wh, b, pb, cols, change[0], n, tiny, &t, &h2)
    else:
        _sums(x, wh, b, NULL, cols, change[0], n, tiny, &t, &h2)
    w_new = <floating> _coordinate(w[0], s, inv_c, t, h2, l1, l2, floor)
    at_floor = _below_floor(w[0], s, t, h2, l1, l2, floor) and (
        s + l1 + l2 * floor >= _trial_sum(x, wh, b, cols, floor - w[0], n, tiny))
    if at_floor:  # the floor is the minimizer: no further step
        w_new = <floating> floor
    change[0] = w_new - w[0]
    pending[0] = r if change[0] != 0 else -1
    w[0] = w_new
    return at_floor or fabs(change[0]) <= inner_rtol * w_new


cdef struct Group:
    # dense rows of A updated side by side, DENSE_GROUP_ROWS at most; per row q: its entries
    # of V at x + xoff[q] (n[q] of them), their products at wh + whoff[q], B there by
    # coordinate at bt + btoff[q] + r * ldb[q], its row of A at a + arow[q] * k
    Py_ssize_t size
    Py_ssize_t n[DENSE_GROUP_ROWS]
    Py_ssize_t xoff[DENSE_GROUP_ROWS]
    Py_ssize_t whoff[DENSE_GROUP_ROWS]
    Py_ssize_t btoff[DENSE_GROUP_ROWS]
    Py_ssize_t ldb[DENSE_GROUP_ROWS]
    Py_ssize_t arow[DENSE_GROUP_ROWS]


cdef double _rows(Group *grp, const floating *x, floating *wh, const floating *bt,
                  floating *a, Py_ssize_t k, const double *colsum, const double *inv_c,
                  const double *tstart, double l1, double l2, double floor, floating tiny,
                  int max_inner, double inner_rtol) noexcept nogil:
    """Coordinate descent over the k entries of each dense row of the group, in place:
    coordinate r of every row, then r + 1, so that the rows' chains of dependent steps
    overlap. Each row gets exactly the arithmetic it would get alone (_row's: its own steps
    and early exit; a step's change is applied to wh in the pass over the entries of the
    next one). wh holds the rows' current products (A B^T) at their entries on entry,
    overwritten; tstart (g x k) their sums T at the start (_skipped); B by coordinate at
    bt + btoff[q] + r * ldb[q]. Returns ||a_new - a_old||^2 over the group."""
    cdef Py_ssize_t r, _step, q, g = grp.size
    cdef Py_ssize_t pending[DENSE_GROUP_ROWS]  # the coordinate of the last step not in wh
    cdef floating change[DENSE_GROUP_ROWS]
    cdef floating w[DENSE_GROUP_ROWS]
    cdef double w0[DENSE_GROUP_ROWS]
    cdef unsigned char done[DENSE_GROUP_ROWS]
    cdef double delta_sq = 0.0
    cdef int active
    cdef const floating *pb
    cdef const floating *b
    for q in range(g):
        pending[q] = -1
        change[q] = 0
    for r in range(k):
        active = 0
        for q in range(g):
            w[q] = a[grp.arow[q] * k + r]
            w0[q] = w[q]
            done[q] = _skipped(w[q], colsum[r], tstart[q * k + r], l1, l2, floor)
            active = active + (not done[q])
        if active == 0:  # no row moves coordinate r: nothing to write back
            continue
        for _step in range(max_inner):
            active = 0
            for q in range(g):
                if done[q]:
                    continue
                pb = bt + grp.btoff[q] + pending[q] * grp.ldb[q] if pending[q] >= 0 else NULL
                b = bt + grp.btoff[q] + r * grp.ldb[q]
                done[q] = _newton(&w[q], &change[q], &pending[q], r, x + grp.xoff[q],
                                  wh + grp.whoff[q], b, pb, NULL, grp.n[q], colsum[r],
                                  inv_c[r], l1, l2, floor, tiny, inner_rtol)
                active = active + (not done[q])
            if active == 0:
                break
        for q in range(g):
            a[grp.arow[q] * k + r] = w[q]
            delta_sq += (w[q] - w0[q]) * (w[q] - w0[q])
    return delta_sq


cdef double _row(const floating *x, floating *wh, const floating *B,
                 const Py_ssize_t *cols, Py_ssize_t n, floating *a, Py_ssize_t k,
                 const double *colsum, const double *inv_c, const double *tstart, double l1,
                 double l2, double floor, floating tiny, int max_inner,
                 double inner_rtol) noexcept nogil:
    """Coordinate descent over the k entries of one row a of A, in place, against the rows
    of B (c x k) at its n stored entries x (at offsets cols, each its column times k); wh
    holds their products (A B^T) on entry, overwritten; tstart its sums T at the start
    (_skipped). B is read where it lies (_at): a short row's few rows of B stay in cache,
    and most coordinates are skipped. Returns ||a_new - a_old||^2."""
    cdef Py_ssize_t r, _step, pending = -1  # the coordinate of the last step not yet in wh
    cdef floating w, w0, change = 0
    cdef double delta_sq = 0.0
    NMFKIT_ASSUME(cols != NULL)  # a CSR row: _at's test of cols folds away
    for r in range(k):
        w = a[r]
        if _skipped(w, colsum[r], tstart[r], l1, l2, floor):
            continue
        w0 = w
        for _step in range(max_inner):
            if _newton(&w, &change, &pending, r, x, wh, B + r,
                       B + pending if pending >= 0 else NULL, cols, n, colsum[r],
                       inv_c[r], l1, l2, floor, tiny, inner_rtol):
                break
        a[r] = w
        delta_sq += (w - w0) * (w - w0)
    return delta_sq


cdef size_t _group_bytes(Py_ssize_t k) noexcept:
    """Bytes of a thread's Group and the k sums T at the start of each of its rows
    (doubles), rounded up to a cache line."""
    return (sizeof(Group) + DENSE_GROUP_ROWS * k * sizeof(double) + 63) // 64 * 64


def kl_cd_csr(const index_t[::1] indptr not None, const index_t[::1] indices not None,
              const floating[::1] data not None, floating[:, ::1] A not None,
              const floating[:, ::1] B not None, const double[::1] colsum not None,
              double l1, double l2, double floor, double tiny, int max_inner,
              double inner_rtol, int n_threads):
    """One coordinate-descent pass over A, in place, for X CSR (r x c) IN ~= A B^T.

    A (r x k) IN/OUT; B (c x k) IN; colsum (k) IN = the column sums of B (all its rows).
    Each row (_row) starts from its products (A B^T) at its stored entries, their columns
    and its k sums T, in the thread's buffers. Returns ||A_new - A_old||^2.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, p0, length, ch, tid
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK, longest = 1, end
    cdef Py_ssize_t stride, cstride, tstride
    cdef Py_ssize_t nnz = indptr[r] if r > 0 else 0
    cdef floating ftiny = <floating> tiny
    cdef double part
    cdef double *trow
    cdef Py_ssize_t *cols
    cdef floating *wh
    cdef double *partials
    cdef double *inv_c
    cdef Workspace ws
    if colsum.shape[0] < k or B.shape[1] != k:
        raise ValueError("colsum must have k entries and B k columns")
    for i in range(r):
        longest = max(longest, <Py_ssize_t> (indptr[i + 1] - indptr[i]))
    stride = (longest + 15) // 16 * 16 + 16  # no cache line shared by two threads
    cstride = (longest + 7) // 8 * 8 + 8  # a thread's column indices (Py_ssize_t)
    tstride = (k + 7) // 8 * 8 + 8  # a thread's sums T (doubles)
    _open(&ws, colsum, k, l1, n_threads * stride * sizeof(floating),
          n_threads * (cstride * sizeof(Py_ssize_t) + tstride * sizeof(double)), n_chunks)
    inv_c, partials = ws.inv_c, ws.partials
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        wh = <floating *> ws.buf + tid * stride
        cols = <Py_ssize_t *> ws.extra + tid * cstride
        trow = <double *> (<Py_ssize_t *> ws.extra + n_threads * cstride) + tid * tstride
        for ch in prange(n_chunks, schedule='dynamic'):
            part = 0.0
            end = min(r, (ch + 1) * CHUNK)
            for i in range(ch * CHUNK, end):
                p0 = indptr[i]
                length = indptr[i + 1] - p0
                if floating is double and index_t is int32_t:
                    nmfkit_cd_start_f64_i32(&A[i, 0], &B[0, 0], k, &indices[p0], &data[p0],
                                            length, nnz - p0, ftiny, wh, cols, trow)
                elif floating is double:
                    nmfkit_cd_start_f64_i64(&A[i, 0], &B[0, 0], k, &indices[p0], &data[p0],
                                            length, nnz - p0, ftiny, wh, cols, trow)
                elif index_t is int32_t:
                    nmfkit_cd_start_f32_i32(&A[i, 0], &B[0, 0], k, &indices[p0], &data[p0],
                                            length, nnz - p0, ftiny, wh, cols, trow)
                else:
                    nmfkit_cd_start_f32_i64(&A[i, 0], &B[0, 0], k, &indices[p0], &data[p0],
                                            length, nnz - p0, ftiny, wh, cols, trow)
                part = part + _row(&data[p0], wh, &B[0, 0], cols, length, &A[i, 0], k,
                                   &colsum[0], inv_c, trow, l1, l2, floor, ftiny, max_inner,
                                   inner_rtol)
            partials[ch] = part
    return _close(&ws)


def kl_cd_dense_rows(const floating[:, ::1] V not None, floating[:, ::1] A not None,
                     const floating[:, ::1] Bt not None, const double[::1] colsum not None,
                     double l1, double l2, double floor, double tiny, int max_inner,
                     double inner_rtol, int n_threads):
    """One coordinate-descent pass over A, in place, for V (m x n) IN ~= A B^T, by V's rows.

    A (m x k) IN/OUT; Bt (k x n) IN = B transposed (each coordinate's entries contiguous);
    colsum (k) IN = the row sums of Bt. Rows go in groups of DENSE_GROUP_ROWS (_rows), their
    n products each in the thread's buffer. Returns ||A_new - A_old||^2.
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = A.shape[1], i, j, c, ch, tid, q
    cdef Py_ssize_t n_chunks = (m + CHUNK - 1) // CHUNK, end
    cdef Py_ssize_t stride = ((DENSE_GROUP_ROWS + 1) * n + 15) // 16 * 16 + 16
    cdef size_t gstride = _group_bytes(k)
    cdef floating ftiny = <floating> tiny
    cdef floating ac
    cdef floating *row
    cdef floating *ratio
    cdef double part
    cdef floating *all_buf
    cdef floating *wh
    cdef double *partials
    cdef double *inv_c
    cdef double *tstart
    cdef Workspace ws
    cdef Group *grp
    if Bt.shape[0] != k or Bt.shape[1] != n or colsum.shape[0] < k or A.shape[0] != m:
        raise ValueError("A must be (m x k), Bt (k x n) and colsum have k entries")
    if n == 0 or k == 0:
        return 0.0
    _open(&ws, colsum, k, l1, n_threads * stride * sizeof(floating), n_threads * gstride,
          n_chunks)
    all_buf = <floating *> ws.buf
    inv_c, partials = ws.inv_c, ws.partials
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        wh = all_buf + tid * stride
        ratio = wh + DENSE_GROUP_ROWS * n
        grp = <Group *> (<char *> ws.extra + tid * gstride)
        tstart = <double *> (<char *> grp + sizeof(Group))
        for ch in prange(n_chunks, schedule='dynamic'):
            part = 0.0
            i = ch * CHUNK
            end = min(m, (ch + 1) * CHUNK)
            while i < end:
                grp.size = min(<Py_ssize_t> DENSE_GROUP_ROWS, end - i)
                for q in range(grp.size):
                    grp.n[q] = n
                    grp.xoff[q] = (i + q) * n
                    grp.whoff[q] = q * n
                    grp.btoff[q] = 0
                    grp.ldb[q] = n
                    grp.arow[q] = i + q
                    row = wh + q * n
                    for j in range(n):
                        row[j] = 0
                    for c in range(k):
                        ac = A[i + q, c]
                        for j in range(n):
                            row[j] = row[j] + ac * Bt[c, j]
                    for j in range(n):
                        ratio[j] = <floating> (V[i + q, j] / nmfkit_max(row[j], ftiny))
                    for c in range(k):
                        tstart[q * k + c] = dot(ratio, &Bt[c, 0], n)
                part = part + _rows(grp, &V[0, 0], wh, &Bt[0, 0],
                                    &A[0, 0], k, &colsum[0], inv_c, tstart, l1, l2, floor,
                                    ftiny, max_inner, inner_rtol)
                i = i + grp.size
            partials[ch] = part
    return _close(&ws)


cdef double _column_block(const floating *V, Py_ssize_t m, Py_ssize_t n, Py_ssize_t c0,
                          Py_ssize_t cw, floating *A, const floating *B, Py_ssize_t k,
                          floating *wh, floating *scratch, double *work,
                          const double *colsum, const double *inv_c, double l1,
                          double l2, double floor, floating tiny, int max_inner,
                          double inner_rtol) noexcept nogil:
    """Coordinate descent over rows c0..c0+cw-1 of A (n x k), the columns c0.. of V (m x n),
    side by side: wh (m x cw) their products, walked down V's rows; scratch: (RATIO_ROWS + k)
    cw floatings; work: (7 + k) cw doubles.

    Each column gets exactly the arithmetic it would get on its own (sums down the rows in
    order, its own early exit: a column that has stopped takes no more steps). Returns
    ||A_new - A_old||^2 over the block.
    """
    cdef double *t = work
    cdef double *h2 = work + cw
    cdef double *change = work + 2 * cw
    cdef double *w0 = work + 3 * cw
    cdef double *shift = work + 4 * cw  # floor - w of a column on trial at the floor, or 0
    cdef Py_ssize_t r, _step, i, c, pending_r = -1
    cdef bint moving, at_floor
    cdef int active
    cdef floating b, pb, v, w, w_new
    cdef double rcp, u, delta_sq = 0.0
    cdef const floating *x
    cdef floating *whi
    cdef double *t_floor = work + 5 * cw  # T at the floor of a column on trial
    cdef unsigned char *done = <unsigned char *> (work + 6 * cw)
    cdef double *tstart = work + 7 * cw  # T of every coordinate at the start (cw x k)
    cdef floating *ratio = scratch  # V / WH of RATIO_ROWS rows of the block
    cdef floating *tsum = scratch + RATIO_ROWS * cw  # (cw x k): T of the rows so far
    cdef Py_ssize_t i0, rows
    cdef bint trial
    gemm_rm(False, True, <int> m, <int> cw, <int> k, 1.0, B, <int> k, A + c0 * k, <int> k,
            0.0, wh, <int> cw)
    for c in range(cw * k):
        tsum[c] = 0
    i0 = 0
    while i0 < m:  # T = (V / WH)^T B, by blocks of rows
        rows = min(<Py_ssize_t> RATIO_ROWS, m - i0)
        for i in range(rows):
            whi = wh + (i0 + i) * cw
            x = V + (i0 + i) * n + c0
            for c in range(cw):
                ratio[i * cw + c] = <floating> (x[c] / nmfkit_max(whi[c], tiny))
        gemm_rm(True, False, <int> cw, <int> k, <int> rows, 1.0, ratio, <int> cw,
                B + i0 * k, <int> k, 1.0, tsum, <int> k)
        i0 = i0 + rows
    for c in range(cw * k):
        tstart[c] = tsum[c]
    for r in range(k):
        active = 0
        for c in range(cw):
            w0[c] = A[(c0 + c) * k + r]
            done[c] = _skipped(w0[c], colsum[r], tstart[c * k + r], l1, l2, floor)
            active = active + (not done[c])
        if active == 0:  # the sweeps would change nothing; a pending step stays pending
            continue
        for _step in range(max_inner):
            for c in range(cw):
                t[c] = 0.0
                h2[c] = 0.0
            for i in range(m):
                b = B[i * k + r]
                whi = wh + i * cw
                if pending_r >= 0:
                    pb = B[i * k + pending_r]
                    for c in range(cw):
                        whi[c] = whi[c] + <floating> change[c] * pb
                if b == 0:  # adds exact zeros
                    continue
                x = V + i * n + c0
                for c in range(cw):
                    v = whi[c]
                    if v < tiny:
                        v = tiny
                    rcp = b / <double> v
                    u = x[c] * rcp
                    t[c] = t[c] + u
                    h2[c] = h2[c] + u * rcp
            trial = False
            for c in range(cw):
                shift[c] = 0.0
                if not done[c] and _below_floor(A[(c0 + c) * k + r], colsum[r], t[c], h2[c],
                                                l1, l2, floor):
                    shift[c] = floor - A[(c0 + c) * k + r]
                    trial = True
            if trial:  # T at the floor of those columns
                for c in range(cw):
                    t_floor[c] = 0.0
                for i in range(m):
                    b = B[i * k + r]
                    if b == 0:
                        continue
                    whi = wh + i * cw
                    x = V + i * n + c0
                    for c in range(cw):
                        v = whi[c] + <floating> shift[c] * b
                        if v < tiny:
                            v = tiny
                        t_floor[c] = t_floor[c] + x[c] * (b / <double> v)
            moving = False
            active = 0
            for c in range(cw):
                if done[c]:
                    change[c] = 0.0
                    continue
                w = A[(c0 + c) * k + r]
                at_floor = shift[c] != 0.0 and colsum[r] + l1 + l2 * floor >= t_floor[c]
                if at_floor:  # the floor is the minimizer: no further step
                    w_new = <floating> floor
                else:
                    w_new = <floating> _coordinate(w, colsum[r], inv_c[r], t[c], h2[c], l1,
                                                   l2, floor)
                change[c] = <floating> (w_new - w)
                A[(c0 + c) * k + r] = w_new
                moving = moving or change[c] != 0
                if at_floor or fabs(change[c]) <= inner_rtol * w_new:
                    done[c] = 1
                else:
                    active = active + 1
            pending_r = r if moving else -1
            if active == 0:
                break
        for c in range(cw):
            u = A[(c0 + c) * k + r] - w0[c]
            delta_sq += u * u
    return delta_sq


def kl_cd_dense_columns(const floating[:, ::1] V not None, floating[:, ::1] A not None,
                        const floating[:, ::1] B not None, const double[::1] colsum not None,
                        double l1, double l2, double floor, double tiny, int max_inner,
                        double inner_rtol, Py_ssize_t col_block, int n_threads):
    """One coordinate-descent pass over A, in place, for V^T ~= A B^T with V (m x n) IN
    (V's columns are A's rows), V neither copied nor transposed.

    A (n x k) IN/OUT; B (m x k) IN; colsum (k) IN = the column sums of B. Each task owns a
    block of col_block columns of V, holds its m x col_block products in the thread's buffer
    and walks down V's rows (_column_block). Returns ||A_new - A_old||^2, summed over the
    blocks in order.
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], k = A.shape[1], cb, n_blocks, t, c0, tid
    cdef Py_ssize_t stride, wstride
    cdef floating ftiny = <floating> tiny
    cdef floating *all_buf
    cdef double *all_work
    cdef double *partials
    cdef double *inv_c
    cdef Workspace ws
    if A.shape[0] != n or B.shape[0] != m or B.shape[1] != k or colsum.shape[0] < k:
        raise ValueError("A must be (n x k), B (m x k) and colsum have k entries")
    if n == 0 or k == 0:
        return 0.0
    cb = max(1, min(col_block, n))
    n_blocks = (n + cb - 1) // cb
    stride = ((m + RATIO_ROWS + k) * cb + 15) // 16 * 16 + 16  # wh, then the scratch
    wstride = ((7 + k) * cb + 7) // 8 * 8 + 8
    _open(&ws, colsum, k, l1, n_threads * stride * sizeof(floating),
          n_threads * wstride * sizeof(double), n_blocks)
    all_buf, all_work = <floating *> ws.buf, <double *> ws.extra
    inv_c, partials = ws.inv_c, ws.partials
    with nogil, parallel(num_threads=n_threads):
        tid = threadid()
        for t in prange(n_blocks, schedule='dynamic'):
            c0 = t * cb
            partials[t] = _column_block(&V[0, 0] if m > 0 else NULL, m, n, c0,
                                        min(cb, n - c0), &A[0, 0], &B[0, 0] if m > 0 else NULL,
                                        k, all_buf + tid * stride,
                                        all_buf + tid * stride + m * cb,
                                        all_work + tid * wstride,
                                        &colsum[0], inv_c, l1, l2, floor, ftiny,
                                        max_inner, inner_rtol)
    return _close(&ws)
