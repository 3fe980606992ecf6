"""nmfkit.kernels.dense (products, Gram matrices, the tiled KL numerator and objective)
against NumPy; the dtype discipline of all three kernel modules. Conventions and helpers:
_kernel_cases.py."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit.core.threads import blas_single_threaded
from nmfkit.kernels import dense as _dense, sparse as _sparse, steps as _steps

from _kernel_cases import (
    DTYPES,
    GEMM_ROWS,
    NT,
    SHAPE_IDS,
    SHAPES,
    TINY,
    assert_close,
    col_blocks,
    dense_kl_num,
    dense_objective,
    f64,
    problem,
    rand,
    readonly,
    ref_kl_num,
    ref_objective,
    rtol,
    small_wh_problem,
    widths,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


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


def test_widths_and_col_blocks_include_ragged_tiles():
    assert widths(10, 3) == [3, 4, 6, 9, 35]  # 3 rows per tile leave a short last tile
    assert col_blocks(7) == [1, 3, 7, 11]     # 3 columns per block leave a short last one



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
