"""nmfkit.kernels.steps (the row-parallel factor updates) against NumPy references.
Conventions and helpers: _kernel_cases.py."""

import numpy as np
import pytest

from nmfkit.kernels import steps as _steps

from _kernel_cases import (
    CHUNK,
    DTYPES,
    NT,
    TINY,
    assert_close,
    f64,
    rand,
    readonly,
    ref_hals,
    ref_mu_div,
    ref_mu_fro,
    rtol,
    run_step,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


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

