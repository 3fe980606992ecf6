"""nmfkit.rank.stability (silhouettes, k-means of components, factor-set distance, component
stability) and nmfkit.rank.chance (the shuffled copy of V), each against a plain NumPy or
scikit-learn reference or a known answer."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit.core.matrix import Matrix
from nmfkit.rank.chance import shuffle_generator, shuffled_copy
from nmfkit.rank.stability import (
    MAX_PAIRS,
    component_stability,
    consensus_clusters,
    cosine_silhouette_values,
    factor_set_distance,
    feature_silhouette,
    kmeans,
    normalize_rows,
    run_pairs,
    silhouette_values,
)


def unit(X):
    X = np.array(X, dtype=float)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, n, out=np.zeros_like(X), where=n > 0)


def naive_silhouette(D, labels):
    """Rousseeuw (1987) written out point by point."""
    s = np.zeros(len(labels))
    for i, li in enumerate(labels):
        own = [j for j in range(len(labels)) if labels[j] == li and j != i]
        if not own:
            continue
        a = np.mean(D[i, own])
        b = min(np.mean(D[i, labels == c]) for c in set(labels) if c != li)
        s[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    return s


# -- silhouettes -----------------------------------------------------------------------------
def test_silhouette_of_distances_equals_scikit_learn_and_the_definition():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    X = rng.random((30, 4))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    labels = rng.integers(0, 4, 30)
    labels[7] = 4  # a cluster of one: its silhouette is 0
    got = silhouette_values(D, labels)
    np.testing.assert_allclose(got, metrics.silhouette_samples(D, labels, metric="precomputed"),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, naive_silhouette(D, labels), rtol=1e-12, atol=1e-12)
    assert got[7] == 0
    assert np.mean(got) == pytest.approx(
        metrics.silhouette_score(D, labels, metric="precomputed"), rel=1e-12)


def test_cosine_silhouette_equals_scikit_learn_with_zero_rows():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    X = rng.random((40, 6)) ** 3
    X[[3, 11]] = 0.0  # no direction: cosine distance 1 to everything, as in scikit-learn
    labels = rng.integers(0, 3, 40)
    got = cosine_silhouette_values(X, labels)
    np.testing.assert_allclose(got, metrics.silhouette_samples(X, labels, metric="cosine"),
                               rtol=1e-10, atol=1e-12)
    D = 1.0 - unit(X) @ unit(X).T
    np.fill_diagonal(D, 0.0)
    np.testing.assert_allclose(got, naive_silhouette(D, labels), rtol=1e-10, atol=1e-12)


def test_silhouette_is_nan_with_one_cluster_and_one_for_separated_points():
    assert np.isnan(silhouette_values(np.ones((4, 4)) - np.eye(4), [0, 0, 0, 0])).all()
    assert np.isnan(cosine_silhouette_values(np.ones((4, 2)), [1, 1, 1, 1])).all()
    X = np.array([[1.0, 0], [2, 0], [0, 1], [0, 3]])
    np.testing.assert_allclose(cosine_silhouette_values(X, [0, 0, 1, 1]), 1.0)


# -- k-means, pairs, factor-set distance -----------------------------------------------------
def naive_kmeans(X, C, max_iter=100):
    C = C.copy()
    labels = None
    for _ in range(max_iter):
        new = np.array([np.argmin([np.sum((x - c) ** 2) for c in C]) for x in X])
        if labels is not None and (new == labels).all():
            break
        labels = new
        for c in range(len(C)):
            if (labels == c).any():
                C[c] = X[labels == c].mean(axis=0)
    return labels, C


def test_kmeans_equals_a_naive_lloyd_and_scipy():
    vq = pytest.importorskip("scipy.cluster.vq")
    rng = np.random.default_rng(2)
    centres = rng.random((4, 5)) * 4
    X = np.repeat(centres, 25, axis=0) + rng.normal(scale=0.6, size=(100, 5))
    start = X[[0, 1, 2, 3]]  # all four in the first cluster: Lloyd has to move them
    labels, C = kmeans(X, start)
    ref_labels, ref_C = naive_kmeans(X, start)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(C, ref_C, rtol=1e-12)
    sc_C, sc_labels = vq.kmeans2(X, start.copy(), iter=100, minit="matrix")
    np.testing.assert_array_equal(labels, sc_labels)
    np.testing.assert_allclose(C, sc_C, rtol=1e-10)


def test_run_pairs_all_or_a_balanced_subset():
    assert run_pairs(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert len(run_pairs(32)) == 496 <= MAX_PAIRS
    for n_runs in (33, 40, 100):
        pairs = run_pairs(n_runs)
        assert MAX_PAIRS <= len(pairs) < MAX_PAIRS + n_runs
        assert len({frozenset(p) for p in pairs}) == len(pairs)  # no pair twice
        assert all(r != s for r, s in pairs)
        counts = np.bincount(np.ravel(pairs), minlength=n_runs)
        assert counts.min() == counts.max()  # every run in as many pairs


def test_factor_set_distance_ignores_order_and_scale():
    rng = np.random.default_rng(3)
    A = rng.random((5, 30))
    B = (A * rng.uniform(0.1, 10, (5, 1)))[[3, 0, 4, 1, 2]]
    assert factor_set_distance(A, B) == pytest.approx(0.0, abs=1e-14)
    # against the best of all 120 matchings, written out
    C = rng.random((5, 30))
    cost = 1 - unit(A) @ unit(C).T
    best = min(np.mean(cost[range(5), list(p)]) for p in itertools.permutations(range(5)))
    assert factor_set_distance(A, C) == pytest.approx(best, rel=1e-12)
    assert factor_set_distance(C, A) == pytest.approx(best, rel=1e-12)
    # disjoint supports are as far apart as nonnegative factors can be
    assert factor_set_distance(np.eye(4)[:2], np.eye(4)[2:]) == 1.0


def test_normalize_rows_in_place():
    X = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_array_equal(normalize_rows(X), [5.0, 0.0])
    np.testing.assert_array_equal(X, [[0.6, 0.8], [0.0, 0.0]])


# -- component stability ---------------------------------------------------------------------
def runs_of(base, n_runs, noise, rng):
    """n_runs factor sets: base with noise, rows permuted and rescaled in each run."""
    k = base.shape[0]
    sets = []
    for _ in range(n_runs):
        H = np.abs(base + noise * rng.random(base.shape)) * rng.uniform(0.5, 2, (k, 1))
        sets.append(H[rng.permutation(k)])
    return np.vstack(sets)


def test_planted_components_are_stable_and_found():
    rng = np.random.default_rng(4)
    k, n_runs = 4, 12
    base = rng.random((k, 50)) ** 6  # sparse-ish, well separated profiles
    H = runs_of(base, n_runs, 0.01, rng)
    best_run = 5
    best_H = H[best_run * k:(best_run + 1) * k].copy()
    stab, per, consensus, dist = component_stability(H.copy(), k, best_run, best_H)
    assert stab > 0.98 and (per > 0.98).all() and dist < 0.02
    # the consensus is in the best run's order, at its scale, close to its components
    np.testing.assert_allclose(np.linalg.norm(consensus, axis=1),
                               np.linalg.norm(best_H, axis=1), rtol=1e-12)
    assert np.min(np.sum(unit(consensus) * unit(best_H), axis=1)) > 0.999
    # random factor sets: no stable components
    noise = rng.random((n_runs * k, 50))
    stab_noise, _, _, dist_noise = component_stability(noise, k, 0, noise[:k].copy())
    assert stab_noise < 0.3 and dist_noise > 0.1


def test_component_stability_equals_its_numpy_reference():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    k, n_runs = 3, 7
    H = runs_of(rng.random((k, 20)) ** 2, n_runs, 0.3, rng)
    best_run = 2
    best_H = H[best_run * k:(best_run + 1) * k].copy()
    stab, per, consensus, dist = component_stability(H.copy(), k, best_run, best_H)
    U = unit(H)
    labels, _ = naive_kmeans(U, U[best_run * k:(best_run + 1) * k])
    sil = metrics.silhouette_samples(U, labels, metric="cosine")
    assert stab == pytest.approx(sil.mean(), rel=1e-10)
    medians = unit([np.median(U[labels == c], axis=0) for c in range(k)])
    B = unit(best_H)
    match = [max(range(k), key=lambda c, j=j: B[j] @ medians[c]) for j in range(k)]
    assert sorted(match) == list(range(k))  # each best component has its own cluster here
    np.testing.assert_allclose(per, [sil[labels == c].mean() for c in match], rtol=1e-10)
    np.testing.assert_allclose(
        consensus, medians[match] * np.linalg.norm(best_H, axis=1)[:, None], rtol=1e-12)
    sets = U.reshape(n_runs, k, -1)
    pair_dist = [factor_set_distance(sets[r], sets[s])
                 for r, s in itertools.combinations(range(n_runs), 2)]
    assert dist == pytest.approx(np.mean(pair_dist), rel=1e-12)


def test_one_run_gives_its_own_components_and_no_stability():
    rng = np.random.default_rng(6)
    H = rng.random((3, 10))
    stab, per, consensus, dist = component_stability(H.copy(), 3, 0, H)
    assert np.isnan(stab) and np.isnan(per).all() and np.isnan(dist)
    np.testing.assert_allclose(consensus, H, rtol=1e-12)


# -- sample and feature clusters -------------------------------------------------------------
def test_consensus_clusters_cut_the_tree_and_follow_its_order():
    from scipy.cluster.hierarchy import fcluster, leaves_list

    from nmfkit.rank.consensus import consensus_tree
    labels = np.array([2, 0, 1, 1, 2, 0, 0, 2, 1])
    C = (labels[:, None] == labels[None]).astype(float)
    Z, _ = consensus_tree(C)
    order = leaves_list(Z)
    clusters = consensus_clusters(Z, 3, order)
    assert (clusters[:, None] == clusters[None]).tolist() == C.astype(bool).tolist()
    seen = clusters[order]
    assert list(dict.fromkeys(seen)) == [0, 1, 2]
    # continuous consensus matrices: the numbering follows the leaves, not scipy's labels
    rng = np.random.default_rng(10)
    renumbered = 0
    for _ in range(10):
        A = rng.random((15, 15))
        C = (A + A.T) / 2
        np.fill_diagonal(C, 1.0)
        Z, _ = consensus_tree(C)
        order = leaves_list(Z)
        clusters = consensus_clusters(Z, 4, order)
        raw = fcluster(Z, 4, criterion="maxclust")
        assert list(dict.fromkeys(clusters[order])) == list(range(clusters.max() + 1))
        same = (clusters[:, None] == clusters[None]) == (raw[:, None] == raw[None])
        assert same.all()
        renumbered += not np.array_equal(clusters, raw - 1)
    assert renumbered  # some of scipy's numberings differ from the leaf order


def test_feature_silhouette_equals_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    H = rng.random((3, 40)) ** 2
    H[:, [4, 9]] = 0.0  # in no component: left out
    F = np.delete(H, [4, 9], axis=1).T
    expected = metrics.silhouette_score(F, F.argmax(axis=1), metric="cosine")
    assert feature_silhouette(H) == pytest.approx(expected, rel=1e-10)
    assert np.isnan(feature_silhouette(np.vstack([np.ones(5), np.zeros(5)])))


# -- the shuffled copy -----------------------------------------------------------------------
def column_values(X):
    X = X.toarray() if sp.issparse(X) else X
    return np.sort(np.where(np.isnan(X), -1.0, X), axis=0)


@pytest.mark.parametrize("layout", ["C", "F", "nan", "mask", "huge", "float32"])
def test_shuffled_dense_copy_keeps_each_columns_values(layout):
    rng = np.random.default_rng(8)
    V = rng.random((30, 12))
    mask = None
    if layout == "F":
        V = np.asfortranarray(V)
    elif layout == "nan":
        V[rng.random(V.shape) < 0.2] = np.nan
    elif layout == "mask":
        mask = rng.random(V.shape) > 0.2
    elif layout == "huge":
        V *= 1e300  # held scaled inside Matrix: the copy has the caller's values exactly
    elif layout == "float32":
        V = V.astype(np.float32)
    before = V.copy()
    M = Matrix(V, "V", mask=mask)
    S, S_mask = shuffled_copy(M, shuffle_generator(np.random.RandomState(0)))
    np.testing.assert_array_equal(V, before)
    assert S_mask is None and S.dtype == V.dtype and S.shape == V.shape
    observed = np.where(mask, V, np.nan) if mask is not None else V
    np.testing.assert_array_equal(column_values(S), column_values(observed))
    assert not np.array_equal(np.isnan(S) | (S == observed), np.ones(V.shape, bool))
    # deterministic; a Generator works as well as a RandomState
    again, _ = shuffled_copy(M, shuffle_generator(np.random.RandomState(0)))
    np.testing.assert_array_equal(S, again)
    shuffled_copy(M, shuffle_generator(np.random.default_rng(0)))


@pytest.mark.parametrize("masked", [False, True])
def test_shuffled_sparse_copy_stays_sparse_and_moves_the_observed_pattern(masked):
    rng = np.random.default_rng(9)
    X = sp.random(50, 20, density=0.2, format="csr", random_state=1)
    X.data = rng.random(X.nnz)
    mask = None
    if masked:  # observed: the stored entries and some zeros
        mask = (X + sp.random(50, 20, density=0.1, format="csr", random_state=2)) > 0
    before = X.copy()
    M = Matrix(X, "V", mask=mask)
    S, S_mask = shuffled_copy(M, shuffle_generator(np.random.RandomState(3)))
    assert sp.issparse(S) and S.format == "csr" and S.has_sorted_indices
    np.testing.assert_array_equal(X.toarray(), before.toarray())
    np.testing.assert_array_equal(column_values(S), column_values(X))
    assert not np.array_equal(S.toarray(), X.toarray())
    # a shuffle, not a spread that keeps the values in their order down the column
    Xc, Sc = X.tocsc(), S.tocsc()
    kept = [np.array_equal(Xc[:, j].data, Sc[:, j].data) for j in range(X.shape[1])]
    assert sum(kept) < X.shape[1] // 2
    if masked:
        np.testing.assert_array_equal(np.diff(S_mask.tocsc().indptr),
                                      np.diff(sp.csc_matrix(mask).indptr))
        np.testing.assert_array_equal(S_mask.indices, S.indices)  # values sit on the mask
        np.testing.assert_array_equal(S_mask.indptr, S.indptr)
    else:
        assert S_mask is None
