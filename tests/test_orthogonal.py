"""Orthogonal NMF (solvers/orthogonal.py, NMF(orthogonal=...)): the EM-like algorithm of
Pompili et al. (2014) against a NumPy reference written from its formulas, exact
orthogonality, a monotone objective, agreement with k-means on separated clusters, the
same bits on any thread count, and the errors of what it cannot fit."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nmfkit import NMF
from nmfkit.core.matrix import Matrix
from nmfkit.core.penalty import Penalty
from nmfkit.solvers.orthogonal import run_orthogonal, solve_orthogonal_w


def planted(seed=0, per_cluster=30, n=40, k=3, noise=0.1):
    """k clusters of samples (rows), each a multiple of its own nonnegative profile (the
    profiles mostly on disjoint features), plus uniform noise; and the true labels."""
    rng = np.random.RandomState(seed)
    support = np.arange(n) % k == np.arange(k)[:, None]
    profiles = (1.0 + 4.0 * rng.rand(k, n)) * (support | (rng.rand(k, n) < 0.1))
    labels = np.repeat(np.arange(k), per_cluster)
    X = profiles[labels] * rng.uniform(0.7, 1.4, (k * per_cluster, 1))
    return X + noise * rng.rand(*X.shape), labels


def messy(seed=1, m=200, n=90):
    """Data without cluster structure: the assignment keeps changing for a while."""
    return np.random.RandomState(seed).rand(m, n) ** 3


def frobenius(X, W, H):
    X = X.toarray() if sp.issparse(X) else X
    return 0.5 * float(((X.astype(np.float64) - W.astype(np.float64) @ H) ** 2).sum())


FORMATS = {
    "dense": lambda X: X,
    "csr": sp.csr_matrix,
    "fortran": np.asfortranarray,
}


# -- the NumPy reference, from the formulas of the module docstring ----------------------
def ref_assign(V, G, l1, l2):
    P = V @ G
    norms = (G * G).sum(axis=0) + l2
    excess = np.maximum(P - l1, 0.0)
    score = np.zeros_like(P)
    score[:, norms > 0] = excess[:, norms > 0] ** 2 / norms[norms > 0]
    labels = np.argmax(score, axis=1)
    F = np.zeros_like(P)
    rows = np.arange(len(F))
    F[rows, labels] = np.where(norms[labels] > 0, excess[rows, labels], 0.0) / np.where(
        norms[labels] > 0, norms[labels], 1.0)
    return F


def ref_reseeded(V, G):
    """Without penalty or floor: while a component has no row, its column of G becomes
    the row of V worst fitted (if it is not fitted exactly), and the rows are reassigned."""
    G = G.copy()
    F = ref_assign(V, G, 0.0, 0.0)
    seeds = []
    for _ in range(G.shape[1]):
        empty = np.flatnonzero((F > 0).sum(axis=0) == 0)
        residual = ((V - F @ G.T) ** 2).sum(axis=1)
        if not len(empty) or residual.max() == 0:
            break
        seeds.append((empty[0], int(np.argmax(residual))))
        G[:, empty[0]] = V[seeds[-1][1]]
        F = ref_assign(V, G, 0.0, 0.0)
    return F, G, seeds


def ref_other(V, F, l1, l2, floor):
    return np.maximum((V.T @ F - l1) / ((F * F).sum(axis=0) + l2), floor)


def ref_objective(V, F, G, l1F, l2F, l1G, l2G):
    return (0.5 * ((V - F @ G.T) ** 2).sum() + l1F * F.sum() + 0.5 * l2F * (F * F).sum()
            + l1G * G.sum() + 0.5 * l2G * (G * G).sum())


@pytest.mark.parametrize("side", ["w", "h"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_one_em_iteration_matches_a_numpy_reference(side, fmt):
    rng = np.random.RandomState(3)
    X = rng.rand(30, 20) * (rng.rand(30, 20) < 0.7)
    k = 4
    W0, Ht0 = rng.rand(30, k), rng.rand(20, k)
    l1 = {"w": 0.05, "h": 0.02}
    l2 = {"w": 0.1, "h": 0.3}
    floor = 1e-3
    penalty = Penalty(l1=dict(l1), l2=dict(l2))
    other = "h" if side == "w" else "w"
    V = X if side == "w" else X.T  # the rows the orthogonal factor follows
    G0 = Ht0 if side == "w" else W0
    F1 = ref_assign(V, G0, l1[side], l2[side])  # the start made feasible
    assert len(set(np.flatnonzero(F1) % k)) == k  # no empty cluster: no reseeding
    G1 = ref_other(V, F1, l1[other], l2[other], floor)
    F2 = ref_assign(V, G1, l1[side], l2[side])
    obj = [ref_objective(V, F, G, l1[side], l2[side], l1[other], l2[other])
           for F, G in ((F1, G0), (F2, G1))]

    M = Matrix(sp.csr_matrix(X) if fmt == "csr" else X)
    W, Ht = W0.copy(), Ht0.copy()
    res = run_orthogonal(M, W, Ht, side=side, max_iter=1, tol=0.0, penalty=penalty,
                         floor=floor)
    F, G = (W, Ht) if side == "w" else (Ht, W)
    assert res.W is W and res.Ht is Ht and res.n_iter == 1 and res.history_iters == [0, 1]
    np.testing.assert_allclose(F, F2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(G, G1, rtol=1e-12)
    np.testing.assert_allclose(res.history, obj, rtol=1e-12)


@pytest.mark.parametrize("side", ["w", "h"])
def test_empty_clusters_are_reseeded_from_the_rows_with_the_largest_residual(side):
    X, _ = planted()
    V = X if side == "w" else X.T
    rng = np.random.RandomState(0)
    W0, Ht0 = rng.rand(X.shape[0], 3), rng.rand(X.shape[1], 3)
    G0 = Ht0 if side == "w" else W0
    G0[:, 1] = 0  # no row can choose component 1
    F_plain = ref_assign(V, G0, 0.0, 0.0)
    F_seeded, G_seeded, seeds = ref_reseeded(V, G0)
    assert seeds and seeds[0][0] == 1

    W, Ht = W0.copy(), Ht0.copy()
    res = run_orthogonal(Matrix(X), W, Ht, side=side, max_iter=0, tol=0.0,
                         penalty=Penalty(), floor=0.0)
    F_run, G_run = (W, Ht) if side == "w" else (Ht, W)
    np.testing.assert_array_equal(G_run, G_seeded)
    np.testing.assert_allclose(F_run, F_seeded, rtol=1e-12)
    assert ((F_run > 0).sum(axis=0) > 0).all()  # every component used
    # lower than the objective of the assignment without the reseeding
    assert res.history[0] < frobenius(V, F_plain, G0.T)
    assert res.history[0] == pytest.approx(frobenius(V, F_seeded, G_seeded.T), rel=1e-12)


@pytest.mark.parametrize("fmt", ["dense", "csr", "fortran"])
def test_solve_orthogonal_w_is_the_exact_assignment(fmt):
    rng = np.random.RandomState(5)
    X = rng.rand(25, 15)
    H = rng.rand(4, 15)
    M = Matrix(FORMATS[fmt](X))
    penalty = Penalty(l1={"w": 0.1, "h": 0.1}, l2={"w": 0.2, "h": 0.2})
    W0 = rng.rand(25, 4)
    Wi, Hti = M.to_internal(W0, H)
    sweeps = solve_orthogonal_w(M, Wi, Hti, beta=2.0, penalty=penalty, floor=1e-3,
                                max_iter=100)
    W = M.to_external(Wi, Hti)[0]
    assert sweeps == 1
    # brute force: every component, its best nonnegative multiple, the lowest objective
    for i in range(25):
        best = None
        for c in range(4):
            a = max(X[i] @ H[c] - 0.1, 0.0) / (H[c] @ H[c] + 0.2)
            cost = 0.5 * ((X[i] - a * H[c]) ** 2).sum() + 0.1 * a + 0.1 * a * a
            if best is None or cost < best[0]:
                best = (cost, c, a)
        expected = np.zeros(4)
        expected[best[1]] = best[2]
        np.testing.assert_allclose(W[i], expected, rtol=1e-12)


# -- through NMF(orthogonal=...) ----------------------------------------------------------
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_clusters_agree_with_kmeans_on_separated_clusters(fmt):
    cluster = pytest.importorskip("sklearn.cluster")
    metrics = pytest.importorskip("sklearn.metrics")
    X, truth = planted(seed=2)
    kmeans = cluster.KMeans(3, n_init=10, random_state=0).fit_predict(X)
    assert metrics.adjusted_rand_score(truth, kmeans) == 1.0  # the data is as meant
    W = NMF(3, orthogonal="W", random_state=0).fit_transform(FORMATS[fmt](X))
    assert metrics.adjusted_rand_score(kmeans, W.argmax(axis=1)) > 0.99
    # the same for features: the samples of X are the features of X.T
    model = NMF(3, orthogonal="H", random_state=0).fit(FORMATS[fmt](X).T)
    assert metrics.adjusted_rand_score(kmeans, model.components_.argmax(axis=0)) > 0.99


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("which", ["W", "H"])
def test_the_factor_is_orthogonal_to_the_last_bit(which, fmt, dtype):
    X = FORMATS[fmt](messy().astype(dtype))
    model = NMF(6, orthogonal=which, init="random", random_state=0, max_iter=50)
    W = model.fit_transform(X)
    H = model.components_
    assert W.dtype == dtype and H.dtype == dtype
    assert np.isfinite(W).all() and np.isfinite(H).all() and (W >= 0).all() and (H >= 0).all()
    F = W if which == "W" else H.T
    assert ((F > 0).sum(axis=1) <= 1).all()  # disjoint supports
    gram = F.T @ F
    assert (gram[~np.eye(6, dtype=bool)] == 0).all()  # exactly, not to a tolerance
    assert (np.diag(gram) > 0).all()  # every component is used
    other = H.T if which == "W" else W
    assert (other > 0).all()  # kept >= floor='auto' > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("which", ["W", "H"])
@pytest.mark.parametrize("penalty", [{}, dict(alpha_W=0.002, alpha_H=0.001, l1_ratio=0.5)])
def test_the_objective_never_increases(which, fmt, dtype, penalty):
    X = FORMATS[fmt](messy().astype(dtype))
    model = NMF(8, orthogonal=which, init="random", random_state=0, tol=0, max_iter=60,
                check_every=1, **penalty)
    W = model.fit_transform(X)
    hist = model.loss_history_
    assert len(hist) == 61 and np.isfinite(hist).all()
    rounding = 1e-12 if dtype == np.float64 else 1e-6  # the objective from products
    assert np.all(np.diff(hist) <= rounding * hist[0]), np.diff(hist).max() / hist[0]
    assert hist[-1] < 0.9 * hist[0]
    if not penalty:  # tol=0: the history's last entry is the pair returned
        assert hist[-1] == pytest.approx(frobenius(X, W, model.components_),
                                         rel=1e-9 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("fmt", ["dense", "csr", "fortran"])
@pytest.mark.parametrize("which", ["W", "H"])
def test_same_bits_on_one_and_two_threads(which, fmt):
    X = FORMATS[fmt](messy(m=300, n=200))
    fits = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            model = NMF(7, orthogonal=which, init="random", random_state=0, max_iter=40)
            fits.append((model.fit_transform(X), model.components_, model.loss_history_))
    for first, second in zip(*fits):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_transform_of_the_training_data_is_the_fit_w(fmt):
    X = FORMATS[fmt](planted()[0])
    before = X.copy()
    model = NMF(3, orthogonal="W", random_state=0)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(model.transform(X), W)
    if sp.issparse(X):
        assert (X != before).nnz == 0
    else:
        np.testing.assert_array_equal(X, before)


def test_dense_and_csr_and_float32_agree():
    X, _ = planted(seed=4)
    kw = dict(n_components=3, orthogonal="W", init="nndsvda", tol=1e-8, max_iter=500)
    W = NMF(**kw).fit_transform(X)
    np.testing.assert_allclose(NMF(**kw).fit_transform(sp.csr_matrix(X)), W, rtol=1e-8,
                               atol=1e-12)
    np.testing.assert_allclose(NMF(**kw).fit_transform(X.astype(np.float32)), W, rtol=1e-3,
                               atol=1e-6)


def test_n_init_keeps_the_best_run_and_it_is_orthogonal():
    X = messy()
    one = NMF(5, orthogonal="W", init="random", random_state=0, n_init=1).fit(X)
    best = NMF(5, orthogonal="W", init="random", random_state=0, n_init=4)
    W = best.fit_transform(X)
    assert best.reconstruction_err_ <= one.reconstruction_err_ * (1 + 1e-12)
    assert ((W > 0).sum(axis=1) <= 1).all()


@pytest.mark.parametrize("params", [
    dict(beta_loss="kullback-leibler"),
    dict(beta_loss=1.5),
    dict(solver="mu"),
    dict(solver="hals"),
])
def test_what_orthogonal_nmf_cannot_fit_raises(params):
    X, _ = planted()
    with pytest.raises(ValueError, match="orthogonal"):
        NMF(3, orthogonal="W", **params).fit(X)


def test_missing_values_and_bad_values_raise():
    X, _ = planted()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        NMF(3, orthogonal="H").fit(X)
    with pytest.raises(ValueError, match="orthogonal"):
        NMF(3, orthogonal="rows").fit(planted()[0])
