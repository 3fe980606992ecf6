# Shared declarations for the nmfkit kernels: the OpenMP shim and a row-major GEMM.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm

cdef extern from "_omp_shim.h":
    int NMFKIT_HAVE_OPENMP
    int nmfkit_max_threads() noexcept nogil


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
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> b, &ldb, <float *> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> b, &ldb, <double *> a, &lda,
              &beta, c, &ldc)
