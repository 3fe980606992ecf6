"""rank_cv: held-out error per rank through the missing-value mask."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import RankCV, rank_cv
from nmfkit.rank import crossval as _crossval
from nmfkit.rank.crossval import _entry_loss, _holdout_mask
from nmfkit.solvers import many


def poisson_rank4(seed=0):
    rng = np.random.default_rng(seed)
    W, H = rng.random((100, 4)) ** 3, rng.random((4, 80)) ** 3
    return rng.poisson(30 * W @ H).astype(float)


def test_held_out_error_is_smallest_at_the_planted_rank():
    V = poisson_rank4()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = rank_cv(V, range(1, 9), beta_loss="kullback-leibler", max_iter=500, holdout=0.2,
                     n_repeats=2, random_state=0)
    assert isinstance(cv, RankCV) and list(cv.ks) == list(range(1, 9))
    assert cv.test_errors.shape == cv.train_errors.shape == (2, 8)
    np.testing.assert_allclose(cv.test_error, cv.test_errors.mean(axis=0))
    assert cv.best_k == 4
    assert (cv.test_error[:3] > 1.3 * cv.test_error[3]).all()  # too few components: far worse
    assert cv.test_error[-1] > cv.test_error[3]                # too many: worse again
    assert cv.train_error[-1] < cv.train_error[3]              # while the fit keeps improving
    assert (cv.train_error < cv.test_error).all()
    lines = cv.table().splitlines()
    assert len(lines) == 9 and lines[0].split()[0] == "k" and str(cv) == cv.table()


def test_every_k_is_fitted_with_the_same_mask(monkeypatch):
    V = poisson_rank4()[:40, :30]
    seen = []
    real = _crossval.fit_matrix

    def spy(spec, M, k, *args, **kwargs):  # the observed entries: those not NaN in M
        seen.append((k, ~np.isnan(M.external())))
        return real(spec, M, k, *args, **kwargs)

    monkeypatch.setattr(_crossval, "fit_matrix", spy)
    monkeypatch.setattr(many, "SIDE_BY_SIDE", False)  # the fits in order, for the spy
    rank_cv(V, [2, 3], holdout=0.25, n_repeats=2, max_iter=20, random_state=0)
    assert [k for k, _ in seen] == [2, 3, 2, 3]
    masks = [m for _, m in seen]
    assert all(m.dtype == bool and m.shape == V.shape for m in masks)
    np.testing.assert_array_equal(masks[0], masks[1])   # same hidden set for every k
    assert (masks[0] != masks[2]).any()                 # a new one per repeat
    for m in masks:
        assert abs((~m).mean() - 0.25) < 0.06


def test_hidden_entries_do_not_change_the_fit():
    V = poisson_rank4(1)[:50, :40]
    a = rank_cv(V, [2, 3], max_iter=50, tol=0, random_state=3)
    # the same seeds hide the same entries; change every hidden value
    rng = np.random.RandomState(3)
    observed = _holdout_mask(np.ones(V.shape, bool), 0.1, rng)
    W = V.copy()
    W[~observed] += 7.0
    b = rank_cv(W, [2, 3], max_iter=50, tol=0, random_state=3, n_repeats=1)
    np.testing.assert_allclose(b.train_errors[0], a.train_errors[0], rtol=1e-12)
    assert (b.test_errors[0] > a.test_errors[0]).all()


def test_holdout_mask_keeps_every_row_and_column():
    rng = np.random.RandomState(0)
    for shape in ((200, 2), (2, 200), (30, 30)):
        obs = _holdout_mask(np.ones(shape, bool), 0.5, rng)
        assert obs.any(axis=0).all() and obs.any(axis=1).all()
        # (with two columns a quarter of the rows would be all hidden: one entry comes back)
        expected = 0.5 - 0.125 if 2 in shape else 0.5
        assert abs((~obs).mean() - expected) < 0.08


def test_holdout_mask_respects_missing_entries():
    rng = np.random.RandomState(1)
    given = rng.random_sample((40, 30)) > 0.3
    given[5] = False            # a row with no value at all stays without one
    given[7, :] = False
    given[7, 3] = True          # a row with one value keeps it observed
    for _ in range(20):
        obs = _holdout_mask(given, 0.5, rng)
        assert not (obs & ~given).any()                       # never a missing entry
        assert (given & ~obs).any()                           # something to score
        np.testing.assert_array_equal(obs.any(axis=1), given.any(axis=1))
        np.testing.assert_array_equal(obs.any(axis=0), given.any(axis=0))
        assert obs[7, 3]


def test_nan_entries_are_neither_fitted_nor_scored(monkeypatch):
    """Every fit sees the NaN entries as missing (neither in its data nor in its mask), and
    the held-out and training errors are the NumPy means of the loss over exactly the hidden
    and the observed non-NaN entries of the fit that rank_cv made."""
    V = poisson_rank4()[:40, :30]
    missing = np.zeros(V.shape, bool)
    missing[::7, ::5] = True
    missing[3, :] = True  # a whole row missing: nothing of it is fitted or scored
    X = V.copy()
    X[missing] = np.nan
    fits = []
    real = _crossval.fit_matrix

    def spy(spec, M, k, *args, **kwargs):  # what the fit sees: M, NaN where not fitted
        result = real(spec, M, k, *args, **kwargs)
        fits.append((np.array(M.external(), dtype=float), result.W @ result.H))
        return result

    monkeypatch.setattr(_crossval, "fit_matrix", spy)
    monkeypatch.setattr(many, "SIDE_BY_SIDE", False)  # the fits in order, for the spy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = rank_cv(X, [2, 3], n_repeats=2, holdout=0.2, max_iter=50, random_state=0)
    assert len(fits) == 4
    for (data, WH), test, train in zip(fits, cv.test_errors.ravel(), cv.train_errors.ravel()):
        fitted = ~np.isnan(data)              # what the fit treats as observed
        assert not (fitted & missing).any()
        np.testing.assert_array_equal(data[fitted], V[fitted])
        hidden = ~fitted & ~missing
        assert hidden.sum() > 0.1 * V.size
        assert test == pytest.approx(np.mean((V - WH)[hidden] ** 2), rel=1e-10)
        assert train == pytest.approx(np.mean((V - WH)[fitted] ** 2), rel=1e-10)


def test_sparse_input_matches_dense():
    V = poisson_rank4()[:40, :30]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = rank_cv(V, [2, 3], max_iter=30, random_state=0)
        b = rank_cv(sp.csr_matrix(V), [2, 3], max_iter=30, random_state=0)
    np.testing.assert_allclose(a.test_errors, b.test_errors)


def test_entry_loss_is_a_divergence():
    v = np.array([0.0, 0.5, 1.0, 3.0])
    for beta in (2.0, 1.0, 1.5, 0.5):
        d = _entry_loss(v[1:], v[1:], beta)
        np.testing.assert_allclose(d, 0.0, atol=1e-12)
        assert (_entry_loss(v, v + 0.3, beta) > 0).all()
    np.testing.assert_allclose(_entry_loss(v, v + 0.3, 1.0 + 1e-7), _entry_loss(v, v + 0.3, 1.0),
                               rtol=1e-5)
    np.testing.assert_allclose(_entry_loss(v, v + 0.3, 2.0), 0.09)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(holdout=0.0), ValueError, "holdout"),
    (dict(holdout=0.7), ValueError, "holdout"),
    (dict(holdout="a"), TypeError, "holdout"),
    (dict(n_repeats=0), ValueError, "n_repeats"),
    (dict(ks=[0]), ValueError, "ks"),
    (dict(ks=[]), ValueError, "ks is empty"),
    (dict(callback=1), TypeError, "callback"),
    (dict(init="custom"), ValueError, "init='custom' needs a W and an H for every rank"),
    (dict(ks=[2, 6, 7], init="nndsvd"), ValueError,
     r"init = 'nndsvd' can only .* every rank in ks .* <= .* = 5 .*; ks has \[6, 7\]"),
    (dict(random_state="seed"), TypeError, "random_state"),
])
def test_bad_parameters(kwargs, exc, words):
    args = dict(ks=[2])
    args.update(kwargs)
    with pytest.raises(exc, match=words):
        rank_cv(np.ones((5, 5)), **args)


@pytest.mark.parametrize("V, exc, words", [
    (np.ones((1, 6)), ValueError, r"V of shape \(1, 6\) .* too small to cross-validate"),
    (np.ones((6, 1)), ValueError, "too small to cross-validate"),
    (np.where(np.eye(6, 5) > 0, 1.0, np.nan), ValueError, "too small to cross-validate"),
    (np.zeros((0, 5)), ValueError, "0 sample"),
    (np.ones(5), ValueError, "2-D"),
    (-np.ones((5, 5)), ValueError, "Negative values in data passed to V"),
    (np.full((5, 5), np.nan), ValueError, "V has no observed entry"),
    (np.ones((5, 5), dtype=complex), ValueError, "Complex"),
    (np.full((5, 5), "a"), TypeError, "V has dtype"),
])
def test_bad_data(V, exc, words):
    with pytest.raises(exc, match=words):
        rank_cv(V, [1], max_iter=5)


def test_small_matrices_always_have_something_to_score():
    """Even where a 10% holdout usually hides nothing (a 3 x 3 matrix), one entry is
    hidden, so the held-out error is never the NaN of an empty mean."""
    V = poisson_rank4()[:3, :3] + 1.0
    for seed in range(8):  # nothing at all hidden in 39% of the repeats without the fix
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # "Mean of empty slice"
            warnings.simplefilter("ignore", UserWarning)
            cv = rank_cv(V, [1], holdout=0.1, n_repeats=2, max_iter=5, random_state=seed)
        assert np.isfinite(cv.test_errors).all()


def test_a_numpy_generator_seeds_the_same_way_each_time():
    V = poisson_rank4()[:30, :20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = rank_cv(V, [2], max_iter=10, random_state=np.random.default_rng(5))
        b = rank_cv(V, [2], max_iter=10, random_state=np.random.default_rng(5))
    np.testing.assert_array_equal(a.test_errors, b.test_errors)


def test_large_sparse_input_is_refused(monkeypatch):
    monkeypatch.setattr(_crossval, "_MAX_DENSE_ENTRIES", 10)
    with pytest.raises(ValueError, match="subsample"):
        rank_cv(sp.random(5, 5, density=0.5, format="csr"), [2])


def test_callback_reports_each_fit():
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = rank_cv(poisson_rank4()[:30, :20], [2, 3], n_repeats=2, max_iter=10,
                     random_state=0, callback=lambda k, r, e: seen.append((k, r, e)))
    assert [(k, r) for k, r, _ in seen] == [(2, 0), (3, 0), (2, 1), (3, 1)]
    np.testing.assert_allclose([e for _, _, e in seen], cv.test_errors.ravel())


def test_overflowing_errors_are_an_error_not_the_first_rank():
    from nmfkit import make_low_rank
    V = make_low_rank(20, 10, 3, random_state=0) * 1e200
    with pytest.raises(ValueError, match="overflow"):
        rank_cv(V, [1, 2, 3], max_iter=50, random_state=0)
