"""The compiled kernels against small plain-NumPy references.

Internal convention (see src/nmfkit/_matrix.py): V (m x n) ~= W Ht^T with W (m x k) and
Ht (n x k), all C-contiguous, float32 or float64; CSR index arrays int32 or int64.

Every reference below works in float64 on the kernel's (possibly float32) inputs, so the
comparison tolerance only has to absorb the kernel's own rounding: ~1e-4 relative for
float32, ~1e-10 for float64. IN arguments are passed read-only, which checks both that the
kernels accept read-only buffers (`const`) and that they never write to them.

Work is cut into fixed chunks that do not depend on the thread count (src/nmfkit/_kernels/
_common.pxd: CHUNK rows for the steps and sparse kernels, GEMM_ROWS output rows per BLAS
call of _dense.matmul, tiles of a workspace row of L elements for the dense KL kernels) and
every reduction adds one partial sum per chunk in chunk order. So every result is
bit-identical for any thread count, and equals the chunk-by-chunk composition of calls on
the chunks alone: the tests below check both exactly, not to rounding.
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from nmfkit.kernels import dense as _dense, sparse as _sparse, steps as _steps
from nmfkit.core.matrix import Matrix
from nmfkit.core.threads import blas_single_threaded, effective_n_threads

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}
INDEX_DTYPES = [np.int32, np.int64]
# (m, n, k): ordinary, m = 1, n = 1, k = 1, k larger than m and n, everything 1.
SHAPES = [(9, 7, 3), (1, 6, 2), (6, 1, 2), (5, 4, 1), (3, 4, 6), (1, 1, 1)]
SHAPE_IDS = ["m9n7k3", "m1", "n1", "k1", "k>m,n", "m1n1k1"]
# Thread count of the reference comparisons. One thread keeps them fast on a busy machine
# (an OpenMP team on oversubscribed cores mostly waits at barriers); the tests under
# "threads" below check that 2 and 3 threads give the same results as 1.
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


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


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


# -- _dense ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("trans_x", [False, True])
def test_dense_matmul(rng, dtype, m, n, k, trans_x):
    X = readonly(rand(rng, (m, n), dtype, zeros=0.3))
    B = readonly(rand(rng, (m if trans_x else n, k), dtype))
    X0, B0 = X.copy(), B.copy()
    out = np.full((n if trans_x else m, k), np.nan, dtype=dtype)
    _dense.matmul(X, B, out, trans_x, NT)
    Xd, Bd = f64(X, B)
    assert out.dtype == dtype
    assert_close(out, (Xd.T if trans_x else Xd) @ Bd, dtype)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(B, B0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_x", [False, True])
def test_dense_matmul_is_its_gemm_blocks(rng, dtype, trans_x):
    """Rows r0:r0+GEMM_ROWS of out are exactly the product of those rows of op(X) alone."""
    rows, inner, k = 2 * GEMM_ROWS + 37, 6, 3
    X = readonly(rand(rng, (inner, rows) if trans_x else (rows, inner), dtype, zeros=0.3))
    B = readonly(rand(rng, (inner, k), dtype))
    out = np.full((rows, k), np.nan, dtype=dtype)
    _dense.matmul(X, B, out, trans_x, NT)
    Xd, Bd = f64(X, B)
    assert_close(out, (Xd.T if trans_x else Xd) @ Bd, dtype)
    parts = []
    for r0 in range(0, rows, GEMM_ROWS):
        Xr = readonly(X[:, r0:r0 + GEMM_ROWS] if trans_x else X[r0:r0 + GEMM_ROWS])
        part = np.full((min(GEMM_ROWS, rows - r0), k), np.nan, dtype=dtype)
        _dense.matmul(Xr, B, part, trans_x, NT)
        parts.append(part)
    assert len(parts) == 3
    np.testing.assert_array_equal(out, np.concatenate(parts))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("r,k", [(8, 3), (1, 4), (5, 1), (2, 7)])
def test_dense_gram(rng, dtype, r, k):
    B = readonly(rand(rng, (r, k), dtype))
    out = np.full((k, k), np.nan, dtype=dtype)
    res = _dense.gram(B, out)
    assert res is out  # returns the array behind `out`
    assert out.dtype == dtype
    Bd = f64(B)[0]
    assert_close(out, Bd.T @ Bd, dtype)
    np.testing.assert_array_equal(out, out.T)


def widths(m, n):
    """Workspace row lengths L: exactly n and n + 1 (one row per W-side tile), 2n and 3n
    (tiles that need not divide m), and more than m * n (a single tile)."""
    return sorted({n, n + 1, 2 * n, 3 * n, m * n + 5})


def col_blocks(n):
    """H-side column blocks: 1, 3 (ragged unless 3 divides n), exactly n, more than n."""
    return sorted({1, 3, n, n + 4})


def test_widths_and_col_blocks_include_ragged_tiles():
    assert widths(10, 3) == [3, 4, 6, 9, 35]  # 3 rows per tile leave a short last tile
    assert col_blocks(7) == [1, 3, 7, 11]     # 3 columns per block leave a short last one


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


def kl_tiles(m, n, h_side, L, col_block):
    """What a dense KL result depends on: (rows per tile,) or (columns per block, rows)."""
    if h_side:
        cb = max(1, min(col_block, n))
        return cb, L // cb
    return (L // n,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("h_side", [False, True])
@pytest.mark.parametrize("m,n,k", SHAPES + [(10, 6, 3)], ids=SHAPE_IDS + ["m10"])
def test_dense_kl_numerator(rng, dtype, h_side, m, n, k):
    V, W, Ht = problem(rng, m, n, k, dtype)
    V0 = V.copy()
    expected = ref_kl_num(V, W, Ht, h_side, TINY)
    by_tiles = {}
    for L in widths(m, n):
        for cb in col_blocks(n):
            num = dense_kl_num(V, W, Ht, h_side, L, cb)
            assert num.dtype == dtype
            assert_close(num, expected, dtype)
            # The same tiles, the same bits: W side, col_block is unused and L matters
            # through L // n only; H side, through the column block and L // block only.
            tiles = kl_tiles(m, n, h_side, L, cb)
            if tiles in by_tiles:
                np.testing.assert_array_equal(num, by_tiles[tiles], err_msg=str((L, cb)))
            by_tiles[tiles] = num
    np.testing.assert_array_equal(V, V0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("h_side", [False, True])
def test_dense_kl_numerator_is_its_tiles(rng, dtype, h_side):
    """Exactly the chunk-by-chunk composition of calls on one tile or column block each.

    W side: rows r0:r0+L//n of num are the numerator of those rows of V and W alone. H side:
    rows c0:c0+cb of num are the numerator of those columns of V and rows of Ht alone,
    walked down V in tiles of L // cb rows (a short last block keeps them: L' = rows * cw).
    """
    m, n, k = 23, 7, 3
    V, W, Ht = problem(rng, m, n, k, dtype)
    for L in (n, 3 * n + 2, 5 * n):
        for cb in ((1, 3, n) if h_side else (3,)):
            num = dense_kl_num(V, W, Ht, h_side, L, cb)
            parts = []
            if h_side:
                rows = L // cb
                for c0 in range(0, n, cb):
                    cw = min(cb, n - c0)
                    Vc, Hc = readonly(V[:, c0:c0 + cw], Ht[c0:c0 + cw])
                    parts.append(dense_kl_num(Vc, W, Hc, True, rows * cw, cw))
            else:
                rows = L // n
                for r0 in range(0, m, rows):
                    Vr, Wr = readonly(V[r0:r0 + rows], W[r0:r0 + rows])
                    parts.append(dense_kl_num(Vr, Wr, Ht, False, L))
            np.testing.assert_array_equal(num, np.concatenate(parts), err_msg=str((L, cb)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_kl_numerator_col_block_is_clamped(rng, dtype):
    """col_block is clamped to [1, n]: 0 and negative act as 1, more than n as n."""
    m, n, k = 9, 5, 2
    V, W, Ht = problem(rng, m, n, k, dtype)
    for L in (n, 2 * n + 1):
        one, whole = (dense_kl_num(V, W, Ht, True, L, cb) for cb in (1, n))
        for cb in (0, -3):
            np.testing.assert_array_equal(dense_kl_num(V, W, Ht, True, L, cb), one)
        for cb in (n + 1, 10 * n):
            np.testing.assert_array_equal(dense_kl_num(V, W, Ht, True, L, cb), whole)


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("h_side", [False, True])
def test_dense_kl_numerator_clamps_small_wh(rng, dtype, h_side):
    V, W, Ht = small_wh_problem(rng, dtype)
    m, n = V.shape
    for L in (n, 3 * n, m * n):
        for cb in (1, 4):
            num = dense_kl_num(V, W, Ht, h_side, L, cb)
            assert np.all(np.isfinite(num))  # 0 / 0 never happens: WH read as max(WH, tiny)
            assert_close(num, ref_kl_num(V, W, Ht, h_side, TINY), dtype)
    if not h_side:
        # Row 0 of WH is 0, so that row of R is V / tiny exactly.
        expected0 = (f64(V)[0][0] / TINY) @ f64(Ht)[0]
        assert_close(num[0], expected0, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
@pytest.mark.parametrize("m,n,k", SHAPES + [(10, 6, 3)], ids=SHAPE_IDS + ["m10"])
def test_dense_objective(rng, dtype, beta, m, n, k):
    V, W, Ht = problem(rng, m, n, k, dtype)
    expected = ref_objective(V, W, Ht, beta, TINY)
    by_rows = {}
    for L in widths(m, n):
        got = dense_objective(V, W, Ht, beta, L)
        assert isinstance(got, float)
        assert got == pytest.approx(expected, rel=rtol(dtype))
        assert got >= 0.0
        if L // n in by_rows:  # tiles of L // n rows: the same tiles, the same bits
            assert got == by_rows[L // n], L
        by_rows[L // n] = got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_dense_objective_is_sum_of_tiles(rng, dtype, beta):
    """Exactly the tiles' objectives (each a call on L // n rows alone) added in tile order."""
    m, n, k = 23, 7, 3
    V, W, Ht = problem(rng, m, n, k, dtype)
    for L in (n, 2 * n, 4 * n + 3):
        rows = L // n
        total = 0.0
        for r0 in range(0, m, rows):
            Vr, Wr = readonly(V[r0:r0 + rows], W[r0:r0 + rows])
            total += dense_objective(Vr, Wr, Ht, beta, L)
        assert dense_objective(V, W, Ht, beta, L) == total, L


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_dense_objective_zeros_and_small_wh(rng, dtype, beta):
    V, W, Ht = small_wh_problem(rng, dtype)
    expected = ref_objective(V, W, Ht, beta, TINY)
    n = V.shape[1]
    for L in (n, 2 * n, V.size):
        got = dense_objective(V, W, Ht, beta, L)
        assert np.isfinite(got)
        assert got == pytest.approx(expected, rel=rtol(dtype))
    if beta == 1.0:
        # One entry by hand: v = 0.5 over wh = 0 costs 0.5 log(0.5 / tiny) - 0.5.
        Vz = readonly(np.array([[0.5, 0.0]], dtype=dtype))
        Wz = readonly(np.zeros((1, 1), dtype=dtype))
        Hz = readonly(np.ones((2, 1), dtype=dtype))
        got = _dense.objective(Vz, Wz, Hz, np.empty((1, 2), dtype), 1.0, TINY, 1)
        assert got == pytest.approx(0.5 * np.log(0.5 / TINY) - 0.5, rel=rtol(dtype))


def test_dense_objective_perfect_fit_is_zero(rng):
    W = rand(rng, (6, 2), np.float64)
    Ht = rand(rng, (5, 2), np.float64)
    V = W @ Ht.T
    buf = np.empty((2 * NT, 5))
    assert _dense.objective(V, W, Ht, buf, 2.0, TINY, NT) == pytest.approx(0.0, abs=1e-25)
    assert _dense.objective(V, W, Ht, buf, 1.0, TINY, NT) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_workspace_too_small_raises(rng, dtype):
    """buf with fewer rows than n_threads, or rows shorter than n, or n_threads < 1:
    ValueError before anything is written, never a crash."""
    m, n, k = 5, 4, 2
    V, W, Ht = problem(rng, m, n, k, dtype)
    cases = [((1, n), 2), ((2, n), 3), ((0, n), 1), ((1, n - 1), 1), ((3, n - 1), 2),
             ((1, 0), 1), ((1, n), 0), ((2, 3 * n), -1)]
    with blas_single_threaded():
        for shape, n_threads in cases:
            buf = np.full(shape, np.nan, dtype)
            for h_side in (False, True):
                num = np.full((n if h_side else m, k), np.nan, dtype)
                with pytest.raises(ValueError):
                    _dense.kl_numerator(V, W, Ht, h_side, num, buf, 2, TINY, n_threads)
                assert np.all(np.isnan(num)), (shape, n_threads)
            for beta in (2.0, 1.0):
                with pytest.raises(ValueError):
                    _dense.objective(V, W, Ht, buf, beta, TINY, n_threads)
            assert np.all(np.isnan(buf))
        # The smallest valid workspace: n_threads rows of exactly n.
        for n_threads in (1, 2):
            buf = np.full((n_threads, n), np.nan, dtype)
            for h_side in (False, True):
                num = np.full((n if h_side else m, k), np.nan, dtype)
                _dense.kl_numerator(V, W, Ht, h_side, num, buf, 2, TINY, n_threads)
                assert_close(num, ref_kl_num(V, W, Ht, h_side, TINY), dtype)
            got = _dense.objective(V, W, Ht, buf, 1.0, TINY, n_threads)
            assert got == pytest.approx(ref_objective(V, W, Ht, 1.0, TINY), rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_kl_numerator_h_side_no_rows_gives_zeros(dtype):
    V, W, Ht = readonly(np.ones((0, 4), dtype), np.ones((0, 2), dtype), np.ones((4, 2), dtype))
    num = dense_kl_num(V, W, Ht, True, 4, 2)
    np.testing.assert_array_equal(num, 0)


_NO_COLUMNS = """
import numpy as np
from nmfkit.kernels import dense as _dense
V, W, Ht = np.ones((3, 0)), np.ones((3, 2)), np.ones((0, 2))
if {objective}:
    print(_dense.objective(V, W, Ht, np.full((1, 4), np.nan), 1.0, 1e-3, 1))
else:
    num = np.full((3, 2), np.nan)
    _dense.kl_numerator(V, W, Ht, False, num, np.full((1, 4), np.nan), 2, 1e-3, 1)
    print(float(np.abs(num).sum()))
"""


@pytest.mark.parametrize("objective", [False, True], ids=["kl_numerator", "objective"])
def test_dense_kl_no_columns_gives_zeros(objective):
    """V (3 x 0): R Ht is zeros (empty inner dimension) and the objective 0. In a child
    process, since the bug is a crash."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _NO_COLUMNS.format(objective=objective)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert float(proc.stdout.split()[-1]) == 0.0


# -- _sparse -----------------------------------------------------------------------------

SPARSE_SHAPES = [(12, 9, 3), (1, 6, 2), (6, 1, 2), (5, 4, 1), (3, 4, 6), (1, 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_matmul(rng, dtype, index_dtype, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    B = readonly(rand(rng, (n, k), dtype))
    out = np.full((m, k), np.nan, dtype=dtype)
    _sparse.matmul(*csr_args(X), B, out, NT)
    assert out.dtype == dtype
    assert_close(out, X.toarray().astype(np.float64) @ f64(B)[0], dtype)
    empty = np.diff(X.indptr) == 0
    assert np.all(out[empty] == 0)  # empty rows are written, as zeros


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_kl_numerator(rng, dtype, index_dtype, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    A, B = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    num = np.full((m, k), np.nan, dtype=dtype)
    _sparse.kl_numerator(*csr_args(X), A, B, num, TINY, NT)
    assert num.dtype == dtype
    assert_close(num, ref_kl_num(X.toarray(), A, B, False, TINY), dtype)
    # The transpose as CSR with the factors swapped gives the other side's numerator.
    XT = sp.csr_matrix(X.T)
    XT.indptr, XT.indices = XT.indptr.astype(index_dtype), XT.indices.astype(index_dtype)
    numT = np.full((n, k), np.nan, dtype=dtype)
    _sparse.kl_numerator(*csr_args(XT), B, A, numT, TINY, NT)
    assert_close(numT, ref_kl_num(X.toarray(), A, B, True, TINY), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_kl_numerator_clamps_small_wh(rng, dtype, index_dtype):
    V, W, Ht = small_wh_problem(rng, dtype)
    X = sp.csr_matrix(V)
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    num = np.empty(W.shape, dtype=dtype)
    _sparse.kl_numerator(*csr_args(X), W, Ht, num, TINY, NT)
    assert np.all(np.isfinite(num))
    assert_close(num, ref_kl_num(V, W, Ht, False, TINY), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_stored_terms(rng, dtype, index_dtype, beta, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    A, B = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    got = _sparse.stored_terms(*csr_args(X), A, B, beta, TINY, NT)
    assert isinstance(got, float)
    expected = ref_stored_terms(X, A, B, beta, TINY)
    scale = ref_stored_terms(abs(X), A, B, 2.0, TINY) + float(np.abs(X.data).sum())
    assert got == pytest.approx(expected, rel=rtol(dtype), abs=rtol(dtype) * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_stored_terms_small_wh(rng, dtype, index_dtype):
    V, W, Ht = small_wh_problem(rng, dtype)
    X = sp.csr_matrix(V)
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    got = _sparse.stored_terms(*csr_args(X), W, Ht, 1.0, TINY, NT)
    assert np.isfinite(got)
    assert got == pytest.approx(ref_stored_terms(X, W, Ht, 1.0, TINY), rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_no_stored_entries(dtype, index_dtype):
    m, n, k = 4, 3, 2
    indptr = readonly(np.zeros(m + 1, dtype=index_dtype))
    indices = readonly(np.zeros(0, dtype=index_dtype))
    data = readonly(np.zeros(0, dtype=dtype))
    A, B = readonly(np.ones((m, k), dtype), np.ones((n, k), dtype))
    out = np.full((m, k), np.nan, dtype=dtype)
    _sparse.matmul(indptr, indices, data, B, out, NT)
    np.testing.assert_array_equal(out, 0)
    out[:] = np.nan
    _sparse.kl_numerator(indptr, indices, data, A, B, out, TINY, NT)
    np.testing.assert_array_equal(out, 0)
    for beta in (2.0, 1.0):
        assert _sparse.stored_terms(indptr, indices, data, A, B, beta, TINY, NT) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_int32_int64_agree_exactly(rng, dtype):
    X32 = csr_with_empty_rows(rng, 15, 11, dtype, np.int32)
    X64 = X32.copy()
    X64.indptr, X64.indices = X32.indptr.astype(np.int64), X32.indices.astype(np.int64)
    A, B = readonly(rand(rng, (15, 4), dtype), rand(rng, (11, 4), dtype))
    o32, o64 = np.empty((15, 4), dtype), np.empty((15, 4), dtype)
    _sparse.matmul(*csr_args(X32), B, o32, NT)
    _sparse.matmul(*csr_args(X64), B, o64, NT)
    np.testing.assert_array_equal(o32, o64)
    _sparse.kl_numerator(*csr_args(X32), A, B, o32, TINY, NT)
    _sparse.kl_numerator(*csr_args(X64), A, B, o64, TINY, NT)
    np.testing.assert_array_equal(o32, o64)
    for beta in (2.0, 1.0):
        assert (_sparse.stored_terms(*csr_args(X32), A, B, beta, TINY, 1)
                == _sparse.stored_terms(*csr_args(X64), A, B, beta, TINY, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_sparse_stored_terms_is_sum_of_chunks(rng, dtype, beta):
    """Exactly the chunks' sums (each a call on CHUNK rows alone) added in chunk order."""
    r, c, k = 3 * CHUNK + 11, 9, 3
    X = csr_with_empty_rows(rng, r, c, dtype, np.int32)
    A, B = readonly(rand(rng, (r, k), dtype), rand(rng, (c, k), dtype))
    total = 0.0
    for r0 in range(0, r, CHUNK):
        Xc = X[r0:r0 + CHUNK]
        Xc.indptr, Xc.indices = Xc.indptr.astype(np.int32), Xc.indices.astype(np.int32)
        total += _sparse.stored_terms(*csr_args(Xc), readonly(A[r0:r0 + CHUNK]), B, beta,
                                      TINY, NT)
    assert _sparse.stored_terms(*csr_args(X), A, B, beta, TINY, NT) == total


# -- _steps ------------------------------------------------------------------------------

PENALTIES = [(0.0, 0.0), (0.3, 0.0), (0.0, 0.7), (0.2, 0.5)]


def step_inputs(rng, r, k, dtype, c=5):
    """A (r x k) writable, num (r x k) = X B, gram (k x k) = B^T B for a random X, B."""
    X = rand(rng, (r, c), np.float64, zeros=0.3)
    B = rand(rng, (c, k), np.float64)
    A = rand(rng, (r, k), dtype)
    num, gram = readonly((X @ B).astype(dtype), (B.T @ B).astype(dtype))
    return A, num, gram, X, B


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1,l2", PENALTIES)
@pytest.mark.parametrize("floor", [0.0, 0.05])
@pytest.mark.parametrize("r,k", [(9, 3), (1, 2), (7, 1), (2, 5)])
def test_mu_fro_step(rng, dtype, l1, l2, floor, r, k):
    A, num, gram, _, _ = step_inputs(rng, r, k, dtype)
    A[0, 0] = 0.0  # a zero entry stays at the floor
    expected, sums = ref_mu_fro(A, num, gram, l1, l2, floor, TINY)
    got = _steps.mu_fro_step(A, num, gram, l1, l2, floor, TINY, NT)
    assert A.dtype == dtype
    assert_close(A, expected, dtype)
    assert np.all(A >= dtype(floor))
    assert A[0, 0] == dtype(floor)
    assert len(got) == 3
    for g, e in zip(got, sums):
        assert g == pytest.approx(e, rel=rtol(dtype), abs=rtol(dtype) * sums[0] * 1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mu_fro_step_zero_denominator_reads_tiny(dtype):
    # gram = 0 and no penalty: every denominator is 0 and is read as tiny.
    A = np.array([[0.5, 1.0], [2.0, 0.0]], dtype=dtype)
    num = readonly(np.array([[1e-3, 2e-3], [0.0, 1e-3]], dtype=dtype))
    gram = readonly(np.zeros((2, 2), dtype=dtype))
    expected, sums = ref_mu_fro(A, num, gram, 0.0, 0.0, 0.0, TINY)
    np.testing.assert_allclose(expected, [[0.5, 2.0], [0.0, 0.0]])
    got = _steps.mu_fro_step(A, num, gram, 0.0, 0.0, 0.0, TINY, 1)
    assert np.all(np.isfinite(A))
    assert_close(A, expected, dtype)
    assert got[1] == 0.0
    assert got[2] == pytest.approx(sums[2], rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mu_fro_step_sums_give_objective(rng, dtype):
    """1/2 ||X||^2 - s_num + 1/2 s_gram is the Frobenius objective at the old A; MU decreases it."""
    A, num, gram, X, B = step_inputs(rng, 8, 3, dtype, c=6)
    A0 = A.astype(np.float64)
    s_num, s_gram, s_delta = _steps.mu_fro_step(A, num, gram, 0.0, 0.0, 0.0, TINY, NT)
    f_old = 0.5 * np.sum((X - A0 @ B.T) ** 2)
    f_new = 0.5 * np.sum((X - A.astype(np.float64) @ B.T) ** 2)
    assert 0.5 * np.sum(X * X) - s_num + 0.5 * s_gram == pytest.approx(
        f_old, rel=100 * rtol(dtype))
    assert f_new <= f_old * (1 + rtol(dtype))
    assert s_delta == pytest.approx(np.sum((A - A0) ** 2), rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1,l2", PENALTIES)
@pytest.mark.parametrize("floor", [0.0, 0.05])
@pytest.mark.parametrize("r,k", [(9, 3), (1, 2), (7, 1), (2, 5)])
def test_mu_div_step(rng, dtype, l1, l2, floor, r, k):
    A = rand(rng, (r, k), dtype)
    A[-1, -1] = 0.0
    num = readonly(rand(rng, (r, k), dtype))
    den = readonly(rand(rng, (k,), dtype) * 3)
    expected, delta = ref_mu_div(A, num, den, l1, l2, floor, TINY)
    got = _steps.mu_div_step(A, num, den, l1, l2, floor, TINY, NT)
    assert A.dtype == dtype
    assert_close(A, expected, dtype)
    assert np.all(A >= dtype(floor))
    assert A[-1, -1] == dtype(floor)
    assert got == pytest.approx(delta, rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mu_div_step_zero_denominator_reads_tiny(rng, dtype):
    A = rand(rng, (4, 3), dtype)
    num = readonly(rand(rng, (4, 3), dtype) * 1e-3)
    den = readonly(np.array([0.0, 2.0, 0.0], dtype=dtype))
    expected, delta = ref_mu_div(A, num, den, 0.0, 0.0, 0.0, TINY)
    got = _steps.mu_div_step(A, num, den, 0.0, 0.0, 0.0, TINY, NT)
    assert np.all(np.isfinite(A))
    assert_close(A, expected, dtype)
    # den[0] == 0: column 0 is A * num / tiny, large but finite.
    assert_close(A[:, 0], expected[:, 0], dtype)
    assert np.all(expected[:, 0] > f64(num)[0][:, 0])
    assert got == pytest.approx(delta, rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1,l2", PENALTIES)
@pytest.mark.parametrize("floor", [0.0, 0.05])
@pytest.mark.parametrize("r,k", [(9, 3), (1, 2), (7, 1), (2, 5)])
def test_hals_step(rng, dtype, l1, l2, floor, r, k):
    A, num, gram, _, _ = step_inputs(rng, r, k, dtype)
    expected, sums = ref_hals(A, num, gram, l1, l2, floor)
    got = _steps.hals_step(A, num, gram, l1, l2, floor, NT)
    assert A.dtype == dtype
    scale = float(np.max(np.abs(num))) / float(np.min(np.diag(gram)) + l2)
    assert_close(A, expected, dtype, scale=scale)
    assert np.all(A >= dtype(floor))
    assert got == pytest.approx(sums[2], rel=rtol(dtype), abs=rtol(dtype) * scale ** 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("l1,l2", PENALTIES)
def test_hals_step_decreases_penalized_objective(rng, dtype, l1, l2):
    A, num, gram, X, B = step_inputs(rng, 10, 4, dtype, c=7)

    def f(A):
        A = A.astype(np.float64)
        return (0.5 * np.sum((X - A @ B.T) ** 2) + l1 * A.sum() + 0.5 * l2 * np.sum(A * A))

    A_old = A.astype(np.float64)
    f_old = f(A)
    delta = _steps.hals_step(A, num, gram, l1, l2, 0.0, NT)
    assert f(A) <= f_old + rtol(dtype) * f_old
    assert delta == pytest.approx(np.sum((A.astype(np.float64) - A_old) ** 2),
                                  rel=100 * rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hals_step_k1_is_exact_minimizer(rng, dtype):
    # With one column, one sweep solves min_a>=0 1/2||x - a b^T||^2 + l1 sum a + l2/2 ||a||^2.
    X = rand(rng, (6, 5), np.float64)
    b = rand(rng, (5, 1), np.float64)
    l1, l2 = 0.1, 0.4
    A = np.zeros((6, 1), dtype=dtype)
    num, gram = readonly((X @ b).astype(dtype), (b.T @ b).astype(dtype))
    _steps.hals_step(A, num, gram, l1, l2, 0.0, 1)
    closed = np.maximum((f64(num)[0] - l1) / (f64(gram)[0][0, 0] + l2), 0.0)
    assert_close(A, closed, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("floor", [0.0, 0.05])
def test_hals_step_zero_gram_column_goes_to_floor(rng, dtype, floor):
    # gram[1, 1] + l2 == 0: column 1 does not enter the loss and goes to the floor.
    A = rand(rng, (5, 3), dtype)
    num = readonly(rand(rng, (5, 3), dtype))
    gram = np.array([[2.0, 0.0, 0.3], [0.0, 0.0, 0.0], [0.3, 0.0, 1.5]], dtype=dtype)
    gram = readonly(gram)
    before = A.astype(np.float64)  # a copy: A changes in place
    expected, sums = ref_hals(A, num, gram, 0.0, 0.0, floor)
    got = _steps.hals_step(A, num, gram, 0.0, 0.0, floor, NT)
    assert np.all(np.isfinite(A))
    np.testing.assert_array_equal(A[:, 1], dtype(floor))
    np.testing.assert_array_equal(expected[:, 1], dtype(floor))
    assert_close(A, expected, dtype)
    assert np.all(A >= dtype(floor))
    assert got == pytest.approx(sums[2], rel=rtol(dtype))
    # The delta counts the move of column 1 to the floor.
    assert got >= np.sum((before[:, 1] - floor) ** 2) * (1 - rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hals_step_floor_holds_for_zero_gram_column(dtype):
    A = np.array([[0.0, 0.5], [0.2, 0.0]], dtype=dtype)
    num = readonly(np.ones((2, 2), dtype=dtype))
    gram = readonly(np.array([[1.0, 0.0], [0.0, 0.0]], dtype=dtype))
    _steps.hals_step(A, num, gram, 0.0, 0.0, 0.1, 1)
    assert np.all(A >= dtype(0.1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_steps_keep_floor_for_every_entry(dtype):
    # The MU steps floor every entry, including those whose denominator was 0.
    A = np.array([[0.0, 0.5], [0.2, 0.0]], dtype=dtype)
    num = readonly(np.zeros((2, 2), dtype=dtype))
    gram = readonly(np.array([[1.0, 0.0], [0.0, 0.0]], dtype=dtype))
    _steps.mu_fro_step(A, num, gram, 0.0, 0.0, 0.1, TINY, 1)
    np.testing.assert_array_equal(A, dtype(0.1))
    A = np.array([[0.0, 0.5], [0.2, 0.0]], dtype=dtype)
    _steps.mu_div_step(A, num, readonly(np.array([1.0, 0.0], dtype)), 0.0, 0.0, 0.1, TINY, 1)
    np.testing.assert_array_equal(A, dtype(0.1))


def run_step(name, A, num, gram, den, n_threads=NT):
    """One of the three steps, with penalties and a floor; returns its sums as a tuple."""
    if name == "mu_fro":
        return _steps.mu_fro_step(A, num, gram, 0.1, 0.2, 1e-6, TINY, n_threads)
    if name == "hals":
        return (_steps.hals_step(A, num, gram, 0.1, 0.2, 1e-6, n_threads),)
    return (_steps.mu_div_step(A, num, den, 0.1, 0.2, 1e-6, TINY, n_threads),)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["mu_fro", "hals", "mu_div"])
def test_steps_are_their_chunks(rng, dtype, name):
    """A step on r rows is exactly the steps on its CHUNK-row chunks alone, the returned
    sums the chunks' sums added in chunk order."""
    r, k = 3 * CHUNK + 11, 4
    A, num, gram, _, _ = step_inputs(rng, r, k, dtype)
    den = readonly(rand(rng, (k,), dtype) * 3)
    whole = A.copy()
    sums = run_step(name, whole, num, gram, den)
    parts, totals = [], None
    for r0 in range(0, r, CHUNK):
        part = A[r0:r0 + CHUNK].copy()
        got = run_step(name, part, readonly(num[r0:r0 + CHUNK]), gram, den)
        totals = [0.0] * len(got) if totals is None else totals
        for i, g in enumerate(got):
            totals[i] += g
        parts.append(part)
    np.testing.assert_array_equal(whole, np.concatenate(parts))
    assert tuple(sums) == tuple(totals)


# -- dtype discipline --------------------------------------------------------------------

def test_mixed_dtypes_are_rejected(rng):
    """No silent conversion: an OUT array of another dtype is an error, not a copy."""
    V, W, Ht = problem(rng, 4, 3, 2, np.float32)
    with pytest.raises((TypeError, ValueError)):
        _dense.matmul(V, Ht, np.empty((4, 2), np.float64), False, 1)
    for h_side in (False, True):  # a workspace of another dtype
        with pytest.raises((TypeError, ValueError)):
            _dense.kl_numerator(V, W, Ht, h_side, np.empty((3 if h_side else 4, 2), np.float32),
                                np.empty((1, 3), np.float64), 2, TINY, 1)
    with pytest.raises((TypeError, ValueError)):
        _dense.objective(V, W, Ht, np.empty((4, 3), np.float64), 2.0, TINY, 1)
    with pytest.raises((TypeError, ValueError)):
        _dense.gram(W, np.empty((2, 2), np.float64))
    with pytest.raises((TypeError, ValueError)):
        _steps.mu_fro_step(np.ones((4, 2)), W, np.ones((2, 2), np.float32), 0, 0, 0, TINY, 1)
    X = sp.csr_matrix(V)
    with pytest.raises((TypeError, ValueError)):
        _sparse.matmul(X.indptr, X.indices, X.data, Ht, np.empty((4, 2)), 1)
    with pytest.raises((TypeError, ValueError)):  # indptr and indices of different widths
        _sparse.matmul(X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data, Ht,
                       np.empty((4, 2), np.float32), 1)


# -- threads -----------------------------------------------------------------------------

KL_L_ROWS = 7      # run_all_kernels: L = 7 n, so 7 rows per W-side tile
KL_COL_BLOCK = 40  # and H-side blocks of 40 columns (clamped to n), 7 n / 40 rows per tile


def run_all_kernels(data, n_threads):
    """Every kernel once on `data`; returns a dict of results (arrays, floats, tuples)."""
    V, W, Ht, X, XT, dtype = (data[key] for key in ("V", "W", "Ht", "X", "XT", "dtype"))
    m, n = V.shape
    k = W.shape[1]
    res = {}
    with blas_single_threaded():
        out = np.empty((m, k), dtype)
        _dense.matmul(V, Ht, out, False, n_threads)
        res["matmul"] = out
        out = np.empty((n, k), dtype)
        _dense.matmul(V, W, out, True, n_threads)
        res["matmul_t"] = out
        res["gram"] = _dense.gram(W, np.empty((k, k), dtype)).copy()
        for h_side in (False, True):  # a fixed L and col_block: the same tiles for any count
            res[f"kl_num_{h_side}"] = dense_kl_num(V, W, Ht, h_side, KL_L_ROWS * n,
                                                   KL_COL_BLOCK, n_threads)
        for beta in (2.0, 1.0):
            res[f"obj_{beta}"] = dense_objective(V, W, Ht, beta, 5 * n, n_threads)
    for beta in (2.0, 1.0):
        res[f"stored_{beta}"] = _sparse.stored_terms(*X, W, Ht, beta, TINY, n_threads)
    out = np.empty((m, k), dtype)
    _sparse.matmul(*X, Ht, out, n_threads)
    res["spmm"] = out
    out = np.empty((n, k), dtype)
    _sparse.matmul(*XT, W, out, n_threads)
    res["spmm_t"] = out
    out = np.empty((m, k), dtype)
    _sparse.kl_numerator(*X, W, Ht, out, TINY, n_threads)
    res["sp_kl"] = out
    out = np.empty((n, k), dtype)
    _sparse.kl_numerator(*XT, Ht, W, out, TINY, n_threads)
    res["sp_kl_t"] = out
    # The steps take the CSR kernels' products as inputs (no BLAS in them), so that their
    # results stay comparable exactly even where BLAS is not held to one thread.
    num = res["spmm"]
    gram = np.ascontiguousarray(res["gram"])
    for name, step in (("mu_fro", _steps.mu_fro_step), ("hals", _steps.hals_step)):
        A = np.array(W)
        extra = (TINY,) if name == "mu_fro" else ()
        sums = step(A, num, gram, 0.1, 0.2, 1e-6, *extra, n_threads)
        res[name], res[name + "_sums"] = A, sums
    A = np.array(W)
    res["mu_div_delta"] = _steps.mu_div_step(A, res["sp_kl"], np.ascontiguousarray(Ht.sum(0)),
                                             0.1, 0.2, 1e-6, TINY, n_threads)
    res["mu_div"] = A
    return res


def make_data(rng, m, n, k, dtype, density=0.3):
    Xs = csr_with_empty_rows(rng, m, n, dtype, np.int32, density=density)
    V = readonly(Xs.toarray())
    XT = sp.csr_matrix(Xs.T)
    W, Ht = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    return {"V": V, "W": W, "Ht": Ht, "X": csr_args(Xs), "XT": csr_args(XT), "dtype": dtype}


# Results that go through BLAS (dense products, dense KL, dense objective, gram): exact only
# where BLAS is held to one thread; the rest never touches BLAS.
BLAS_KEYS = ("matmul", "gram", "kl_num", "obj")


def assert_same_results(a, b, dtype, blas_exact=True):
    """Every result bit-identical: arrays, sums and tuples of sums (no rounding allowed).

    blas_exact=False: the BLAS results only to rounding (see test_blas_single_threaded_in_
    another_python_thread: BLAS may not be single-threaded in a Python worker thread).
    """
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype == dtype, key
        else:
            assert type(x) is type(y), key
        if not blas_exact and key.startswith(BLAS_KEYS):
            np.testing.assert_allclose(x, y, rtol=rtol(dtype), err_msg=key)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            assert x == y, (key, x, y)  # exact, not approx


# Several chunks everywhere: m and n above GEMM_ROWS (2 BLAS blocks each side of matmul),
# 5 CHUNKs of rows on each side of the sparse kernels and in the steps, 39 W-side KL tiles,
# 7 H-side column blocks of 6 tiles each, 54 objective tiles.
BIG = (270, 260, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_thread_equals_two_threads(rng, dtype):
    data = make_data(rng, *BIG, dtype)
    one = run_all_kernels(data, 1)
    for n_threads in (2, 3):
        assert_same_results(one, run_all_kernels(data, n_threads), dtype)


def test_float32_close_to_float64(rng):
    """The same data in both precisions: every kernel agrees to float32 accuracy."""
    d64 = make_data(rng, 31, 23, 4, np.float64)
    d32 = dict(d64, dtype=np.float32)
    for key in ("V", "W", "Ht"):
        d32[key] = readonly(d64[key].astype(np.float32))
    for key in ("X", "XT"):
        d32[key] = readonly(d64[key][0], d64[key][1], d64[key][2].astype(np.float32))
    # Make the float64 inputs exactly the float32 values, so only kernel rounding differs.
    for key in ("V", "W", "Ht"):
        d64[key] = readonly(d32[key].astype(np.float64))
    for key in ("X", "XT"):
        d64[key] = readonly(d64[key][0], d64[key][1], d32[key][2].astype(np.float64))
    r32, r64 = run_all_kernels(d32, 2), run_all_kernels(d64, 2)
    for key in r64:
        if isinstance(r64[key], np.ndarray):
            assert r32[key].dtype == np.float32 and r64[key].dtype == np.float64
            assert_close(r32[key], r64[key], np.float32)
        else:
            np.testing.assert_allclose(r32[key], r64[key], rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threadpool_limits_one(rng, dtype):
    data = make_data(rng, 150, 40, 4, dtype)
    two = run_all_kernels(data, 2)
    with threadpool_limits(1):
        assert effective_n_threads() == 1
        assert _steps.max_threads() == 1
        one = run_all_kernels(data, effective_n_threads())
    assert effective_n_threads() >= 1
    assert_same_results(two, one, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_in_two_python_threads(rng, dtype):
    """The kernels release the GIL and share no state: concurrent runs equal serial runs."""
    datas = [make_data(rng, 400, 300, 12, dtype, density=0.2) for _ in range(2)]
    expected = [run_all_kernels(d, 1) for d in datas]
    results = [[None] * 3 for _ in range(2)]
    errors = []
    barrier = threading.Barrier(2)

    def work(t):
        try:
            barrier.wait()
            for rep in range(3):
                results[t][rep] = run_all_kernels(datas[t], 2)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t in range(2):
        for rep in range(3):
            assert_same_results(expected[t], results[t][rep], dtype, blas_exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_inputs_from_two_python_threads(rng, dtype):
    """Two Python threads reading the same IN arrays, each with its own OUT arrays."""
    data = make_data(rng, 300, 250, 8, dtype, density=0.2)
    expected = run_all_kernels(data, 1)
    got = [None, None]
    barrier = threading.Barrier(2)

    def work(t):
        barrier.wait()
        got[t] = run_all_kernels(data, 2)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(2):
        assert got[t] is not None
        assert_same_results(expected, got[t], dtype, blas_exact=False)


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_single_threaded_in_another_python_thread():
    """A fit in a worker thread, after one in the main thread, still holds BLAS to one thread
    (otherwise BLAS threads nest in the OpenMP ones, and the bits depend on the thread)."""
    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS")
    with blas_single_threaded():  # as a fit in the main thread does
        assert set(blas_threads()) == {1}
    with threadpool_limits(2, user_api="blas"):
        if min(blas_threads()) < 2:
            pytest.skip("BLAS cannot use 2 threads here")
        seen = []

        def work():
            with blas_single_threaded():
                seen.extend(blas_threads())

        th = threading.Thread(target=work)
        th.start()
        th.join()
    assert seen and set(seen) == {1}, seen


# -- thread counts: determinism, workspaces per thread, more threads than rows -----------

THREADS = [1, 2, 3]


def reduction_results(data, n_threads):
    """Every kernel result that is a reduction over chunks, plus the steps' arrays.

    The inputs of the steps are computed in NumPy, so they do not depend on n_threads.
    """
    V, W, Ht, X, dtype = (data[key] for key in ("V", "W", "Ht", "X", "dtype"))
    n = V.shape[1]
    res = {}
    with blas_single_threaded():
        for beta in (2.0, 1.0):  # 3 rows per tile: many tiles, several per thread
            res[f"obj_{beta}"] = dense_objective(V, W, Ht, beta, 3 * n, n_threads)
        res["kl_num_True"] = dense_kl_num(V, W, Ht, True, 3 * n, 4, n_threads)
    for beta in (2.0, 1.0):
        res[f"stored_{beta}"] = _sparse.stored_terms(*X, W, Ht, beta, TINY, n_threads)
    V64, W64, H64 = f64(V, W, Ht)
    num = readonly((V64 @ H64).astype(dtype))
    gram = readonly((H64.T @ H64).astype(dtype))
    den = readonly(H64.sum(axis=0).astype(dtype))
    for name in ("mu_fro", "hals", "mu_div"):
        A = np.array(W)
        res[name + "_sums"] = run_step(name, A, num, gram, den, n_threads)
        res[name] = A
    return res


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_reductions_bit_identical_on_repeat(rng, dtype, n_threads):
    """Dynamic scheduling never changes the bits: the same call, the same result."""
    data = make_data(rng, 3 * CHUNK + 5, 37, 4, dtype)
    first = reduction_results(data, n_threads)
    assert isinstance(first["obj_2.0"], float) and len(first["mu_fro_sums"]) == 3
    for _ in range(3):
        assert_same_results(first, reduction_results(data, n_threads), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_bit_identical_across_thread_counts(rng, dtype):
    """One partial sum per chunk, added in chunk order: the same bits on any thread count."""
    data = make_data(rng, 3 * CHUNK + 5, 37, 4, dtype)
    one = reduction_results(data, 1)
    for n_threads in THREADS[1:]:
        assert_same_results(one, reduction_results(data, n_threads), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("m", [10, 7, 2])
def test_dense_kl_and_objective_workspace_per_thread(rng, dtype, n_threads, m):
    """Each thread works in its own row of buf, for every L and column block.

    L from n (one row per tile) to more than m * n (one tile), most tiles not dividing m,
    and m = 2 with 3 threads (a thread without a task). dense_kl_num and dense_objective
    check that a buf row beyond n_threads stays untouched. Every result is bit-identical to
    the one-thread result for the same L and col_block.
    """
    n, k = 6, 3
    V, W, Ht = problem(rng, m, n, k, dtype)
    refs = {h_side: ref_kl_num(V, W, Ht, h_side, TINY) for h_side in (False, True)}
    objs = {beta: ref_objective(V, W, Ht, beta, TINY) for beta in (2.0, 1.0)}
    assert any(m % (L // n) for L in widths(m, n))
    with blas_single_threaded():
        for L in widths(m, n):
            for h_side in (False, True):
                for cb in (col_blocks(n) if h_side else [3]):
                    num = dense_kl_num(V, W, Ht, h_side, L, cb, n_threads)
                    assert_close(num, refs[h_side], dtype)
                    np.testing.assert_array_equal(
                        num, dense_kl_num(V, W, Ht, h_side, L, cb, 1), err_msg=str((L, cb)))
            for beta in (2.0, 1.0):
                got = dense_objective(V, W, Ht, beta, L, n_threads)
                assert got == pytest.approx(objs[beta], rel=rtol(dtype))
                assert got == dense_objective(V, W, Ht, beta, L, 1), (L, beta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_x", [False, True])
@pytest.mark.parametrize("rows", [1, 3, GEMM_ROWS, GEMM_ROWS + 1, 3 * GEMM_ROWS - 5])
def test_dense_matmul_thread_chunks(rng, dtype, trans_x, rows):
    """Blocks of GEMM_ROWS output rows, any thread count, the same bits.

    Fewer blocks than threads (1, 3, GEMM_ROWS rows), a one-row last block (GEMM_ROWS + 1)
    and a short one (3 GEMM_ROWS - 5); every row written exactly once.
    """
    inner, k = 6, 3
    X = readonly(rand(rng, (inner, rows) if trans_x else (rows, inner), dtype, zeros=0.3))
    B = readonly(rand(rng, (inner, k), dtype))
    Xd, Bd = f64(X, B)
    expected = (Xd.T if trans_x else Xd) @ Bd
    results = []
    with blas_single_threaded():
        for n_threads in (1, 2, 3, 4):
            out = np.full((rows, k), np.nan, dtype=dtype)
            _dense.matmul(X, B, out, trans_x, n_threads)
            assert np.all(np.isfinite(out)), n_threads
            assert_close(out, expected, dtype)
            results.append(out)
    for n_threads, out in zip((2, 3, 4), results[1:]):
        np.testing.assert_array_equal(out, results[0], err_msg=str(n_threads))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 2])
def test_all_kernels_with_more_threads_than_rows(rng, dtype, m):
    data = make_data(rng, m, 5, 3, dtype, density=0.6)
    assert_same_results(run_all_kernels(data, 1), run_all_kernels(data, 3), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_empty_inner_dimension_gives_zeros(dtype):
    outs = [np.full((3, 2), np.nan, dtype) for _ in range(3)]
    _dense.matmul(np.ones((3, 0), dtype), np.ones((0, 2), dtype), outs[0], False, 1)
    with blas_single_threaded():
        _dense.matmul(np.ones((0, 3), dtype), np.ones((0, 2), dtype), outs[1], True, 2)
    outs[2] = np.full((2, 2), np.nan, dtype)
    _dense.gram(np.ones((0, 2), dtype), outs[2])
    for out in outs:
        np.testing.assert_array_equal(out, 0)


# -- Matrix: dense == CSR, Fortran order -------------------------------------------------

def matrix_variants(V):
    """The same V as dense C, dense Fortran, CSR; the Fortran one works on V^T."""
    MC, MF, MS = Matrix(np.ascontiguousarray(V)), Matrix(np.asfortranarray(V)), \
        Matrix(sp.csr_matrix(V))
    return MC, MF, MS


MATRIX_SHAPES = [(13, 9, 3), (1, 7, 2), (7, 1, 2), (6, 5, 1), (3, 4, 6)]
MATRIX_IDS = ["m13n9k3", "m1", "n1", "k1", "k>m,n"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", MATRIX_SHAPES, ids=MATRIX_IDS)
def test_matrix_dense_equals_csr(rng, dtype, m, n, k):
    V = rand(rng, (m, n), dtype, zeros=0.5)
    if m > 2:
        V[1] = 0.0  # an empty CSR row
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    MC, MF, MS = matrix_variants(V)
    assert (MC.kind, MF.kind, MS.kind) == ("dense", "dense", "csr")
    assert not MC.transposed and not MS.transposed
    assert MF.transposed == (m > 1 and n > 1)  # a single row/column is also C-contiguous
    assert MC.tiny == MF.tiny == MS.tiny
    nt = 2

    Wc, Hc = MC.to_internal(W, H)
    Ws, Hs = MS.to_internal(W, H)
    Wf, Hf = MF.to_internal(W, H)
    assert Wf.shape == (MF.internal_shape[0], k) and Hf.shape == (MF.internal_shape[1], k)
    for Wi, Hi in ((Wc, Hc), (Ws, Hs), (Wf, Hf)):
        assert Wi.flags.c_contiguous and Hi.flags.c_contiguous
        assert Wi.dtype == Hi.dtype == dtype

    # The caller's W-side and H-side numerators, through each variant.
    def caller_products(M, Wi, Hi, fn):
        rows_w, rows_h = Wi.shape[0], Hi.shape[0]
        a = np.full((rows_w, k), np.nan, dtype)
        b = np.full((rows_h, k), np.nan, dtype)
        if fn == "xb":
            M.xb(Hi, a, False, nt)
            M.xb(Wi, b, True, nt)
        else:
            M.kl_num(Wi, Hi, a, False, nt)
            M.kl_num(Wi, Hi, b, True, nt)
        assert a.dtype == b.dtype == dtype
        if M.transposed:  # internal W is the caller's H^T: swap back
            a, b = b, a
        return a, b  # (m x k): numerator of W; (n x k): numerator of H^T

    Vd, Wd, Hd = f64(V, W, H)
    WH = Wd @ Hd
    R = Vd / np.maximum(WH, MC.tiny)
    refs = {"xb": (Vd @ Hd.T, Vd.T @ Wd), "kl": (R @ Hd.T, R.T @ Wd)}
    with blas_single_threaded():  # nt = 2 OpenMP threads, each calling BLAS
        for fn in ("xb", "kl"):
            for M, Wi, Hi in ((MC, Wc, Hc), (MF, Wf, Hf), (MS, Ws, Hs)):
                a, b = caller_products(M, Wi, Hi, fn)
                assert_close(a, refs[fn][0], dtype)
                assert_close(b, refs[fn][1], dtype)

        for beta in (2.0, 1.0):
            expected = ref_objective(V, W, H.T, beta, MC.tiny)
            scale = float(np.sum(Vd * Vd) + np.sum(WH * WH)) if beta == 2.0 else \
                float(Vd.sum() + WH.sum())
            for M, Wi, Hi in ((MC, Wc, Hc), (MF, Wf, Hf), (MS, Ws, Hs)):
                got = M.divergence(Wi, Hi, beta, nt)
                assert got == pytest.approx(expected, rel=rtol(dtype),
                                            abs=rtol(dtype) * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("magnitude", [1.0, 1e100])
def test_matrix_fortran_round_trip(rng, dtype, magnitude):
    if dtype == np.float32 and magnitude > 1e30:
        magnitude = 1e30
    m, n, k = 8, 6, 3
    V = np.asfortranarray(rand(rng, (m, n), np.float64) * magnitude).astype(dtype, order="F")
    V.setflags(write=False)
    V0 = V.copy(order="F")
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    for M in (Matrix(V), Matrix(np.ascontiguousarray(V)), Matrix(sp.csr_matrix(V))):
        assert M.internal_shape == ((n, m) if M.transposed else (m, n))
        if magnitude > 1:
            assert M.scale != 1.0
        Wi, Hi = M.to_internal(W, H)
        assert Wi.shape == (M.internal_shape[0], k) and Hi.shape == (M.internal_shape[1], k)
        W2, H2 = M.to_external(Wi, Hi)
        assert W2.dtype == H2.dtype == dtype
        assert W2.shape == W.shape and H2.shape == H.shape
        np.testing.assert_array_equal(W2, W)  # power-of-4 scaling makes this exact
        np.testing.assert_array_equal(H2, H)
        ext = M.external()
        ext = ext.toarray() if sp.issparse(ext) else np.asarray(ext)
        np.testing.assert_array_equal(ext * dtype(M.scale), V)
    MF = Matrix(V)
    assert MF.transposed
    if MF.scale == 1.0:  # Fortran V is used through its transpose, not copied
        assert np.shares_memory(MF.V, V)
    assert MF.V.flags.c_contiguous and MF.V.shape == (n, m)
    np.testing.assert_array_equal(V, V0)


def test_matrix_buffers_are_valid_workspaces(rng):
    """buffers(n_threads): (n_threads, L), L >= n (internal n), made once per thread count."""
    for m, n, order in ((5, 3, "C"), (4000, 3, "C"), (3, 5000, "C"), (2, 4, "C"),
                        (4000, 3, "F"), (300, 200, "F")):
        for dtype in DTYPES:
            M = Matrix(np.asarray(rand(rng, (m, n), dtype), order=order))
            n_int = M.V.shape[1]
            assert n_int == (m if order == "F" and m > 1 and n > 1 else n)
            for nt in (1, 2, 3):
                buf = M.buffers(nt)
                assert buf is M.buffers(nt)  # made once per thread count
                assert buf.dtype == M.dtype and buf.flags.c_contiguous
                assert buf.shape[0] == nt and buf.shape[1] >= n_int
                # A valid workspace for the kernels at that thread count (no ValueError).
                k = 2
                W, Ht = (np.ones((r, k), M.dtype) for r in M.V.shape)
                num = np.empty((n_int, k), M.dtype)
                with blas_single_threaded():
                    _dense.kl_numerator(M.V, W, Ht, True, num, buf, M.col_block, TINY, nt)
                    _dense.objective(M.V, W, Ht, buf, 2.0, TINY, nt)
            assert M.buffers(2) is not M.buffers(1)  # a new thread count gets new buffers
            assert M.buffers(2).shape[0] == 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_buffer_length_does_not_depend_on_threads_for_small_v(rng, dtype):
    """L (hence the tiles, hence the results) depends on V alone for small thread counts."""
    for shape in ((5, 3), (40, 30), (2500, 40), (3, 5000)):
        M = Matrix(rand(rng, shape, dtype))
        widths_ = [M.buffers(nt).shape[1] for nt in (1, 2, 3, 4)]
        assert widths_[0] == widths_[1], shape  # buffers(1) and buffers(2): the same L
        assert len(set(widths_)) == 1, (shape, widths_)
        # A thread's row holds 256 KiB to 4 MiB, or one row of V if that is more.
        L, item = widths_[0], M.dtype.itemsize
        assert L == M.V.shape[1] or (1 << 18) - item < L * item <= 1 << 22, (shape, L)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_buffers_shrink_for_many_threads(rng, dtype):
    """Beyond a few threads all rows together stay within max(V / 10, 1 MiB), but a row
    never gets shorter than n."""
    for shape in ((40, 30), (3, 5000)):
        M = Matrix(rand(rng, shape, dtype))
        L1 = M.buffers(1).shape[1]
        buf = M.buffers(64)
        assert buf.shape[0] == 64 and M.V.shape[1] <= buf.shape[1] <= L1
        assert (buf.nbytes <= max(M.V.nbytes / 10, 1 << 20)
                or buf.shape[1] == M.V.shape[1]), shape


def test_matrix_col_block():
    """A property: about an eighth of n, within [16, 256]."""
    assert isinstance(vars(Matrix)["col_block"], property)
    for n, expected in ((1, 16), (3, 16), (128, 16), (129, 17), (800, 100), (2048, 256),
                        (5000, 256)):
        M = Matrix(np.ones((2, n)))
        assert M.col_block == expected and isinstance(M.col_block, int), n


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_results_do_not_depend_on_thread_count(rng, dtype):
    """Through Matrix (its own buffers and col_block) the dense KL numerators and the
    divergences are bit-identical for 1, 2 and 3 threads, with several tiles and blocks."""
    m, n, k = 2500, 40, 3
    V = rand(rng, (m, n), dtype, zeros=0.3)
    M = Matrix(V)
    L = M.buffers(1).shape[1]
    assert m > L // n and n > M.col_block  # several W-side tiles and H-side blocks
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    Wi, Hi = M.to_internal(W, H)
    results = []
    with blas_single_threaded():
        for nt in (1, 2, 3):
            a = np.full((m, k), np.nan, dtype)
            b = np.full((n, k), np.nan, dtype)
            M.kl_num(Wi, Hi, a, False, nt)
            M.kl_num(Wi, Hi, b, True, nt)
            results.append((a, b, M.divergence(Wi, Hi, 2.0, nt), M.divergence(Wi, Hi, 1.0, nt)))
    R = f64(V)[0] / np.maximum(f64(W)[0] @ f64(H)[0], M.tiny)
    assert_close(results[0][0], R @ f64(H)[0].T, dtype)
    assert_close(results[0][1], R.T @ f64(W)[0], dtype)
    for nt, res in zip((2, 3), results[1:]):
        np.testing.assert_array_equal(res[0], results[0][0], err_msg=str(nt))
        np.testing.assert_array_equal(res[1], results[0][1], err_msg=str(nt))
        assert res[2:] == results[0][2:], nt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (257, 5), (600, 33), (0, 4)])
def test_sums_match_numpy_on_any_thread_count(rng, dtype, shape):
    V = rng.random(shape).astype(dtype)
    ref = V.astype(np.float64)
    results = [_dense.sums(V, t) for t in (1, 2, 3)]
    assert results[0] == results[1] == results[2]
    s, q = results[0]
    assert s == pytest.approx(ref.sum(), rel=1e-13, abs=1e-300)
    assert q == pytest.approx((ref * ref).sum(), rel=1e-13, abs=1e-300)


def test_gram_in_row_blocks_matches_numpy_on_any_thread_count(rng):
    B = rng.random((3 * 4096 + 17, 7))
    outs = [_dense.gram(B, np.empty((7, 7)), t) for t in (1, 2, 3)]
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    np.testing.assert_allclose(outs[0], B.T @ B, rtol=1e-13)


def test_extrapolate(rng):
    cur, last = rng.random((50, 4)), rng.random((50, 4))
    keep = np.empty_like(cur)
    ref = np.maximum(cur + 0.7 * (cur - last), 0.05)
    _steps.extrapolate(cur, last, keep, 0.7, 0.05, 2)
    assert np.array_equal(last, ref) and np.array_equal(keep, ref)
    last[0, 0] = np.nan  # a NaN never escapes: it becomes the floor
    _steps.extrapolate(cur, last, last, 0.5, 0.05, 1)
    assert last[0, 0] == 0.05
    with pytest.raises(ValueError, match="same shape"):
        _steps.extrapolate(cur, last[:3], keep, 0.5, 0.0, 1)


@pytest.mark.parametrize("k", [1, 12, 13, 16, 20, 24, 25, 40])
@pytest.mark.parametrize("p,q", [(1, 1), (3, 5), (255, 7), (513, 259), (1000, 64)])
def test_float32_xt_b_kernel_matches_blas_and_float64(rng, k, p, q):
    # float32 X^T B runs in the AVX2 kernel of _vtw_f32.h for 13 <= k <= 24 where the CPU
    # has it (and in BLAS otherwise): both must give the float64 product to float32
    # accuracy, the same bits on any thread count
    X = rng.random((p, q)).astype(np.float32)
    B = rng.random((p, k)).astype(np.float32)
    ref = X.astype(np.float64).T @ B.astype(np.float64)
    outs = []
    for n_threads in (1, 2, 3):
        out = np.full((q, k), np.nan, dtype=np.float32)
        _dense.matmul(X, B, out, True, n_threads)
        outs.append(out)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    np.testing.assert_allclose(outs[0], ref, rtol=2e-5 * max(1.0, np.log2(p)))
    previous = _dense.vtw_f32_kernel(False)
    try:
        blas = np.empty((q, k), dtype=np.float32)
        _dense.matmul(X, B, blas, True, 2)
    finally:
        _dense.vtw_f32_kernel(previous)
    np.testing.assert_allclose(outs[0], blas, rtol=1e-4 * max(1.0, np.log2(p)))


def test_float32_xt_b_kernel_switch():
    available = _dense.vtw_f32_kernel()
    assert _dense.vtw_f32_kernel(False) == available
    assert _dense.vtw_f32_kernel() is False
    assert _dense.vtw_f32_kernel(True) is False
    assert _dense.vtw_f32_kernel() == available  # only where the CPU has AVX2 and FMA
