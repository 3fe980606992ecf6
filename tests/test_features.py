"""Feature selection and cluster assignment: rank/features.py and rank/clusters.py.

Each function is checked against a plain NumPy reference written from its formula (loops over
features, components and samples), against known answers (a feature in one component scores 1,
a shared one 0, planted blocks come back exactly) and, for the silhouettes, against
scikit-learn's silhouette_samples.
"""

import numpy as np
import pytest

from nmfkit import NMF, NotFittedError
from nmfkit.rank.clusters import assign_clusters, silhouette_widths
from nmfkit.rank.features import extract_features, feature_scores

# -- references written from the formulas ------------------------------------------------------


def kim_reference(H):
    k, n = H.shape
    scores = np.empty(n)
    for i in range(n):
        column = H[:, i]
        if column.sum() == 0:
            scores[i] = 0.0
            continue
        p = column / column.sum()
        entropy = sum(pq * np.log2(pq) for pq in p if pq > 0)
        scores[i] = 1.0 if k == 1 else 1.0 + entropy / np.log2(k)
    return scores


def kim_selection_reference(H):
    """R's extractFeatures(method='kim') on H.T, one feature at a time."""
    s = kim_reference(H)
    median = np.median(s)
    mad = 1.4826 * np.median([abs(x - median) for x in s])
    threshold = median + 3 * mad
    entry_median = np.median(H.ravel())
    kept = [i for i in range(H.shape[1])
            if s[i] >= threshold and H[:, i].max() >= entry_median and H[:, i].sum() > 0]
    kept.sort(key=lambda i: -s[i])  # Python's sort is stable: ties stay in column order
    return [[i for i in kept if int(np.argmax(H[:, i])) == q] for q in range(H.shape[0])]


def max_selection_reference(H):
    """bioNMF's walk: down the sorted contributions while the feature is dominant there."""
    result = []
    for q in range(H.shape[0]):
        order = sorted(range(H.shape[1]), key=lambda i: -H[q, i])
        chosen = []
        for i in order:
            others = [H[r, i] for r in range(H.shape[0]) if r != q]
            if H[q, i] <= 0 or any(o >= H[q, i] for o in others):
                break
            chosen.append(i)
        result.append(chosen)
    return result


def silhouette_reference(D, labels):
    labels = np.asarray(labels)
    n = len(labels)
    s = np.zeros(n)
    for i in range(n):
        own = [j for j in range(n) if labels[j] == labels[i] and j != i]
        if not own:
            continue
        a = np.mean([D[i, j] for j in own])
        b = min(np.mean([D[i, j] for j in range(n) if labels[j] == c])
                for c in set(labels) - {labels[i]})
        s[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return s


def planted_components(n_per=5, n_shared=45, k=3, seed=0, jitter=0.0):
    """H with n_per features held by each component alone and n_shared shared ones, nearly
    equally: a minority of specific features, as the genes of Kim & Park's data."""
    rng = np.random.default_rng(seed)
    H = np.zeros((k, k * n_per + n_shared))
    for q in range(k):
        H[q, q * n_per:(q + 1) * n_per] = rng.uniform(2.0, 3.0, n_per)
    H[:, k * n_per:] = rng.uniform(0.9, 1.1, (k, n_shared))
    H[:, :k * n_per] += jitter * rng.random((k, k * n_per))
    blocks = [list(range(q * n_per, (q + 1) * n_per)) for q in range(k)]
    return H, blocks


def frozen(a):
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


# -- feature_scores --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_kim_scores_match_the_formula(k):
    rng = np.random.default_rng(k)
    H = rng.random((k, 40)) * (rng.random((k, 40)) < 0.6)  # zeros, and some zero columns
    H[:, 0] = 0.0
    np.testing.assert_allclose(feature_scores(frozen(H)), kim_reference(H), atol=1e-14)


def test_kim_scores_known_answers():
    H = np.array([[0.0, 2.0, 1.0, 0.0, 5.0],
                  [0.0, 0.0, 1.0, 3.0, 5.0],
                  [0.0, 0.0, 1.0, 0.0, 5.0],
                  [0.0, 0.0, 1.0, 0.0, 5.0]])
    scores = feature_scores(H)
    # one component alone: 1 exactly; shared equally by all four: 0; used by none: 0
    assert scores[1] == 1.0 and scores[3] == 1.0
    assert scores[2] == 0.0 and scores[4] == 0.0 and scores[0] == 0.0
    assert scores.shape == (5,)
    thirds = feature_scores(np.array([[1.0], [1.0], [1.0]]))  # log2(3) is not exact
    assert 0.0 <= thirds[0] <= 1e-15
    half = feature_scores(np.array([[1.0], [1.0], [0.0], [0.0]]))
    np.testing.assert_allclose(half, 0.5)  # entropy 1 bit of log2(4) = 2


def test_kim_scores_with_one_component():
    # log2(1) = 0: every used feature is all of the one component's (1), an unused one 0
    np.testing.assert_array_equal(feature_scores(np.array([[0.5, 0.0, 2.0]])), [1.0, 0.0, 1.0])


def test_max_scores_are_the_largest_entries():
    H = np.random.default_rng(3).random((4, 11))
    np.testing.assert_array_equal(feature_scores(H, "max"), H.max(axis=0))


def test_scores_read_a_fitted_model_and_need_it_fitted():
    X = np.random.default_rng(0).random((30, 12))
    model = NMF(3, random_state=0, max_iter=50).fit(X)
    np.testing.assert_array_equal(feature_scores(model), feature_scores(model.components_))
    with pytest.raises(NotFittedError, match="fit"):
        feature_scores(NMF(3))


def test_scores_are_scale_free_per_feature():
    H = np.random.default_rng(4).random((3, 9))
    scaled = H * np.arange(1, 10)  # each feature's column times its own factor
    np.testing.assert_allclose(feature_scores(scaled), feature_scores(H), atol=1e-14)


# -- extract_features ------------------------------------------------------------------------


def test_planted_blocks_are_extracted_exactly():
    H, blocks = planted_components()
    found = extract_features(frozen(H))
    assert [list(f) for f in found] == blocks
    assert all(f.dtype.kind == "i" for f in found)
    # R's >=: with specific features the majority (median score 1, MAD 0) all are kept
    H, blocks = planted_components(n_per=10, n_shared=10)
    assert [list(f) for f in extract_features(H)] == blocks


def test_planted_blocks_come_back_from_a_fit():
    H, blocks = planted_components(seed=1)
    W = np.random.default_rng(2).uniform(0.0, 1.0, (60, 3))
    model = NMF(3, init="nndsvda", random_state=0, max_iter=2000, tol=1e-10).fit(W @ H)
    found = extract_features(model)
    assert sorted(sorted(f.tolist()) for f in found) == blocks


@pytest.mark.parametrize("seed", range(6))
def test_kim_selection_matches_the_reference(seed):
    H, _ = planted_components(seed=seed, jitter=0.3)  # scores below 1, all distinct
    rng = np.random.default_rng(seed)
    H[:, rng.integers(0, H.shape[1], 3)] = 0.0
    found = extract_features(H)
    assert [f.tolist() for f in found] == kim_selection_reference(H)
    assert sum(len(f) for f in found) > 0  # the check is not vacuous
    scores = feature_scores(H)
    for f in found:  # each component's features by decreasing score
        assert np.all(np.diff(scores[f]) <= 0)


def test_kim_selection_of_random_components_matches_the_reference():
    for seed in range(10):
        H = np.random.default_rng(seed).gamma(0.3, size=(4, 50))
        assert ([f.tolist() for f in extract_features(H)] == kim_selection_reference(H))


def test_kim_selection_keeps_ties_with_the_medians():
    # R's rules compare with >=: the median score is 1 (MAD 0) and the median entry of H is
    # 1, which features 1 and 3 reach exactly
    H = np.array([[2.0, 1.0, 0.0, 0.0, 1.0, 1.0],
                  [0.0, 0.0, 2.0, 1.0, 1.0, 1.0]])
    assert [f.tolist() for f in extract_features(H)] == [[0, 1], [2, 3]]


@pytest.mark.parametrize("seed", range(8))
def test_max_selection_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    H = rng.random((3, 25)) * (rng.random((3, 25)) < 0.5)
    H[:, :4] = 0.0
    H[:, 4] = 1.0  # a tie across components: dominant nowhere
    found = extract_features(frozen(H), "max")
    assert [f.tolist() for f in found] == max_selection_reference(H)


def test_max_selection_known_answer():
    H = np.array([[5.0, 4.0, 3.0, 0.5, 2.0],
                  [0.0, 1.0, 3.5, 4.0, 0.0]])
    found = extract_features(H, "max")
    # component 0: 5, 4 dominant; 3 < 3.5 stops the walk (2.0, dominant, comes after it)
    assert [f.tolist() for f in found] == [[0, 1], [3, 2]]


def test_top_n_and_share_thresholds():
    H = np.array([[3.0, 1.0, 0.0, 2.0],
                  [1.0, 1.0, 4.0, 2.0]])
    assert [f.tolist() for f in extract_features(H, 2)] == [[0, 3], [2, 3]]
    assert [f.tolist() for f in extract_features(H, 10)] == [[0, 3, 1, 2], [2, 3, 0, 1]]
    # shares: column 0 is (0.75, 0.25), 1 and 3 are (0.5, 0.5), 2 is (0, 1)
    assert [f.tolist() for f in extract_features(H, 0.5)] == [[0, 1, 3], [2, 1, 3]]
    assert [f.tolist() for f in extract_features(H, 1.0)] == [[], [2]]


def test_labels_and_data_frames():
    pd = pytest.importorskip("pandas")
    H, blocks = planted_components(n_per=2, n_shared=20)
    names = [f"gene{i}" for i in range(H.shape[1])]
    series = feature_scores(H, labels=names)  # labels ask for a Series
    assert isinstance(series, pd.Series) and list(series.index) == names
    np.testing.assert_array_equal(series.to_numpy(), feature_scores(H))
    table = extract_features(H, labels=names)
    assert list(table.columns) == ["component", "feature", "position", "contribution",
                                   "score"]
    assert table["feature"].tolist() == [names[i] for b in blocks for i in b]
    assert table["component"].tolist() == [q for q, b in enumerate(blocks) for _ in b]
    np.testing.assert_array_equal(table["contribution"], H[table["component"],
                                                           table["position"]])
    # a model fitted on a DataFrame lends its column names; arrays stay the default
    X = pd.DataFrame(np.random.default_rng(0).random((20, 5)), columns=list("abcde"))
    model = NMF(2, random_state=0, max_iter=30).fit(X)
    assert list(feature_scores(model, as_frame=True).index) == list("abcde")
    assert isinstance(feature_scores(model), np.ndarray)
    frame_H = pd.DataFrame(H, columns=names)  # a DataFrame of components lends its columns
    assert list(feature_scores(frame_H, as_frame=True).index) == names
    unnamed = extract_features(H, as_frame=True)
    assert unnamed["feature"].tolist() == unnamed["position"].tolist()


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="components must be a 2-D"):
        feature_scores(np.ones(5))
    with pytest.raises(ValueError, match="components must be nonnegative"):
        feature_scores(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="components contain NaN"):
        extract_features(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="components is empty"):
        extract_features(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="components must be"):
        feature_scores("abc")
    with pytest.raises(ValueError, match="method"):
        feature_scores(np.ones((2, 2)), "entropy")
    with pytest.raises(ValueError, match="method"):
        feature_scores(np.ones((2, 2)), 3)  # numbers are for extract_features only
    for bad in (0, 1.5, 0.0, -2):
        with pytest.raises(ValueError, match="method"):
            extract_features(np.ones((2, 2)), bad)
    with pytest.raises(TypeError, match="method"):
        extract_features(np.ones((2, 2)), True)
    with pytest.raises(ValueError, match="labels must be 1-D with one label per feature"):
        pytest.importorskip("pandas")
        feature_scores(np.ones((2, 3)), labels=["a", "b"])
    with pytest.raises(ValueError, match="as_frame=True"):
        feature_scores(np.ones((2, 3)), labels=["a", "b", "c"], as_frame=False)
    with pytest.raises(TypeError, match="as_frame"):
        feature_scores(np.ones((2, 3)), as_frame="yes")


# -- assign_clusters and silhouette_widths ---------------------------------------------------


def unit_distances(W, metric):
    """1 - cosine or 1 - correlation of the rows of W, with 0 for an undefined one."""
    U = W - W.mean(axis=1, keepdims=True) if metric == "correlation" else W.copy()
    if metric == "correlation":
        U[np.ptp(W, axis=1) == 0] = 0.0  # equal entries: centred, 0 (not a rounding error)
    norms = np.linalg.norm(U, axis=1)
    U[norms > 0] /= norms[norms > 0, None]
    D = 1.0 - U @ U.T
    np.fill_diagonal(D, 0.0)
    return D


@pytest.mark.parametrize("metric", ["cosine", "correlation"])
def test_silhouettes_match_scikit_learn(metric):
    metrics = pytest.importorskip("sklearn.metrics")
    from scipy.spatial.distance import cdist
    W = np.random.default_rng(5).random((60, 4))
    clusters, silhouette = assign_clusters(frozen(W), metric=metric)
    np.testing.assert_array_equal(clusters, W.argmax(axis=1))
    D = cdist(W, W, metric)
    np.fill_diagonal(D, 0.0)
    expected = metrics.silhouette_samples(D, clusters, metric="precomputed")
    np.testing.assert_allclose(silhouette, expected, atol=1e-12)
    np.testing.assert_allclose(silhouette_widths(D, clusters), expected, atol=1e-12)


def test_silhouette_widths_match_the_reference_with_singletons_and_string_labels():
    rng = np.random.default_rng(6)
    points = rng.random((25, 3))
    D = np.linalg.norm(points[:, None] - points[None], axis=2)
    labels = np.array(list("aabbbccccddddd") + ["e"] + list("ffffffffff"))  # 'e' alone
    s = silhouette_widths(frozen(D), labels)
    np.testing.assert_allclose(s, silhouette_reference(D, labels), atol=1e-12)
    assert s[labels == "e"][0] == 0.0
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    np.testing.assert_allclose(s, sklearn_metrics.silhouette_samples(D, labels,
                                                                      metric="precomputed"))


def test_zero_and_constant_rows_are_at_distance_one():
    W = np.array([[1.0, 0.0, 0.0], [2.0, 0.1, 0.0], [0.0, 1.0, 0.2], [0.0, 3.0, 0.0],
                  [0.0, 0.0, 0.0], [0.1, 0.1, 0.1], [0.5, 0.2, 4.0], [0.0, 0.1, 2.0],
                  [0.7, 0.7, 0.7]])  # their means are off by an ulp: centred, not quite 0
    for metric in ("cosine", "correlation"):
        clusters, s = assign_clusters(W, metric=metric)
        assert clusters[4] == 0  # a row of zeros goes to the first cluster, as argmax
        D = unit_distances(W, metric)
        np.testing.assert_allclose(s, silhouette_reference(D, clusters), atol=1e-12)


def test_separated_clusters_have_silhouette_one_and_one_cluster_nan():
    W = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 0.5], [0.0, 1.0]])
    clusters, s = assign_clusters(W)
    np.testing.assert_array_equal(clusters, [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(s, 1.0)
    clusters, s = assign_clusters(np.array([[1.0, 0.0], [2.0, 1.0]]))
    assert clusters.tolist() == [0, 0] and np.isnan(s).all()


def test_clusters_as_a_data_frame():
    pd = pytest.importorskip("pandas")
    W = np.array([[1.0, 0.0], [3.0, 0.2], [0.0, 2.0], [0.1, 0.5]])
    frame = assign_clusters(W, labels=["s1", "s2", "s3", "s4"])
    assert list(frame.columns) == ["cluster", "silhouette"]
    assert list(frame.index) == ["s1", "s2", "s3", "s4"]
    clusters, s = assign_clusters(W)
    np.testing.assert_array_equal(frame["cluster"], clusters)
    np.testing.assert_array_equal(frame["silhouette"], s)
    # W from set_output(transform='pandas') lends X's index
    X = pd.DataFrame(np.random.default_rng(1).random((6, 4)), index=list("uvwxyz"))
    W_frame = NMF(2, random_state=0, max_iter=30).set_output(transform="pandas").fit_transform(X)
    assert list(assign_clusters(W_frame, as_frame=True).index) == list("uvwxyz")
    with pytest.raises(ValueError, match="one label per row of W"):
        assign_clusters(W, labels=["s1"])


def test_bad_factors_are_clear_errors():
    with pytest.raises(ValueError, match="W must be a 2-D"):
        assign_clusters(np.ones(4))
    with pytest.raises(ValueError, match="W must be nonnegative"):
        assign_clusters(np.array([[1.0, -0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="W contains NaN"):
        assign_clusters(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="W must be"):
        assign_clusters([["a", "b"]])
    with pytest.raises(ValueError, match="metric"):
        assign_clusters(np.eye(3), metric="euclidean")
    with pytest.raises(ValueError, match="distances must be a square"):
        silhouette_widths(np.ones((3, 2)), [0, 1, 1])
    with pytest.raises(ValueError, match="distances must be finite and nonnegative"):
        silhouette_widths(-np.ones((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="labels must be 1-D"):
        silhouette_widths(np.zeros((3, 3)), [0, 1])


def test_arrays_need_no_pandas_and_frames_say_to_install_it(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    H, _ = planted_components()
    assert isinstance(feature_scores(H), np.ndarray)
    assert isinstance(extract_features(H), list)
    with pytest.raises(ImportError, match="install pandas"):
        extract_features(H, as_frame=True)
    with pytest.raises(ImportError, match="install pandas"):
        assign_clusters(H.T, labels=np.arange(H.shape[1]))


def test_kim_keeps_every_feature_of_a_clean_factorization_despite_the_floor():
    """Rounding of the floor's tiny entries makes 'all scores 1' differ in the last bits;
    that must not split the tie (found through `nmfkit rank --features` on two blocks)."""
    H = np.array([[2.219e-16] * 4 + [1.092, 1.205, 1.228, 1.108],
                  [1.133, 1.038, 1.067, 0.930] + [2.219e-16] * 4])
    selected = extract_features(H)
    assert sorted(selected[0].tolist()) == [4, 5, 6, 7]
    assert sorted(selected[1].tolist()) == [0, 1, 2, 3]
