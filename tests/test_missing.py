"""Missing values: NaN in a dense X or an explicit mask (dense boolean, or a sparse pattern
of observed entries); the updates and the objective sum over the observed entries only."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF

LOSSES = ["frobenius", "kullback-leibler", 1.5]


def low_rank(m=80, n=60, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1, (m, k)) @ rng.uniform(0.1, 1, (k, n))


def hidden(shape, frac=0.3, seed=1):
    return np.random.default_rng(seed).random(shape) < frac


def observed_objective(V, W, H, mask, beta):
    v, wh = V[mask], (W @ H)[mask]
    if beta == 2.0:
        return 0.5 * np.sum((v - wh) ** 2)
    if beta == 1.0:
        return np.sum(v * np.log(v / wh) - v + wh)
    return np.sum((v ** beta + (beta - 1) * wh ** beta - beta * v * wh ** (beta - 1))
                  / (beta * (beta - 1)))


def custom_start(shape, k, seed=2):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 1, (shape[0], k)), rng.uniform(0.1, 1, (k, shape[1]))


@pytest.mark.parametrize("loss", LOSSES)
def test_hidden_entries_predicted_far_better_than_column_means(loss):
    """The issue's demonstration: a low-rank matrix with 30% of its entries hidden."""
    V = low_rank(200, 150, 5)
    hide = hidden(V.shape)
    X = V.copy()
    X[hide] = np.nan
    model = NMF(5, beta_loss=loss, max_iter=500, tol=1e-7, random_state=0)
    W = model.fit_transform(X)
    pred = (W @ model.components_)[hide]
    col_means = np.broadcast_to(np.nanmean(X, axis=0), V.shape)[hide]
    rmse_nmf = np.sqrt(np.mean((pred - V[hide]) ** 2))
    rmse_means = np.sqrt(np.mean((col_means - V[hide]) ** 2))
    assert rmse_nmf < rmse_means / 10, (rmse_nmf, rmse_means)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_mask_and_sparse_mask_agree(loss, dtype):
    """NaN, a dense boolean mask and a sparse pattern (with V dense or CSR) are one
    problem: the same start gives the same factors."""
    V = low_rank().astype(dtype)
    V[V < np.quantile(V, 0.1)] = 0  # observed zeros must stay observed in the CSR form
    hide = hidden(V.shape)
    W0, H0 = custom_start(V.shape, 4)
    kw = dict(n_components=4, beta_loss=loss, init="custom", max_iter=40, tol=0, solver="mu")
    if loss != "frobenius":
        V[V == 0] = 0.01  # 1.5 and KL are fine with zeros; keep one problem for all
    X = V.copy()
    X[hide] = np.nan
    results = []
    for data, mask in [(X, None), (V, ~hide), (V, sp.csr_matrix(~hide)),
                       (sp.csr_matrix(V), ~hide), (sp.csr_matrix(V), sp.coo_matrix(~hide))]:
        model = NMF(**kw)
        W = model.fit_transform(data, W=W0.copy(), H=H0.copy(), mask=mask)
        assert W.dtype == dtype
        results.append((W, model.components_, model.reconstruction_err_))
    tol = 2e-3 if dtype == np.float32 else 1e-9
    for W, H, err in results[1:]:
        np.testing.assert_allclose(W, results[0][0], rtol=tol, atol=tol * W.max())
        np.testing.assert_allclose(H, results[0][1], rtol=tol, atol=tol * H.max())
        assert err == pytest.approx(results[0][2], rel=tol)


@pytest.mark.parametrize("loss", LOSSES)
def test_objective_is_over_observed_entries_and_monotone(loss):
    V = low_rank()
    hide = hidden(V.shape)
    X = V.copy()
    X[hide] = 1e6  # garbage where unobserved: must not matter
    W0, H0 = custom_start(V.shape, 4)
    model = NMF(4, beta_loss=loss, init="custom", max_iter=60, tol=0, check_every=1,
                solver="mu")
    W = model.fit_transform(X, W=W0, H=H0, mask=~hide)
    beta = {"frobenius": 2.0, "kullback-leibler": 1.0}.get(loss, loss)
    want = observed_objective(V, W, model.components_, ~hide, beta)
    assert model.loss_history_[-1] == pytest.approx(want, rel=1e-9)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * want), rel=1e-9)
    h = model.loss_history_
    assert np.all(np.diff(h) <= 1e-12 * h[0])


def test_unobserved_entries_do_not_influence_the_fit():
    V = low_rank()
    hide = hidden(V.shape)
    W0, H0 = custom_start(V.shape, 4)
    out = []
    for fill in (0.0, 5.0, np.nan):
        X = V.copy()
        X[hide] = fill
        model = NMF(4, init="custom", max_iter=30, tol=0)
        out.append(model.fit_transform(X, W=W0, H=H0, mask=~hide))
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


def test_transform_accepts_missing_values():
    V = low_rank(120, 60, 4)
    model = NMF(4, max_iter=500, tol=1e-7, random_state=0).fit(V)
    hide = hidden(V.shape, 0.2)
    X = V.copy()
    X[hide] = np.nan
    W_nan = model.transform(X)
    W_mask = model.transform(V, mask=~hide)
    np.testing.assert_allclose(W_nan, W_mask, rtol=1e-10)
    pred = (W_nan @ model.components_)[hide]
    assert np.sqrt(np.mean((pred - V[hide]) ** 2)) < 0.05 * V.std()


def test_inputs_are_not_modified():
    V = low_rank()
    hide = hidden(V.shape)
    X = V.copy()
    X[hide] = np.nan
    mask = ~hide
    Xs, Ms = sp.csr_matrix(V), sp.csr_matrix(mask)
    copies = [X.copy(), mask.copy(), Xs.copy(), Ms.copy()]
    NMF(4, max_iter=5).fit(X)
    NMF(4, max_iter=5).fit(V, mask=mask)
    NMF(4, max_iter=5).fit(Xs, mask=Ms)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(mask, copies[1])
    assert (Xs != copies[2]).nnz == 0 and (Ms != copies[3]).nnz == 0


@pytest.mark.parametrize("mask,exc,words", [
    (np.ones((3, 3), dtype=bool), ValueError, "shape"),
    (sp.csr_matrix(np.ones((3, 3))), ValueError, "shape"),
    (np.full((80, 60), 2), TypeError, "boolean"),
    (np.array([["a"] * 60] * 80), TypeError, "boolean"),
    (np.zeros((80, 60), dtype=bool), ValueError, "no observed"),
    (sp.csr_matrix((80, 60)), ValueError, "no observed"),
])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_bad_masks_are_refused(mask, exc, words, kind):
    V = low_rank()
    X = sp.csr_matrix(V) if kind == "csr" else V
    with pytest.raises(exc, match=words):
        NMF(3, max_iter=5).fit(X, mask=mask)


def test_hals_with_missing_values_is_refused_with_the_fix():
    V = low_rank()
    V[0, 0] = np.nan
    with pytest.raises(ValueError, match="solver='mu'"):
        NMF(3, solver="hals").fit(V)
    model = NMF(3, max_iter=20, random_state=0).fit(V)  # 'auto' picks mu
    mu = NMF(3, max_iter=20, random_state=0, solver="mu").fit(V)
    assert np.all(np.isfinite(model.components_))
    np.testing.assert_array_equal(model.components_, mu.components_)


def test_nan_in_sparse_data_needs_a_mask():
    X = sp.csr_matrix(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="NaN"):
        NMF(1).fit(X)
