"""Streaming: NMF.partial_fit on batches of rows ends close to the full fit."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF


def data(m=2400, n=200, k=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((m, k)) ** 4) @ (rng.random((k, n)) ** 4) + 0.01 * rng.random((m, n))


def objective(model, V, beta):
    W = model.transform(V)
    WH = W @ model.components_
    if beta == 2.0:
        return 0.5 * np.sum((V - WH) ** 2)
    return np.sum(V * np.log(V / WH) - V + WH)


def stream(model, V, passes, batch):
    for _ in range(passes):
        for start in range(0, V.shape[0], batch):
            model.partial_fit(V[start:start + batch])
    return model


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_streaming_frobenius_ends_within_5_percent_of_the_full_fit(kind):
    V = data()
    X = sp.csr_matrix(V) if kind == "csr" else V
    full = NMF(8, max_iter=1000, tol=1e-6, random_state=0).fit(V)
    streamed = stream(NMF(8, random_state=0), X, passes=5, batch=240)
    assert streamed.n_steps_ == 50
    ratio = objective(streamed, V, 2.0) / objective(full, V, 2.0)
    assert ratio < 1.05, ratio


def test_streaming_kl_ends_within_5_percent_of_the_full_fit():
    """KL has no finite sufficient statistics: each batch iterates the multiplicative
    updates of H on itself (forget_factor 'auto' = 0 for KL); 5 passes of 10 batches."""
    V = data(600, 80, 5)
    full = NMF(5, beta_loss="kullback-leibler", max_iter=1000, tol=1e-6,
               random_state=0).fit(V)
    streamed = stream(NMF(5, beta_loss="kullback-leibler", random_state=0), V, passes=5,
                      batch=60)
    first = stream(NMF(5, beta_loss="kullback-leibler", random_state=0), V, passes=1,
                   batch=60)
    ratio = objective(streamed, V, 1.0) / objective(full, V, 1.0)
    assert ratio < objective(first, V, 1.0) / objective(full, V, 1.0)
    assert ratio < 1.05, ratio


def test_partial_fit_continues_a_fitted_model_and_checks_features():
    V = data(600, 50, 4)
    model = NMF(4, max_iter=300, random_state=0).fit(V)
    before = objective(model, V, 2.0)
    model.partial_fit(V[:300])
    model.partial_fit(V[300:])
    assert objective(model, V, 2.0) <= before * 1.05
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(V[:, :10])


def test_partial_fit_with_missing_values_and_custom_start():
    V = data(600, 50, 4)
    rng = np.random.default_rng(1)
    X = V.copy()
    X[rng.random(V.shape) < 0.2] = np.nan
    H0 = rng.uniform(0.1, 1, (4, 50))
    model = NMF(4, init="custom", random_state=0)
    for _ in range(3):
        for start in range(0, 600, 100):
            model.partial_fit(X[start:start + 100], H=H0)
    assert np.all(np.isfinite(model.components_)) and np.all(model.components_ >= 0)
    W = model.transform(X)
    hide = np.isnan(X)
    rmse = np.sqrt(np.mean(((W @ model.components_)[hide] - V[hide]) ** 2))
    assert rmse < 0.5 * np.std(V[hide])


def test_partial_fit_bad_forget_factor_and_inputs_untouched():
    V = data(200, 30, 3)
    V0 = V.copy()
    for bad in (1.5, -0.1, "always"):
        with pytest.raises(ValueError, match="forget_factor"):
            NMF(3, forget_factor=bad).partial_fit(V)
    NMF(3).partial_fit(V)
    np.testing.assert_array_equal(V, V0)


def test_fit_resets_the_stream():
    V = data(300, 30, 3)
    model = NMF(3, random_state=0)
    model.partial_fit(V)
    model.fit(V)
    model.partial_fit(V)
    assert model.n_steps_ == 1


def test_one_frobenius_batch_matches_an_nnls_reference():
    """One partial_fit on a model with known components: W_b is the nonnegative least
    squares fit of each row (scipy.optimize.nnls), and the new H minimizes
    ||X_b - W_b H||^2 over H >= 0 (the statistics of one batch), column by column."""
    from scipy.optimize import nnls
    rng = np.random.default_rng(0)
    X = rng.random((40, 12))
    H0 = rng.uniform(0.1, 1, (3, 12))
    model = NMF(3, init="custom", floor=0.0, random_state=0)
    model.partial_fit(X, H=H0)
    # reference, three alternations as the implementation does (see _stream.py)
    H = H0.copy()
    for _ in range(3):
        W = np.array([nnls(H.T, x)[0] for x in X])
        H = np.array([nnls(W, X[:, j])[0] for j in range(X.shape[1])]).T
    np.testing.assert_allclose(model.components_, H, rtol=1e-4, atol=1e-6)
