# Row-parallel update steps of one factor A (r x k) given its products with the data.
#
# Every factor update of nmfkit is, row by row, a function of A's own row, a numerator
# row (X B for Frobenius, (X / AB^T) B for KL) and a small k x k Gram matrix or a k-vector.
# Rows are independent, so each step is one parallel pass over A with no temporaries but a
# k-sized buffer per thread. Every step returns ||A_new - A_old||^2 (mu_fro_step also the
# sums over the rows *before* the update that give the objective at the old iterate). Rows
# go in fixed chunks with one partial sum each (see _common.pxd): the same bits on any
# thread count.
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport pow
from libc.stdlib cimport malloc, free

from ._common cimport (CHUNK, dot, floating, NMFKIT_HAVE_OPENMP, nmfkit_max,
                       nmfkit_max_threads, new_partials, total)

HAVE_OPENMP = bool(NMFKIT_HAVE_OPENMP)


def max_threads():
    """omp_get_max_threads() now (1 without OpenMP): honours threadpoolctl and OMP_NUM_THREADS."""
    return nmfkit_max_threads()


cdef inline void _row_times_gram(const floating *a, const floating *gram, Py_ssize_t k,
                                 double *out) noexcept nogil:
    # out (k) = a (k) gram (k x k, C order), each out[c] summed from 0.0 over l = 0..k-1 in
    # order. Four columns at a time in registers: four independent chains, and no store and
    # reload of out per term (for small k that round trip through memory was most of the
    # step). Raw pointers: no memoryview reference counting in the hot loop.
    cdef Py_ssize_t l, c = 0
    cdef double al, s0, s1, s2, s3
    cdef const floating *g
    while c + 4 <= k:
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for l in range(k):
            al = a[l]
            g = gram + l * k + c
            s0 = s0 + al * g[0]
            s1 = s1 + al * g[1]
            s2 = s2 + al * g[2]
            s3 = s3 + al * g[3]
        out[c] = s0
        out[c + 1] = s1
        out[c + 2] = s2
        out[c + 3] = s3
        c = c + 4
    while c < k:
        s0 = 0.0
        for l in range(k):
            s0 = s0 + <double> a[l] * gram[l * k + c]
        out[c] = s0
        c = c + 1


cdef inline double _store(floating *dst, double value, double *delta_sq) noexcept nogil:
    # write value (already floored) into dst, add the squared change to delta_sq
    cdef double old = dst[0]
    dst[0] = <floating> value
    delta_sq[0] += (dst[0] - old) * (dst[0] - old)
    return old


cdef inline Py_ssize_t row_stride(Py_ssize_t k) noexcept nogil:
    # k doubles rounded up to whole 64-byte cache lines, plus one line: two threads' rows
    # never share a cache line (they are written for every entry: false sharing made the
    # step slower on two threads than on one)
    return (k + 7) // 8 * 8 + 8


cdef inline void _old_row_sums(const floating *a, const floating *num, const double *ag,
                               Py_ssize_t k, double *s_num, double *s_gram) noexcept nogil:
    # s_num += a . num, s_gram += a . (a gram) for one row before its update
    cdef Py_ssize_t c
    for c in range(k):
        s_num[0] += a[c] * num[c]
        s_gram[0] += a[c] * ag[c]


def mu_fro_step(floating[:, ::1] A not None, const floating[:, ::1] num not None,
                const floating[:, ::1] gram not None, double l1, double l2, double floor,
                double tiny, int n_threads):
    """Frobenius multiplicative step, in place.

    A (r x k) IN/OUT factor; num (r x k) IN = X B; gram (k x k) IN = B^T B.
    A <- max(floor, A * num / (A gram + l1 + l2 A)), a zero denominator read as tiny.
    Returns (sum(A_old * num), sum(A_old * (A_old gram)), ||A_new - A_old||^2).
    """
    cdef double sums[3]
    cdef int status
    if A.shape[0] == 0 or A.shape[1] == 0:
        return (0.0, 0.0, 0.0)
    with nogil:
        status = mu_fro_core(&A[0, 0], A.shape[0], A.shape[1], &num[0, 0], &gram[0, 0], l1,
                             l2, floor, tiny, n_threads, sums)
    if status < 0:
        raise MemoryError()
    return (sums[0], sums[1], sums[2])


ctypedef fused sum_t:
    float
    double


def column_sums(const floating[:, ::1] B not None, sum_t[::1] out not None):
    """out (k) = the column sums of B (r x k) IN, each from 0 row after row in out's
    precision (B's, or double for a float32 B): the bits of NumPy's B.sum(axis=0,
    dtype=out.dtype) for k > 1 (NumPy sums a single column pairwise), without its cost per
    row (0.65 ms on a 30000 x 20 factor, which KL's updates need once per factor and
    iteration). _mu_step.h's sums, as the compiled loop's."""
    cdef Py_ssize_t r = B.shape[0], k = B.shape[1]
    if out.shape[0] != k:
        raise ValueError("out must have B's k columns")
    if floating is double and sum_t is float:
        raise TypeError("the sums of a float64 B are not formed in float32")
    if k == 0:
        return
    if r == 0:
        out[:] = 0
        return
    with nogil:
        if floating is double:
            colsums_f64(&B[0, 0], r, k, <double *> &out[0])
        elif sum_t is float:
            colsums_f32(&B[0, 0], r, k, &out[0])
        else:
            colsums_f32_f64(&B[0, 0], r, k, &out[0])


cdef inline double _mu_fro_value(double a, double den_c, double num_c, double l1, double l2,
                                double floor, double tiny) noexcept nogil:
    # the Frobenius MU update of one entry a, given (A gram)[c] and num[c]
    cdef double d = den_c + l1 + l2 * a
    if d <= 0.0:
        d = tiny
    return nmfkit_max(a * num_c / d, floor)  # no branch: see _hals_coord


cdef extern from "_mu_step.h":
    int MU_STEP_ROWS "NMFKIT_MU_STEP_ROWS"
    void mu_step_f64 "nmfkit_mu_step_f64"(double *A, const double *num, const double *dpat,
                                          Py_ssize_t e0, Py_ssize_t e1, Py_ssize_t k,
                                          double l2, double floor, double tiny) noexcept nogil
    void mu_step_f32 "nmfkit_mu_step_f32"(float *A, const float *num, const double *dpat,
                                          Py_ssize_t e0, Py_ssize_t e1, Py_ssize_t k,
                                          double l2, double floor, double tiny) noexcept nogil
    void mu_fro_step_f64 "nmfkit_mu_fro_step_f64"(double *A, const double *num,
                                                  const double *den, Py_ssize_t count,
                                                  double l1, double l2, double floor,
                                                  double tiny) noexcept nogil
    void mu_fro_step_f32 "nmfkit_mu_fro_step_f32"(float *A, const float *num,
                                                  const double *den, Py_ssize_t count,
                                                  double l1, double l2, double floor,
                                                  double tiny) noexcept nogil
    void colsums_f64 "nmfkit_colsums_f64"(const double *B, Py_ssize_t r, Py_ssize_t k,
                                          double *out) noexcept nogil
    void colsums_f32 "nmfkit_colsums_f32"(const float *B, Py_ssize_t r, Py_ssize_t k,
                                          float *out) noexcept nogil
    void colsums_f32_f64 "nmfkit_colsums_f32_f64"(const float *B, Py_ssize_t r,
                                                  Py_ssize_t k, double *out) noexcept nogil


cdef int mu_fro_core(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                     const floating *gram, double l1, double l2, double floor, double tiny,
                     int n_threads, double *sums) noexcept nogil:
    """mu_fro_step on pointers (r, k > 0): its three sums into sums[0..2], or none of them
    with sums NULL (then no running sum holds the step back); -1 when out of memory."""
    cdef Py_ssize_t c, ch, tid
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK
    cdef Py_ssize_t stride = CHUNK * row_stride(k)  # a thread's den: a chunk's rows
    cdef double *den_all = <double *> malloc(n_threads * stride * sizeof(double))
    cdef double *partials = new_partials(n_chunks, 3)
    if den_all == NULL or partials == NULL:
        free(den_all)
        free(partials)
        return -1
    if n_threads == 1 or n_chunks == 1:  # no parallel region: its start and end cost more
        for ch in range(n_chunks):
            _mu_fro_chunk(A, r, k, num, gram, l1, l2, floor, tiny, den_all, sums, partials,
                          ch)
    else:
        with parallel(num_threads=n_threads):
            tid = threadid()
            for ch in prange(n_chunks, schedule='dynamic'):
                _mu_fro_chunk(A, r, k, num, gram, l1, l2, floor, tiny, &den_all[tid * stride],
                              sums, partials, ch)
    if sums != NULL:
        for c in range(3):
            sums[c] = total(partials, n_chunks, 3, c)
    free(den_all)
    free(partials)
    return 0


cdef inline void _mu_fro_chunk(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                               const floating *gram, double l1, double l2, double floor,
                               double tiny, double *den, double *sums, double *partials,
                               Py_ssize_t ch) noexcept nogil:
    """mu_fro_core's rows of chunk ch, den the thread's own CHUNK rows of k; the chunk's
    three sums into partials[3 ch ..] (when sums is not NULL)."""
    cdef Py_ssize_t i, c, i0 = ch * CHUNK, i1 = min(r, (ch + 1) * CHUNK)
    cdef double s_num = 0.0, s_gram = 0.0, s_delta = 0.0
    if sums == NULL:  # the rows' A gram, then one elementwise step (_mu_step.h, same bits)
        for i in range(i0, i1):
            _row_times_gram(&A[i * k], gram, k, &den[(i - i0) * k])
        if floating is float:
            mu_fro_step_f32(&A[i0 * k], &num[i0 * k], den, (i1 - i0) * k, l1, l2, floor, tiny)
        else:
            mu_fro_step_f64(&A[i0 * k], &num[i0 * k], den, (i1 - i0) * k, l1, l2, floor, tiny)
        return
    for i in range(i0, i1):
        _row_times_gram(&A[i * k], gram, k, den)
        _old_row_sums(&A[i * k], &num[i * k], den, k, &s_num, &s_gram)
        for c in range(k):
            _store(&A[i * k + c], _mu_fro_value(A[i * k + c], den[c], num[i * k + c], l1, l2,
                                                floor, tiny), &s_delta)
    partials[3 * ch] = s_num
    partials[3 * ch + 1] = s_gram
    partials[3 * ch + 2] = s_delta


cdef int _mu_rows_plain(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                        const floating *den, double l1, double l2, double floor, double tiny,
                        int n_threads) noexcept nogil:
    """mu_rows_core with one k-vector den, exponent 1 and no change summed, by _mu_step.h
    (the same bits); -1 when out of memory."""
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK, ch, q
    cdef double *dpat = <double *> malloc(MU_STEP_ROWS * k * sizeof(double))
    if dpat == NULL:
        return -1
    for q in range(MU_STEP_ROWS * k):
        dpat[q] = den[q % k] + l1
    if n_threads == 1 or n_chunks == 1:  # no parallel region: its start and end cost more
        if floating is float:
            mu_step_f32(A, num, dpat, 0, r * k, k, l2, floor, tiny)
        else:
            mu_step_f64(A, num, dpat, 0, r * k, k, l2, floor, tiny)
    else:
        for ch in prange(n_chunks, schedule='dynamic', num_threads=n_threads):
            if floating is float:
                mu_step_f32(A, num, dpat, ch * CHUNK * k, min(r, (ch + 1) * CHUNK) * k, k,
                            l2, floor, tiny)
            else:
                mu_step_f64(A, num, dpat, ch * CHUNK * k, min(r, (ch + 1) * CHUNK) * k, k,
                            l2, floor, tiny)
    free(dpat)
    return 0


cdef int mu_rows_core(floating *A, Py_ssize_t r, Py_ssize_t k, const floating *num,
                      const floating *den, Py_ssize_t den_stride, double l1, double l2,
                      double gamma, double floor, double tiny, int n_threads,
                      double *delta) noexcept nogil:
    """A (r x k) <- max(floor, A * (num / (den + l1 + l2 A))^gamma), row i's den at
    den + i * den_stride (0: one k-vector for every row); ||A_new - A_old||^2 into delta, or
    not formed with delta NULL. -1 when out of memory."""
    cdef Py_ssize_t i, c, ch
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK
    cdef double s_delta, a, d, ratio, new
    cdef double *partials
    if den_stride == 0 and gamma == 1.0 and delta == NULL:
        return _mu_rows_plain(A, r, k, num, den, l1, l2, floor, tiny, n_threads)
    partials = new_partials(n_chunks, 1)
    if partials == NULL:
        return -1
    for ch in prange(n_chunks, schedule='dynamic', num_threads=n_threads):
        s_delta = 0.0
        for i in range(ch * CHUNK, min(r, (ch + 1) * CHUNK)):
            for c in range(k):
                a = A[i * k + c]
                d = den[i * den_stride + c] + l1 + l2 * a
                if d <= 0.0:
                    d = tiny
                ratio = num[i * k + c] / d
                if gamma != 1.0:
                    ratio = pow(ratio, gamma)
                new = nmfkit_max(a * ratio, floor)  # no branch: see _hals_coord
                if delta == NULL:
                    A[i * k + c] = <floating> new
                else:
                    _store(&A[i * k + c], new, &s_delta)
        partials[ch] = s_delta
    if delta != NULL:
        delta[0] = total(partials, n_chunks, 1, 0)
    free(partials)
    return 0


cdef double _mu_rows(floating[:, ::1] A, const floating[:, ::1] num, const floating *den,
                     Py_ssize_t den_stride, double l1, double l2, double gamma,
                     double floor, double tiny, int n_threads) except -1:
    """mu_rows_core on A and num; returns ||A_new - A_old||^2."""
    cdef double delta = 0.0
    cdef int status = 0
    if A.shape[0] == 0 or A.shape[1] == 0:
        return 0.0
    with nogil:
        status = mu_rows_core(&A[0, 0], A.shape[0], A.shape[1], &num[0, 0], den, den_stride,
                              l1, l2, gamma, floor, tiny, n_threads, &delta)
    if status < 0:
        raise MemoryError()
    return delta


def mu_div_step(floating[:, ::1] A not None, const floating[:, ::1] num not None,
                const floating[::1] den not None, double l1, double l2, double floor,
                double tiny, int n_threads):
    """Multiplicative step with a per-column denominator (KL: den = column sums of B), in place.

    A (r x k) IN/OUT; num (r x k) IN; den (k) IN.
    A <- max(floor, A * num / (den + l1 + l2 A)), a zero denominator read as tiny.
    Returns ||A_new - A_old||^2.
    """
    if den.shape[0] < A.shape[1]:
        raise ValueError("den must have k entries")
    return _mu_rows(A, num, &den[0] if den.shape[0] else NULL, 0, l1, l2, 1.0, floor, tiny,
                    n_threads)


def mu_beta_step(floating[:, ::1] A not None, const floating[:, ::1] num not None,
                 const floating[:, ::1] den not None, double l1, double l2, double gamma,
                 double floor, double tiny, int n_threads):
    """Multiplicative step with a full denominator (general beta, missing values), in place.

    A (r x k) IN/OUT; num (r x k) IN; den (r x k) IN.
    A <- max(floor, A * (num / (den + l1 + l2 A))^gamma), a zero denominator read as tiny;
    gamma is the exponent that keeps the beta-divergence monotone (1 for 1 <= beta <= 2).
    Returns ||A_new - A_old||^2.
    """
    return _mu_rows(A, num, &den[0, 0] if den.shape[0] and den.shape[1] else NULL,
                    den.shape[1], l1, l2, gamma, floor, tiny, n_threads)


cdef inline double _dot_own(const floating *a, const floating *b, Py_ssize_t k) noexcept nogil:
    # a . b in the data's precision for float32 (no conversion per entry), four running sums
    cdef Py_ssize_t c, k4 = k - k % 4
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    if floating is double:
        return dot(a, b, k)
    for c in range(0, k4, 4):
        s0 = s0 + a[c] * b[c]
        s1 = s1 + a[c + 1] * b[c + 1]
        s2 = s2 + a[c + 2] * b[c + 2]
        s3 = s3 + a[c + 3] * b[c + 3]
    for c in range(k4, k):
        s0 = s0 + a[c] * b[c]
    return (s0 + s1) + (s2 + s3)


cdef inline double _hals_coord(floating *a, Py_ssize_t c, const floating *gram_c,
                              double num_c, double l1, double l2, double inv_h, double floor,
                              Py_ssize_t k) noexcept nogil:
    cdef double new
    if inv_h > 0.0:  # the same for the whole column: predictable
        new = a[c] + (num_c - l1 - _dot_own(a, gram_c, k) - l2 * a[c]) * inv_h
    else:
        new = floor
    # One max instruction, no branch: on real data about half the entries sit at the floor
    # in no predictable pattern, and a branch here made a sweep up to 1.5x slower. (A NaN
    # becomes the floor.)
    return nmfkit_max(new, floor)


def hals_step(floating[:, ::1] A not None, const floating[:, ::1] num not None,
              const floating[:, ::1] gram not None, double l1, double l2, double floor,
              int n_threads):
    """One HALS / cyclic coordinate-descent sweep over the columns of A, in place.

    A (r x k) IN/OUT; num (r x k) IN = X B; gram (k x k) IN = B^T B (symmetric).
    For c = 0..k-1: A[:, c] <- max(floor, A[:, c] + (num[:, c] - l1 - (A gram)[:, c]
    - l2 A[:, c]) / (gram[c, c] + l2)); a column with gram[c, c] + l2 <= 0 (B's column is
    zero and no l2) does not enter the loss, and goes to the floor. Rows are independent,
    so a row-parallel sweep is exactly the column-by-column HALS update (Cichocki & Phan
    2009). (A gram)[i, c] is one dot product with the row's current entries: k^2 per row.
    Each coordinate waits for the previous one of its row, so four rows go side by side
    and their chains overlap. Returns ||A_new - A_old||^2.
    """
    cdef Py_ssize_t r = A.shape[0], k = A.shape[1], i, c, ch, end
    cdef Py_ssize_t n_chunks = (r + CHUNK - 1) // CHUNK
    cdef double s_delta, new0, new1, new2, new3
    cdef double *partials = new_partials(n_chunks, 1)
    cdef double *inv_h = <double *> malloc((k if k > 0 else 1) * sizeof(double))
    cdef floating *a0
    cdef floating *a1
    cdef floating *a2
    cdef floating *a3
    if inv_h == NULL or partials == NULL:
        free(inv_h)
        free(partials)
        raise MemoryError()
    for c in range(k):  # a multiplication in the loop, not a division (~20 cycles)
        inv_h[c] = 1.0 / (gram[c, c] + l2) if gram[c, c] + l2 > 0.0 else 0.0
    for ch in prange(n_chunks, nogil=True, schedule='dynamic', num_threads=n_threads):
        s_delta = 0.0
        end = min(r, (ch + 1) * CHUNK)
        i = ch * CHUNK
        while i + 3 < end:  # four rows at once: independent chains overlap their latencies
            a0 = &A[i, 0]
            a1 = &A[i + 1, 0]
            a2 = &A[i + 2, 0]
            a3 = &A[i + 3, 0]
            for c in range(k):
                new0 = _hals_coord(a0, c, &gram[c, 0], num[i, c], l1, l2, inv_h[c], floor, k)
                new1 = _hals_coord(a1, c, &gram[c, 0], num[i + 1, c], l1, l2, inv_h[c],
                                   floor, k)
                new2 = _hals_coord(a2, c, &gram[c, 0], num[i + 2, c], l1, l2, inv_h[c],
                                   floor, k)
                new3 = _hals_coord(a3, c, &gram[c, 0], num[i + 3, c], l1, l2, inv_h[c],
                                   floor, k)
                _store(&a0[c], new0, &s_delta)
                _store(&a1[c], new1, &s_delta)
                _store(&a2[c], new2, &s_delta)
                _store(&a3[c], new3, &s_delta)
            i = i + 4
        while i < end:
            a0 = &A[i, 0]
            for c in range(k):
                new0 = _hals_coord(a0, c, &gram[c, 0], num[i, c], l1, l2, inv_h[c], floor, k)
                _store(&a0[c], new0, &s_delta)
            i = i + 1
        partials[ch] = s_delta
    free(inv_h)
    result = total(partials, n_chunks, 1, 0)
    free(partials)
    return result


def extrapolate(const floating[:, ::1] cur not None, floating[:, ::1] last not None,
                floating[:, ::1] keep not None, double beta, double floor, int n_threads):
    """The extrapolated point of Ang & Gillis (2019) from two successive iterates, in one
    pass: last <- max(floor, cur + beta (cur - last)), written to keep as well (keep may be
    last itself). Elementwise, so the same bits on any thread count."""
    cdef Py_ssize_t r = cur.shape[0], k = cur.shape[1], i, j
    cdef floating b = <floating> beta, fl = <floating> floor, c, h
    if (last.shape[0] != r or last.shape[1] != k or keep.shape[0] != r
            or keep.shape[1] != k):
        raise ValueError("extrapolate: cur, last and keep must have the same shape")
    with nogil:
        for i in prange(r, num_threads=n_threads, schedule="static"):
            for j in range(k):
                c = cur[i, j]
                h = <floating> nmfkit_max(c + b * (c - last[i, j]), fl)  # NaN: the floor
                last[i, j] = h
                keep[i, j] = h
