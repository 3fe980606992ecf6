"""The NMF estimator and nmf(): agreement with scikit-learn, invariants, errors, API."""

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF, nmf

from _data import low_rank, sparse_data

skl = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import NMF as SkNMF  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

LOSSES = ["frobenius", "kullback-leibler"]


def start(X, k, seed=1, dtype=np.float64):
    rng = np.random.RandomState(seed)
    avg = np.sqrt(X.mean() / k)
    return ((avg * rng.rand(X.shape[0], k)).astype(dtype),
            (avg * rng.rand(k, X.shape[1])).astype(dtype))


def fit_pair(X, k, loss, W0, H0, max_iter=100, **kw):
    sk = SkNMF(k, init="custom", solver="mu", beta_loss=loss, max_iter=max_iter, tol=0)
    Ws = sk.fit_transform(X, W=W0.copy(), H=H0.copy())
    nm = NMF(k, init="custom", solver="mu", beta_loss=loss, max_iter=max_iter, tol=0, **kw)
    Wn = nm.fit_transform(X, W=W0.copy(), H=H0.copy())
    return sk, Ws, nm, Wn


# -- agreement with scikit-learn -----------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["dense", "csr", "dense_f"])
def test_matches_sklearn_mu_from_same_start(kind, loss):
    if kind == "csr":
        X = sparse_data(400, 300, 0.05)
    else:
        X = low_rank(200, 150, 8)
        if kind == "dense_f":
            X = np.asfortranarray(X)
    W0, H0 = start(X, 10)
    sk, Ws, nm, Wn = fit_pair(X, 10, loss, W0, H0)
    assert nm.n_iter_ == sk.n_iter_ == 100
    assert nm.reconstruction_err_ == pytest.approx(sk.reconstruction_err_, rel=1e-6)
    # Plain Lee-Seung (no floor) follows scikit-learn's trajectory entry by entry; with the
    # floor, entries scikit-learn drives to 1e-30 stop at ~1e-16 and may later regrow.
    _, _, plain, Wp = fit_pair(X, 10, loss, W0, H0, floor=0.0)
    WH = Ws @ sk.components_
    assert np.allclose(Wp @ plain.components_, WH, rtol=1e-4, atol=1e-6 * WH.max())


def test_random_init_is_sklearns():
    X = low_rank(30, 20, 3)
    W, H, _ = nmf(X, 4, init="random", random_state=7, max_iter=1, tol=0, floor=0.0,
                  solver="mu")
    from sklearn.decomposition._nmf import _initialize_nmf
    Ws, Hs = _initialize_nmf(X, 4, init="random", random_state=7)
    sk = SkNMF(4, init="custom", solver="mu", max_iter=1, tol=0)
    W1 = sk.fit_transform(X, W=Ws, H=Hs)
    assert np.allclose(W, W1, rtol=1e-12) and np.allclose(H, sk.components_, rtol=1e-12)


@pytest.mark.parametrize("variant", ["nndsvd", "nndsvda", "nndsvdar"])
def test_nndsvd_matches_sklearn(variant):
    from sklearn.decomposition._nmf import _initialize_nmf

    from nmfkit.solvers.init import initialize
    X = low_rank(60, 40, 5, noise=0.2)
    W, H = initialize(X, 5, variant, 0)
    Ws, Hs = _initialize_nmf(X, 5, init=variant, random_state=0)
    assert W.shape == Ws.shape and H.shape == Hs.shape
    assert (W >= 0).all() and (H >= 0).all()
    if variant != "nndsvdar":  # the random fill draws differ
        assert np.allclose(W @ H, Ws @ Hs, rtol=1e-6, atol=1e-8)
        assert np.allclose(W, Ws, rtol=1e-5, atol=1e-8)


# -- invariants ------------------------------------------------------------------------------
# Every solver with every loss it minimizes: the HALS family is Frobenius only.
SOLVER_LOSSES = [("mu", "frobenius"), ("mu", "kullback-leibler"), ("amu", "frobenius"),
                 ("amu", "kullback-leibler"), ("hals", "frobenius"), ("ehals", "frobenius")]


@pytest.mark.parametrize("solver, loss", SOLVER_LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_objective_never_increases(kind, dtype, solver, loss):
    X = sparse_data(120, 90, 0.1) if kind == "csr" else low_rank(80, 60, 5)
    X = X.astype(dtype)
    model = NMF(6, init="random", random_state=0, solver=solver, beta_loss=loss,
                max_iter=60, tol=0, check_every=1).fit(X)
    hist = model.loss_history_
    assert len(hist) == 61 and np.all(np.isfinite(hist))
    slack = (1e-4 if dtype == np.float32 else 1e-10) * hist[0]
    assert np.all(np.diff(hist) <= slack), np.diff(hist).max()
    assert hist[-1] < 0.9 * hist[0]
    assert model.components_.dtype == dtype and (model.components_ >= 0).all()


@pytest.mark.parametrize("loss", LOSSES)
def test_dense_equals_csr(loss):
    Xs = sparse_data(150, 100, 0.08)
    # solver='mu': the accelerated solvers size their inner loops by the cost of the products
    # (nnz for CSR, m n for dense), so dense and CSR take different, equally valid, paths.
    kw = dict(init="nndsvda", beta_loss=loss, max_iter=50, tol=0, random_state=0, solver="mu")
    W1, H1, i1 = nmf(Xs.toarray(), 5, **kw)
    W2, H2, i2 = nmf(Xs, 5, **kw)
    assert i1["reconstruction_err"] == pytest.approx(i2["reconstruction_err"], rel=1e-9)
    assert np.allclose(W1 @ H1, W2 @ H2, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_float32_close_to_float64(kind, loss):
    X = sparse_data(150, 100, 0.1) if kind == "csr" else low_rank(100, 80, 5)
    kw = dict(init="nndsvda", beta_loss=loss, max_iter=100, tol=0, random_state=0)
    # 'auto' is ehals for Frobenius: it steers by the objective formed from float32
    # products, which resolves it only to a few eps32 ||X||^2; within that, float32 and
    # float64 may take different, equally good, paths. Plain HALS and MU follow one path.
    sq = float(X.multiply(X).sum()) if sp.issparse(X) else float((X ** 2).sum())
    for solver in ("auto", "hals") if loss == "frobenius" else ("auto",):
        m64 = NMF(5, solver=solver, **kw).fit(X)
        m32 = NMF(5, solver=solver, **kw).fit(X.astype(np.float32))
        assert m32.components_.dtype == np.float32
        f64 = m64.reconstruction_err_ ** 2 / 2
        ehals = loss == "frobenius" and solver == "auto"
        resolution = float(8 * np.finfo(np.float32).eps * sq / f64) if ehals else 0.0
        assert m32.reconstruction_err_ == pytest.approx(m64.reconstruction_err_,
                                                        rel=1e-3 + resolution / 2), solver


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_one_thread_equals_two(kind, loss):
    X = sparse_data(300, 200, 0.05) if kind == "csr" else low_rank(200, 150, 5)
    kw = dict(init="nndsvda", beta_loss=loss, max_iter=50, tol=0, random_state=0)
    with threadpool_limits(1):
        assert nmfkit.effective_n_threads() == 1
        W1, H1, _ = nmf(X, 6, **kw)
    with threadpool_limits(2):
        W2, H2, _ = nmf(X, 6, **kw)
    assert np.allclose(W1, W2, rtol=1e-9, atol=1e-12)
    assert np.allclose(H1, H2, rtol=1e-9, atol=1e-12)


def test_threadpoolctl_sees_the_openmp_runtime():
    # The runtime must be the one nmfkit's kernels loaded, not only scikit-learn's copy
    # (importing nmfkit imports scikit-learn's base classes when it is installed).
    code = ("import nmfkit, threadpoolctl, json; "
            "info = threadpoolctl.threadpool_info(); "
            "print(json.dumps([i['filepath'] for i in info if i['user_api'] == 'openmp']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    paths = json.loads(out)
    assert any("scikit_learn" not in p and "sklearn" not in p for p in paths), paths
    assert nmfkit.HAVE_OPENMP
    with threadpool_limits(1, user_api="openmp"):
        assert nmfkit.effective_n_threads() == 1


def test_zero_locking_is_fixed_by_the_floor():
    # Two blocks, each of rank one; row 3 starts entirely on the wrong component.
    rng = np.random.RandomState(0)
    Wt = np.zeros((20, 2))
    Wt[:10, 0], Wt[10:, 1] = rng.rand(10) + 0.5, rng.rand(10) + 0.5
    Ht = np.zeros((2, 16))
    Ht[0, :8], Ht[1, 8:] = rng.rand(8) + 0.5, rng.rand(8) + 0.5
    X = Wt @ Ht
    W0, H0 = Wt + 0.1, Ht + 0.1
    W0[3] = [0.0, 1.0]
    kw = dict(init="custom", solver="mu", max_iter=200, tol=0)
    plain = NMF(2, floor=0.0, **kw)
    Wp = plain.fit_transform(X, W=W0, H=H0)
    fixed = NMF(2, **kw)
    Wf = fixed.fit_transform(X, W=W0, H=H0)
    assert Wp[3, 0] == 0.0  # plain Lee-Seung: locked at zero for ever
    assert Wf[3, 0] > 0.5 * Wt[3, 0]  # max(eps, .): freed, near its true value
    assert fixed.reconstruction_err_ < 0.1 * plain.reconstruction_err_


# -- transform, restarts, API ----------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_transform_agrees_with_fit_transform(loss):
    X = low_rank(60, 40, 4)
    model = NMF(4, beta_loss=loss, max_iter=2000, tol=1e-5, random_state=0)
    W = model.fit_transform(X)
    W2 = model.transform(X)
    # Both solve the same convex problem in W to the solver's precision (MU for KL is slow:
    # its W moves by 1e-3 of its size while the objective agrees to 1e-4).
    assert np.abs(W - W2).max() <= 2e-3 * np.abs(W).max()
    H = model.components_
    objective = (lambda W: 0.5 * np.sum((X - W @ H) ** 2)) if loss == "frobenius" else (
        lambda W: np.sum(X * np.log(np.maximum(X, 1e-300) / (W @ H)) - X + W @ H))
    assert objective(W2) == pytest.approx(objective(W), rel=1e-4)


def test_n_init_keeps_the_best():
    X = low_rank(50, 40, 6, noise=0.3)
    single = NMF(6, init="random", random_state=3, max_iter=30, tol=0).fit(X)
    multi = NMF(6, init="random", random_state=3, max_iter=30, tol=0, n_init=4).fit(X)
    assert multi.reconstruction_err_ <= single.reconstruction_err_ * (1 + 1e-12)


def test_nmf_function_and_history():
    X = low_rank(30, 20, 3)
    W, H, info = nmf(X, 3, max_iter=500, random_state=0)
    assert W.shape == (30, 3) and H.shape == (3, 20)
    assert info["model"].n_components_ == 3
    assert info["loss_history_iter"][0] == 0
    assert len(info["loss_history"]) == len(info["loss_history_iter"])
    assert np.all(np.diff(info["loss_history"]) <= 1e-12 * info["loss_history"][0])
    assert info["reconstruction_err"] == pytest.approx(np.linalg.norm(X - W @ H), rel=1e-8)


def test_pipeline_clone_params_and_pickle():
    X = low_rank(40, 12, 3)
    pipe = make_pipeline(MinMaxScaler(), NMF(3, max_iter=500, random_state=0))
    Z = pipe.fit_transform(X)
    assert Z.shape == (40, 3)
    model = pipe[-1]
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "components_")
    model.set_params(max_iter=10)
    assert model.max_iter == 10
    back = pickle.loads(pickle.dumps(model))
    assert np.array_equal(back.components_, model.components_)
    Xr = model.inverse_transform(Z)
    assert Xr.shape == X.shape


def test_attributes_mirror_sklearn():
    X = low_rank(30, 20, 3)
    ours = NMF(3, random_state=0, max_iter=500).fit(X)
    theirs = SkNMF(3, random_state=0, max_iter=500, solver="mu").fit(X)
    for name in ["components_", "n_components_", "reconstruction_err_", "n_iter_",
                 "n_features_in_"]:
        assert hasattr(ours, name) and hasattr(theirs, name)
    assert ours.n_components_ == theirs.n_components_
    assert ours.reconstruction_err_ <= theirs.reconstruction_err_ * 1.05


def test_default_n_components_and_auto():
    X = low_rank(20, 6, 2)
    assert NMF(max_iter=50).fit(X).n_components_ == 6
    W0, H0 = start(X, 4)
    model = NMF("auto", init="custom", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, W=W0, H=H0)
    assert model.n_components_ == 4


@pytest.mark.parametrize("layout", ["C", "F", "csr", "nan"])
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 1.5])
def test_an_all_zero_row_gets_a_zero_row_of_W(layout, loss):
    """W = 0 is the exact minimizer for a row of zeros (for every beta > 0); the floor must
    not leave eps there, which a normalized row (a topic mixture) reads as uniform."""
    rng = np.random.default_rng(0)
    V = rng.random((30, 12)) + 0.1
    V[[4, 17]] = 0.0
    if layout == "nan":  # observed zeros and one missing entry: still a zero row
        V[4, 3] = np.nan
        V[9] = np.nan  # no observed entry at all: left to the solver
    X = {"C": V, "F": np.asfortranarray(V), "csr": sp.csr_matrix(V), "nan": V}[layout]
    model = NMF(3, beta_loss=loss, solver="mu", max_iter=50, random_state=0)
    for W in (model.fit_transform(X), model.transform(X)):
        assert np.all(W[[4, 17]] == 0)
        others = np.delete(W, [4, 17], axis=0)
        assert np.all(others.sum(axis=1) > 0)


@pytest.mark.parametrize("W, H, words", [
    (None, 3.0, "H must be a 2-D array"),
    (None, np.ones(12), r"H must be a 2-D array .* shape \(12,\)"),
    (np.ones(30), None, "W must be a 2-D array"),
    (-np.ones((30, 2)), np.ones((2, 12)), "nonnegative W"),
    (np.ones((30, 2)), np.full((2, 12), np.nan), "H contains NaN; a starting factor"),
])
def test_bad_custom_starts_are_named(W, H, words):
    X = np.random.default_rng(0).random((30, 12))
    with pytest.raises(ValueError, match=words):
        NMF("auto" if W is None or H is None else 2, init="custom").fit(X, W=W, H=H)
