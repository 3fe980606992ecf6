"""Separable NMF: nmfkit.spa and init='spa'."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import NMF, spa


def separable(m=40, r=6, n=150, seed=0, scale=True):
    """V = W [I, H'] with its columns permuted (and rescaled); returns V and the indices of
    the columns that are W's."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(0, 1, (m, r))
    Hp = rng.dirichlet(np.full(r, 0.5), size=n - r).T * 0.9  # columns sum to 0.9 < 1
    H = np.hstack([np.eye(r), Hp])
    perm = rng.permutation(n)
    H = H[:, perm]
    if scale:
        H = H * rng.uniform(0.3, 3.0, n)  # any positive column scaling stays separable
    return W @ H, np.sort(np.flatnonzero(perm < r))


@pytest.mark.parametrize("kind", ["dense", "csr", "fortran", "float32"])
def test_spa_finds_the_generating_columns_without_noise(kind):
    V, true = separable()
    X = {"dense": V, "csr": sp.csr_matrix(V), "fortran": np.asfortranarray(V),
         "float32": V.astype(np.float32)}[kind]
    got = spa(X, 6)
    assert got.dtype == np.intp and len(set(got)) == 6
    np.testing.assert_array_equal(np.sort(got), true)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spa_is_robust_to_small_noise(seed):
    V, true = separable(seed=seed)
    rng = np.random.default_rng(seed + 10)
    noisy = V + 1e-3 * V.mean() * rng.random(V.shape)
    np.testing.assert_array_equal(np.sort(spa(noisy, 6)), true)


def test_spa_on_sparse_separable_data_stays_sparse():
    """A sparse separable matrix (sparse W) of a shape whose dense form is large."""
    rng = np.random.default_rng(3)
    m, r, n = 20000, 5, 3000
    W = sp.random(m, r, density=0.01, random_state=4, format="csr")
    W.data = rng.uniform(0.5, 1, W.nnz)
    Hp = rng.dirichlet(np.ones(r), size=n - r).T * 0.9
    perm = rng.permutation(n)
    H = np.hstack([np.eye(r), Hp])[:, perm]
    V = sp.csr_matrix(W @ sp.csr_matrix(H))
    np.testing.assert_array_equal(np.sort(spa(V, r)), np.sort(np.flatnonzero(perm < r)))


def test_spa_init_starts_at_an_exact_factorization():
    V, true = separable(scale=False)
    model = NMF(6, init="spa", max_iter=1, tol=0, solver="mu")
    W = model.fit_transform(V)
    # W's columns are V's separable columns; H solves the rest exactly: error ~ 0, as far
    # as the expanded ||V||^2 - 2 <V, WH> + ||WH||^2 of the history resolves (a few eps)
    assert model.loss_history_[0] <= 64 * np.finfo(np.float64).eps * np.sum(V ** 2)
    assert model.reconstruction_err_ <= 1e-6 * np.linalg.norm(V)
    assert np.all(W >= 0) and np.all(model.components_ >= 0)


def test_spa_init_on_noisy_data_beats_random_start():
    V, _ = separable(seed=5)
    V = V + 0.01 * np.random.default_rng(0).random(V.shape)
    kw = dict(n_components=6, max_iter=1, tol=0, solver="mu")
    assert (NMF(init="spa", **kw).fit(V).loss_history_[0]
            < 0.01 * NMF(init="random", random_state=0, **kw).fit(V).loss_history_[0])


@pytest.mark.parametrize("args,exc,words", [
    ((np.ones((4, 3)), 4), ValueError, "exceeds"),
    ((np.ones((4, 3)), 0), ValueError, "k"),
    ((np.ones((4, 3)), 2.5), TypeError, "k"),
    ((-np.ones((4, 3)), 2), ValueError, "Negative"),
    ((np.ones((4, 3)), 2), ValueError, "rank"),
    ((np.ones(4), 1), ValueError, "2-D"),
])
def test_spa_bad_input(args, exc, words):
    with pytest.raises(exc, match=words):
        spa(*args)


def test_spa_normalize_must_be_a_flag():
    V, _ = separable()
    with pytest.raises(TypeError, match="normalize must be True or False, got 'no'"):
        spa(V, 6, normalize="no")


def test_spa_does_not_modify_its_input():
    V, _ = separable()
    X = sp.csr_matrix(V)
    V0, X0 = V.copy(), X.copy()
    spa(V, 6)
    spa(X, 6)
    np.testing.assert_array_equal(V, V0)
    assert (X != X0).nnz == 0


def naive_spa(V, k):
    """The textbook SPA: explicit residual, projected after each pick (NumPy reference)."""
    R = np.array(V, dtype=np.float64)
    R = R / R.sum(axis=0)
    picked = []
    for _ in range(k):
        j = int(np.argmax(np.sum(R ** 2, axis=0)))
        u = R[:, j] / np.linalg.norm(R[:, j])
        R = R - np.outer(u, u @ R)
        picked.append(j)
    return picked


@pytest.mark.parametrize("seed", range(5))
def test_spa_equals_the_textbook_algorithm_on_generic_data(seed):
    """Not separable: every pick must still be the textbook's, in the same order."""
    rng = np.random.default_rng(seed)
    V = rng.random((30, 50)) ** 2
    k = 8
    np.testing.assert_array_equal(spa(V, k), naive_spa(V, k))
    np.testing.assert_array_equal(spa(sp.csr_matrix(V), k), naive_spa(V, k))


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_spa_without_normalization_at_extreme_scales(scale):
    rng = np.random.default_rng(0)
    V = rng.random((30, 3)) @ np.hstack([np.eye(3), rng.dirichlet(np.ones(3), 20).T])
    expected = spa(V, 3, normalize=False)
    np.testing.assert_array_equal(spa(V * scale, 3, normalize=False), expected)
