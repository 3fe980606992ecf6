"""General beta-divergences: the kernels against NumPy references, and the estimator
against scikit-learn's mu solver from the same start, dense == CSR, float32 ~= float64.

beta other than 1 and 2 (and any beta with missing values) runs the general update
H <- H o [W^T((WH)^(beta-2) o V) / W^T (WH)^(beta-1)]^gamma (DESIGN.md). On CSR input the
zeros of V enter the denominator and the objective exactly, through tiles of WH that are
never stored whole (Matrix.beta_products / Matrix.divergence).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF
from nmfkit.core.matrix import Matrix
from nmfkit.kernels import dense as _dense, sparse as _sparse, steps as _steps

from _kernel_cases import DTYPES, TINY, assert_close, csr_args, f64, rand, readonly, rtol

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def ref_div(V, WH, beta, tiny):
    """Sum of d_beta(v | wh) over the non-NaN entries of V (float64)."""
    V, WH = f64(V, WH)
    obs = ~np.isnan(V)
    v, wh = V[obs], WH[obs]
    if beta == 2.0:
        return 0.5 * float(np.sum((v - wh) ** 2))
    if beta == 1.0:
        pos = v > 0
        return float(np.sum(wh) + np.sum(v[pos] * np.log(v[pos] / np.maximum(wh[pos], tiny))
                                          - v[pos]))
    wh = np.maximum(wh, tiny) if beta < 2 else wh
    if beta == 0.0:
        return float(np.sum(v / wh - np.log(v / wh) - 1))
    return float(np.sum((v ** beta + (beta - 1) * wh ** beta - beta * v * wh ** (beta - 1))
                        / (beta * (beta - 1))))


def ref_products(V, W, Ht, h_side, beta, tiny):
    V, W, Ht = f64(V, W, Ht)
    WH = W @ Ht.T
    if beta < 2:
        WH = np.maximum(WH, tiny)
    obs = ~np.isnan(V)
    P = np.where(obs, np.nan_to_num(V) * WH ** (beta - 2), 0.0)
    Q = np.where(obs, WH ** (beta - 1), 0.0)
    B = W if h_side else Ht
    return (P.T @ B, Q.T @ B) if h_side else (P @ B, Q @ B)


def general_problem(rng, dtype, m=9, n=7, k=3, missing=0.0, zeros=0.0):
    V = rand(rng, (m, n), dtype, zeros)
    if missing:
        V[rng.random((m, n)) < missing] = np.nan
    return readonly(V, rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# -- kernels ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("h_side", [False, True])
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_dense_beta_products(rng, dtype, beta, h_side, missing):
    V, W, Ht = general_problem(rng, dtype, missing=missing)
    want_num, want_den = ref_products(V, W, Ht, h_side, beta, TINY)
    rows = Ht.shape[0] if h_side else W.shape[0]
    for L in (V.shape[1], 2 * V.shape[1] + 1, V.size):  # one row per tile .. one tile
        buf, buf2 = (np.empty((1, L), dtype=dtype) for _ in range(2))
        num = np.full((rows, W.shape[1]), -1, dtype=dtype)
        den = np.full_like(num, -1)
        _dense.beta_products(V, W, Ht, h_side, num, den, buf, buf2, 2, beta, TINY, 1)
        assert_close(num, want_num, dtype)
        assert_close(den, want_den, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.5, 1.5, 3.0])
@pytest.mark.parametrize("h_side", [False, True])
def test_dense_beta_den_of_zero_matrix(rng, dtype, beta, h_side):
    """V None: an all-zero, fully observed V; den only (the zeros of a sparse V)."""
    _, W, Ht = general_problem(rng, dtype)
    Z = np.zeros((W.shape[0], Ht.shape[0]))
    want_den = ref_products(Z, W, Ht, h_side, beta, TINY)[1]
    den = np.empty((Ht.shape[0] if h_side else W.shape[0], W.shape[1]), dtype=dtype)
    buf, buf2 = (np.empty((1, 3 * Ht.shape[0]), dtype=dtype) for _ in range(2))
    ctype = "float" if dtype == np.float32 else "double"
    _dense.beta_products[ctype](None, W, Ht, h_side, None, den, buf, buf2, 2, beta, TINY, 1)
    assert_close(den, want_den, dtype)
    got = _dense.objective[ctype](None, W, Ht, buf, beta, TINY, 1)
    assert got == pytest.approx(ref_div(Z, f64(W)[0] @ f64(Ht)[0].T, beta, TINY),
                                rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_dense_objective_general_and_missing(rng, dtype, beta, missing):
    V, W, Ht = general_problem(rng, dtype, missing=missing, zeros=0.0 if beta <= 0 else 0.2)
    want = ref_div(V, f64(W)[0] @ f64(Ht)[0].T, beta, TINY)
    for L in (V.shape[1], V.size):
        got = _dense.objective(V, W, Ht, np.empty((1, L), dtype=dtype), beta, TINY, 1)
        assert got == pytest.approx(want, rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sparse_beta_numerator_and_stored(rng, dtype, beta, index_dtype):
    """Over the stored entries only (explicit zeros included): what a missing-value CSR
    (its stored pattern = the observed entries) needs."""
    m, n, k = 11, 8, 3
    mask = rng.random((m, n)) < 0.5
    V = rand(rng, (m, n), dtype, zeros=0.0 if beta <= 0 else 0.3)
    X = sp.csr_matrix((V[mask], np.nonzero(mask)), shape=(m, n), dtype=dtype)
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    W, Ht = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    Vn = np.where(mask, V, np.nan)
    want_num, want_den = ref_products(Vn, W, Ht, False, beta, TINY)
    num, den = np.empty((m, k), dtype=dtype), np.empty((m, k), dtype=dtype)
    _sparse.beta_numerator(*csr_args(X), W, Ht, num, den, beta, TINY, 1)
    assert_close(num, want_num, dtype)
    assert_close(den, want_den, dtype)
    num2 = np.empty_like(num)
    _sparse.beta_numerator(*csr_args(X), W, Ht, num2, None, beta, TINY, 1)
    np.testing.assert_array_equal(num2, num)
    WH = f64(W)[0] @ f64(Ht)[0].T
    got = _sparse.beta_stored(*csr_args(X), W, Ht, beta, TINY, True, 1)
    assert got == pytest.approx(ref_div(Vn, WH, beta, TINY), rel=rtol(dtype))
    if beta > 0:  # the unobserved form: d(x | wh) - d(0 | wh) at stored entries
        zero = np.where(mask, 0.0, np.nan)
        want = ref_div(Vn, WH, beta, TINY) - ref_div(zero, WH, beta, TINY)
        got = _sparse.beta_stored(*csr_args(X), W, Ht, beta, TINY, False, 1)
        assert got == pytest.approx(want, rel=rtol(dtype), abs=rtol(dtype) * abs(want))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [1.0, 0.5, 0.4])
def test_mu_beta_step(rng, dtype, gamma):
    r, k = 70, 4  # more than one chunk of rows
    A = rand(rng, (r, k), dtype)
    num, den = readonly(rand(rng, (r, k), dtype), rand(rng, (r, k), dtype, zeros=0.1))
    l1, l2, floor, tiny = 0.05, 0.1, 0.2, 1e-3
    A0 = np.array(A, dtype=np.float64)  # a copy: A is updated in place
    d = f64(den)[0] + l1 + l2 * A0
    d[d <= 0] = tiny
    want = np.maximum(floor, A0 * (f64(num)[0] / d) ** gamma)
    delta = _steps.mu_beta_step(A, num, den, l1, l2, gamma, floor, tiny, 1)
    assert_close(A, want, dtype)
    assert delta == pytest.approx(float(np.sum((f64(A)[0] - A0) ** 2)), rel=rtol(dtype) * 10)


@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_general_kernels_bit_identical_across_threads(rng, beta):
    V, W, Ht = general_problem(rng, np.float64, m=300, n=90, k=5, missing=0.2)
    out = []
    for nt in (1, 2, 3):
        num, den = np.empty((90, 5)), np.empty((90, 5))
        buf, buf2 = np.empty((nt, 400)), np.empty((nt, 400))
        _dense.beta_products(V, W, Ht, True, num, den, buf, buf2, 16, beta, TINY, nt)
        obj = _dense.objective(V, W, Ht, buf, beta, TINY, nt)
        out.append((num.tobytes(), den.tobytes(), obj))
    assert out[0] == out[1] == out[2]


# -- the estimator ----------------------------------------------------------------------

def positive_data(rng, m=40, n=30, k=4, dtype=np.float64):
    V = rng.uniform(0.2, 1.0, (m, k)) @ rng.uniform(0.2, 1.0, (k, n)) + 0.1 * rng.random((m, n))
    return V.astype(dtype)


def start(rng, m, n, k):
    return rng.uniform(0.1, 1.0, (m, k)), rng.uniform(0.1, 1.0, (k, n))


@pytest.mark.parametrize("beta", ["itakura-saito", 0.5, 1.5, 3.0, -0.5])
def test_matches_sklearn_mu_dense(rng, beta):
    skl = pytest.importorskip("sklearn.decomposition")
    V = positive_data(rng)
    W0, H0 = start(rng, *V.shape, 4)
    kw = dict(n_components=4, solver="mu", beta_loss=beta, init="custom", max_iter=60, tol=0)
    ours = NMF(**kw)
    W = ours.fit_transform(V, W=W0.copy(), H=H0.copy())
    ref = skl.NMF(**kw)
    Wr = ref.fit_transform(V, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, Wr, rtol=1e-9, atol=1e-12 * Wr.max())
    np.testing.assert_allclose(ours.components_, ref.components_, rtol=1e-9,
                               atol=1e-12 * ref.components_.max())
    # the objective against an independent NumPy evaluation of the same factors
    b = {"itakura-saito": 0.0}.get(beta, beta)
    want = np.sqrt(2 * ref_div(V, W @ ours.components_, b, 0.0))
    assert ours.reconstruction_err_ == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("beta", [1.5, 3.0])
def test_matches_sklearn_mu_csr(rng, beta):
    """On CSR the zeros of V enter exactly (scikit-learn densifies them row by row)."""
    skl = pytest.importorskip("sklearn.decomposition")
    X = sp.random(50, 40, density=0.2, random_state=3, format="csr")
    W0, H0 = start(rng, 50, 40, 3)
    kw = dict(n_components=3, solver="mu", beta_loss=beta, init="custom", max_iter=50, tol=0)
    ours, ref = NMF(**kw), skl.NMF(**kw)
    W = ours.fit_transform(X, W=W0.copy(), H=H0.copy())
    Wr = ref.fit_transform(X, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, Wr, rtol=1e-6, atol=1e-9 * Wr.max())
    np.testing.assert_allclose(ours.components_, ref.components_, rtol=1e-6,
                               atol=1e-9 * ref.components_.max())


@pytest.mark.parametrize("beta", [0.5, 1.5, 3.0])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_equals_csr_and_monotone(rng, beta, dtype):
    X = sp.random(60, 45, density=0.15, random_state=4, format="csr", dtype=dtype)
    W0, H0 = start(rng, 60, 45, 3)
    kw = dict(n_components=3, solver="mu", beta_loss=beta, init="custom", max_iter=80, tol=0,
              check_every=1)
    a, b = NMF(**kw), NMF(**kw)
    Wa = a.fit_transform(X, W=W0.copy(), H=H0.copy())
    Wb = b.fit_transform(X.toarray(), W=W0.copy(), H=H0.copy())
    tol = 2e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(Wa, Wb, rtol=tol, atol=tol * Wb.max())
    np.testing.assert_allclose(a.loss_history_, b.loss_history_, rtol=tol)
    slack = 1e-6 if dtype == np.float32 else 1e-12  # rounding; any real increase fails
    for h in (a.loss_history_, b.loss_history_):
        assert np.all(np.diff(h) <= slack * h[0])
    assert Wa.dtype == dtype and a.components_.dtype == dtype


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.5, 3.0])
def test_float32_close_to_float64(rng, beta):
    V = positive_data(rng, 50, 40, 4)
    W0, H0 = start(rng, 50, 40, 4)
    kw = dict(n_components=4, solver="mu", beta_loss=beta, init="custom", max_iter=100, tol=0)
    e64 = NMF(**kw).fit(V, W=W0, H=H0).reconstruction_err_
    e32 = NMF(**kw).fit(V.astype(np.float32), W=W0.astype(np.float32),
                        H=H0.astype(np.float32)).reconstruction_err_
    assert e32 == pytest.approx(e64, rel=1e-3)


@pytest.mark.parametrize("beta", [0.0, -1.0, "itakura-saito"])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_nonpositive_beta_with_zeros_is_refused(rng, beta, kind):
    V = positive_data(rng)
    V[3, 4] = 0.0
    X = sp.csr_matrix(V) if kind == "csr" else V
    with pytest.raises(ValueError, match="beta_loss <= 0"):
        NMF(3, beta_loss=beta, max_iter=5).fit(X)


def test_nonpositive_beta_with_zeros_only_where_missing_is_fine(rng):
    V = positive_data(rng)
    V[3, 4] = 0.0
    mask = np.ones(V.shape, dtype=bool)
    mask[3, 4] = False
    model = NMF(3, beta_loss="itakura-saito", max_iter=30, random_state=0).fit(V, mask=mask)
    assert np.isfinite(model.reconstruction_err_) and np.all(model.components_ >= 0)


@pytest.mark.parametrize("beta", [0.5, 1.5, 3.0])
def test_penalties_match_sklearn(rng, beta):
    skl = pytest.importorskip("sklearn.decomposition")
    V = positive_data(rng)
    W0, H0 = start(rng, *V.shape, 4)
    kw = dict(n_components=4, solver="mu", beta_loss=beta, init="custom", max_iter=40, tol=0,
              alpha_W=0.01, alpha_H=0.02, l1_ratio=0.3)
    W = NMF(**kw).fit_transform(V, W=W0.copy(), H=H0.copy())
    Wr = skl.NMF(**kw).fit_transform(V, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, Wr, rtol=1e-9, atol=1e-12 * Wr.max())


@pytest.mark.parametrize("beta", [0.5, 1.5])
def test_transform_general_beta(rng, beta):
    """transform finds a W at least as good as the fit's for the fitted components."""
    V = positive_data(rng)
    model = NMF(4, beta_loss=beta, max_iter=300, tol=1e-6, random_state=0)
    W = model.fit_transform(V)
    H = model.components_
    Wt = model.transform(V)
    assert np.all(Wt >= 0) and Wt.shape == W.shape
    assert ref_div(V, Wt @ H, beta, 0) <= ref_div(V, W @ H, beta, 0) * (1 + 1e-6)


def test_general_beta_sparse_never_densifies():
    """The zeros of a CSR enter den and the objective through tiles of WH: peak memory stays
    far below the dense matrix (200 MB here), and the values are exact."""
    import tracemalloc
    m = n = 5000
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, m, 2000), rng.integers(0, n, 2000)
    X = sp.csr_matrix((np.ones(2000), (rows, cols)), shape=(m, n))
    X.sum_duplicates()
    M = Matrix(X)
    W, Ht = np.full((m, 2), 0.01), np.full((n, 2), 0.01)
    num, den = np.empty_like(W), np.empty_like(W)
    tracemalloc.start()
    M.beta_products(W, Ht, num, den, False, 1.5, 1)
    obj = M.divergence(W, Ht, 1.5, 1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 << 20, peak
    # WH = 2e-4 everywhere: den = (WH)^0.5 summed over the n entries of a row times 0.01
    np.testing.assert_allclose(den, np.sqrt(2e-4) * n * 0.01, rtol=1e-9)
    counts = np.asarray(X.sum(axis=1)).ravel()  # the values of V are 1 at stored entries
    np.testing.assert_allclose(num[:, 0], counts * (2e-4) ** -0.5 * 0.01, rtol=1e-9)
    wh, b = 2e-4, 1.5
    stored = (1 + (b - 1) * wh ** b - b * wh ** (b - 1)) / (b * (b - 1))
    want = X.nnz * stored + (m * n - X.nnz) * wh ** b / b
    assert obj == pytest.approx(want, rel=1e-9)
