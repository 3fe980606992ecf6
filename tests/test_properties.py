"""Property-based checks (hypothesis) over shapes, densities, dtypes, layouts and k."""

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nmfkit import NMF  # noqa: E402


@st.composite
def problems(draw):
    m = draw(st.integers(1, 14))
    n = draw(st.integers(1, 14))
    k = draw(st.integers(1, min(m, n) + 2))
    density = draw(st.sampled_from([0.0, 0.1, 0.4, 1.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.sampled_from(["C", "F", "strided"]))
    loss = draw(st.sampled_from(["frobenius", "kullback-leibler"]))
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
    rtol = 1e-4 if X.dtype == np.float32 else 1e-9
    scale = max(hist[0], float(np.sum(np.asarray(X, dtype=np.float64) ** 2)), 1e-300)
    assert np.all(np.diff(hist) <= rtol * scale)
    Ws, model_s = fit(sp.csr_matrix(X), k, loss, seed)
    # dense == CSR: the divergences D = err^2 / 2 agree to rounding relative to the data's
    # own magnitude (sum of X for KL, of X^2 for Frobenius)
    Xd = np.asarray(X, dtype=np.float64)
    magnitude = float(np.sum(Xd ** 2) if loss == "frobenius" else np.sum(Xd)) + 1e-300
    d_dense = model.reconstruction_err_ ** 2 / 2
    d_csr = model_s.reconstruction_err_ ** 2 / 2
    rtol = 2e-3 if X.dtype == np.float32 else 1e-7
    assert abs(d_dense - d_csr) <= rtol * max(magnitude, d_dense)
