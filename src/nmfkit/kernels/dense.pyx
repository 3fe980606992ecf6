# Dense kernels: chunked BLAS products and the tiled KL numerator and objective.
#
# Conventions: V (m x n) is C-contiguous; W (m x k) and Ht (n x k) are C-contiguous, so
# that V ~= W Ht^T and both factor updates are row-parallel. All parallelism is OpenMP:
# each thread calls BLAS on its own block, so the caller keeps BLAS itself single-threaded
# meanwhile (nmfkit.core.threads.blas_single_threaded), or the two pools would multiply.
# WH is never stored whole: a thread forms one tile of it at a time in its own row of `buf`
# (n_threads x L). Blocks and tiles depend on the shapes and L only, never on the thread
# count, and every sum is added up in block order: the same bits on any thread count.
# For k <= KL_SMALL_K_MAX the KL numerator (and the float64 KL objective) skip the tiles:
# _kl_small.h's fused kernels read V once and call no BLAS.
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport log, logf
from libc.stdlib cimport free, malloc

from ._beta cimport beta_div, clip_wh, pow_m2
from ._common cimport GEMM_ROWS, GRAM_ROWS, floating, gemm_rm, new_partials, total


cdef extern from "_vtw_f32.h":
    int nmfkit_vtw_f32_available() noexcept nogil
    void nmfkit_vtw_f32(const float *V, Py_ssize_t ldv, const float *W, Py_ssize_t ldw,
                        Py_ssize_t m, Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t k, float *out,
                        Py_ssize_t ldo) noexcept nogil

cdef int _VTW_F32 = nmfkit_vtw_f32_available()
# The widths of B where the kernel beat BLAS (4000 x 2000, two threads, interleaved runs):
# 16: 4.0 vs 4.3 ms, 20: 3.2 vs 3.7, 24: 3.2 vs 4.9; at 8 and 12 they tied, at 30 BLAS won.
cdef enum:
    _K_MIN = 13
    _K_MAX = 24
VTW_K_MIN, VTW_K_MAX = _K_MIN, _K_MAX  # the same, for Python


def vtw_f32_kernel(enable=None):
    """Whether float32 X^T B may run in nmfkit's AVX2 kernel (else BLAS; see _vtw_f32.h).
    enable=False / True turns it off / back on where the CPU has it (tests, benchmarks);
    returns the previous setting."""
    global _VTW_F32
    previous = bool(_VTW_F32)
    if enable is not None:
        _VTW_F32 = bool(enable) and nmfkit_vtw_f32_available()
    return previous


def matmul(const floating[:, ::1] X not None, const floating[:, ::1] B not None,
           floating[:, ::1] out not None, bint trans_x, int n_threads):
    """out = op(X) B; X (p x q) IN, B IN, out OUT; op(X) = X^T if trans_x.

    The rows of out go in blocks of GEMM_ROWS, each one single-threaded BLAS call; float32
    X^T B with 13 <= k <= 24 goes to the AVX2 kernel of _vtw_f32.h instead when the CPU has
    it, in blocks of GEMM_ROWS columns of X.
    """
    if X.shape[0] == 0 or X.shape[1] == 0 or B.shape[1] == 0:
        out[:, :] = 0  # an empty inner dimension; nothing to do for an empty out
        return
    with nogil:
        matmul_core(&X[0, 0], X.shape[0], X.shape[1], &B[0, 0], B.shape[1], &out[0, 0],
                    trans_x, n_threads)


cdef void matmul_core(const floating *X, Py_ssize_t p, Py_ssize_t q, const floating *B,
                      Py_ssize_t k, floating *out, bint trans_x,
                      int n_threads) noexcept nogil:
    """matmul on pointers (X p x q, B, out C-contiguous, none of p, q, k zero)."""
    cdef Py_ssize_t rows = q if trans_x else p
    cdef Py_ssize_t inner = p if trans_x else q
    cdef Py_ssize_t n_blocks = (rows + GEMM_ROWS - 1) // GEMM_ROWS
    cdef Py_ssize_t c, n_col_blocks
    if floating is float:
        if trans_x and _VTW_F32 and _K_MIN <= k <= _K_MAX:
            n_col_blocks = (q + GEMM_ROWS - 1) // GEMM_ROWS
            for c in prange(n_col_blocks, schedule='dynamic', num_threads=n_threads):
                nmfkit_vtw_f32(X, q, B, k, p, c * GEMM_ROWS,
                               min(q, c * GEMM_ROWS + GEMM_ROWS), k, out, k)
            return
    if n_threads == 1 or n_blocks == 1:  # no parallel region: its start and end cost more
        for c in range(n_blocks):
            _matmul_block(X, q, B, k, out, trans_x, rows, inner, c)
        return
    for c in prange(n_blocks, schedule='dynamic', num_threads=n_threads):
        _matmul_block(X, q, B, k, out, trans_x, rows, inner, c)


cdef inline void _matmul_block(const floating *X, Py_ssize_t q, const floating *B,
                               Py_ssize_t k, floating *out, bint trans_x, Py_ssize_t rows,
                               Py_ssize_t inner, Py_ssize_t c) noexcept nogil:
    """matmul_core's block c of GEMM_ROWS rows of out."""
    cdef Py_ssize_t r0 = c * GEMM_ROWS, r1 = min(rows, c * GEMM_ROWS + GEMM_ROWS), i, j
    cdef floating *tmp
    if trans_x:
        # (B^T X[:, r0:r1]) is k x (r1 - r0): BLAS runs this wide product about twice as
        # fast as its transpose (a tall, 20-column result); then transpose it into out.
        tmp = <floating *> malloc(k * (r1 - r0) * sizeof(floating))
        if tmp == NULL:
            gemm_rm(True, False, <int> (r1 - r0), <int> k, <int> inner, 1.0, X + r0,
                    <int> q, B, <int> k, 0.0, out + r0 * k, <int> k)
            return
        gemm_rm(True, False, <int> k, <int> (r1 - r0), <int> inner, 1.0, B,
                <int> k, X + r0, <int> q, 0.0, tmp, <int> (r1 - r0))
        for i in range(r1 - r0):
            for j in range(k):
                out[(r0 + i) * k + j] = tmp[j * (r1 - r0) + i]
        free(tmp)
    else:
        gemm_rm(False, False, <int> (r1 - r0), <int> k, <int> inner, 1.0, X + r0 * q,
                <int> q, B, <int> k, 0.0, out + r0 * k, <int> k)


def gram(const floating[:, ::1] B not None, floating[:, ::1] out not None, int n_threads=1):
    """out (k x k) OUT = B^T B; B (r x k) IN. Returns the array behind out.

    Above GRAM_ROWS rows, each block of GRAM_ROWS rows is one BLAS call on its own thread,
    and the blocks' k x k products are added up in block order (in double): the same bits
    on any thread count.
    """
    cdef Py_ssize_t r = B.shape[0], k = B.shape[1]
    cdef int status
    if k == 0:
        return out.base
    if r == 0:
        out[:, :] = 0
        return out.base
    with nogil:
        status = gram_core(&B[0, 0], r, k, &out[0, 0], n_threads)
    if status < 0:
        raise MemoryError()
    return out.base


cdef int gram_core(const floating *B, Py_ssize_t r, Py_ssize_t k, floating *out,
                   int n_threads) noexcept nogil:
    """gram on pointers (B r x k, out k x k, r and k not zero); -1 when out of memory."""
    cdef Py_ssize_t kk = k * k
    cdef Py_ssize_t n_blocks = (r + GRAM_ROWS - 1) // GRAM_ROWS, c, r0, i
    cdef floating *parts
    cdef double acc
    if n_blocks <= 1:
        gemm_rm(True, False, <int> k, <int> k, <int> r, 1.0, B, <int> k, B, <int> k, 0.0,
                out, <int> k)
        return 0
    parts = <floating *> malloc(n_blocks * kk * sizeof(floating))
    if parts == NULL:
        return -1
    for c in prange(n_blocks, schedule='static', num_threads=n_threads):
        r0 = c * GRAM_ROWS
        gemm_rm(True, False, <int> k, <int> k, <int> (min(r, r0 + GRAM_ROWS) - r0), 1.0,
                B + r0 * k, <int> k, B + r0 * k, <int> k, 0.0, &parts[c * kk], <int> k)
    for i in range(kk):
        acc = 0.0
        for c in range(n_blocks):
            acc = acc + parts[c * kk + i]
        out[i] = <floating> acc
    free(parts)
    return 0


def sums(const floating[:, ::1] V not None, int n_threads):
    """(sum, sum of squares) of V's entries, in double, in one pass: each row with four
    running sums, rows added up in blocks of GEMM_ROWS, blocks in order (the same bits on
    any thread count). numpy needs two passes, and casts float32 on the way."""
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1], n4 = n - n % 4
    cdef Py_ssize_t n_blocks = (m + GEMM_ROWS - 1) // GEMM_ROWS, c, i, j
    cdef double s0, s1, s2, s3, q0, q1, q2, q3, x0, x1, x2, x3, bs, bq, result_s, result_q
    cdef double *partials = new_partials(n_blocks, 2)
    if partials == NULL:
        raise MemoryError()
    for c in prange(n_blocks, nogil=True, schedule='static', num_threads=n_threads):
        bs = 0.0
        bq = 0.0
        for i in range(c * GEMM_ROWS, min(m, c * GEMM_ROWS + GEMM_ROWS)):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            q0 = 0.0
            q1 = 0.0
            q2 = 0.0
            q3 = 0.0
            for j in range(0, n4, 4):
                x0 = V[i, j]
                x1 = V[i, j + 1]
                x2 = V[i, j + 2]
                x3 = V[i, j + 3]
                s0 = s0 + x0
                s1 = s1 + x1
                s2 = s2 + x2
                s3 = s3 + x3
                q0 = q0 + x0 * x0
                q1 = q1 + x1 * x1
                q2 = q2 + x2 * x2
                q3 = q3 + x3 * x3
            for j in range(n4, n):
                x0 = V[i, j]
                s0 = s0 + x0
                q0 = q0 + x0 * x0
            bs = bs + ((s0 + s1) + (s2 + s3))
            bq = bq + ((q0 + q1) + (q2 + q3))
        partials[2 * c] = bs
        partials[2 * c + 1] = bq
    result_s = total(partials, n_blocks, 2, 0)
    result_q = total(partials, n_blocks, 2, 1)
    free(partials)
    return result_s, result_q


cdef _check_workspace(const floating[:, ::1] buf, Py_ssize_t width, int n_threads):
    if n_threads < 1 or buf.shape[0] < n_threads or buf.shape[1] < width:
        raise ValueError(f"buf must have shape (>= n_threads, >= {width}), got "
                         f"({buf.shape[0]}, {buf.shape[1]}) for {n_threads} threads")


cdef extern from "_ratio.h":
    void nmfkit_ratio_f64(const double *v, Py_ssize_t ldv, double *t, Py_ssize_t rows,
                          Py_ssize_t cols, double tiny) noexcept nogil
    void nmfkit_ratio_f32(const float *v, Py_ssize_t ldv, float *t, Py_ssize_t rows,
                          Py_ssize_t cols, float tiny) noexcept nogil


cdef inline void _ratio(const floating *v, Py_ssize_t ldv, floating *t, Py_ssize_t rows,
                        Py_ssize_t cols, floating tiny) noexcept nogil:
    # t (rows x cols, dense) <- v / max(t, tiny), v with row stride ldv (see _ratio.h)
    if floating is float:
        nmfkit_ratio_f32(v, ldv, t, rows, cols, tiny)
    else:
        nmfkit_ratio_f64(v, ldv, t, rows, cols, tiny)


cdef extern from "_kl_small.h":
    int KL_SMALL_KMAX "NMFKIT_KL_SMALL_KMAX"
    int KL_LANES_F64 "NMFKIT_KL_LANES_F64"
    int KL_LANES_F32 "NMFKIT_KL_LANES_F32"
    void kl_pad_f64 "nmfkit_kl_pad_f64"(const double *Ht, Py_ssize_t n, Py_ssize_t k,
                                        double *Hp, Py_ssize_t ldh) noexcept nogil
    void kl_pad_f32 "nmfkit_kl_pad_f32"(const float *Ht, Py_ssize_t n, Py_ssize_t k,
                                        float *Hp, Py_ssize_t ldh) noexcept nogil
    void kl_rows_f64 "nmfkit_kl_rows_f64"(
        const double *V, Py_ssize_t ldv, const double *W, const double *Ht, const double *Hp,
        Py_ssize_t ldh, Py_ssize_t n, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k, double tiny,
        double *num) noexcept nogil
    void kl_rows_f32 "nmfkit_kl_rows_f32"(
        const float *V, Py_ssize_t ldv, const float *W, const float *Ht, const float *Hp,
        Py_ssize_t ldh, Py_ssize_t n, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k, float tiny,
        float *num) noexcept nogil
    void kl_cols_f64 "nmfkit_kl_cols_f64"(
        const double *V, Py_ssize_t ldv, const double *W, const double *Hp, Py_ssize_t ldh,
        Py_ssize_t m, Py_ssize_t n, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t k, double tiny,
        double *num) noexcept nogil
    void kl_cols_f32 "nmfkit_kl_cols_f32"(
        const float *V, Py_ssize_t ldv, const float *W, const float *Hp, Py_ssize_t ldh,
        Py_ssize_t m, Py_ssize_t n, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t k, float tiny,
        float *num) noexcept nogil
    double kl_objective_f64 "nmfkit_kl_objective_f64"(
        const double *V, Py_ssize_t ldv, const double *W, const double *Hp, Py_ssize_t ldh,
        Py_ssize_t n, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k, double tiny) noexcept nogil
    int kl_v3_allowed "nmfkit_kl_v3_allowed"
    int kl_v3_available "nmfkit_kl_v3_available"() noexcept nogil
    int kl_use_v3 "nmfkit_kl_use_v3"(int allow) noexcept nogil

KL_SMALL_K_MAX = KL_SMALL_KMAX  # for Python: the largest k of the fused KL numerator


def kl_small_v3(enable=None):
    """Whether the fused small-k KL kernels run their x86-64-v3 version (AVX2 and FMA; else
    the baseline one, which rounds differently; see _kl_small.h). enable=False / True turns
    it off / back on where the CPU has it (tests, benchmarks); returns the previous
    setting. Not to be switched while a fit runs."""
    previous = bool(kl_v3_allowed and kl_v3_available())
    if enable is not None:
        kl_use_v3(bool(enable))
    return previous


cdef int _kl_small(const floating *V, const floating *W, const floating *Ht, Py_ssize_t m,
                   Py_ssize_t n, Py_ssize_t k, bint h_side, floating *num, Py_ssize_t L,
                   Py_ssize_t col_block, floating tiny, int n_threads) noexcept nogil:
    """The KL numerator of a small k (k <= KL_SMALL_KMAX) by _kl_small.h's fused kernels,
    with walk_tiles's tasks (columns in blocks rounded up to whole vectors); -1 when out of
    memory. Each entry of num is summed by one task in an order fixed by the shapes alone."""
    cdef Py_ssize_t lanes = KL_LANES_F32 if floating is float else KL_LANES_F64
    cdef Py_ssize_t ldh = n + lanes, cb, n_tasks, t
    cdef floating *Hp = <floating *> malloc(k * ldh * sizeof(floating))
    if Hp == NULL:
        return -1
    if floating is float:
        kl_pad_f32(Ht, n, k, Hp, ldh)
    else:
        kl_pad_f64(Ht, n, k, Hp, ldh)
    if h_side:
        cb = (max(1, min(col_block, n)) + lanes - 1) // lanes * lanes
        n_tasks = (n + cb - 1) // cb
    else:
        cb = max(1, L // n)  # rows per task
        n_tasks = (m + cb - 1) // cb
    if n_threads == 1 or n_tasks == 1:  # no parallel region: its start and end cost more
        _kl_small_task(V, W, Ht, Hp, ldh, m, n, k, h_side, num, cb, 0, n_tasks, tiny)
    else:
        for t in prange(n_tasks, schedule='dynamic', num_threads=n_threads):
            _kl_small_task(V, W, Ht, Hp, ldh, m, n, k, h_side, num, cb, t, t + 1, tiny)
    free(Hp)
    return 0


cdef inline void _kl_small_task(const floating *V, const floating *W, const floating *Ht,
                                const floating *Hp, Py_ssize_t ldh, Py_ssize_t m,
                                Py_ssize_t n, Py_ssize_t k, bint h_side, floating *num,
                                Py_ssize_t size, Py_ssize_t t0, Py_ssize_t t1,
                                floating tiny) noexcept nogil:
    # tasks t0 <= t < t1 of _kl_small: blocks of `size` columns (h_side) or rows of num
    cdef Py_ssize_t lo = t0 * size, hi
    if h_side:
        hi = min(n, t1 * size)
        if floating is float:
            kl_cols_f32(V, n, W, Hp, ldh, m, n, lo, hi, k, tiny, num)
        else:
            kl_cols_f64(V, n, W, Hp, ldh, m, n, lo, hi, k, tiny, num)
    else:
        hi = min(m, t1 * size)
        if floating is float:
            kl_rows_f32(V, n, W, Ht, Hp, ldh, n, lo, hi, k, tiny, num)
        else:
            kl_rows_f64(V, n, W, Ht, Hp, ldh, n, lo, hi, k, tiny, num)


cdef void walk_tiles(const floating *V, const floating *W, const floating *Ht, Py_ssize_t m,
                     Py_ssize_t n, Py_ssize_t k, bint h_side, floating *num, floating *den,
                     floating *buf, Py_ssize_t L, floating *buf2, Py_ssize_t ld2,
                     Py_ssize_t col_block, bint kl, double beta, double tiny,
                     int n_threads) noexcept nogil:
    """The tiled walk behind kl_numerator and beta_products (m, n > 0).

    W (m x k), Ht (n x k); buf holds one row of L >= n elements per thread. WH is formed one
    tile at a time in the thread's row of buf and turned in place into P
    (kl: V / max(WH, tiny); else V o WH^(beta-2), and Q = WH^(beta-1) into buf2's row), then
    contracted with B: num = P B, den = Q B (num NULL: skipped; den only without kl).
    h_side false: B = Ht, tiles of L // n whole rows, one per task. h_side true: B = W, one
    task per block of col_block columns, which walks down V in tiles of L // col_block rows
    and owns its block's rows of num and den. buf2 (rows ld2 apart, ld2 >= L) may be NULL
    with kl.
    """
    cdef Py_ssize_t rows, cb = 1, n_tasks, t, t0, c0, cw, rw, tid
    cdef floating ftiny = <floating> tiny
    cdef floating *b
    cdef floating *b2
    cdef const floating *v
    if kl and num != NULL and k <= KL_SMALL_KMAX:
        if _kl_small(V, W, Ht, m, n, k, h_side, num, L, col_block, ftiny, n_threads) == 0:
            return
    if h_side:
        cb = max(1, min(col_block, n))
        rows = L // cb
        n_tasks = (n + cb - 1) // cb
    else:
        rows = L // n
        n_tasks = (m + rows - 1) // rows
    with parallel(num_threads=n_threads):
        tid = threadid()
        b = buf + tid * L
        b2 = buf2 + tid * ld2 if buf2 != NULL else NULL
        for t in prange(n_tasks, schedule='dynamic'):
            if h_side:
                c0 = t * cb
                cw = min(cb, n - c0)
                t0 = 0
                while t0 < m:
                    rw = min(rows, m - t0)
                    gemm_rm(False, True, <int> rw, <int> cw, <int> k, 1.0, W + t0 * k,
                            <int> k, Ht + c0 * k, <int> k, 0.0, b, <int> cw)
                    v = V + t0 * n + c0 if V != NULL else NULL
                    if kl:
                        _ratio(v, n, b, rw, cw, ftiny)
                    else:
                        _beta_tile(v, n, b, b2, rw, cw, beta, tiny)
                    if num != NULL:
                        gemm_rm(True, False, <int> cw, <int> k, <int> rw, 1.0, b, <int> cw,
                                W + t0 * k, <int> k, 0.0 if t0 == 0 else 1.0, num + c0 * k,
                                <int> k)
                    if den != NULL:
                        gemm_rm(True, False, <int> cw, <int> k, <int> rw, 1.0, b2, <int> cw,
                                W + t0 * k, <int> k, 0.0 if t0 == 0 else 1.0, den + c0 * k,
                                <int> k)
                    t0 = t0 + rw
            else:
                t0 = t * rows
                rw = min(rows, m - t0)
                gemm_rm(False, True, <int> rw, <int> n, <int> k, 1.0, W + t0 * k, <int> k,
                        Ht, <int> k, 0.0, b, <int> n)
                v = V + t0 * n if V != NULL else NULL
                if kl:
                    _ratio(v, n, b, rw, n, ftiny)
                else:
                    _beta_tile(v, n, b, b2, rw, n, beta, tiny)
                if num != NULL:
                    gemm_rm(False, False, <int> rw, <int> k, <int> n, 1.0, b, <int> n,
                            Ht, <int> k, 0.0, num + t0 * k, <int> k)
                if den != NULL:
                    gemm_rm(False, False, <int> rw, <int> k, <int> n, 1.0, b2, <int> n,
                            Ht, <int> k, 0.0, den + t0 * k, <int> k)


def kl_numerator(const floating[:, ::1] V not None, const floating[:, ::1] W not None,
                 const floating[:, ::1] Ht not None, bint h_side,
                 floating[:, ::1] num not None, floating[:, ::1] buf not None,
                 Py_ssize_t col_block, double tiny, int n_threads):
    """KL numerator with R = V / max(W Ht^T, tiny) formed one tile at a time.

    V (m x n), W (m x k), Ht (n x k) IN; buf (n_threads x L) workspace, L >= n.
    h_side false: num (m x k) OUT = R Ht. h_side true: num (n x k) OUT = R^T W.
    Tiles as walk_tiles cuts them; for k <= KL_SMALL_K_MAX, _kl_small.h's fused kernels,
    whose bits depend on V, W and Ht alone (not on L, col_block or n_threads).
    """
    cdef Py_ssize_t m = V.shape[0], n = V.shape[1]
    _check_workspace(buf, n, n_threads)
    if m == 0 or n == 0:  # an empty sum: R^T W or R Ht is zero
        num[:, :] = 0
        return
    with nogil:
        walk_tiles(&V[0, 0], &W[0, 0], &Ht[0, 0], m, n, W.shape[1], h_side, &num[0, 0], NULL,
                   &buf[0, 0], buf.shape[1], NULL, 0, col_block, True, 1.0, tiny, n_threads)


cdef inline void _beta_tile(const floating *v, Py_ssize_t ldv, floating *p, floating *q,
                           Py_ssize_t rows, Py_ssize_t cols, double beta,
                           double tiny) noexcept nogil:
    # in: p (rows x cols, dense) = a tile of WH. out: p = v wh^(beta-2), q = wh^(beta-1),
    # both 0 where v is NaN (unobserved). v NULL: every entry is an observed 0 (q only).
    cdef Py_ssize_t i, j
    cdef double wh, r, x
    for i in range(rows):
        for j in range(cols):
            wh = clip_wh(p[i * cols + j], beta, tiny)
            r = pow_m2(wh, beta)
            if v == NULL:
                q[i * cols + j] = <floating> (wh * r)
                continue
            x = v[i * ldv + j]
            if x != x:
                p[i * cols + j] = 0
                q[i * cols + j] = 0
            else:
                p[i * cols + j] = <floating> (x * r)
                q[i * cols + j] = <floating> (wh * r)


def beta_products(const floating[:, ::1] V, const floating[:, ::1] W not None,
                  const floating[:, ::1] Ht not None, bint h_side, floating[:, ::1] num,
                  floating[:, ::1] den not None, floating[:, ::1] buf not None,
                  floating[:, ::1] buf2 not None, Py_ssize_t col_block, double beta,
                  double tiny, int n_threads):
    """Numerator and denominator of a beta multiplicative update, one tile of WH at a time.

    V (m x n) IN or None; W (m x k), Ht (n x k) IN; buf, buf2 (n_threads x L) workspace.
    With P = V o (W Ht^T)^(beta-2) and Q = (W Ht^T)^(beta-1), both 0 where V is NaN
    (an unobserved entry), and B = Ht (h_side false) or W (h_side true):
    num OUT = P B, den OUT = Q B, of shape (m x k) or (n x k).
    V None stands for an all-zero, fully observed V (the zeros of a sparse matrix): only
    den is computed and num may be None. Tiles as walk_tiles cuts them.
    """
    cdef Py_ssize_t m = W.shape[0], n = Ht.shape[0]
    cdef bint has_v = V is not None
    _check_workspace(buf, n, n_threads)
    _check_workspace(buf2, buf.shape[1], n_threads)
    if has_v and (V.shape[0] != m or V.shape[1] != n or num is None):
        raise ValueError("V must be (m x n) and num given when V is")
    if m == 0 or n == 0:
        if has_v:
            num[:, :] = 0
        den[:, :] = 0
        return
    walk_tiles(&V[0, 0] if has_v else NULL, &W[0, 0], &Ht[0, 0], m, n, W.shape[1], h_side,
               &num[0, 0] if has_v else NULL, &den[0, 0], &buf[0, 0], buf.shape[1],
               &buf2[0, 0], buf2.shape[1], col_block, False, beta, tiny, n_threads)


cdef inline double _kl_tile(const floating *v, Py_ssize_t ldv, const floating *t,
                           Py_ssize_t rows, Py_ssize_t cols, double tiny) noexcept nogil:
    # sum over a tile of d_KL(v | wh), wh = t (rows x cols, dense), in double; NaN v left
    # out. beta_div's general dispatch, specialized: KL's objective is a hot loop.
    cdef Py_ssize_t i, j
    cdef double part = 0.0, x, row
    cdef floating ftiny = <floating> tiny
    cdef floating fwh
    for i in range(rows):
        row = 0.0
        for j in range(cols):
            x = v[i * ldv + j]
            if x != x:
                continue
            fwh = t[i * cols + j]
            row = row + fwh
            if x > 0.0:
                if fwh < ftiny:
                    fwh = ftiny
                if floating is float:  # float32 data and products: logf is as exact
                    row = row + x * logf(<float> x / fwh) - x
                else:
                    row = row + x * log(x / fwh) - x
        part = part + row
    return part


cdef inline double _fro_tile(const floating *v, Py_ssize_t ldv, const floating *t,
                            Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    # sum over a tile of (v - wh)^2 / 2, in double, NaN v left out; two running sums per row
    # (the difference is formed in V's precision, as the products are)
    cdef Py_ssize_t i, j
    cdef double part = 0.0, s0, s1, d
    cdef floating x
    for i in range(rows):
        s0 = 0.0
        s1 = 0.0
        for j in range(0, cols - 1, 2):
            x = v[i * ldv + j]
            if x == x:
                d = x - t[i * cols + j]
                s0 = s0 + d * d
            x = v[i * ldv + j + 1]
            if x == x:
                d = x - t[i * cols + j + 1]
                s1 = s1 + d * d
        if cols % 2:
            x = v[i * ldv + cols - 1]
            if x == x:
                d = x - t[i * cols + cols - 1]
                s0 = s0 + d * d
        part = part + 0.5 * (s0 + s1)
    return part


def objective(const floating[:, ::1] V, const floating[:, ::1] W not None,
              const floating[:, ::1] Ht not None, floating[:, ::1] buf not None,
              double beta, double tiny, int n_threads):
    """Beta-divergence D(V | W Ht^T), summed in double, tile by tile.

    V (m x n) IN or None; W (m x k), Ht (n x k) IN; buf (n_threads x L) workspace, L >= n.
    NaN entries of V are unobserved and left out of the sum. V None stands for an all-zero
    V (the zeros of a sparse matrix: the sum of d(0 | wh)). Products below tiny are read as
    tiny for beta < 2 (see _beta.pxd); a zero of V needs beta > 0.
    """
    cdef Py_ssize_t m = W.shape[0], n = Ht.shape[0]
    cdef double result
    cdef int status
    _check_workspace(buf, n, n_threads)
    if V is not None and (V.shape[0] != m or V.shape[1] != n):
        raise ValueError("V must be (m x n)")
    if m == 0 or n == 0:
        return 0.0
    with nogil:
        status = objective_core(&V[0, 0] if V is not None else NULL, &W[0, 0], &Ht[0, 0], m,
                                n, W.shape[1], &buf[0, 0], buf.shape[1], beta, tiny,
                                n_threads, &result)
    if status < 0:
        raise MemoryError()
    return result


cdef int objective_core(const floating *V, const floating *W, const floating *Ht,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, floating *buf, Py_ssize_t L,
                        double beta, double tiny, int n_threads,
                        double *result) noexcept nogil:
    """objective on pointers (m, n > 0; V NULL: all zeros; buf one row of L >= n elements per
    thread) into result; -1 when out of memory."""
    cdef Py_ssize_t rows = L // n, n_tiles = (m + rows - 1) // rows, t, t0, i, j, rw, tid
    cdef double part, v
    cdef floating *b
    cdef double *Hp = NULL
    cdef Py_ssize_t ldh = n + KL_LANES_F64
    cdef double *partials = new_partials(n_tiles, 1)
    if partials == NULL:
        return -1
    if floating is double:
        if beta == 1.0 and V != NULL and k <= KL_SMALL_KMAX:
            # small k: _kl_small.h's fused pass, the same tiles
            Hp = <double *> malloc(k * ldh * sizeof(double))
        if Hp != NULL:
            kl_pad_f64(Ht, n, k, Hp, ldh)
            if n_threads == 1 or n_tiles == 1:  # no parallel region (see _kl_small)
                for t in range(n_tiles):
                    partials[t] = kl_objective_f64(V, n, W, Hp, ldh, n, t * rows,
                                                   min(m, t * rows + rows), k, tiny)
            else:
                for t in prange(n_tiles, schedule='dynamic', num_threads=n_threads):
                    partials[t] = kl_objective_f64(V, n, W, Hp, ldh, n, t * rows,
                                                   min(m, t * rows + rows), k, tiny)
            free(Hp)
            result[0] = total(partials, n_tiles, 1, 0)
            free(partials)
            return 0
    with parallel(num_threads=n_threads):
        tid = threadid()
        b = buf + tid * L
        for t in prange(n_tiles, schedule='dynamic'):
            t0 = t * rows
            rw = min(rows, m - t0)
            gemm_rm(False, True, <int> rw, <int> n, <int> k, 1.0, W + t0 * k, <int> k,
                    Ht, <int> k, 0.0, b, <int> n)
            if beta == 1.0 and V != NULL:
                partials[t] = _kl_tile(V + t0 * n, n, b, rw, n, tiny)
                continue
            if beta == 2.0 and V != NULL:
                partials[t] = _fro_tile(V + t0 * n, n, b, rw, n)
                continue
            part = 0.0
            for i in range(rw):
                for j in range(n):
                    v = V[(t0 + i) * n + j] if V != NULL else 0.0
                    if v == v:
                        part = part + beta_div(v, b[i * n + j], beta, tiny)
            partials[t] = part
    result[0] = total(partials, n_tiles, 1, 0)
    free(partials)
    return 0
