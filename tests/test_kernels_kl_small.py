"""The fused dense KL kernels of a small rank (kernels/_kl_small.h, k <= KL_SMALL_K_MAX):
the numerator of either side and the float64 objective against NumPy in float64, on odd
shapes (a last vector of fewer columns), zero rows and columns of V, a W H that is zero or
below tiny; their bits independent of tiles, column blocks and thread counts. Larger k
take the tiled BLAS walk (test_kernels_dense.py); k up to 12 here covers both sides of the
switch."""

import numpy as np
import pytest

from nmfkit.kernels import dense as _dense

from _kernel_cases import readonly

K_MAX = _dense.KL_SMALL_K_MAX
V3_AVAILABLE = _dense.kl_small_v3()  # whether this CPU runs the x86-64-v3 version


@pytest.fixture(autouse=True, params=["x86-64-v3", "baseline"])
def version(request):
    """Every test on each version of the kernels this machine can run: the x86-64-v3 one
    (where the CPU has it) and the baseline one, which runs on every other CPU."""
    if request.param == "x86-64-v3" and not V3_AVAILABLE:
        pytest.skip("this CPU has no x86-64-v3 (or the build no such version)")
    previous = _dense.kl_small_v3(request.param == "x86-64-v3")
    yield request.param
    _dense.kl_small_v3(previous)
# rows shorter and longer than _kl_small.h's NMFKIT_KL_SHORT_ROWS (128), each kernel with a
# last vector of fewer columns or rows
SHAPES = [(1, 1), (3, 7), (17, 33), (38, 101), (5, 9), (64, 8), (6, 131), (3, 258)]
# float32: its rounding over a row of a few hundred terms; float64: the brief's 1e-12
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _problem(rng, m, n, k, dtype):
    """V with zeros, a zero row and a zero column; W with a zero row (W H = 0 there, read as
    tiny) and a row of 1e-9 (0 < W H < tiny); tiny as Matrix sets it for V's maximum."""
    V = rng.uniform(0.1, 1.0, (m, n)) * (rng.random((m, n)) < 0.7)
    W = rng.uniform(0.1, 1.0, (m, k))
    Ht = rng.uniform(0.1, 1.0, (n, k))
    if m > 2:
        V[1] = 0.0
        W[0] = 0.0
        W[2] = 1e-9
        V[2] = 0.5
    if n > 2:
        V[:, n - 1] = 0.0
    tiny = float(np.finfo(dtype).eps) * 1e-3
    return (*readonly(V.astype(dtype), W.astype(dtype), Ht.astype(dtype)), tiny)


def _numerator(V, W, Ht, h_side, tiny, L=None, col_block=16, n_threads=1):
    m, n = V.shape
    num = np.full((n if h_side else m, W.shape[1]), np.nan, dtype=V.dtype)
    buf = np.empty((n_threads, max(n, L or n)), dtype=V.dtype)
    _dense.kl_numerator(V, W, Ht, h_side, num, buf, col_block, tiny, n_threads)
    return num


def test_there_is_a_fused_kernel_for_the_small_ranks():
    assert K_MAX >= 5  # the ranks of a rank survey of a small matrix (2..5)


def test_the_version_switch(version):
    assert _dense.kl_small_v3() is (version == "x86-64-v3")
    assert _dense.kl_small_v3(False) is (version == "x86-64-v3")
    assert _dense.kl_small_v3() is False
    assert _dense.kl_small_v3(True) is False
    assert _dense.kl_small_v3() is V3_AVAILABLE


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h_side", [False, True])
@pytest.mark.parametrize("k", range(1, 13))
def test_numerator_matches_float64_numpy(dtype, h_side, k):
    rng = np.random.default_rng(k)
    for m, n in SHAPES:
        V, W, Ht, tiny = _problem(rng, m, n, k, dtype)
        W64, Ht64 = W.astype(np.float64), Ht.astype(np.float64)
        R = V.astype(np.float64) / np.maximum(W64 @ Ht64.T, tiny)
        expected = R.T @ W64 if h_side else R @ Ht64
        got = _numerator(V, W, Ht, h_side, tiny)
        assert got.dtype == dtype
        # every entry of the reference is a sum of nonnegative terms: relative, entrywise
        np.testing.assert_allclose(got, expected, rtol=RTOL[np.dtype(dtype)], atol=0,
                                   err_msg=str((m, n)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h_side", [False, True])
def test_numerator_bits_do_not_depend_on_tiles_or_threads(dtype, h_side):
    """Each entry is summed in an order set by the shapes alone: any workspace length,
    column block and thread count give the same bits."""
    rng = np.random.default_rng(7)
    for k in range(1, K_MAX + 1):
        for m, n in [(29, 45), (7, 150)]:
            V, W, Ht, tiny = _problem(rng, m, n, k, dtype)
            first = _numerator(V, W, Ht, h_side, tiny)
            for L, col_block, n_threads in [(n, 1, 2), (2 * n, 3, 3), (10_000, n, 2),
                                            (n + 1, 8, 1)]:
                np.testing.assert_array_equal(
                    _numerator(V, W, Ht, h_side, tiny, L, col_block, n_threads), first,
                    err_msg=str((k, m, n, L, col_block, n_threads)))


def _objective(V, W, Ht, tiny, L=None, n_threads=1):
    buf = np.empty((n_threads, max(V.shape[1], L or 0)), dtype=V.dtype)
    return _dense.objective(V, W, Ht, buf, 1.0, tiny, n_threads)


def _ref_objective(V, W, Ht, tiny):
    WH = W @ Ht.T
    seen = ~np.isnan(V)
    pos = seen & (V > 0)
    v = V[pos]
    return float(WH[seen].sum() + np.sum(v * np.log(v / np.maximum(WH[pos], tiny)) - v))


@pytest.mark.parametrize("k", range(1, 13))
def test_objective_matches_float64_numpy(k):
    """Also with V's entries over 560 orders of magnitude (quotients from 1e-280 to 1e300,
    all through the fused kernel's own logarithm), a NaN entry (unobserved: left out) and
    the zero and tiny W H rows."""
    rng = np.random.default_rng(100 + k)
    for m, n in SHAPES:
        V, W, Ht, tiny = _problem(rng, m, n, k, np.float64)
        V = np.array(V)
        if m > 3:
            V[m - 1, 0] = np.nan  # in a row of ordinary products
        got = _objective(readonly(V), W, Ht, tiny)
        assert got == pytest.approx(_ref_objective(V, W, Ht, tiny), rel=1e-12)
        V *= 10.0 ** rng.integers(-280, 280, size=V.shape)
        got = _objective(readonly(V), W, Ht, tiny)
        assert got == pytest.approx(_ref_objective(V, W, Ht, tiny), rel=1e-12), (m, n)


def test_objective_of_one_entry_per_quotient():
    """d(v | wh) for single entries whose quotient v / wh sweeps the normal range, the
    edges of the logarithm's reduction (powers of 2, sqrt(2) / 2 and its neighbours) and
    subnormals (handed to the C library's log): against v log(v / wh) - v + wh in float64,
    entry by entry."""
    W = readonly(np.ones((1, 1)))
    quotients = np.concatenate([np.geomspace(1e-300, 1e300, 401), [0.5, 1.0, 2.0, 4.0],
                                np.sqrt([0.5, 2.0]), np.nextafter(np.sqrt(0.5), [0.0, 1.0]),
                                [5e-324, 1e-310]])
    for q in quotients:
        V = readonly(np.full((1, 1), q))
        expected = q * np.log(q) - q + 1.0
        got = _objective(V, W, W, 1e-300)
        assert got == pytest.approx(expected, rel=2e-15, abs=1e-300), q


def test_objective_of_an_overflowing_quotient_is_infinite():
    """v / max(wh, tiny) above the largest double (handed to the C library's log): inf, as
    in NumPy; one NaN product (a NaN in W) makes the objective NaN."""
    V = readonly(np.array([[1e300, 1.0, 2.0, 3.0, 4.0]]))
    Ht = readonly(np.ones((5, 1)))
    assert _objective(V, readonly(np.zeros((1, 1))), Ht, 1e-300) == np.inf
    assert np.isnan(_objective(V, readonly(np.full((1, 1), np.nan)), Ht, 1e-300))


def test_objective_bits_do_not_depend_on_threads():
    rng = np.random.default_rng(3)
    for k in (1, 3, 5, K_MAX):
        V, W, Ht, tiny = _problem(rng, 57, 31, k, np.float64)
        for L in (31, 62, 10_000):
            one = _objective(V, W, Ht, tiny, L, 1)
            assert _objective(V, W, Ht, tiny, L, 2) == one
            assert _objective(V, W, Ht, tiny, L, 3) == one
