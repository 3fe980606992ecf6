"""scikit-learn compatibility, side by side with sklearn.decomposition.NMF: its estimator
checks for every solver, feature names, pandas input, the API (parameters, attributes,
methods, non_negative_factorization), shuffle, and parameter errors."""

import inspect
import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF, non_negative_factorization
from nmfkit.estimator import compat as _compat
from nmfkit.losses.frobenius import shuffled_hals_step

from _data import low_rank, sparse_data

sklearn = pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import (
    NMF as SkNMF,  # noqa: E402
    MiniBatchNMF as SkMiniBatchNMF,  # noqa: E402
    non_negative_factorization as sk_nnf,  # noqa: E402
)
from sklearn.decomposition._nmf import _beta_divergence  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.validation import validate_data  # noqa: E402

from _checks import estimator_checks, run_check  # noqa: E402

SOLVER_LOSSES = [("auto", "frobenius"), ("auto", "kullback-leibler"), ("mu", "frobenius"),
                 ("mu", "kullback-leibler"), ("amu", "frobenius"), ("amu", "kullback-leibler"),
                 ("hals", "frobenius"), ("cd", "frobenius"), ("ehals", "frobenius")]


# -- scikit-learn's estimator checks ----------------------------------------------------------
@estimator_checks([NMF(solver=solver, beta_loss=loss)
                   for solver, loss in SOLVER_LOSSES])
def test_sklearn_estimator_checks(estimator, check):
    run_check(estimator, check)


@pytest.mark.parametrize("solver", ["auto", "mu", "amu", "hals", "cd", "ehals"])
def test_allow_nan_tag_follows_the_solver(solver):
    model = NMF(2, solver=solver, max_iter=30, random_state=0)
    allows = get_tags(model).input_tags.allow_nan
    assert model._more_tags()["allow_nan"] == allows  # the tag of scikit-learn < 1.6
    X = low_rank(20, 10, 2)
    X[3, 4] = np.nan
    if allows:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
            model.fit(X)
        assert np.isfinite(model.components_).all()
    else:
        with pytest.raises(ValueError, match=f"NaN.*solver='{solver}'.*'mu'"):
            model.fit(X)
    assert allows == (solver in ("auto", "mu", "amu"))


# -- feature names ----------------------------------------------------------------------------
def _values(width=6):
    return low_rank(12, width, 2)


def _frame(columns=tuple("abcdef")):
    return pd.DataFrame(_values(len(columns)), columns=list(columns))


WIDE = [f"g{i}" for i in range(8)]
NAME_CASES = {  # (data at fit, data afterwards)
    "same names": (_frame, _frame),
    "reordered": (_frame, lambda: _frame()[list("bacdef")]),
    "one renamed": (_frame, lambda: _frame("abcdez")),
    "seven renamed (listing cut at five)": (
        lambda: _frame(WIDE), lambda: _frame(WIDE[:1] + [f"h{i}" for i in range(7)])),
    "a column fewer": (_frame, lambda: _frame()[list("abcde")]),
    "ndarray after frame": (_frame, lambda: _values()),
    "frame after ndarray": (lambda: _values(), _frame),
    "mixed name types afterwards": (_frame, lambda: _frame(["a", 1, "c", "d", "e", "f"])),
    "mixed name types at fit": (lambda: _frame(["a", 1, "c", "d", "e", "f"]), _frame),
    "integer names reordered": (lambda: pd.DataFrame(_values()),
                                lambda: pd.DataFrame(_values())[[1, 0, 2, 3, 4, 5]]),
    "fewer features, no names": (lambda: _values(), lambda: _values(5)),
}


def _outcome(call, rename=None):
    """(exception class and message or None, messages of the UserWarnings) of call();
    rename=(old, new) replaces a class name in the messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
            error = None
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            error = (type(exc), str(exc))
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    if rename:
        error = error and (error[0], error[1].replace(*rename))
        messages = [m.replace(*rename) for m in messages]
    return error, messages


@pytest.mark.parametrize("case", list(NAME_CASES))
def test_transform_checks_feature_names_as_sklearn(case):
    fit_data, new_data = NAME_CASES[case]
    outcomes, names = [], []
    for cls in (SkNMF, NMF):
        model = cls(2, init="random", max_iter=20, tol=0, random_state=0)

        def call():
            model.fit(fit_data())
            names.append(getattr(model, "feature_names_in_", None))
            model.transform(new_data())
        outcomes.append(_outcome(call))
    assert outcomes[0] == outcomes[1]
    assert len(names) in (0, 2)
    if names:
        assert (names[0] is None and names[1] is None) or np.array_equal(names[0], names[1])


@pytest.mark.parametrize("case", list(NAME_CASES))
def test_partial_fit_checks_feature_names_as_sklearn(case):
    # scikit-learn's streaming NMF is MiniBatchNMF: its partial_fit records the names on
    # the first call and checks them on the next ones.
    fit_data, new_data = NAME_CASES[case]
    outcomes = []
    for cls in (SkMiniBatchNMF, NMF):
        model = cls(2, init="random", random_state=0)

        def call():
            model.partial_fit(fit_data())
            model.partial_fit(new_data())
        outcomes.append(_outcome(call, rename=("MiniBatchNMF", "NMF")))
    assert outcomes[0] == outcomes[1]


def test_partial_fit_with_wrong_names_changes_nothing():
    model = NMF(2, init="random", random_state=0).partial_fit(_frame())
    before = model.components_.copy(), model.n_steps_
    with pytest.raises(ValueError, match="feature names should match"):
        model.partial_fit(_frame()[list("bacdef")])
    assert np.array_equal(model.components_, before[0]) and model.n_steps_ == before[1]
    assert list(model.feature_names_in_) == list("abcdef")


@pytest.mark.parametrize("case", list(NAME_CASES))
def test_fallback_name_check_is_sklearns(case):
    # The stand-in used without scikit-learn, against scikit-learn's own check.
    fit_data, new_data = NAME_CASES[case]
    outcomes = []
    for check in (lambda est, X, reset: validate_data(est, X, skip_check_array=True,
                                                      ensure_2d=False, reset=reset),
                  _compat._check_feature_names_fallback):
        est = SkNMF()

        def call():
            check(est, fit_data(), True)
            check(est, new_data(), False)
        outcomes.append(_outcome(call))
    assert outcomes[0] == outcomes[1]


def test_get_feature_names_fallback_reads_a_pyarrow_table():
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    assert list(_compat.get_feature_names(table)) == ["x", "y"]
    assert _compat.get_feature_names(np.ones((2, 2))) is None
    assert _compat.get_feature_names(pd.DataFrame(np.ones((2, 2)))) is None


def test_without_sklearn_the_checks_and_outputs_are_the_same():
    # scikit-learn blocked: the stand-ins give the errors, warnings and outputs it gives.
    code = textwrap.dedent("""
        import json, sys, warnings
        sys.modules["sklearn"] = None
        import numpy as np, pandas as pd
        from nmfkit import NMF, InvalidParameterError
        X = pd.DataFrame(np.arange(1.0, 41.0).reshape(10, 4), columns=list("abcd"),
                         index=[f"r{i}" for i in range(10)])
        model = NMF(2, init="random", max_iter=30, tol=0, random_state=0)
        out = {}
        W = model.set_output(transform="pandas").fit_transform(X)
        out["output"] = [type(W).__name__, list(W.columns), list(W.index)]
        out["names_out"] = list(model.get_feature_names_out(list("abcd")))
        for key, call in [("reordered", lambda: model.transform(X[list("bacd")])),
                          ("input_features", lambda: model.get_feature_names_out(list("abce"))),
                          ("Xt", lambda: model.inverse_transform(Xt=W)),
                          ("shuffle", lambda: NMF(shuffle="yes").fit(X))]:
            try:
                call()
            except Exception as exc:
                out[key] = [type(exc).__name__, str(exc),
                            isinstance(exc, ValueError) and isinstance(exc, TypeError)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.set_output(transform="default").transform(X.to_numpy())
        out["warnings"] = [str(w.message) for w in caught]
        print(json.dumps(out))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    X = pd.DataFrame(np.arange(1.0, 41.0).reshape(10, 4), columns=list("abcd"),
                     index=[f"r{i}" for i in range(10)])
    sk = SkNMF(2, init="random", max_iter=30, tol=0, random_state=0).set_output(
        transform="pandas")
    W = sk.fit_transform(X)
    assert got["output"] == [type(W).__name__, list(W.columns), list(W.index)]
    assert got["names_out"] == list(sk.get_feature_names_out(list("abcd")))
    for key, call in [("reordered", lambda: sk.transform(X[list("bacd")])),
                      ("input_features", lambda: sk.get_feature_names_out(list("abce")))]:
        with pytest.raises(ValueError) as exc:
            call()
        assert got[key][1] == str(exc.value)
    assert got["Xt"][0] == "TypeError"  # gone in scikit-learn >= 1.7, the newest behaviour
    assert got["shuffle"][0] == "InvalidParameterError" and got["shuffle"][2]
    with pytest.warns(UserWarning) as caught:
        sk.set_output(transform="default").transform(X.to_numpy())
    assert got["warnings"] == [str(w.message) for w in caught]


# -- pandas input -----------------------------------------------------------------------------
def _with_missing():
    V = np.round(10 * low_rank(30, 5, 2))  # integers, so that Int64 columns hold them
    V[[1, 5, 9, 20], [0, 3, 2, 0]] = np.nan
    return V


def _as_frame(V, dtype):
    frame = pd.DataFrame(V, columns=[f"c{j}" for j in range(V.shape[1])])
    if dtype == "object":  # numbers and None, as a column built from Python lists is
        return frame.astype(object).where(~np.isnan(V), None)
    return frame.astype(dtype)


@pytest.mark.parametrize("dtype", ["Float64", "Int64", "Float32", "double[pyarrow]",
                                   "int64[pyarrow]", "object"])
def test_pandas_missing_values_are_missing(dtype):
    if "pyarrow" in dtype:
        pytest.importorskip("pyarrow")
    V = _with_missing()
    frame = _as_frame(V, dtype)
    assert frame.isna().to_numpy().sum() == 4 and not isinstance(frame.iloc[1, 0], float)
    kept = frame.copy()
    V = V.astype(np.float32 if dtype == "Float32" else np.float64)
    kw = dict(init="random", random_state=0, max_iter=40, tol=0)
    from_frame = NMF(2, **kw).fit(frame)
    from_array = NMF(2, **kw).fit(V)
    assert from_frame.components_.dtype == V.dtype
    # the same fit up to the order of sums (a frame's array may be Fortran-ordered)
    rtol = 1e-4 if dtype == "Float32" else 1e-10
    assert np.allclose(from_frame.components_, from_array.components_, rtol=rtol, atol=0)
    assert np.allclose(from_frame.transform(frame), from_array.transform(V), rtol=rtol, atol=0)
    pd.testing.assert_frame_equal(frame, kept)  # the caller's frame is not modified


@pytest.mark.parametrize("columns", [(np.float32, np.float64), (np.float32, np.float32),
                                     (np.int64, np.float32), (np.float16, np.float32)])
def test_frame_dtype_is_sklearns(columns):
    V = low_rank(20, len(columns), 1)
    frame = pd.DataFrame({f"c{j}": V[:, j].astype(t) for j, t in enumerate(columns)})
    ours = NMF(1, max_iter=50, random_state=0).fit_transform(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkNMF(1, max_iter=50, random_state=0).fit_transform(frame)
    assert ours.dtype == theirs.dtype


def test_nullable_float32_frame_stays_float32():
    # scikit-learn widens a nullable Float32 frame to float64; nmfkit keeps float32 (its
    # rule: float32 stays float32), for nullable and pyarrow 32-bit floats alike.
    frame = _as_frame(_with_missing(), "Float32")
    assert NMF(2, max_iter=20).fit(frame).components_.dtype == np.float32


@pytest.mark.parametrize("column", [
    ["x", "y"] * 15, [str(i) for i in range(30)], pd.Categorical(["u", "v"] * 15),
    pd.to_datetime(["2024-01-01"] * 30), pd.array(["p", None] * 15, dtype="string")])
def test_non_numeric_column_is_named(column):
    frame = _frame(WIDE[:5]).iloc[:0].reindex(range(30)).fillna(1.0)
    frame["label"] = column
    with pytest.raises(TypeError, match=r"'label' \(.*pd\.to_numeric"):
        NMF(2).fit(frame)


def test_series_is_refused_as_sklearn_refuses_it():
    series = pd.Series(np.arange(1.0, 6.0))
    with pytest.raises(ValueError):
        SkNMF(1).fit(series)
    with pytest.raises(ValueError, match=r"Series.*to_frame"):
        NMF(1).fit(series)


def test_sparse_frame_is_fitted_as_its_sparse_matrix():
    S = sparse_data(60, 12, 0.3)
    frame = pd.DataFrame.sparse.from_spmatrix(S, columns=[f"t{j}" for j in range(12)])
    kw = dict(init="random", random_state=0, max_iter=30, tol=0)
    # dense and CSR fits take different (equally valid) paths: bit equality shows which
    assert np.array_equal(NMF(3, **kw).fit(frame).components_,
                          NMF(3, **kw).fit(S).components_)
    assert not np.array_equal(NMF(3, **kw).fit(S.toarray()).components_,
                              NMF(3, **kw).fit(S).components_)


# -- the API, side by side -------------------------------------------------------------------
def test_every_sklearn_parameter_with_its_default():
    ours = inspect.signature(NMF).parameters
    theirs = inspect.signature(SkNMF).parameters
    for name, param in theirs.items():
        assert name in ours and ours[name].kind == param.kind, name
        if name != "solver":  # 'auto' here, 'cd' there: documented
            assert ours[name].default == param.default, name
    model = clone(NMF().set_params(**SkNMF(3, shuffle=True, verbose=True).get_params()))
    assert model.get_params()["shuffle"] is True and model.n_components == 3


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_fitted_attributes_are_sklearns(loss):
    X = _frame()
    kw = dict(beta_loss=loss, solver="mu", random_state=0, max_iter=300)
    ours, theirs = NMF(3, **kw), SkNMF(3, **kw)
    W = ours.fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X)

    def public(model):
        return {a for a in vars(model) if a.endswith("_") and not a.startswith("_")}
    assert public(theirs) <= public(ours)
    for name in public(theirs):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert np.shape(a) == np.shape(b) and np.asarray(a).dtype.kind == np.asarray(b).dtype.kind
    assert ours.n_components_ == theirs.n_components_ == 3
    assert ours.n_features_in_ == theirs.n_features_in_
    assert np.array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    # reconstruction_err_ is what scikit-learn defines it to be, for the returned W and H
    assert ours.reconstruction_err_ == pytest.approx(
        _beta_divergence(X.to_numpy(), W, ours.components_, loss, square_root=True), rel=1e-9)


def test_methods_return_what_sklearns_return():
    X = _frame()
    ours = NMF(2, random_state=0, max_iter=500)
    theirs = SkNMF(2, random_state=0, max_iter=500)
    for model in (ours, theirs):
        with pytest.raises(NotFittedError) as exc:
            model.transform(X)
        with pytest.raises(NotFittedError):
            model.get_feature_names_out()
        with pytest.raises(NotFittedError):
            model.inverse_transform(np.ones((2, 2)))
        assert str(exc.value).startswith(f"This {type(model).__name__} instance is not fitted")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert model.fit(X) is model
    for name in ("fit_transform", "transform"):
        a = getattr(ours, name)(X) if name == "transform" else ours.fit_transform(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = getattr(theirs, name)(X)
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
    W = ours.transform(X)
    for kind in (np.asarray, sp.csr_matrix, sp.csr_array, lambda W: W.tolist(),
                 lambda W: pd.DataFrame(W, columns=["nmf0", "nmf1"])):
        a, b = ours.inverse_transform(kind(W)), theirs.inverse_transform(kind(W))
        assert type(a) is type(b) and a.shape == b.shape == X.shape
        if isinstance(a, pd.DataFrame):
            assert a.columns.equals(b.columns) and a.index.equals(b.index)
        assert np.allclose(np.asarray(a), W @ ours.components_, rtol=1e-12)
    for model in (ours, theirs):
        with pytest.raises(ValueError):
            model.inverse_transform(np.ones((2, 3)))
    # Xt= as the installed scikit-learn takes it (an error from 1.7 on, a warning before)
    assert _outcome(lambda: ours.inverse_transform(Xt=W))[0][0] == \
        _outcome(lambda: theirs.inverse_transform(Xt=W))[0][0]
    # get_feature_names_out, with and without input_features
    assert np.array_equal(ours.get_feature_names_out(), theirs.get_feature_names_out())
    for bad in (list("abcdez"), list("abc")):
        assert _outcome(lambda: ours.get_feature_names_out(bad)) == \
            _outcome(lambda: theirs.get_feature_names_out(bad))
    plain = [NMF(2, max_iter=50).fit(X.to_numpy()), SkNMF(2, max_iter=50).fit(X.to_numpy())]
    assert _outcome(lambda: plain[0].get_feature_names_out(list("abc"))) == \
        _outcome(lambda: plain[1].get_feature_names_out(list("abc")))


def test_set_output_pandas_as_sklearn():
    X = _frame()
    X.index = [f"s{i}" for i in range(len(X))]
    outs = []
    for cls in (NMF, SkNMF):
        model = cls(2, random_state=0, max_iter=500).set_output(transform="pandas")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append((model.fit_transform(X), model.transform(X)))
    for a, b in zip(*outs):
        assert isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame)
        assert a.columns.equals(b.columns) and a.index.equals(b.index)


@pytest.mark.parametrize("version, W_kw, Xt_kw", [
    ((1, 2), "name", "unknown"), ((1, 3), "deprecated", "name"), ((1, 4), "deprecated", "name"),
    ((1, 5), "unknown", "deprecated"), ((1, 6), "unknown", "deprecated"),
    ((1, 7), "unknown", "unknown"), ((1, 9), "unknown", "unknown"), (None, "unknown", "unknown")])
def test_inverse_transform_argument_names_follow_the_sklearn_version(monkeypatch, version, W_kw,
                                                                      Xt_kw):
    # scikit-learn's history: inverse_transform(W) up to 1.2; (Xt, W deprecated) in 1.3-1.4;
    # (X, Xt deprecated) in 1.5-1.6; (X) from 1.7.
    monkeypatch.setattr(_compat, "SKLEARN_VERSION", version)
    model = NMF(2, max_iter=50).fit(low_rank(10, 4, 2))
    W = model.transform(low_rank(10, 4, 2))
    expected = W @ model.components_
    assert np.array_equal(model.inverse_transform(W), expected)
    assert np.array_equal(model.inverse_transform(X=W), expected)
    for keyword, status in (("W", W_kw), ("Xt", Xt_kw)):
        call = lambda: model.inverse_transform(**{keyword: W})  # noqa: E731
        if status == "unknown":
            with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
                call()
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert np.array_equal(call(), expected)
        assert [w.category for w in caught] == ([FutureWarning] if status == "deprecated"
                                                else [])


# -- shuffle -----------------------------------------------------------------------------------
def test_shuffled_hals_step_is_a_sweep_in_that_order():
    rng = np.random.RandomState(0)
    A, B, X = rng.rand(9, 5), rng.rand(7, 5), rng.rand(9, 7)
    num, gram = X @ B, B.T @ B
    l1, l2, floor = 0.01, 0.02, 1e-12
    order = np.array([3, 0, 4, 2, 1])

    def sweep(columns):
        out = A.copy()
        for c in columns:
            step = (num[:, c] - l1 - out @ gram[:, c] - l2 * out[:, c]) / (gram[c, c] + l2)
            out[:, c] = np.maximum(floor, out[:, c] + step)
        return out
    got = A.copy()
    shuffled_hals_step(got, num, gram, l1, l2, floor, 1, order)
    assert np.allclose(got, sweep(order), rtol=1e-12, atol=1e-15)
    assert not np.allclose(got, sweep(range(5)), rtol=1e-6)  # the order shows


@pytest.mark.parametrize("solver", ["cd", "hals", "ehals"])
def test_shuffle_randomizes_the_coordinate_order_reproducibly(solver):
    X = low_rank(60, 40, 6, noise=0.1)
    kw = dict(solver=solver, init="nndsvda", max_iter=40, tol=0, check_every=1)  # no rng

    def fit(**extra):
        return NMF(6, **kw, **extra).fit(X)
    with threadpool_limits(1, user_api="openmp"):
        one = fit(shuffle=True, random_state=3)
    with threadpool_limits(2, user_api="openmp"):
        two = fit(shuffle=True, random_state=3)
    assert np.array_equal(one.components_, two.components_)  # any thread count, same bits
    cyclic = fit(random_state=3)
    other_seed = fit(shuffle=True, random_state=4)
    assert not np.array_equal(one.components_, cyclic.components_)
    assert not np.array_equal(one.components_, other_seed.components_)
    hist = one.loss_history_
    assert np.all(np.diff(hist) <= 1e-10 * hist[0])  # coordinate descent in any order
    assert one.reconstruction_err_ <= 1.1 * cyclic.reconstruction_err_


@pytest.mark.parametrize("solver", ["mu", "amu"])
def test_shuffle_does_nothing_for_multiplicative_updates(solver):
    X = low_rank(40, 30, 4)
    kw = dict(solver=solver, init="random", random_state=0, max_iter=30, tol=0, n_init=2)
    assert np.array_equal(NMF(4, shuffle=True, **kw).fit(X).components_,
                          NMF(4, **kw).fit(X).components_)


# -- non_negative_factorization ---------------------------------------------------------------
def test_non_negative_factorization_signature_is_sklearns():
    ours = inspect.signature(non_negative_factorization).parameters
    theirs = inspect.signature(sk_nnf).parameters
    assert list(ours)[:len(theirs)] == list(theirs)
    for name, param in theirs.items():
        assert ours[name].kind == param.kind, name
        if name != "solver":  # 'auto', as nmfkit.NMF: documented
            assert ours[name].default == param.default, name
    X = low_rank(30, 12, 3)
    W, H, n_iter = non_negative_factorization(X, n_components=3, random_state=0)
    model = NMF(3, random_state=0)
    assert np.array_equal(W, model.fit_transform(X)) and np.array_equal(H, model.components_)
    assert n_iter == model.n_iter_ and isinstance(n_iter, int)
    with sklearn.config_context(transform_output="pandas"):  # a function returns arrays
        for update_H in (True, False):
            W, H, _ = non_negative_factorization(X, H=H, n_components=3, update_H=update_H)
            Ws, Hs, _ = sk_nnf(X, H=H, n_components=3, update_H=update_H, max_iter=5)
            assert type(W) is type(Ws) and type(H) is type(Hs)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_non_negative_factorization_matches_sklearn_mu(loss):
    X = low_rank(40, 25, 4)
    rng = np.random.RandomState(1)
    W0, H0 = rng.rand(40, 4) + 0.1, rng.rand(4, 25) + 0.1
    kw = dict(init="custom", solver="mu", beta_loss=loss, max_iter=60, tol=0)
    Ws, Hs, ns = sk_nnf(X, W0.copy(), H0.copy(), "auto", **kw)
    Wn, Hn, nn = non_negative_factorization(X, W0.copy(), H0.copy(), "auto", floor=0.0, **kw)
    assert nn == ns == 60
    assert np.allclose(Wn @ Hn, Ws @ Hs, rtol=1e-6, atol=1e-9)


def test_non_negative_factorization_update_H_false_solves_for_W():
    rng = np.random.RandomState(0)
    X, H = rng.rand(15, 8), rng.rand(3, 8)
    Ws, Hs, _ = sk_nnf(X, H=H, n_components=3, update_H=False, tol=1e-12, max_iter=5000)
    Wn, Hn, n_iter = non_negative_factorization(X, H=H, update_H=False)  # 'auto': from H
    assert np.array_equal(Hn, H) and np.array_equal(Hs, H)
    assert np.allclose(Wn, Ws, rtol=1e-5, atol=1e-7)  # one minimizer: H has full rank
    assert isinstance(n_iter, int) and n_iter >= 1


NNF_CASES = {
    "update_H=False, W given": dict(W="W", H="H", n_components=3, update_H=False),
    "update_H=False, no H": dict(n_components=3, update_H=False),
    "update_H=False, H of another rank": dict(H="H", n_components=2, update_H=False),
    "custom init without W": dict(H="H", n_components=3, init="custom"),
    "W ignored without custom init": dict(W="W", H="H", n_components=3, init="random",
                                          random_state=0),
    "update_H not a bool": dict(H="H", n_components=3, update_H="no"),
    # (solver="cd" with KL is an error in scikit-learn; nmfkit runs its KL coordinate
    # descent there: tests/test_kl_cd.py)
    "cd with beta 1.5": dict(n_components=3, solver="cd", beta_loss=1.5),
}


@pytest.mark.parametrize("case", list(NNF_CASES))
def test_non_negative_factorization_errors_and_warnings_as_sklearn(case):
    rng = np.random.RandomState(0)
    data = {"W": rng.rand(10, 3), "H": rng.rand(3, 6)}
    X = rng.rand(10, 6)
    kw = {k: data[v] if isinstance(v, str) and v in data else v
          for k, v in NNF_CASES[case].items()}
    outcomes = []
    for func in (sk_nnf, non_negative_factorization):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                func(X, **kw)
                error = None
            except ValueError as exc:
                error = type(exc)
        outcomes.append((error, [(w.category, str(w.message)) for w in caught
                                 if w.category is RuntimeWarning]))
    assert outcomes[0] == outcomes[1]


# -- parameter errors -------------------------------------------------------------------------
BAD_SKLEARN_PARAMS = [
    ("n_components", 0), ("n_components", "many"), ("n_components", 2.5), ("init", "svd"),
    ("solver", "lbfgs"), ("beta_loss", "euclid"), ("beta_loss", [2]), ("tol", -1.0),
    ("max_iter", 0), ("max_iter", 1.5), ("random_state", "seed"), ("alpha_W", -0.1),
    ("alpha_H", "different"), ("l1_ratio", 1.5), ("verbose", -1), ("verbose", "loud"),
    ("shuffle", "yes"), ("shuffle", 1)]


@pytest.mark.parametrize("name, value", BAD_SKLEARN_PARAMS)
def test_bad_parameter_raises_sklearns_error(name, value):
    X = low_rank(10, 6, 2)
    with pytest.raises(InvalidParameterError):
        SkNMF(2).set_params(**{name: value}).fit(X)
    with pytest.raises(InvalidParameterError, match=name) as exc:
        NMF(2).set_params(**{name: value}).fit(X)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, TypeError)
    assert repr(value) in str(exc.value) or str(value) in str(exc.value)


@pytest.mark.parametrize("name, value", [
    ("n_init", 0), ("floor", "high"), ("floor", -1.0), ("check_every", 0), ("callback", 3),
    ("forget_factor", 2.0), ("forget_factor", "never")])
def test_bad_nmfkit_parameter_is_named(name, value):
    with pytest.raises(InvalidParameterError, match=name):
        NMF(2).set_params(**{name: value}).fit(low_rank(10, 6, 2))
