"""The faster Frobenius solvers ('amu', 'hals', 'ehals') against plain MU, and what the
extrapolated HALS of 'ehals' promises: its history is the objective of the pair it returns,
never increasing, and it stays accurate in float32."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF

from _data import low_rank, sparse_data


def frobenius(X, W, H):
    X = X.toarray() if sp.issparse(X) else X
    return 0.5 * float(((X.astype(np.float64) - W.astype(np.float64) @ H) ** 2).sum())


DATA = {
    "dense": lambda: low_rank(150, 100, 6),
    "dense-wide": lambda: low_rank(60, 200, 6),  # more columns than rows: H is the big side
    "csr": lambda: sparse_data(300, 200, 0.05),
    "fortran": lambda: np.asfortranarray(low_rank(150, 100, 6)),
}


@pytest.mark.parametrize("data", sorted(DATA))
def test_faster_solvers_reach_the_objective_of_plain_mu(data):
    X = DATA[data]()
    kw = dict(n_components=6, init="nndsvda", random_state=0, tol=0)
    mu = NMF(solver="mu", max_iter=1000, **kw).fit(X)
    target = mu.loss_history_[-1]
    for solver in ("amu", "hals", "ehals"):
        model = NMF(solver=solver, max_iter=1000, **kw)
        W = model.fit_transform(X)
        assert (W >= 0).all() and (model.components_ >= 0).all()
        # as many iterations as MU (each does more work on the same products): lower
        assert model.loss_history_[-1] <= target * (1 + 1e-9), solver
        assert model.reconstruction_err_ ** 2 / 2 <= target * (1 + 1e-9), solver


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("penalty", [{}, dict(alpha_W=0.01, l1_ratio=0.5)])
def test_ehals_history_is_the_returned_pair_and_never_increases(data, penalty):
    X = DATA[data]()
    model = NMF(6, solver="ehals", init="random", random_state=1, tol=0, max_iter=80,
                check_every=1, **penalty)
    W = model.fit_transform(X)
    hist = model.loss_history_
    assert len(hist) == 81 and np.all(np.isfinite(hist))
    assert np.all(np.diff(hist) <= 0.0)
    assert hist[-1] < 0.95 * hist[0]
    if not penalty:  # the last entry is the objective of the factors returned
        assert hist[-1] == pytest.approx(frobenius(X, W, model.components_), rel=1e-9)
        assert model.reconstruction_err_ ** 2 / 2 == pytest.approx(hist[-1], rel=1e-9)


def test_ehals_needs_fewer_iterations_than_hals_on_a_slow_problem():
    # random sparse data has no low-rank structure: HALS crawls, extrapolation helps
    X = sparse_data(400, 300, 0.05, seed=3)
    kw = dict(n_components=10, init="nndsvda", random_state=0, tol=0, check_every=1)
    hals = NMF(solver="hals", max_iter=200, **kw).fit(X)
    ehals = NMF(solver="ehals", max_iter=200, **kw).fit(X)
    first = np.argmax(ehals.loss_history_ <= hals.loss_history_[-1])
    assert ehals.loss_history_[first] <= hals.loss_history_[-1]
    assert 0 < first < 120, first


def test_ehals_float32_keeps_improving_at_its_rounding_level():
    # A close fit: the float32 objective, formed from products, is as uncertain as the
    # progress of one iteration. The run must not stall on a pair whose objective was
    # rounded low (it falls back to plain HALS): it ends where float64 does.
    rng = np.random.RandomState(0)
    X = rng.rand(100, 5) @ rng.rand(5, 80) + 0.05 * rng.rand(100, 80)
    kw = dict(n_components=5, init="nndsvda", random_state=0, solver="ehals", tol=0,
              max_iter=300)
    e64 = NMF(**kw).fit(X).reconstruction_err_
    e32 = NMF(**kw).fit(X.astype(np.float32)).reconstruction_err_
    assert e32 == pytest.approx(e64, rel=1e-3)


def test_auto_is_ehals_for_frobenius_and_mu_otherwise():
    X = low_rank(80, 60, 4)
    kw = dict(n_components=4, init="nndsvda", random_state=0, tol=0, max_iter=30)
    auto = NMF(**kw).fit(X)
    ehals = NMF(solver="ehals", **kw).fit(X)
    np.testing.assert_array_equal(auto.components_, ehals.components_)
    auto_kl = NMF(beta_loss="kullback-leibler", **kw).fit(X)
    mu_kl = NMF(beta_loss="kullback-leibler", solver="mu", **kw).fit(X)
    np.testing.assert_array_equal(auto_kl.components_, mu_kl.components_)


@pytest.mark.parametrize("params,match", [
    (dict(solver="ehals", beta_loss="kullback-leibler"), "Frobenius"),
    (dict(solver="ehals", beta_loss=1.5), "Frobenius"),
])
def test_ehals_refuses_other_losses(params, match):
    with pytest.raises(ValueError, match=match):
        NMF(3, **params).fit(low_rank(30, 20, 3))


def test_ehals_refuses_missing_values():
    X = low_rank(30, 20, 3)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="solver='mu'"):
        NMF(3, solver="ehals").fit(X)


def test_ehals_transform_and_partial_fit_use_the_exact_w_solve():
    X = low_rank(90, 60, 4)
    model = NMF(4, solver="ehals", init="nndsvda", random_state=0, tol=1e-6,
                max_iter=500).fit(X)
    W = model.transform(X)
    assert (W >= 0).all()
    assert frobenius(X, W, model.components_) <= model.reconstruction_err_ ** 2 / 2 * (1 + 1e-6)
    stream = NMF(4, solver="ehals", init="nndsvda", random_state=0)
    for rows in np.array_split(np.arange(90), 3):
        stream.partial_fit(X[rows])
    assert (stream.components_ >= 0).all()
