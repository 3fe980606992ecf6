"""Shared inputs, NumPy references and call helpers of the kernel tests.

Internal convention (see src/nmfkit/core/matrix.py): V (m x n) ~= W Ht^T with W (m x k) and
Ht (n x k), all C-contiguous, float32 or float64; CSR index arrays int32 or int64.

Every reference below works in float64 on the kernel's (possibly float32) inputs, so the
comparison tolerance only has to absorb the kernel's own rounding: ~1e-4 relative for
float32, ~1e-10 for float64. IN arguments are passed read-only, which checks both that the
kernels accept read-only buffers (`const`) and that they never write to them.

Work is cut into fixed chunks that do not depend on the thread count (src/nmfkit/kernels/
_common.pxd: CHUNK rows for the steps and sparse kernels, GEMM_ROWS output rows per BLAS
call of dense.matmul, tiles of a workspace row of L elements for the dense KL kernels) and
every reduction adds one partial sum per chunk in chunk order. So every result is
bit-identical for any thread count, and equals the chunk-by-chunk composition of calls on
the chunks alone: the test modules check both exactly, not to rounding.

Used by test_kernels_dense.py, test_kernels_sparse.py, test_kernels_steps.py,
test_matrix.py, test_threads.py and test_beta.py.
"""

import numpy as np
import scipy.sparse as sp

from nmfkit.kernels import dense as _dense, steps as _steps

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}
INDEX_DTYPES = [np.int32, np.int64]
# (m, n, k): ordinary, m = 1, n = 1, k = 1, k larger than m and n, everything 1.
SHAPES = [(9, 7, 3), (1, 6, 2), (6, 1, 2), (5, 4, 1), (3, 4, 6), (1, 1, 1)]
SHAPE_IDS = ["m9n7k3", "m1", "n1", "k1", "k>m,n", "m1n1k1"]
# Thread count of the reference comparisons. One thread keeps them fast on a busy machine
# (an OpenMP team on oversubscribed cores mostly waits at barriers); the tests of
# test_threads.py check that 2 and 3 threads give the same results as 1.
NT = 1
CHUNK = 64       # rows per chunk of the steps and sparse kernels (_common.pxd)
GEMM_ROWS = 256  # output rows per BLAS call of _dense.matmul (_common.pxd)
TINY = 1e-3  # large enough that float32 rounding never decides which side of it WH falls


def rtol(dtype):
    return RTOL[np.dtype(dtype)]


def assert_close(actual, desired, dtype, scale=None):
    """Relative comparison; entries near 0 are compared against the array's magnitude."""
    desired = np.asarray(desired, dtype=np.float64)
    if scale is None:
        scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), desired,
                               rtol=rtol(dtype), atol=rtol(dtype) * scale)


def readonly(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)  # own copy
        a.setflags(write=False)
        out.append(a)
    return out if len(out) > 1 else out[0]


def f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def rand(rng, shape, dtype, zeros=0.0):
    a = rng.uniform(0.1, 1.0, size=shape)
    if zeros:
        a[rng.random(shape) < zeros] = 0.0
    return a.astype(dtype)


def problem(rng, m, n, k, dtype, zeros=0.3):
    """V (m x n) with zeros, W (m x k), Ht (n x k), all read-only."""
    return readonly(rand(rng, (m, n), dtype, zeros), rand(rng, (m, k), dtype),
                    rand(rng, (n, k), dtype))


def csr_with_empty_rows(rng, m, n, dtype, index_dtype, density=0.4):
    """A canonical CSR with empty rows and columns (when m, n allow), given index dtype."""
    X = sp.random(m, n, density=density, random_state=rng, format="csr", dtype=np.float64)
    X.data = rng.uniform(0.1, 1.0, size=X.nnz)
    X = X.tolil()
    if m > 2:
        X[m // 2, :] = 0.0  # an empty row in the middle
        X[m - 1, :] = 0.0   # and at the end (indptr[-2] == indptr[-1])
    if n > 2:
        X[:, 1] = 0.0
    X = sp.csr_matrix(X, dtype=dtype)
    X.sort_indices()
    X.indptr = X.indptr.astype(index_dtype)
    X.indices = X.indices.astype(index_dtype)
    return X


def csr_args(X):
    return readonly(X.indptr, X.indices, X.data)


# -- NumPy references -------------------------------------------------------------------

def ref_kl_num(V, W, Ht, h_side, tiny):
    V, W, Ht = f64(V, W, Ht)
    R = V / np.maximum(W @ Ht.T, tiny)
    return R.T @ W if h_side else R @ Ht


def ref_objective(V, W, Ht, beta, tiny):
    V, W, Ht = f64(V, W, Ht)
    WH = W @ Ht.T
    if beta == 2.0:
        return 0.5 * float(np.sum((V - WH) ** 2))
    pos = V > 0
    v, wh = V[pos], np.maximum(WH[pos], tiny)
    return float(WH.sum() + np.sum(v * np.log(v / wh) - v))


def ref_stored_terms(X, A, B, beta, tiny):
    coo = X.tocoo()
    A, B, x = f64(A, B, coo.data)
    wh = np.einsum("pk,pk->p", A[coo.row], B[coo.col])
    if beta == 2.0:
        return float(np.sum(x * wh))
    pos = x > 0
    return float(np.sum(x[pos] * np.log(x[pos] / np.maximum(wh[pos], tiny))))


def ref_mu_fro(A, num, gram, l1, l2, floor, tiny):
    A0, num, gram = f64(A, num, gram)
    AG = A0 @ gram
    den = AG + l1 + l2 * A0
    den = np.where(den <= 0.0, tiny, den)
    new = np.maximum(A0 * num / den, floor)
    return new, (np.sum(A0 * num), np.sum(A0 * AG), np.sum((new - A0) ** 2))


def ref_mu_div(A, num, den, l1, l2, floor, tiny):
    A0, num, den = f64(A, num, den)
    d = den[None, :] + l1 + l2 * A0
    d = np.where(d <= 0.0, tiny, d)
    new = np.maximum(A0 * num / d, floor)
    return new, np.sum((new - A0) ** 2)


def ref_hals(A, num, gram, l1, l2, floor):
    """Column-by-column HALS; A holds the kernel's dtype between columns, as the kernel does."""
    dtype = A.dtype
    A, num, gram = f64(A, num, gram)
    A = A.copy()
    s_num, s_gram = np.sum(A * num), np.sum(A * (A @ gram))
    delta = 0.0
    for c in range(A.shape[1]):
        h = gram[c, c] + l2
        a = A[:, c].copy()
        if h <= 0.0:  # the column does not enter the loss: it goes to the floor
            new = np.full_like(a, floor)
        else:
            new = np.maximum(a + (num[:, c] - l1 - A @ gram[:, c] - l2 * a) / h, floor)
        delta += np.sum((new - a) ** 2)
        A[:, c] = new.astype(dtype)
    return A, (s_num, s_gram, delta)


# -- workspaces and dense KL calls --------------------------------------------------------

def widths(m, n):
    """Workspace row lengths L: exactly n and n + 1 (one row per W-side tile), 2n and 3n
    (tiles that need not divide m), and more than m * n (a single tile)."""
    return sorted({n, n + 1, 2 * n, 3 * n, m * n + 5})


def col_blocks(n):
    """H-side column blocks: 1, 3 (ragged unless 3 divides n), exactly n, more than n."""
    return sorted({1, 3, n, n + 4})


SENTINEL = -7.0


def workspace(n_threads, L, dtype, extra_rows=1):
    """buf (n_threads + extra_rows x L): the first n_threads rows NaN, the others SENTINEL.

    A kernel that reads a workspace entry it did not write shows as NaN; one that uses a row
    beyond n_threads, or writes past the end of the last thread's L elements, changes the
    SENTINEL rows (check_untouched). With one thread that covers any overrun of L.
    """
    buf = np.full((n_threads + extra_rows, L), SENTINEL, dtype=dtype)
    buf[:n_threads] = np.nan
    return buf


def check_untouched(buf, n_threads):
    np.testing.assert_array_equal(buf[n_threads:], SENTINEL)


def dense_kl_num(V, W, Ht, h_side, L=None, col_block=3, n_threads=NT):
    """_dense.kl_numerator into a fresh NaN-filled num; buf (n_threads x L), L = n default."""
    m, n = V.shape
    k = W.shape[1]
    L = n if L is None else L
    num = np.full((n if h_side else m, k), np.nan, dtype=V.dtype)
    buf = workspace(n_threads, L, V.dtype)
    _dense.kl_numerator(V, W, Ht, h_side, num, buf, col_block, TINY, n_threads)
    check_untouched(buf, n_threads)
    return num


def dense_objective(V, W, Ht, beta, L=None, n_threads=NT):
    L = V.shape[1] if L is None else L
    buf = workspace(n_threads, L, V.dtype)
    got = _dense.objective(V, W, Ht, buf, beta, TINY, n_threads)
    check_untouched(buf, n_threads)
    return got



def small_wh_problem(rng, dtype):
    """V with zeros; row 0 of W is zero (WH row exactly 0) and row 1 tiny (0 < WH < TINY)."""
    m, n, k = 7, 6, 3
    V = rand(rng, (m, n), dtype, zeros=0.3)
    V[0, :3] = 0.0
    V[0, 3:] = 0.5
    V[1, 0] = 0.0
    V[1, 1:] = 0.25
    W = rand(rng, (m, k), dtype)
    W[0] = 0.0
    W[1] = 1e-6
    Ht = rand(rng, (n, k), dtype)
    Ht[2] = 0.0  # column 2 of WH is exactly 0 too
    WH = f64(W)[0] @ f64(Ht)[0].T
    assert np.any((WH < TINY) & (V > 0)) and np.any((WH < TINY) & (V == 0))
    assert np.any((WH > 0) & (WH < TINY))
    return readonly(V, W, Ht)


def run_step(name, A, num, gram, den, n_threads=NT):
    """One of the three steps, with penalties and a floor; returns its sums as a tuple."""
    if name == "mu_fro":
        return _steps.mu_fro_step(A, num, gram, 0.1, 0.2, 1e-6, TINY, n_threads)
    if name == "hals":
        return (_steps.hals_step(A, num, gram, 0.1, 0.2, 1e-6, n_threads),)
    return (_steps.mu_div_step(A, num, den, 0.1, 0.2, 1e-6, TINY, n_threads),)
