"""Streaming: NMF.partial_fit on batches of rows ends close to the full fit."""

import functools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF
from nmfkit.solvers.stream import average_span, remix

from _data import low_rank


def sparse_factors(m, n, k, seed=0):
    """Low rank with sparse-ish factors (uniform^4) and small noise."""
    rng = np.random.default_rng(seed)
    return (rng.random((m, k)) ** 4) @ (rng.random((k, n)) ** 4) + 0.01 * rng.random((m, n))


def dense_factors(m, n, k, seed=0):
    """Low rank with dense uniform factors and small noise: its NMF is far from unique (the
    case where the earlier streaming update ended at several times the full fit's error)."""
    return low_rank(m, n, k, seed=seed, noise=0.05)


DATA = {"sparse factors": sparse_factors, "dense factors": dense_factors}


def objective(model, V, beta):
    W = model.transform(V)
    WH = W @ model.components_
    if beta == 2.0:
        return 0.5 * np.sum((V - WH) ** 2)
    return np.sum(V * np.log(V / WH) - V + WH)


def stream(model, X, passes, batch):
    for _ in range(passes):
        for start in range(0, X.shape[0], batch):
            model.partial_fit(X[start:start + batch])
    return model


@functools.lru_cache
def full_objective(data, shape, k, beta):
    """The objective of the full fit of DATA[data](*shape, k), fitted once per session (the
    KL fit of dense factors stops at max_iter: its multiplicative updates are slow there)."""
    V = DATA[data](*shape, k)
    loss = "frobenius" if beta == 2.0 else "kullback-leibler"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        model = NMF(k, beta_loss=loss, max_iter=1000, tol=1e-6, random_state=0).fit(V)
    return objective(model, V, beta)


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_streaming_frobenius_ends_within_5_percent_of_the_full_fit(kind, data):
    V = DATA[data](1200, 120, 6)
    X = sp.csr_matrix(V) if kind == "csr" else V
    streamed = stream(NMF(6, random_state=0), X, passes=3, batch=200)
    assert streamed.n_steps_ == 18
    ratio = objective(streamed, V, 2.0) / full_objective(data, (1200, 120), 6, 2.0)
    assert ratio < 1.05, ratio


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_streaming_kl_ends_within_10_percent_of_the_full_fit(kind, data):
    V = DATA[data](600, 80, 5)
    X = sp.csr_matrix(V) if kind == "csr" else V
    streamed = stream(NMF(5, beta_loss="kullback-leibler", random_state=0), X, passes=3,
                      batch=60)
    ratio = objective(streamed, V, 1.0) / full_objective(data, (600, 80), 5, 1.0)
    assert ratio < 1.10, ratio


def test_streaming_exactly_low_rank_data_is_fitted_exactly():
    """On data of exact rank k both fits head for 0 error, and their ratio only compares
    where two stopping rules stopped: the relative error is what is checked."""
    V = nmfkit.make_low_rank(1200, 120, 6, random_state=0)
    streamed = stream(NMF(6, random_state=0), V, passes=3, batch=200)
    residual = V - streamed.transform(V) @ streamed.components_
    assert np.linalg.norm(residual) < 1e-4 * np.linalg.norm(V)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_streaming_beats_scikit_learns_minibatch_nmf_on_the_same_batches(loss):
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    beta = 2.0 if loss == "frobenius" else 1.0
    V = dense_factors(600, 80, 5)
    ours = stream(NMF(5, beta_loss=loss, random_state=0), V, passes=2, batch=100)
    theirs = stream(sklearn_decomposition.MiniBatchNMF(5, beta_loss=loss, batch_size=100,
                                                       random_state=0), V, passes=2, batch=100)
    # measured: 20x (Frobenius) and 35x (KL) lower objectives
    assert 5 * objective(ours, V, beta) < objective(theirs, V, beta)


@pytest.mark.parametrize("loss, kind", [("frobenius", "dense"), ("frobenius", "csr"),
                                        ("kullback-leibler", "dense")])
def test_streaming_is_the_same_on_any_thread_count(loss, kind):
    V = dense_factors(600, 200, 5)  # enough work per kernel call for 2 threads
    X = sp.csr_matrix(V) if kind == "csr" else V
    results = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="openmp"):
            model = NMF(5, beta_loss=loss, random_state=0)
            results.append(stream(model, X, passes=2, batch=300).components_)
    np.testing.assert_array_equal(results[0], results[1])


def test_forget_factor_auto_is_1_and_0_forgets_the_earlier_batches():
    V = dense_factors(400, 60, 4)
    auto = stream(NMF(4, random_state=0), V, passes=1, batch=100)
    one = stream(NMF(4, forget_factor=1.0, random_state=0), V, passes=1, batch=100)
    np.testing.assert_array_equal(auto.components_, one.components_)
    # forget_factor=0: a batch's update depends on the components it arrives with only
    forgetful = stream(NMF(4, forget_factor=0.0, random_state=0), V[:300], passes=1, batch=100)
    H = forgetful.components_.copy()
    forgetful.partial_fit(V[300:])
    fresh = NMF(4, init="custom", forget_factor=0.0, random_state=0).partial_fit(V[300:], H=H)
    np.testing.assert_array_equal(forgetful.components_, fresh.components_)
    one.partial_fit(V[:100])
    remembering = NMF(4, init="custom", random_state=0).partial_fit(V[:100], H=H)
    assert not np.allclose(one.components_, remembering.components_)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_streaming_single_rows_ends_close_to_the_full_fit(loss):
    """Batches of one row are held until there are 3 rows per component (the earlier
    update, fitting each row at once, ended at 3x (Frobenius) and 200x (KL) here)."""
    beta = 2.0 if loss == "frobenius" else 1.0
    V = dense_factors(300, 40, 4)
    streamed = stream(NMF(4, beta_loss=loss, random_state=0), V, passes=3, batch=1)
    assert streamed.n_steps_ == 900
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        full = NMF(4, beta_loss=loss, max_iter=1000, tol=1e-6, random_state=0).fit(V)
    ratio = objective(streamed, V, beta) / objective(full, V, beta)
    assert ratio < (1.05 if beta == 2.0 else 1.10), ratio


def test_small_batches_are_held_until_3_rows_per_component():
    V = dense_factors(40, 12, 4)
    model = NMF(4, init="custom", random_state=0)
    H0 = np.full((4, 12), 0.5)
    model.partial_fit(V[:5], H=H0)                 # 5 rows held: the start is kept
    np.testing.assert_array_equal(model.components_, H0)
    model.partial_fit(V[5:11])                     # 11 rows held
    np.testing.assert_array_equal(model.components_, H0)
    model.partial_fit(V[11:12])                    # 12 = 3 x 4: fitted as one batch
    assert model.n_steps_ == 3
    one = NMF(4, init="custom", random_state=0).partial_fit(V[:12], H=H0)
    np.testing.assert_array_equal(model.components_, one.components_)
    # held rows keep what is missing, whether NaN or a sparse mask says so
    hide = np.random.default_rng(0).random(V.shape) < 0.3
    X = np.where(hide, np.nan, V)
    by_nan = NMF(4, init="custom", random_state=0)
    by_mask = NMF(4, init="custom", random_state=0)
    for start in range(0, 40, 2):
        rows = slice(start, start + 2)
        by_nan.partial_fit(X[rows], H=H0)
        by_mask.partial_fit(sp.csr_matrix(V[rows]), H=H0, mask=sp.csr_matrix(~hide[rows]))
    np.testing.assert_array_equal(by_nan.components_, by_mask.components_)
    assert not np.array_equal(by_nan.components_, one.components_)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_streaming_extreme_magnitudes_scale_exactly(loss):
    """Data scaled by 4^400 (and 4^-400) gives the components scaled by 2^400, bit for
    bit: the memory is kept in the first batch's units, not in the caller's, where
    sum X^T W ~ 2^1200 would overflow (and 2^-1200 underflow)."""
    V = sparse_factors(300, 30, 3)
    base = stream(NMF(3, beta_loss=loss, random_state=0), V, passes=2, batch=50).components_
    for power in (400, -400):
        scaled = stream(NMF(3, beta_loss=loss, random_state=0), V * 4.0 ** power, passes=2,
                        batch=50).components_
        np.testing.assert_array_equal(scaled, base * 2.0 ** power)


def test_partial_fit_continues_a_fitted_model_and_checks_features():
    V = sparse_factors(600, 50, 4)
    model = NMF(4, max_iter=300, random_state=0).fit(V)
    before = objective(model, V, 2.0)
    model.partial_fit(V[:300])
    model.partial_fit(V[300:])
    assert objective(model, V, 2.0) <= before * 1.05
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(V[:, :10])


def test_partial_fit_with_missing_values_and_custom_start():
    V = sparse_factors(600, 50, 4)
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
    V = sparse_factors(200, 30, 3)
    V0 = V.copy()
    for bad in (1.5, -0.1, "always"):
        with pytest.raises(ValueError, match="forget_factor"):
            NMF(3, forget_factor=bad).partial_fit(V)
    NMF(3).partial_fit(V)
    np.testing.assert_array_equal(V, V0)


def test_fit_resets_the_stream():
    V = sparse_factors(300, 30, 3)
    model = NMF(3, random_state=0)
    model.partial_fit(V)
    model.fit(V)
    model.partial_fit(V)
    assert model.n_steps_ == 1


def test_one_batch_is_fitted_and_its_h_minimizes_its_statistics():
    """One partial_fit of a batch of exact rank 3 factorizes it (its own fit: relative error
    below 1e-4). On a batch of random data the components are the nonnegative
    least-squares minimizer of the statistics it leaves, 1/2 tr(H B H^T) - tr(H A), column
    by column (scipy's nnls on the Cholesky factor of B)."""
    from scipy.optimize import nnls
    rng = np.random.default_rng(0)
    X = rng.random((40, 3)) @ rng.random((3, 12))
    H0 = rng.uniform(0.1, 1, (3, 12))
    model = NMF(3, init="custom", floor=0.0, random_state=0).partial_fit(X, H=H0)
    residual = X - model.transform(X) @ model.components_
    assert np.linalg.norm(residual) < 1e-4 * np.linalg.norm(X)
    X = rng.random((40, 12))
    model = NMF(3, init="custom", floor=0.0, random_state=0).partial_fit(X, H=H0)
    A, B = model._stream.A, model._stream.B
    L = np.linalg.cholesky(B)                       # B = L L^T
    reference = np.array([nnls(L.T, np.linalg.solve(L, a))[0] for a in A]).T
    np.testing.assert_allclose(model.components_, reference, rtol=1e-4, atol=1e-7)


def test_remix_is_the_least_squares_remix_of_the_earlier_loadings():
    """remix(A, B, Ht) = (A P, P^T B P) with P minimizing sum_j ||X_j - W_j P Ht^T||^2,
    checked against that least-squares problem written out (vec(W P Ht^T) is linear in P),
    and on exact data whose components moved by Q (Ht -> Ht Q^T) P undoes Q."""
    rng = np.random.default_rng(0)
    k, n = 3, 15
    Xs = [rng.random((m, n)) for m in (7, 9)]
    Ws = [rng.random((m, k)) for m in (7, 9)]
    A = sum(X.T @ W for X, W in zip(Xs, Ws))
    B = sum(W.T @ W for W in Ws)
    Ht = rng.random((n, k))
    design = np.vstack([np.kron(W, Ht) for W in Ws])   # vec_row(W P Ht^T) = (W kron Ht) vec(P)
    P = np.linalg.lstsq(design, np.concatenate([X.ravel() for X in Xs]), rcond=None)[0]
    P = P.reshape(k, k)
    A2, B2 = remix(A, B, Ht)
    np.testing.assert_allclose(A2, A @ P, rtol=1e-8)
    np.testing.assert_allclose(B2, P.T @ B @ P, rtol=1e-8)
    # exact data X_j = W_j H0^T; the components become H0 Q^T: the loadings become W_j Q^-1
    H0 = rng.random((n, k))
    Q = np.eye(k) + 0.3 * rng.random((k, k))
    A = sum((W @ H0.T).T @ W for W in Ws)
    A2, B2 = remix(A, B, H0 @ Q.T)
    Qinv = np.linalg.inv(Q)
    np.testing.assert_allclose(B2, Qinv.T @ B @ Qinv, rtol=1e-8)
    np.testing.assert_allclose(A2, A @ Qinv, rtol=1e-8)


def test_average_span_shrinks_only_what_leaves_the_span():
    rng = np.random.default_rng(0)
    H_prev = rng.random((20, 3))
    inside = H_prev @ rng.random((3, 3))                  # the same span, other components
    np.testing.assert_allclose(average_span(H_prev, inside, 0.1, 0.0), inside, atol=1e-12)
    new = rng.random((20, 3))
    np.testing.assert_array_equal(average_span(H_prev, new, 1.0, 0.0), new)
    half = average_span(H_prev, new, 0.5, -np.inf)
    projection = H_prev @ np.linalg.lstsq(H_prev, new, rcond=None)[0]
    np.testing.assert_allclose(half, 0.5 * (new + projection), atol=1e-12)
    assert np.all(average_span(H_prev, new, 0.5, 0.25) >= 0.25)


def test_partial_fit_refuses_an_nndsvd_start_of_too_high_a_rank():
    """As scikit-learn's MiniBatchNMF: an explicit init='nndsvd' with k > min(batch shape)
    is an error, not a silent switch to a random start."""
    X = np.random.default_rng(0).random((40, 30))
    with pytest.raises(ValueError, match="nndsvd"):
        NMF(50, init="nndsvd").partial_fit(X)
