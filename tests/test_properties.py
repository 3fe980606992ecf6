"""Property-based checks (hypothesis) over shapes, densities, dtypes, layouts and k."""

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
    strategies as st,  # noqa: E402
)

from nmfkit import NMF  # noqa: E402


@st.composite
def problems(draw):
    m = draw(st.integers(1, 14))
    n = draw(st.integers(1, 14))
    k = draw(st.integers(1, min(m, n) + 2))
    density = draw(st.sampled_from([0.0, 0.1, 0.4, 1.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.sampled_from(["C", "F", "strided"]))
    loss = draw(st.sampled_from(["frobenius", "kullback-leibler", 0.5, 1.5, 3.0]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = rng.rand(m, n) * (rng.rand(m, n) < density) * draw(st.sampled_from([1e-3, 1.0, 1e4]))
    X = X.astype(dtype)
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    return X, k, loss, seed


def fit(X, k, loss, seed, **kw):
    model = NMF(k, beta_loss=loss, init="random", random_state=seed, solver="mu",
                max_iter=25, tol=0, check_every=1, **kw)
    W = model.fit_transform(X)
    return W, model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_fit_is_finite_nonnegative_monotone_and_dense_equals_csr(problem):
    X, k, loss, seed = problem
    W, model = fit(X, k, loss, seed)
    H = model.components_
    assert W.shape == (X.shape[0], k) and H.shape == (k, X.shape[1])
    assert W.dtype == X.dtype and H.dtype == X.dtype
    for F in (W, H):
        assert np.all(np.isfinite(F)) and np.all(F >= 0)
    hist = model.loss_history_
    assert np.all(np.isfinite(hist))
    # the data's own magnitude, the scale of the rounding of each objective: sum of X^2 for
    # Frobenius (its history expands ||X||^2 - 2 <X, WH> + ||WH||^2), sum of X for KL,
    # the starting objective otherwise
    Xd = np.asarray(X, dtype=np.float64)
    magnitude = float(np.sum(Xd ** 2) if loss == "frobenius" else np.sum(Xd)
                      if loss == "kullback-leibler" else hist[0]) + 1e-300
    rtol = 1e-4 if X.dtype == np.float32 else 1e-9
    assert np.all(np.diff(hist) <= rtol * max(hist[0], magnitude))
    Ws, model_s = fit(sp.csr_matrix(X), k, loss, seed)
    # dense == CSR: the divergences D = err^2 / 2 agree to rounding relative to magnitude
    d_dense = model.reconstruction_err_ ** 2 / 2
    d_csr = model_s.reconstruction_err_ ** 2 / 2
    rtol = 2e-3 if X.dtype == np.float32 else 1e-7
    assert abs(d_dense - d_csr) <= rtol * max(magnitude, d_dense)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.floats(0.0, 0.6), st.integers(0, 2**16))
def test_missing_values_nan_equals_sparse_mask_and_is_monotone(problem, frac, seed):
    X, k, loss, _ = problem
    rng = np.random.RandomState(seed)
    observed = rng.rand(*X.shape) >= frac
    observed.flat[rng.randint(X.size)] = True  # at least one observed entry
    Xn = np.array(X)
    Xn[~observed] = np.nan
    W, model = fit(Xn, k, loss, seed)
    for F in (W, model.components_):
        assert np.all(np.isfinite(F)) and np.all(F >= 0)
    hist = model.loss_history_
    rtol = 1e-4 if X.dtype == np.float32 else 1e-9
    assert np.all(np.diff(hist) <= rtol * max(hist[0], 1e-300))
    # the same start through a dense NaN array and through a CSR with a sparse mask: one
    # problem, so one answer up to rounding
    W0 = rng.uniform(0.1, 1.0, (X.shape[0], k)).astype(X.dtype)
    H0 = rng.uniform(0.1, 1.0, (k, X.shape[1])).astype(X.dtype)
    kw = dict(beta_loss=loss, init="custom", solver="mu", max_iter=15, tol=0)
    a, b = NMF(k, **kw), NMF(k, **kw)
    Wa = a.fit_transform(Xn, W=W0, H=H0)
    Wb = b.fit_transform(sp.csr_matrix(np.asarray(X)), W=W0, H=H0,
                         mask=sp.csr_matrix(observed))
    tol = 5e-3 if X.dtype == np.float32 else 1e-7
    np.testing.assert_allclose(Wb, Wa, rtol=tol, atol=tol * max(float(Wa.max()), 1e-30))
    # the divergences D = err^2 / 2 agree to rounding relative to the data's magnitude
    # (err itself amplifies rounding near an exact fit: d err = d D / err)
    Xo = np.where(observed, np.asarray(X, dtype=np.float64), 0.0)
    magnitude = float(np.sum(Xo ** 2) if loss == "frobenius" else np.sum(Xo)
                      if loss == "kullback-leibler" else a.loss_history_[0]) + 1e-300
    d_a, d_b = a.reconstruction_err_ ** 2 / 2, b.reconstruction_err_ ** 2 / 2
    assert abs(d_a - d_b) <= tol * max(magnitude, d_a)
