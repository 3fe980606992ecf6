# Shared declarations for the nmfkit kernels: the OpenMP shim, a row-major GEMM, and
# per-chunk partial sums that make every reduction deterministic.
from cython cimport floating
from libc.stdlib cimport calloc
from scipy.linalg.cython_blas cimport sgemm, dgemm

cdef extern from "_omp_shim.h":
    int NMFKIT_HAVE_OPENMP
    int nmfkit_max_threads() noexcept nogil
    void nmfkit_prefetch(const void *p) noexcept nogil
    double nmfkit_max(double a, double b) noexcept nogil

# Work is cut into fixed chunks that do not depend on the thread count, scheduled
# dynamically (robust when a core is busy elsewhere), and every reduction keeps one partial
# sum per chunk, added up in chunk order: results are bit-identical for any thread count.
cdef enum:
    CHUNK = 64          # rows per chunk of the row-parallel kernels
    GEMM_ROWS = 256     # output rows per BLAS call of the chunked products
    GRAM_ROWS = 4096    # rows per BLAS call (and partial product) of the Gram matrix


cdef inline double *new_partials(Py_ssize_t n_chunks, int n_sums) noexcept nogil:
    """Zeroed storage for n_sums partial sums per chunk (free() it); NULL if out of memory."""
    return <double *> calloc(<size_t> (n_chunks * n_sums if n_chunks > 0 else 1),
                             sizeof(double))


cdef inline double total(const double *partials, Py_ssize_t n_chunks, int n_sums,
                         int which) noexcept nogil:
    """Sum of partial `which` over chunks 0..n_chunks-1, in that order."""
    cdef Py_ssize_t t
    cdef double s = 0.0
    for t in range(n_chunks):
        s += partials[t * n_sums + which]
    return s


cdef inline void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k,
                         floating alpha, const floating *a, int lda,
                         const floating *b, int ldb,
                         floating beta, floating *c, int ldc) noexcept nogil:
    """Row-major C (m x n) = alpha * op(A) op(B) + beta * C, op(A) m x k, op(B) k x n.

    lda, ldb, ldc are the row strides (in elements) of A, B, C as stored.
    Column-major BLAS sees C^T = op(B)^T op(A)^T, so the operands swap.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef int i, j
    if m <= 0 or n <= 0:
        return
    if k <= 0:  # empty inner dimension: C = beta C, as BLAS defines it
        for i in range(m):
            for j in range(n):
                c[i * ldc + j] = beta * c[i * ldc + j] if beta != 0 else 0
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> b, &ldb, <float *> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> b, &ldb, <double *> a, &lda,
              &beta, c, &ldc)


cdef inline double dot(const floating *a, const floating *b, Py_ssize_t k) noexcept nogil:
    """a . b over k entries, in double. Four independent running sums: a single one is a
    chain of dependent additions, and without -ffast-math the compiler may not reorder it.
    The order is fixed: deterministic."""
    cdef Py_ssize_t c, k4 = k - k % 4
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    for c in range(0, k4, 4):
        s0 = s0 + a[c] * b[c]
        s1 = s1 + a[c + 1] * b[c + 1]
        s2 = s2 + a[c + 2] * b[c + 2]
        s3 = s3 + a[c + 3] * b[c + 3]
    for c in range(k4, k):
        s0 = s0 + a[c] * b[c]
    return (s0 + s1) + (s2 + s3)
