"""KL coordinate descent (solver 'cd' for beta_loss='kullback-leibler'): kernels/cd.pyx and
solvers/kl_cd.py."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nmfkit import NMF, ConvergenceWarning, rank_survey
from nmfkit.core.matrix import Matrix
from nmfkit.core.penalty import Penalty
from nmfkit.core.spec import FitSpec
from nmfkit.solvers.kl_cd import run_kl_cd, solve_w_cd

KL = "kullback-leibler"


def counts(m=40, n=30, k=4, seed=0):
    """Poisson counts of a rank-k mean, with an all-zero row and column."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(3.0 * rng.random((m, k)) @ rng.random((k, n))).astype(np.float64)
    X[3] = 0
    X[:, 5] = 0
    return X


def readonly(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


def reference_pass(X, A, B, l1, l2, floor, tiny, max_inner, inner_rtol, skip=True):
    """One pass over the rows of A for X ~= A B^T, written from the formulas (float64);
    skip=False: without the rule that skips a coordinate at the floor (for checking that a
    case exercises it)."""
    A = A.copy()
    S = B.sum(axis=0)
    for i in range(A.shape[0]):
        T_start = (X[i] / np.maximum(A[i] @ B.T, tiny)) @ B  # every coordinate's T
        for r in range(A.shape[1]):
            w = A[i, r]
            if skip and w <= floor and S[r] + l1 + l2 * w > T_start[r]:
                continue  # at the floor, sloping up at the row's start: skipped
            for _ in range(max_inner):
                wh = np.maximum(A[i] @ B.T, tiny)
                T = np.sum(X[i] * B[:, r] / wh)
                g = S[r] + l1 + l2 * w - T
                h = np.sum(X[i] * B[:, r] ** 2 / wh ** 2) + l2
                if h <= 0:
                    new = floor
                elif g <= 0:
                    new = max(w - g / h, floor)
                elif w <= floor:
                    new = floor
                elif w - g / h < floor and S[r] + l1 + l2 * floor >= np.sum(
                        X[i] * B[:, r] / np.maximum(wh + (floor - w) * B[:, r], tiny)):
                    A[i, r] = floor  # Newton overshoots the floor, where the slope is >= 0:
                    break  # the floor is the minimizer
                else:  # Newton, or the majorizer's minimizer if it is nearer w
                    c = S[r] + l1
                    majorizer = 2 * T * w / (c + np.sqrt(c * c + 4 * l2 * T * w))
                    new = max(w - g / h, majorizer, floor)
                change, w = new - w, new
                A[i, r] = w
                if abs(change) <= inner_rtol * w:
                    break
    return A


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("h_side", [False, True])
@pytest.mark.parametrize("l1, l2, floor", [(0.0, 0.0, 0.0), (0.3, 0.7, 1e-3)])
def test_one_pass_matches_the_reference(kind, h_side, l1, l2, floor):
    X = counts(23, 17, 3)
    rng = np.random.default_rng(1)
    W, Ht = rng.random((23, 3)) + 0.05, rng.random((17, 3)) + 0.05
    # a third of each factor at the floor: some coordinates there slope up at the start of
    # their row (skipped), some down (they move)
    W[rng.random(W.shape) < 0.33] = floor
    Ht[rng.random(Ht.shape) < 0.33] = floor
    M = Matrix(sp.csr_matrix(X) if kind == "csr" else X)
    A_ref = (reference_pass(X.T, Ht, W, l1, l2, floor, M.tiny, 3, 1e-2) if h_side
             else reference_pass(X, W, Ht, l1, l2, floor, M.tiny, 3, 1e-2))
    if h_side:
        W = readonly(W)
    else:
        Ht = readonly(Ht)
    delta = M.kl_cd(W, Ht, h_side, l1, l2, floor, 3, 1e-2, 2)
    A = Ht if h_side else W
    np.testing.assert_allclose(A, A_ref, rtol=1e-12, atol=1e-14)
    assert delta > 0


@pytest.mark.parametrize("k", [4, 7, 9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_rows_start_in_vectors_and_in_lanes_left_over(k, dtype):
    """A CSR row's start (its products and sums T, _cd_start.h) in vectors of 4 coordinates
    and a scalar tail: one pass matches the reference, and int64 indices give the bits of
    int32 ones."""
    from nmfkit.kernels import cd
    X = counts(31, 19, k, seed=k)
    rng = np.random.default_rng(k)
    W, Ht = rng.random((31, k)) + 0.05, rng.random((19, k)) + 0.05
    W[rng.random(W.shape) < 0.33] = 0.0
    M = Matrix(sp.csr_matrix(X))
    A_ref = reference_pass(X, W, Ht, 0.0, 0.0, 0.0, M.tiny, 3, 1e-2)
    csr = sp.csr_matrix(X.astype(dtype))
    results = []
    for index in (np.int32, np.int64):
        A = W.astype(dtype)
        colsum = Ht.astype(dtype).sum(axis=0, dtype=np.float64)
        cd.kl_cd_csr(csr.indptr.astype(index), csr.indices.astype(index), csr.data, A,
                     Ht.astype(dtype), colsum, 0.0, 0.0, 0.0, M.tiny, 3, 1e-2, 2)
        results.append(A)
    np.testing.assert_array_equal(results[0], results[1])
    if dtype == np.float64:
        np.testing.assert_allclose(results[0], A_ref, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(results[0], A_ref, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("h_side", [False, True])
def test_a_coordinate_at_the_floor_is_skipped_by_its_slope_at_the_start(kind, h_side):
    # The first two coordinates start 5x too large and shrink during the pass, which lowers
    # the products and steepens the third coordinate's descent: some rows' third coordinate
    # slopes up at the start of the row (skipped) but down by the time it is visited.
    X = counts(23, 17, 3)
    rng = np.random.default_rng(1)
    W, Ht = rng.random((23, 3)) + 0.05, rng.random((17, 3)) + 0.05
    A, B, Xa = (Ht, W, X.T) if h_side else (W, Ht, X)
    A[:, :2] *= 5.0
    A[:, 2] = floor = 1e-3
    M = Matrix(sp.csr_matrix(X) if kind == "csr" else X)
    A_ref = reference_pass(Xa, A, B, 0.0, 0.0, floor, M.tiny, 3, 1e-2)
    without = reference_pass(Xa, A, B, 0.0, 0.0, floor, M.tiny, 3, 1e-2, skip=False)
    assert np.abs(A_ref - without).max() > 1e-3  # the case exercises the rule
    M.kl_cd(W, Ht, h_side, 0.0, 0.0, floor, 3, 1e-2, 2)
    np.testing.assert_allclose(A, A_ref, rtol=1e-12, atol=1e-14)


def fit(X, **params):
    params = dict(n_components=4, beta_loss=KL, solver="cd", init="nndsvda", max_iter=30,
                  tol=0, check_every=1, random_state=0) | params
    model = NMF(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    return model, W


def test_dense_equals_csr_and_fortran():
    X = counts()
    (md, Wd), (ms, Ws) = fit(X), fit(sp.csr_matrix(X))
    mf, Wf = fit(np.asfortranarray(X))
    for m, W in ((ms, Ws), (mf, Wf)):
        np.testing.assert_allclose(W, Wd, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.components_, md.components_, rtol=1e-9, atol=1e-12)


def test_float32_close_to_float64():
    X = counts()
    m64, W64 = fit(X)
    m32, W32 = fit(X.astype(np.float32))
    assert W32.dtype == np.float32
    np.testing.assert_allclose(W32 @ m32.components_, W64 @ m64.components_, rtol=2e-3,
                               atol=1e-3)
    assert m32.reconstruction_err_ == pytest.approx(m64.reconstruction_err_, rel=1e-4)


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("params", [{}, {"alpha_W": 0.05, "alpha_H": 0.02, "l1_ratio": 0.4},
                                    {"alpha_W": 0.1, "l1_ratio": 0.0, "floor": 0.01},
                                    {"floor": 0.0, "init": "nndsvd"}])
def test_history_never_increases(kind, params):
    X = counts(50, 35, 5, seed=2)
    model, _ = fit(sp.csr_matrix(X) if kind == "csr" else X, max_iter=40, **params)
    h = np.asarray(model.loss_history_)
    assert len(h) == 41
    assert np.all(np.diff(h) <= 1e-12 * h[0])
    floor = params.get("floor", 0.0)
    assert model.components_.min() >= floor * (1 - 1e-12)


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_same_bits_on_one_and_two_threads(kind):
    X = counts(300, 200, 6, seed=3)
    X = sp.csr_matrix(X) if kind == "csr" else X
    results = []
    for n in (1, 2):
        with threadpool_limits(n, user_api="openmp"):
            model, W = fit(X, n_components=8, max_iter=5, tol=1e-4)  # + the CD W solve
            results.append((W, model.components_, model.transform(X)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_zero_rows_and_columns():
    X = counts()
    for data in (X, sp.csr_matrix(X)):
        model, W = fit(data, tol=1e-4, max_iter=200)
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(model.components_))
        assert np.all(W[3] == 0)  # the exact W of an all-zero row
        assert np.all(model.components_[:, 5] <= 1e-6 * model.components_.max())


def test_estimator_fits_and_transforms_with_cd():
    X = counts(60, 40, 4, seed=4)
    model = NMF(4, beta_loss=KL, solver="cd", random_state=0, max_iter=500)
    W = model.fit_transform(X)
    assert model.n_iter_ < 500  # converged
    W2 = model.transform(X)  # the same convex problem in W, by coordinate descent too
    Ht = np.ascontiguousarray(model.components_.T)
    M = Matrix(X)
    assert np.abs(W2 - W).max() <= 1e-3 * W.max()
    assert M.divergence(W2, Ht, 1.0, 1) == pytest.approx(M.divergence(W, Ht, 1.0, 1),
                                                         rel=1e-7)
    assert model.reconstruction_err_ == pytest.approx(
        np.sqrt(2 * M.divergence(W, Ht, 1.0, 1)), rel=1e-9)


def test_lower_objective_than_mu_in_as_many_iterations():
    X = counts(80, 60, 6, seed=5)
    cd, _ = fit(X, n_components=6, max_iter=20)
    mu, _ = fit(X, n_components=6, max_iter=20, solver="mu")
    assert cd.loss_history_[-1] < mu.loss_history_[-1]


def test_solver_choice():
    assert FitSpec.from_params({"beta_loss": KL, "solver": "cd"}).solver == "cd"
    assert FitSpec.from_params({"solver": "cd"}).solver == "hals"
    assert FitSpec.from_params({"beta_loss": KL, "solver": "mu"}).solver == "mu"
    assert FitSpec.from_params({"beta_loss": 1.5}).solver == "mu"
    # 'auto' with KL: 'mu' for dense data, 'cd' for sparse; the fronts that run only
    # multiplicative updates keep them under 'auto' for sparse data too
    auto = FitSpec.from_params({"beta_loss": KL})
    dense, csr = Matrix(counts()), Matrix(sp.csr_matrix(counts()))
    assert auto.for_data(dense).solver == "mu" and auto.for_data(csr).solver == "cd"
    assert auto.multiplicative_kl().for_data(csr).solver == "mu"
    assert FitSpec.from_params({"beta_loss": KL, "solver": "mu"}).for_data(csr).solver == "mu"
    assert FitSpec.from_params({"beta_loss": KL, "solver": "cd"}).multiplicative_kl() \
        .for_data(csr).solver == "cd"
    assert FitSpec.from_params({"beta_loss": 1.5}).for_data(csr).solver == "mu"
    with pytest.raises(ValueError, match="Frobenius and Kullback-Leibler"):
        FitSpec.from_params({"beta_loss": 1.5, "solver": "cd"})
    X = counts()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        FitSpec.from_params({"beta_loss": KL, "solver": "cd"}).for_data(Matrix(X))
    assert FitSpec.from_params({"beta_loss": KL}).for_data(Matrix(X)).solver == "mu"


@pytest.mark.parametrize("kind,chosen", [("dense", "mu"), ("csr", "cd")])
def test_auto_runs_the_chosen_kl_solver(kind, chosen):
    X = counts() if kind == "dense" else sp.csr_matrix(counts())
    _, W_auto = fit(X, solver="auto")
    _, W_chosen = fit(X, solver=chosen)
    np.testing.assert_array_equal(W_auto, W_chosen)
    other = "cd" if chosen == "mu" else "mu"
    assert not np.array_equal(W_auto, fit(X, solver=other)[1])


def test_survey_and_stream_keep_mu_under_auto():
    X = sp.csr_matrix(counts(30, 20, 3, seed=6) + 1.0)  # sparse: 'auto' alone would run 'cd'
    kw = dict(n_runs=2, beta_loss=KL, random_state=0, max_iter=20, stability=False)
    assert rank_survey(X, [2], **kw).table() == rank_survey(X, [2], solver="mu", **kw).table()
    auto = NMF(3, beta_loss=KL, random_state=0).partial_fit(X)
    mu = NMF(3, beta_loss=KL, solver="mu", random_state=0).partial_fit(X)
    np.testing.assert_array_equal(auto.components_, mu.components_)


def test_w_solve_and_run_directly():
    X = counts()
    M = Matrix(X)
    rng = np.random.default_rng(7)
    W, Ht = rng.random((40, 4)), rng.random((30, 4))
    penalty = Penalty(l1={"w": 0.0, "h": 0.0}, l2={"w": 0.0, "h": 0.0})
    Hfixed = Ht.copy()
    res = run_kl_cd(M, W, Ht, penalty=penalty, floor=0.0, max_iter=7, tol=0, check_every=3,
                    update_h=False)
    assert res.n_iter == 7 and res.history_iters == [0, 3, 6, 7]
    np.testing.assert_array_equal(Ht, Hfixed)
    Ht = np.ascontiguousarray(fit(X, max_iter=100)[0].components_.T)  # a fitted H
    passes = solve_w_cd(M, W, Ht, beta=1.0, penalty=penalty, floor=0.0, max_iter=500)
    assert passes < 500
    before = M.divergence(W, Ht, 1.0, 1)
    W2 = W.copy()
    M.kl_cd(W2, Ht, False, 0.0, 0.0, 0.0, 2, 1e-2, 1)
    assert M.divergence(W2, Ht, 1.0, 1) == pytest.approx(before, rel=1e-9)  # a minimizer
