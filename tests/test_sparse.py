"""Sparse NMF (solvers/sparse.py): Hoyer's sparseness measure against its formula, Hoyer's
projection against a brute-force and a scipy.optimize nearest point, and the fits with
sparseness_W / sparseness_H: the target reached, the objective never increasing, dense ==
CSR, float32 ~= float64, 1 thread == 2 threads, inputs never modified."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF
from nmfkit.core.matrix import Matrix
from nmfkit.core.penalty import Penalty
from nmfkit.solvers.polish import solve_w
from nmfkit.solvers.sparse import (
    hoyer_projection,
    hoyer_sparseness,
    project_columns,
    run_sparse,
    solve_sparse_w,
)

from _data import low_rank, sparse_data


def reference_sparseness(x):
    """Hoyer's formula for one vector, written out."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    n = x.size
    return (np.sqrt(n) - x.sum() / np.sqrt((x ** 2).sum())) / (np.sqrt(n) - 1)


def l1_for(l2, n, target):
    """The l1 norm of a vector of n entries, l2 norm l2, at sparseness target."""
    return l2 * (np.sqrt(n) - (np.sqrt(n) - 1) * target)


def frobenius(X, W, H):
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return 0.5 * float(((X.astype(np.float64) - W.astype(np.float64) @ H) ** 2).sum())


# -- the measure ----------------------------------------------------------------------------
def test_sparseness_follows_the_formula_and_its_known_values():
    rng = np.random.RandomState(0)
    X = rng.rand(7, 5)
    np.testing.assert_allclose(hoyer_sparseness(X), [reference_sparseness(c) for c in X.T],
                               rtol=1e-14)
    np.testing.assert_allclose(hoyer_sparseness(X, axis=1),
                               [reference_sparseness(r) for r in X], rtol=1e-14)
    assert hoyer_sparseness(np.full((9, 1), 3.0))[0] == pytest.approx(0.0, abs=1e-15)
    assert hoyer_sparseness(np.eye(6)).tolist() == [1.0] * 6          # one-hot
    assert hoyer_sparseness(np.zeros((4, 2))).tolist() == [1.0, 1.0]  # by convention
    assert hoyer_sparseness(np.array([[2.0, 5.0]])).tolist() == [1.0, 1.0]  # length 1
    assert hoyer_sparseness(np.float32([[1, 2], [3, 0]])).dtype == np.float64
    with pytest.raises(ValueError, match="2-D"):
        hoyer_sparseness(np.ones(3))
    with pytest.raises(ValueError, match="axis"):
        hoyer_sparseness(np.ones((3, 2)), axis=2)


# -- the projection -------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 10, 200])
@pytest.mark.parametrize("target", [0.0, 0.3, 0.75, 1.0])
def test_projection_has_the_targets_norms_and_is_nonnegative(n, target):
    rng = np.random.RandomState(n)
    for x in (rng.randn(n), rng.rand(n), rng.rand(n) ** 8, -rng.rand(n)):
        x0 = x.copy()
        s = hoyer_projection(x, target)
        np.testing.assert_array_equal(x, x0)  # not modified
        l2 = np.linalg.norm(x)
        assert np.all(s >= 0)
        assert np.linalg.norm(s) == pytest.approx(l2, rel=1e-12)
        assert s.sum() == pytest.approx(l1_for(l2, n, target), rel=1e-12)
        assert reference_sparseness(s) == pytest.approx(target, abs=1e-12)


def test_projection_at_the_extremes_and_of_special_vectors():
    x = np.array([0.3, 2.0, 0.1, 1.0])
    l2 = np.linalg.norm(x)
    np.testing.assert_allclose(hoyer_projection(x, 1.0), [0, l2, 0, 0], atol=1e-15)
    np.testing.assert_allclose(hoyer_projection(x, 0.0), np.full(4, l2 / 2), rtol=1e-15)
    assert hoyer_projection(np.zeros(5), 0.6).tolist() == [0.0] * 5
    # a constant vector: every feasible vector is nearest; one is returned, always the same
    c = hoyer_projection(np.full(50, 0.2), 0.7)
    assert np.all(c >= 0) and reference_sparseness(c) == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_array_equal(c, hoyer_projection(np.full(50, 0.2), 0.7))
    # a tie at the top and target 1: one of the tied entries takes all
    t = hoyer_projection(np.array([1.0, 3.0, 3.0, 0.5]), 1.0)
    assert np.count_nonzero(t) == 1 and t.max() == pytest.approx(np.sqrt(19.25), rel=1e-15)


def test_projection_of_a_matrix_is_column_by_column_in_its_dtype():
    rng = np.random.RandomState(3)
    X = rng.randn(30, 6)
    P = hoyer_projection(X, 0.6)
    for j in range(6):
        np.testing.assert_allclose(P[:, j], hoyer_projection(X[:, j], 0.6), rtol=1e-14,
                                   atol=1e-15)
    assert hoyer_projection(X.astype(np.float32), 0.6).dtype == np.float32
    assert hoyer_projection(np.arange(4), 0.6).dtype == np.float64
    with pytest.raises(ValueError, match="target"):
        hoyer_projection(X, 1.5)
    with pytest.raises(ValueError, match="vector"):
        hoyer_projection(np.ones((2, 2, 2)), 0.5)
    with pytest.raises(ValueError, match="finite"):
        hoyer_projection(np.array([1.0, np.nan]), 0.5)


def circle_brute_force(x, l1, l2, points=200_001):
    """The nearest point to x (3 entries) of {s >= 0, sum s = l1, ||s|| = l2}: that set is
    the part in the orthant of a circle of the plane sum = l1; walk the circle finely."""
    centre = np.full(3, l1 / 3)
    radius = np.sqrt(l2 ** 2 - l1 ** 2 / 3)
    u = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    v = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    theta = np.linspace(0, 2 * np.pi, points)
    S = centre + radius * (np.cos(theta)[:, None] * u + np.sin(theta)[:, None] * v)
    S = S[np.all(S >= -1e-12, axis=1)]
    return np.min(np.linalg.norm(S - x, axis=1))


def optimize_nearest(x, l1, l2, starts=12, seed=0):
    """The nearest feasible point by scipy's SLSQP from several starts (the set is not
    convex): the least distance found."""
    rng = np.random.RandomState(seed)
    cons = [{"type": "eq", "fun": lambda s: s.sum() - l1},
            {"type": "eq", "fun": lambda s: s @ s - l2 ** 2}]
    best = np.inf
    for _ in range(starts):
        s0 = rng.rand(x.size)  # somewhere in the orthant
        res = minimize(lambda s: (s - x) @ (s - x), s0, jac=lambda s: 2 * (s - x),
                       constraints=cons, bounds=[(0, None)] * x.size, method="SLSQP",
                       options={"ftol": 1e-14, "maxiter": 500})
        s = res.x
        if (res.success and abs(s.sum() - l1) < 1e-8 and abs(s @ s - l2 ** 2) < 1e-8
                and s.min() > -1e-9):
            best = min(best, np.linalg.norm(s - x))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_projection_is_the_nearest_feasible_point(seed):
    rng = np.random.RandomState(seed)
    for n, target in ((3, 0.2), (3, 0.6), (4, 0.4), (4, 0.8)):
        x = rng.randn(n) + 0.3
        s = hoyer_projection(x, target)
        l2 = np.linalg.norm(x)
        l1 = l1_for(l2, n, target)
        ours = np.linalg.norm(s - x)
        if n == 3:
            assert ours <= circle_brute_force(x, l1, l2) + 1e-7
        other = optimize_nearest(x, l1, l2)
        assert np.isfinite(other) and ours <= other + 1e-7


def test_projection_onto_unit_columns():
    rng = np.random.RandomState(5)
    X = rng.rand(40, 3) * [1e-3, 1.0, 1e3]
    P = project_columns(X, 0.5, 1.0)
    np.testing.assert_allclose(np.linalg.norm(P, axis=0), 1.0, rtol=1e-13)
    # the unit-norm projection is the direction of the projection at any norm
    np.testing.assert_allclose(P, hoyer_projection(X, 0.5) / np.linalg.norm(X, axis=0),
                               rtol=1e-12, atol=1e-15)


# -- the fits -------------------------------------------------------------------------------
def test_swimmer_components_reach_the_target():
    V, _ = nmfkit.swimmer()
    model = NMF(17, sparseness_H=0.8, random_state=0, max_iter=100)
    W = model.fit_transform(V)
    H = model.components_
    np.testing.assert_allclose(hoyer_sparseness(H, axis=1), 0.8, atol=1e-6)
    assert model.sparseness_["H"] == pytest.approx(0.8, abs=1e-6)
    assert model.sparseness_["W"] == pytest.approx(hoyer_sparseness(W).mean(), rel=1e-12)
    assert (W >= 0).all() and (H >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(H, axis=1), 1.0, rtol=1e-10)  # unit rows
    hist = model.loss_history_
    assert np.all(np.diff(hist) <= 1e-12 * hist[0])
    # the factorization explains the data (the parts are sparser than 0.8, so not exactly)
    assert model.reconstruction_err_ < 0.2 * np.linalg.norm(V)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * frobenius(V, W, H)),
                                                      rel=1e-9)


DATA = {"dense": lambda: low_rank(80, 60, 4, seed=2),
        "csr": lambda: sparse_data(80, 60, 0.3, seed=2),
        "fortran": lambda: np.asfortranarray(low_rank(80, 60, 4, seed=2))}


@pytest.mark.parametrize("data", sorted(DATA))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("factor", ["W", "H"])
def test_fit_reaches_the_target_and_never_increases_the_objective(data, dtype, factor):
    X = DATA[data]().astype(dtype)
    X0 = X.copy()
    model = NMF(4, random_state=0, max_iter=150, tol=0, check_every=1,
                **{f"sparseness_{factor}": 0.6})
    W = model.fit_transform(X)
    H = model.components_
    assert W.dtype == dtype and H.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-12
    if factor == "W":
        np.testing.assert_allclose(hoyer_sparseness(W), 0.6, atol=tol)
    else:
        np.testing.assert_allclose(hoyer_sparseness(H, axis=1), 0.6, atol=tol)
    assert model.sparseness_[factor] == pytest.approx(0.6, abs=tol)
    assert np.all(np.isfinite(W)) and (W >= 0).all() and (H >= 0).all()
    hist = model.loss_history_
    assert len(hist) == 151
    slack = 1e-6 if dtype == np.float32 else 1e-12
    assert np.all(np.diff(hist) <= slack * hist[0])
    assert hist[-1] < 0.9 * hist[0]
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * frobenius(X, W, H)),
                                                      rel=1e-3 if dtype == np.float32
                                                      else 1e-9)
    if sp.issparse(X):
        assert (X != X0).nnz == 0
    else:
        np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("factor", ["W", "H"])
def test_dense_and_csr_agree_and_float32_near_float64(factor):
    X = sparse_data(70, 50, 0.4, seed=4)
    kw = dict(n_components=3, random_state=0, max_iter=120, tol=0, init="nndsvda",
              **{f"sparseness_{factor}": 0.5})
    a, b, c = NMF(**kw), NMF(**kw), NMF(**kw)
    a.fit(X)
    b.fit(X.toarray())
    c.fit(X.toarray().astype(np.float32))
    # dense and CSR repeat their cheap steps a different number of times per product
    # (the repeats follow the cost of the product): the same start, close ends
    assert a.loss_history_[0] == pytest.approx(b.loss_history_[0], rel=1e-12)
    assert a.reconstruction_err_ == pytest.approx(b.reconstruction_err_, rel=1e-3)
    # float32 takes the same path as float64 to its precision
    np.testing.assert_allclose(c.loss_history_, b.loss_history_, rtol=1e-3)
    np.testing.assert_allclose(c.components_, b.components_, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("factor", ["W", "H"])
@pytest.mark.parametrize("data", ["dense", "csr"])
def test_same_bits_on_one_and_two_threads(factor, data):
    X = low_rank(400, 300, 6, seed=1) if data == "dense" else sparse_data(400, 300, 0.4)
    kw = dict(n_components=6, random_state=0, max_iter=30, **{f"sparseness_{factor}": 0.7})
    runs = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            model = NMF(**kw)
            W = model.fit_transform(X)
            runs.append((W, model.components_, model.loss_history_, model.transform(X)))
    for one, two in zip(*runs):
        np.testing.assert_array_equal(one, two)


def sparse_parts(m, n, k, seed):
    """Data made of sparse parts: a W and an H with many zeros (well-conditioned factors),
    plus a little noise."""
    rng = np.random.RandomState(seed)
    W = rng.rand(m, k) * (rng.rand(m, k) < 0.5)
    H = rng.rand(k, n) * (rng.rand(k, n) < 0.4)
    return W @ H + 0.01 * rng.rand(m, n)


def test_transform_gives_w_at_the_target():
    X = sparse_parts(90, 70, 5, seed=6)
    Y = sparse_parts(30, 70, 5, seed=7)
    model = NMF(5, sparseness_W=0.5, random_state=0, max_iter=100).fit(X)
    Y0 = Y.copy()
    WY = model.transform(Y)
    np.testing.assert_array_equal(Y, Y0)
    np.testing.assert_allclose(hoyer_sparseness(WY), 0.5, atol=1e-12)
    WX = model.transform(X)
    np.testing.assert_allclose(hoyer_sparseness(WX), 0.5, atol=1e-12)
    # the fit ends with the same solve from its own W: the same W (the solve starts from
    # the unique unconstrained W for H)
    H = model.components_
    assert frobenius(X, WX, H) == pytest.approx(model.reconstruction_err_ ** 2 / 2, rel=1e-9)
    np.testing.assert_allclose(WX, model.fit_transform(X), rtol=1e-6, atol=1e-9 * WX.max())
    # a W with sparseness_H is the plain one (no constraint on W)
    plain = NMF(5, sparseness_H=0.5, random_state=0, max_iter=100).fit(X)
    assert hoyer_sparseness(plain.transform(X)).std() > 1e-3


def test_custom_start_is_not_modified():
    X = low_rank(40, 30, 3, seed=8)
    rng = np.random.RandomState(0)
    W0, H0 = rng.rand(40, 3), rng.rand(3, 30)
    W0c, H0c = W0.copy(), H0.copy()
    NMF(3, init="custom", sparseness_H=0.4, max_iter=20, tol=0).fit(X, W=W0, H=H0)
    NMF(3, init="custom", sparseness_W=0.4, max_iter=20, tol=0).fit(X, W=W0, H=H0)
    np.testing.assert_array_equal(W0, W0c)
    np.testing.assert_array_equal(H0, H0c)


@pytest.mark.parametrize("params, words", [
    (dict(beta_loss="kullback-leibler"), "Frobenius loss only"),
    (dict(solver="mu"), "own solver"),
    (dict(solver="hals"), "own solver")])
def test_what_sparse_nmf_cannot_do_raises(params, words):
    X = low_rank(20, 15, 2)
    for factor in ("W", "H"):
        with pytest.raises(ValueError, match=words):
            NMF(2, **{f"sparseness_{factor}": 0.5}, **params).fit(X)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        NMF(2, sparseness_H=0.5).fit(Xn)


def test_penalties_on_the_free_factor_only():
    X = low_rank(50, 40, 3, seed=9)
    with pytest.raises(ValueError, match="alpha"):
        NMF(3, sparseness_H=0.5, alpha_W=0.01).fit(X)  # alpha_H='same' penalizes H
    with pytest.raises(ValueError, match="alpha"):
        NMF(3, sparseness_W=0.5, alpha_W=0.01, alpha_H=0.0).fit(X)
    for kw in (dict(sparseness_H=0.5, alpha_W=0.01, alpha_H=0.0, l1_ratio=0.5),
               dict(sparseness_W=0.5, alpha_W=0.0, alpha_H=0.01, l1_ratio=0.5)):
        plain = NMF(3, random_state=0, max_iter=80, tol=0,
                    **{k: v for k, v in kw.items() if k.startswith("sparse")}).fit(X)
        model = NMF(3, random_state=0, max_iter=80, tol=0, check_every=1, **kw).fit(X)
        hist = model.loss_history_
        assert np.all(np.diff(hist) <= 1e-12 * hist[0])
        assert hist[-1] > plain.loss_history_[-1]  # the penalty is in the objective


def test_run_and_solve_directly():
    """run_sparse: the start's constrained columns projected first (their norms moved to the
    other factor), the callback at the checks, the free factor at least the floor, a
    monotone history; solve_sparse_w: W at the target, better than the given W projected."""
    X = low_rank(60, 40, 3, seed=10)
    M = Matrix(X)
    rng = np.random.RandomState(1)
    W, Ht = rng.rand(60, 3), rng.rand(40, 3)
    floor = 1e-9
    # the start: Ht's columns projected to unit norm, their norms moved to W's columns
    start = frobenius(X, W * np.linalg.norm(Ht, axis=0), project_columns(Ht, 0.4, 1.0).T)
    calls = []
    res = run_sparse(M, W, Ht, side="h", target=0.4, max_iter=40, tol=0, penalty=Penalty(),
                     floor=floor, check_every=4, callback=lambda it, obj: calls.append(it))
    assert res.n_iter == 40 and res.W is W and res.Ht is Ht
    assert calls == res.history_iters == list(range(0, 41, 4))
    assert res.history[0] == pytest.approx(start, rel=1e-10)
    np.testing.assert_allclose(hoyer_sparseness(Ht), 0.4, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(Ht, axis=0), 1.0, rtol=1e-12)
    assert W.min() >= floor
    assert np.all(np.diff(res.history) <= 1e-12 * res.history[0])
    assert res.history[-1] == pytest.approx(frobenius(X, W, Ht.T), rel=1e-9)
    W2 = rng.rand(60, 3)
    start = project_columns(W2, 0.3)
    before = frobenius(X, start, Ht.T)
    steps = solve_sparse_w(M, W2, Ht, target=0.3, beta=2.0, penalty=Penalty(), floor=floor,
                           max_iter=500)
    assert 1 <= steps <= 500
    np.testing.assert_allclose(hoyer_sparseness(W2), 0.3, atol=1e-12)
    assert frobenius(X, W2, Ht.T) < before
    with pytest.raises(ValueError, match="Frobenius"):
        solve_sparse_w(M, W2, Ht, target=0.3, beta=1.0, penalty=Penalty(), floor=floor,
                       max_iter=5)


def test_w_solve_with_a_penalty_never_increases_its_objective():
    """solve_sparse_w with W's l1 and l2 penalty (non_negative_factorization with
    update_H=False reaches it): the objective after j steps, penalty included, never above
    the one after j - 1 (each solve starts from the unconstrained W, solved already, so its
    first phase stops at once and every solve takes the same path)."""
    X = sparse_parts(50, 40, 3, seed=11)
    M = Matrix(X)
    Ht = np.ascontiguousarray(np.random.RandomState(2).rand(40, 3))
    penalty = Penalty(l1={"w": 0.3, "h": 0.0}, l2={"w": 2.0, "h": 0.0})
    W0 = np.full((50, 3), 0.5)
    solve_w(M, W0, Ht, beta=2.0, penalty=penalty, floor=0.0, max_iter=10_000)
    values = []
    for steps in range(1, 30):
        W = W0.copy()
        solve_sparse_w(M, W, Ht, target=0.4, beta=2.0, penalty=penalty, floor=0.0,
                       max_iter=steps)
        np.testing.assert_allclose(hoyer_sparseness(W), 0.4, atol=1e-12)
        values.append(frobenius(X, W, Ht.T) + penalty.value({"w": W}))
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert values[-1] < values[0]
