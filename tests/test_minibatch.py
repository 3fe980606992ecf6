"""nmfkit.MiniBatchNMF side by side with sklearn.decomposition.MiniBatchNMF: parameters,
fitted attributes, batches and early stopping, partial_fit, feature names, dtypes, missing
values, the error reached, and scikit-learn's estimator checks."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF, MiniBatchNMF

from _data import low_rank

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import MiniBatchNMF as SkMiniBatchNMF  # noqa: E402
from sklearn.decomposition._nmf import _beta_divergence  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from _checks import estimator_checks, run_check  # noqa: E402


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        return call()


def _public(model):
    return {a for a in vars(model) if a.endswith("_") and not a.startswith("_")}


# -- scikit-learn's estimator checks ----------------------------------------------------------
@estimator_checks([MiniBatchNMF(batch_size=8, max_iter=3),
                   MiniBatchNMF(batch_size=8, max_iter=3, fresh_restarts=True,
                                beta_loss="kullback-leibler")])
def test_sklearn_estimator_checks(estimator, check):
    run_check(estimator, check)


# -- the API, side by side -------------------------------------------------------------------
def test_every_sklearn_parameter_with_its_default():
    ours = inspect.signature(MiniBatchNMF).parameters
    theirs = inspect.signature(SkMiniBatchNMF).parameters
    assert list(ours) == list(theirs)
    for name, param in theirs.items():
        assert ours[name].kind == param.kind and ours[name].default == param.default, name
    model = clone(MiniBatchNMF().set_params(**SkMiniBatchNMF(3, batch_size=7).get_params()))
    assert model.get_params() == SkMiniBatchNMF(3, batch_size=7).get_params()


@pytest.mark.parametrize("name, value", [
    ("batch_size", 0), ("batch_size", 2.5), ("max_no_improvement", 0), ("forget_factor", 1.5),
    ("forget_factor", "fast"), ("fresh_restarts", "yes"), ("fresh_restarts_max_iter", 0),
    ("transform_max_iter", 0), ("max_iter", 0), ("tol", -1.0), ("beta_loss", "euclid"),
    ("n_components", 0), ("init", "svd"), ("alpha_H", "different"), ("l1_ratio", 2.0)])
def test_bad_parameter_raises_sklearns_error(name, value):
    X = low_rank(20, 6, 2)
    with pytest.raises(InvalidParameterError):
        SkMiniBatchNMF(2).set_params(**{name: value}).fit(X)
    for call in ("fit", "partial_fit"):
        with pytest.raises(InvalidParameterError, match=name):
            getattr(MiniBatchNMF(2).set_params(**{name: value}), call)(X)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_fitted_attributes_are_sklearns(loss):
    X = pd.DataFrame(low_rank(60, 8, 3), columns=[f"f{j}" for j in range(8)])
    kw = dict(beta_loss=loss, batch_size=16, random_state=0, max_iter=5)
    ours, theirs = MiniBatchNMF(3, **kw), SkMiniBatchNMF(3, **kw)
    W = _quiet(lambda: ours.fit_transform(X))
    _quiet(lambda: theirs.fit(X))
    assert _public(ours) == _public(theirs)
    for name in _public(theirs):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert np.shape(a) == np.shape(b), name
        assert np.asarray(a).dtype.kind == np.asarray(b).dtype.kind, name
    assert np.array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    assert ours.n_components_ == 3 and ours.n_features_in_ == 8
    # reconstruction_err_ is scikit-learn's, for the returned W and the components
    assert ours.reconstruction_err_ == pytest.approx(
        _beta_divergence(X.to_numpy(), W, ours.components_, loss, square_root=True), rel=1e-9)
    # and W is the W of those components, as transform solves it
    assert np.allclose(W, ours.transform(X), rtol=1e-9, atol=1e-12)


def test_methods_and_not_fitted_errors_as_sklearn():
    X = low_rank(40, 6, 2)
    for cls in (MiniBatchNMF, SkMiniBatchNMF):
        model = cls(2, batch_size=10, random_state=0)
        for call in (lambda: model.transform(X), model.get_feature_names_out,
                     lambda: model.inverse_transform(np.ones((2, 2)))):
            with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not"):
                call()
    ours = _quiet(lambda: MiniBatchNMF(2, batch_size=10, max_iter=5, random_state=0).fit(X))
    theirs = _quiet(lambda: SkMiniBatchNMF(2, batch_size=10, max_iter=5, random_state=0).fit(X))
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out()) == \
        ["minibatchnmf0", "minibatchnmf1"]
    W = ours.transform(X)
    assert np.allclose(ours.inverse_transform(W), W @ ours.components_)
    with pytest.raises(ValueError, match="n_components"):
        ours.inverse_transform(np.ones((2, 3)))
    frame = pd.DataFrame(X, index=[f"s{i}" for i in range(40)])
    out = ours.set_output(transform="pandas").transform(frame)
    ref = theirs.set_output(transform="pandas").transform(frame)
    assert out.columns.equals(ref.columns) and out.index.equals(ref.index)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_dtype_is_kept_and_input_not_modified(dtype, sparse):
    X = low_rank(50, 10, 3).astype(dtype)
    X = sp.csr_matrix(X * (X > 0.6)) if sparse else X
    kept = X.copy()
    model = MiniBatchNMF(3, batch_size=16, max_iter=4, random_state=0)
    W = _quiet(lambda: model.fit_transform(X))
    model.partial_fit(X)
    assert W.dtype == dtype and model.components_.dtype == dtype
    assert model.transform(X).dtype == dtype
    assert (abs(X - kept)).sum() == 0 and type(X) is type(kept)


# -- batches, passes, early stopping ----------------------------------------------------------
def test_batches_are_consecutive_row_slices_as_sklearn():
    # Each step is NMF.partial_fit on the next slice of batch_size rows, in order; with the
    # early stopping off, max_iter passes of ceil(n / batch_size) steps, as in scikit-learn.
    X = low_rank(50, 8, 2)
    kw = dict(batch_size=20, max_iter=2, tol=0, max_no_improvement=None, random_state=0)
    ours = MiniBatchNMF(2, **kw).fit(X)
    theirs = SkMiniBatchNMF(2, **kw).fit(X)
    assert (ours.n_iter_, ours.n_steps_) == (theirs.n_iter_, theirs.n_steps_) == (2, 6)
    rho = 0.7 ** (20 / 50)  # scikit-learn's per-batch weight of the past
    ref = NMF(2, random_state=0, forget_factor=rho)
    for _ in range(2):
        for start in range(0, 50, 20):
            ref.partial_fit(X[start:start + 20])
    assert np.allclose(ours.components_, ref.components_, rtol=1e-6, atol=1e-9)
    shuffled = NMF(2, random_state=0, forget_factor=rho)
    for _ in range(2):
        for start in (20, 0, 40):
            shuffled.partial_fit(X[start:start + 20])
    assert not np.allclose(ours.components_, shuffled.components_, rtol=1e-3)


def test_tol_stops_on_a_small_change_of_the_components():
    X = low_rank(120, 10, 2, noise=0.0)  # exactly low-rank: the components settle
    kw = dict(batch_size=30, max_iter=10, max_no_improvement=None, random_state=0)
    stopped = MiniBatchNMF(2, tol=1e-3, **kw).fit(X)
    assert 1 < stopped.n_steps_ < 10 * 4
    assert stopped.n_iter_ == -(-stopped.n_steps_ // 4)
    with pytest.warns(nmfkit.ConvergenceWarning, match="Maximum number of iterations 10"):
        full = MiniBatchNMF(2, tol=1e-30, **kw).fit(X)
    assert (full.n_iter_, full.n_steps_) == (10, 40)


def test_max_no_improvement_stops_when_the_smoothed_cost_stalls():
    X = low_rank(120, 10, 2, noise=0.3)  # noise: the batch cost stops improving
    kw = dict(batch_size=30, max_iter=10, tol=0, random_state=0)
    stopped = MiniBatchNMF(2, max_no_improvement=2, **kw).fit(X)
    assert 2 < stopped.n_steps_ < 10 * 4
    longer = MiniBatchNMF(2, max_no_improvement=3, **kw).fit(X)
    assert stopped.n_steps_ < longer.n_steps_ < 10 * 4
    never = MiniBatchNMF(2, max_no_improvement=None, **kw).fit(X)
    assert never.n_steps_ == 40


def test_partial_fit_continues_and_counts_steps_as_sklearn():
    X = low_rank(60, 8, 2)
    ours, theirs = MiniBatchNMF(2, random_state=0), SkMiniBatchNMF(2, random_state=0)
    for model in (ours, theirs):
        for start in (0, 20, 40):
            model.partial_fit(X[start:start + 20])
    assert _public(ours) == _public(theirs)
    assert ours.n_steps_ == theirs.n_steps_ == 3
    # the same steps as NMF.partial_fit with scikit-learn's per-batch forget factor
    ref = NMF(2, random_state=0, forget_factor=0.7)
    for start in (0, 20, 40):
        ref.partial_fit(X[start:start + 20])
    assert np.allclose(ours.components_, ref.components_, rtol=1e-6, atol=1e-9)
    # after fit, partial_fit goes on from the fit's components
    fitted = _quiet(lambda: MiniBatchNMF(2, batch_size=20, max_iter=2, tol=0,
                                         random_state=0).fit(X))
    steps, H = fitted.n_steps_, fitted.components_.copy()
    fitted.partial_fit(X[:20])
    assert fitted.n_steps_ == steps + 1 and fitted.n_iter_ == 2
    assert not np.array_equal(fitted.components_, H)
    assert np.abs(fitted.components_ - H).max() < 0.5 * np.abs(H).max()


def test_transform_max_iter_and_fresh_restarts_cap_the_w_solves():
    X = low_rank(80, 12, 4, noise=0.2)
    # KL: multiplicative W solves, where the cap shows
    kw = dict(batch_size=40, max_iter=3, tol=0, max_no_improvement=None, random_state=0,
              transform_max_iter=200, beta_loss="kullback-leibler")
    model = MiniBatchNMF(4, **kw).fit(X)
    W = model.transform(X)
    assert not np.allclose(model.set_params(transform_max_iter=1).transform(X), W, rtol=1e-3)
    model.set_params(transform_max_iter=None)
    capped = MiniBatchNMF(4, fresh_restarts=True, fresh_restarts_max_iter=1, **kw).fit(X)
    fresh = MiniBatchNMF(4, fresh_restarts=True, fresh_restarts_max_iter=200, **kw).fit(X)
    assert np.allclose(fresh.components_, model.components_, rtol=1e-9)
    assert not np.allclose(capped.components_, model.components_, rtol=1e-3)


# -- data: names, missing values, quality -----------------------------------------------------
def _frame(columns=tuple("abcdef")):
    return pd.DataFrame(low_rank(24, len(columns), 2), columns=list(columns))


NAME_CASES = {
    "same names": (_frame, _frame),
    "reordered": (_frame, lambda: _frame()[list("bacdef")]),
    "one renamed": (_frame, lambda: _frame("abcdez")),
    "ndarray after frame": (_frame, lambda: _frame().to_numpy()),
    "frame after ndarray": (lambda: _frame().to_numpy(), _frame),
    "a column fewer": (_frame, lambda: _frame()[list("abcde")]),
}


def _outcome(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
            error = None
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            error = (type(exc), str(exc))
    return error, [str(w.message) for w in caught if w.category is UserWarning]


@pytest.mark.parametrize("method", ["transform", "partial_fit"])
@pytest.mark.parametrize("case", list(NAME_CASES))
def test_feature_names_are_checked_as_sklearn(case, method):
    fit_data, new_data = NAME_CASES[case]
    outcomes = []
    for cls in (SkMiniBatchNMF, MiniBatchNMF):
        model = cls(2, batch_size=8, max_iter=2, init="random", random_state=0)

        def call():
            if method == "transform":
                model.fit(fit_data())
            else:
                model.partial_fit(fit_data())
            before = model.components_.copy()
            try:
                getattr(model, method)(new_data())
            except ValueError:
                assert np.array_equal(model.components_, before)  # nothing changed
                raise
        outcomes.append(_outcome(call))
    assert outcomes[0] == outcomes[1]


def test_missing_values_are_left_out():
    X = low_rank(80, 10, 2, noise=0.0)
    holes = X.copy()
    rng = np.random.RandomState(0)
    holes[rng.rand(*X.shape) < 0.1] = np.nan
    kept = holes.copy()
    model = _quiet(lambda: MiniBatchNMF(2, batch_size=20, max_iter=30, random_state=0).fit(holes))
    assert np.array_equal(np.isnan(holes), np.isnan(kept))
    W = model.transform(holes)
    # the missing entries are recovered: the fit used the observed ones only
    assert np.abs(W @ model.components_ - X).max() < 0.02 * X.max()
    frame = pd.DataFrame(holes).astype("Float64")
    assert np.allclose(model.transform(frame), W, rtol=1e-9)


@pytest.mark.parametrize("kind", ["dense", "sparse", "kl"])
def test_error_beats_sklearns_and_nears_the_full_fit(kind):
    if kind == "sparse":
        L = low_rank(400, 60, 4, noise=0.1)
        X = sp.csr_matrix(np.where(L > np.quantile(L, 0.3), L, 0.0))  # 30% zeros
    else:
        X = low_rank(400, 60, 4, noise=0.1)
    loss = "kullback-leibler" if kind == "kl" else "frobenius"
    kw = dict(beta_loss=loss, batch_size=100, max_iter=5, random_state=0)
    ours = _quiet(lambda: MiniBatchNMF(4, **kw).fit(X))
    theirs = _quiet(lambda: SkMiniBatchNMF(4, **kw).fit(X))
    full = NMF(4, beta_loss=loss, random_state=0, max_iter=500).fit(X)
    # a wide margin over scikit-learn's, and within the 5% of the full fit
    assert ours.reconstruction_err_ < 0.8 * theirs.reconstruction_err_
    assert ours.reconstruction_err_ < 1.05 * full.reconstruction_err_


def test_batches_of_fewer_than_3_rows_per_component_are_held_not_converged():
    """batch_size below 3 n_components: each step's rows wait for the next ones
    (nmfkit.NMF.partial_fit), the components do not move on such a step, and that is not
    taken for convergence (tol): the fit goes on and ends as close to the full fit as with
    larger batches."""
    X = low_rank(400, 30, 10, noise=0.05)
    small = _quiet(lambda: MiniBatchNMF(10, batch_size=20, random_state=0).fit(X))
    large = _quiet(lambda: MiniBatchNMF(10, batch_size=40, random_state=0).fit(X))
    full = NMF(10, max_iter=1000, tol=1e-6, random_state=0).fit(X)
    assert small.n_steps_ > 2 * 20  # measured: 268 steps (3 when held steps were checked)
    for model in (small, large):
        assert model.reconstruction_err_ < 1.05 * full.reconstruction_err_


def test_the_smoothed_cost_is_the_batch_cost_for_the_components_it_arrived_with(capsys):
    """The batch cost that max_no_improvement smooths is the batch's objective per row for
    the components before its step, with its W solved for them (checked against that,
    computed here for the second step), and it keeps improving on exactly low-rank data,
    so the fit goes on there; on noisy data it stalls within a pass."""
    exact, noisy = low_rank(600, 20, 4, noise=0.0), low_rank(600, 20, 4, noise=0.05)
    kw = dict(batch_size=60, tol=0, max_no_improvement=2, max_iter=20, random_state=0)
    model = _quiet(lambda: MiniBatchNMF(4, verbose=1, **kw).fit(exact))
    printed = [line for line in capsys.readouterr().out.splitlines()
               if "mean batch cost" in line]
    first = NMF(4, random_state=0, forget_factor=0.7 ** (60 / 600)).partial_fit(exact[:60])
    W = first.transform(exact[60:120])
    cost = 0.5 * np.sum((exact[60:120] - W @ first.components_) ** 2) / 60
    assert float(printed[0].split("mean batch cost: ")[1].split(",")[0]) == \
        pytest.approx(cost, rel=1e-6)
    assert model.n_steps_ > 5 * 10  # measured: 191 steps; a constant cost stops at 4
    assert _quiet(lambda: MiniBatchNMF(4, **kw).fit(noisy)).n_steps_ < 10
