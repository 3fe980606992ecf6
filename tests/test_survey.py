"""rank_survey (Brunet et al. 2004): consensus matrices, cophenetic correlation, dispersion,
rss and evar, the stability of the components, the silhouettes and the randomized survey;
and the helpers behind them (more of them in tests/test_stability.py)."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit import ConvergenceWarning, rank_survey
from nmfkit.rank import survey as _survey
from nmfkit.rank.consensus import consensus_matrix, cophenetic_correlation, dispersion
from nmfkit.rank.ks import parse_ks


def planted(m=60, n=120, k=3, noise=0.02, seed=0):
    """Rows in k shuffled clusters: each row is mostly one of k sparse nonnegative profiles."""
    rng = np.random.default_rng(seed)
    H = rng.random((k, n)) ** 4
    labels = np.repeat(np.arange(k), m // k)
    rng.shuffle(labels)
    W = np.eye(k)[labels] + 0.2 * rng.random((m, k))
    return W @ H + noise * rng.random((m, n)), labels


def same_cluster(labels):
    return (labels[:, None] == labels[None, :]).astype(float)


def upgma_cophenetic(D):
    """Naive average linkage (UPGMA) cophenetic distances, for reference."""
    clusters = {i: [i] for i in range(D.shape[0])}
    coph = np.zeros_like(D)
    while len(clusters) > 1:
        best = None
        for a, b in itertools.combinations(clusters, 2):
            d = D[np.ix_(clusters[a], clusters[b])].mean()
            if best is None or d < best[0]:
                best = (d, a, b)
        d, a, b = best
        coph[np.ix_(clusters[a], clusters[b])] = d
        coph[np.ix_(clusters[b], clusters[a])] = d
        clusters[a] = clusters[a] + clusters.pop(b)
    return coph


# -- parse_ks -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [("2-5", (2, 3, 4, 5)), ("2,4,6", (2, 4, 6)),
                                            ("2-3,7", (2, 3, 7)), (" 3 ", (3,)),
                                            (range(2, 5), (2, 3, 4)), ([5, 3], (5, 3))])
def test_parse_ks_reads_ranges_and_lists(text, expected):
    assert parse_ks(text) == expected


@pytest.mark.parametrize("bad, exc, words", [("", ValueError, "cannot read"),
                                             ("2-x", ValueError, "'2-x'"),
                                             ("5-2", ValueError, "'5-2'"),
                                             ([], ValueError, "empty"),
                                             ([2, 2], ValueError, "repeated"),
                                             ([1, 2], ValueError, ">= 2"),
                                             ([2.5], TypeError, "integer"),
                                             (7, TypeError, "iterable")])
def test_parse_ks_rejects_bad_ranks_with_a_fix(bad, exc, words):
    with pytest.raises(exc, match=words):
        parse_ks(bad)


# -- consensus and its summaries ----------------------------------------------------------
def test_consensus_matrix_is_the_fraction_of_runs_that_pair_two_rows():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=(7, 25))
    C = consensus_matrix(labels)
    expected = np.mean([lab[:, None] == lab[None, :] for lab in labels], axis=0)
    np.testing.assert_allclose(C, expected)
    # relabelling the clusters of a run changes nothing
    permuted = np.array([np.array([3, 0, 1, 2])[lab] for lab in labels])
    np.testing.assert_allclose(consensus_matrix(permuted), C)
    assert np.all(np.diag(C) == 1) and np.allclose(C, C.T)


def test_consensus_matrix_rejects_non_2d_labels():
    with pytest.raises(ValueError, match="n_runs"):
        consensus_matrix(np.zeros(5, dtype=int))


def test_a_reproducible_partition_scores_one():
    labels = np.array([0, 1, 2, 0, 1, 2, 2, 0, 1, 1])
    C = same_cluster(labels)
    assert cophenetic_correlation(C) == pytest.approx(1.0)
    assert dispersion(C) == pytest.approx(1.0)


def test_cophenetic_correlation_matches_a_naive_average_linkage():
    # continuous values: no ties, so the merge order (and the tree) is unique
    rng = np.random.default_rng(2)
    A = rng.random((12, 12))
    C = (A + A.T) / 2
    np.fill_diagonal(C, 1.0)
    D = 1 - C
    coph = upgma_cophenetic(D)
    iu = np.triu_indices(12, 1)
    expected = np.corrcoef(D[iu], coph[iu])[0, 1]
    assert cophenetic_correlation(C) == pytest.approx(expected, rel=1e-10)


def test_dispersion_falls_as_the_runs_disagree():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 3, size=40)
    values = []
    for flip in (0.0, 0.2, 0.5):
        runs = [np.where(rng.random(40) < flip, rng.integers(0, 3, size=40), base)
                for _ in range(20)]
        values.append(dispersion(consensus_matrix(np.array(runs))))
    assert values[0] == 1.0 and values[0] > values[1] > values[2] > 0
    # all pairs at 1/2 contribute 0; only the diagonal counts
    C = np.full((8, 8), 0.5)
    np.fill_diagonal(C, 1.0)
    assert dispersion(C) == pytest.approx(1 / 8)


def test_cophenetic_is_nan_when_all_distances_are_equal():
    assert np.isnan(cophenetic_correlation(np.ones((5, 5))))


@pytest.mark.parametrize("C, exc, words", [
    (np.ones((3, 4)), ValueError, "square"),
    (np.ones((1, 1)), ValueError, "at least 2 rows"),
    (np.full((3, 3), np.nan), ValueError,
     "fractions of runs, in \\[0, 1\\]; it has the entry .*nan"),
    (2 * np.eye(3), ValueError, "fractions of runs"),
    (-np.eye(3), ValueError, "fractions of runs"),
    ("abc", TypeError, "square array of fractions"),
    (object(), TypeError, "square array of fractions"),
])
def test_summaries_reject_what_is_not_a_consensus_matrix(C, exc, words):
    for fn in (cophenetic_correlation, dispersion):
        with pytest.raises(exc, match=words):
            fn(C)


# -- rank_survey ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey_data():
    V, labels = planted()
    return V, labels, rank_survey(V, [2, 3, 4], n_runs=8, random_state=0)


def test_survey_recovers_planted_clusters(survey_data):
    V, labels, s = survey_data
    assert list(s.ks) == [2, 3, 4]
    for name in ("cophenetic", "dispersion", "rss", "evar", "objective"):
        assert getattr(s, name).shape == (3,)
    np.testing.assert_array_equal(s.consensus[3], same_cluster(labels))
    assert s.cophenetic[1] == pytest.approx(1.0) and s.dispersion[1] == pytest.approx(1.0)
    # the tree order puts each cluster in one contiguous block
    ordered = labels[s.order[3]]
    assert np.count_nonzero(np.diff(ordered)) == 2
    assert sorted(s.order[3]) == list(range(V.shape[0]))
    # three profiles explain the data far better than two
    assert s.rss[1] < 0.1 * s.rss[0] and s.evar[1] > 0.99
    for k in s.ks:
        C = s.consensus[k]
        assert C.shape == (V.shape[0],) * 2 and np.all((0 <= C) & (C <= 1))


def test_rss_and_evar_are_those_of_the_best_runs_factors(survey_data):
    V, _, s = survey_data
    for i, k in enumerate(s.ks):
        W, H = s.factors[k]
        assert W.shape == (V.shape[0], k) and H.shape == (k, V.shape[1])
        rss = float(np.sum((V - W @ H) ** 2))
        assert s.rss[i] == pytest.approx(rss, rel=1e-8, abs=1e-10 * np.sum(V ** 2))
        assert s.evar[i] == pytest.approx(1 - rss / np.sum(V ** 2), rel=1e-8)
        assert s.objective[i] == pytest.approx(0.5 * rss, rel=1e-8, abs=1e-10 * np.sum(V ** 2))


@pytest.mark.parametrize("layout", ["csr", "csc", "fortran", "float32"])
def test_survey_layouts_agree(survey_data, layout):
    V, labels, s = survey_data
    X = {"csr": lambda: sp.csr_matrix(V), "csc": lambda: sp.csc_matrix(V),
         "fortran": lambda: np.asfortranarray(V), "float32": lambda: V.astype(np.float32)}[layout]()
    t = rank_survey(X, [3], n_runs=4, random_state=0)
    np.testing.assert_array_equal(t.consensus[3], same_cluster(labels))
    W, H = t.factors[3]
    rss = float(np.sum((V - W.astype(float) @ H.astype(float)) ** 2))
    rtol = 1e-3 if layout == "float32" else 1e-8
    assert t.rss[0] == pytest.approx(rss, rel=rtol, abs=1e-6 * np.sum(V ** 2))


def test_sparse_rss_never_needs_the_dense_matrix():
    # a tall sparse matrix: rss from the factors agrees with a blockwise dense computation
    rng = np.random.default_rng(4)
    X = sp.random(400, 300, density=0.02, format="csr", random_state=5)
    X.data = rng.random(X.nnz)
    s = rank_survey(X, [2, 5], n_runs=3, random_state=0, max_iter=50, tol=0)
    for i, k in enumerate(s.ks):
        W, H = s.factors[k]
        rss = float(np.sum((X.toarray() - W @ H) ** 2))
        assert s.rss[i] == pytest.approx(rss, rel=1e-8)


def test_survey_clusters_rows_so_the_transpose_clusters_columns():
    """The consensus is over the rows of the input, from the factor along them (W): X with
    planted column clusters gives them through X.T and not through X. Square data, so that
    taking the wrong factor cannot hide behind a shape error."""
    V, labels = planted(m=45, n=45, k=3, seed=5)
    X = V.T  # its columns are in three clusters; its rows are not
    s = rank_survey(X.T, [3], n_runs=4, random_state=0)
    np.testing.assert_array_equal(s.consensus[3], same_cluster(labels))
    t = rank_survey(X, [3], n_runs=4, random_state=0)
    assert not np.array_equal(t.consensus[3], same_cluster(labels))
    # one run: the consensus is the NumPy same-cluster matrix of argmax over each row of W,
    # whatever the layout (a Fortran-ordered array is held transposed inside)
    for data in (X, X.T, np.asfortranarray(X), np.asfortranarray(X.T), sp.csr_matrix(X)):
        u = rank_survey(data, [3], n_runs=1, random_state=1)
        W, H = u.factors[3]
        assert W.shape == (45, 3) and H.shape == (3, 45)
        np.testing.assert_array_equal(u.consensus[3], same_cluster(np.argmax(W, axis=1)))


def test_survey_is_deterministic_and_leaves_input_alone(survey_data):
    V = survey_data[0].copy()
    before = V.copy()
    a = rank_survey(V, [2, 3], n_runs=3, random_state=7)
    b = rank_survey(V, [2, 3], n_runs=3, random_state=7)
    np.testing.assert_array_equal(V, before)
    for k in (2, 3):
        np.testing.assert_array_equal(a.consensus[k], b.consensus[k])
    np.testing.assert_array_equal(a.rss, b.rss)


def test_survey_callback_sees_every_run_in_order(survey_data):
    V = survey_data[0]
    seen = []
    s = rank_survey(V, [3, 2], n_runs=3, random_state=0,
                    callback=lambda k, r, obj: seen.append((k, r, obj)))
    assert [(k, r) for k, r, _ in seen] == [(3, 0), (3, 1), (3, 2), (2, 0), (2, 1), (2, 2)]
    # the best run's objective is the smallest one reported for that k
    for i, k in enumerate(s.ks):
        assert s.objective[i] == pytest.approx(min(o for kk, _, o in seen if kk == k))


def test_survey_kl_loss():
    V, labels = planted(seed=1)
    s = rank_survey(V, [3], n_runs=4, beta_loss="kullback-leibler", max_iter=400,
                    random_state=0)
    assert s.beta_loss == "kullback-leibler"
    np.testing.assert_array_equal(s.consensus[3], same_cluster(labels))
    W, H = s.factors[3]
    WH = W @ H
    kl = float(np.sum(V * np.log(V / WH) - V + WH))
    assert s.objective[0] == pytest.approx(kl, rel=1e-6)


def test_survey_verbose_prints_one_line_per_rank(survey_data, capsys):
    rank_survey(survey_data[0], [2, 3], n_runs=2, random_state=0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "k=2" in lines[0] and "k=3" in lines[1]


def test_survey_table_has_a_line_per_rank(survey_data):
    s = survey_data[2]
    lines = s.table().splitlines()
    assert lines[0].split() == ["k", "cophenetic", "dispersion", "rss", "evar", "stability",
                                "distance", "sil_samples", "sil_features"]
    assert [int(line.split()[0]) for line in lines[1:]] == [2, 3, 4]
    assert str(s) == s.table()
    # the first five columns as they always were
    assert lines[2][:50] == (f"{3:>4} {s.cophenetic[1]:>11.4f} {s.dispersion[1]:>11.4f} "
                             f"{s.rss[1]:>12.5g} {s.evar[1]:>8.4f}")
    assert [float(x) for x in lines[2].split()[5:]] == pytest.approx(
        [s.stability[1], s.factor_distance[1], s.silhouette_samples[1],
         s.silhouette_features[1]], abs=5e-5)


def test_survey_warns_once_when_runs_stop_at_max_iter(survey_data):
    with pytest.warns(ConvergenceWarning, match="of 4 runs reached max_iter=2"):
        rank_survey(survey_data[0], [2, 3], n_runs=2, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rank_survey(survey_data[0], [2], n_runs=2, max_iter=2, tol=0, random_state=0)


def test_survey_warns_about_large_consensus_matrices(monkeypatch):
    monkeypatch.setattr(_survey, "_LARGE_M", 10)
    V, _ = planted(m=12, n=20)
    with pytest.warns(UserWarning, match="12 x 12"):
        rank_survey(V, [2], n_runs=1, random_state=0)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(init="nndsvda"), ValueError, "same start"),
    (dict(n_runs=0), ValueError, "n_runs"),
    (dict(beta_loss="itakura"), ValueError, "beta_loss"),
    (dict(solver="hals", beta_loss="kullback-leibler"), ValueError, "hals"),
    (dict(max_iter=-1), ValueError, "max_iter"),
    (dict(callback=3), TypeError, "callback"),
    (dict(ks=[1, 2]), ValueError, "ks"),
    (dict(verbose="yes"), TypeError, "verbose"),
    (dict(random_state=-1), ValueError, "random_state"),
])
def test_survey_rejects_bad_parameters(kwargs, exc, words):
    V, _ = planted(m=12, n=20)
    args = dict(ks=[2], n_runs=1)
    args.update(kwargs)
    with pytest.raises(exc, match=words):
        rank_survey(V, **args)


def test_survey_refuses_ranks_nndsvdar_cannot_start_before_any_run():
    V, _ = planted(m=12, n=20)
    runs = []
    with pytest.raises(ValueError, match=r"init = 'nndsvdar' can only be used when every rank "
                       r"in ks is <= min\(n_samples, n_features\) = 12 .*; ks has \[13, 20\]"):
        rank_survey(V, [2, 13, 20], n_runs=2, init="nndsvdar",
                    callback=lambda *a: runs.append(a))
    assert runs == []
    s = rank_survey(V, [2, 12], n_runs=2, init="nndsvdar", max_iter=5, tol=0, random_state=0)
    assert list(s.ks) == [2, 12]


def test_survey_rejects_bad_data():
    with pytest.raises(ValueError, match="at least 2 rows"):
        rank_survey(np.ones((1, 5)), [2], n_runs=1)
    with pytest.raises(ValueError, match="Negative"):
        rank_survey(-np.ones((4, 5)), [2], n_runs=1)


def test_survey_with_missing_values(survey_data):
    V, labels, _ = survey_data
    X = V.copy()
    X[::5, ::7] = np.nan
    s = rank_survey(X, [3], n_runs=3, random_state=0, max_iter=400)
    np.testing.assert_array_equal(s.consensus[3], same_cluster(labels))
    W, H = s.factors[3]
    observed = ~np.isnan(X)
    rss = float(np.sum((X - W @ H)[observed] ** 2))
    assert s.rss[0] == pytest.approx(rss, rel=1e-6)
    assert s.evar[0] == pytest.approx(1 - rss / np.sum(X[observed] ** 2), rel=1e-6)
    mask = np.ones(V.shape, bool)
    mask[::5, ::7] = False
    t = rank_survey(V, [3], n_runs=3, random_state=0, max_iter=400, mask=mask)
    np.testing.assert_allclose(t.rss, s.rss, rtol=1e-10)


def test_one_run_leaves_the_consensus_measures_undefined():
    """One run agrees with itself: a cophenetic of 1 would claim stability even on noise."""
    V = np.random.default_rng(0).random((20, 10))
    with pytest.warns(RuntimeWarning, match="n_runs=1"):
        s = rank_survey(V, [2, 3], n_runs=1, max_iter=50, random_state=0)
    assert np.isnan(s.cophenetic).all() and np.isnan(s.dispersion).all()
    assert np.isfinite(s.rss).all() and np.isfinite(s.evar).all()
    s = rank_survey(V, [2, 3], n_runs=2, max_iter=50, random_state=0, verbose=False)
    assert np.isfinite(s.cophenetic).all()


# -- component stability, silhouettes, the randomized survey -------------------------------
def unit_rows(X):
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, n, out=np.zeros_like(X, dtype=float), where=n > 0)


def test_planted_components_are_stable_at_the_planted_rank(survey_data):
    V, labels, s = survey_data
    for name in ("stability", "factor_distance", "silhouette_samples", "silhouette_features"):
        assert getattr(s, name).shape == (3,)
    assert s.stability[1] > 0.99 and s.factor_distance[1] < 0.01
    assert s.stability[2] < 0.9 and s.factor_distance[2] > 0.05  # k=4 splits a cluster
    assert (s.component_stability[3] > 0.99).all() and s.component_stability[4].shape == (4,)
    assert s.silhouette_samples[1] == 1.0
    np.testing.assert_array_equal(same_cluster(s.sample_clusters[3]), same_cluster(labels))
    for k in s.ks:
        H = s.factors[k][1]
        Hc = s.consensus_components[k]
        assert Hc.shape == H.shape and np.all(Hc >= 0)
        np.testing.assert_allclose(np.linalg.norm(Hc, axis=1), np.linalg.norm(H, axis=1),
                                   rtol=1e-12)
    cosines = np.sum(unit_rows(s.consensus_components[3]) * unit_rows(s.factors[3][1]), axis=1)
    assert cosines.min() > 0.999


def test_survey_silhouettes_equal_scikit_learn(survey_data):
    metrics = pytest.importorskip("sklearn.metrics")
    from scipy.cluster.hierarchy import fcluster

    from nmfkit.rank.consensus import consensus_tree
    V, _, s = survey_data
    for i, k in enumerate(s.ks):
        D = 1 - s.consensus[k]
        clusters = s.sample_clusters[k]
        raw = fcluster(consensus_tree(s.consensus[k])[0], k, criterion="maxclust")
        np.testing.assert_array_equal(same_cluster(clusters), same_cluster(raw))
        assert s.silhouette_samples[i] == pytest.approx(
            metrics.silhouette_score(D, clusters, metric="precomputed"), abs=1e-12)
        F = s.factors[k][1].T
        F = F[F.any(axis=1)]
        assert s.silhouette_features[i] == pytest.approx(
            metrics.silhouette_score(F, F.argmax(axis=1), metric="cosine"), rel=1e-10)


@pytest.mark.parametrize("layout", ["C", "fortran", "csr"])
def test_stability_comes_from_every_runs_components(monkeypatch, layout):
    """The components clustered are the rows of each run's H, in the caller's orientation,
    and the best run is the one of lowest objective."""
    from nmfkit.rank import stability
    from nmfkit.solvers import many
    metrics = pytest.importorskip("sklearn.metrics")
    V, _ = planted(m=30, n=40, k=3, noise=0.3, seed=3)
    X = {"C": V, "fortran": np.asfortranarray(V), "csr": sp.csr_matrix(V)}[layout]
    runs_H, objectives = [], []
    real_run = _survey.run

    def recording_run(M, *args, **kwargs):
        res = real_run(M, *args, **kwargs)
        runs_H.append(M.to_external(res.W, res.Ht)[1])
        return res
    monkeypatch.setattr(_survey, "run", recording_run)
    monkeypatch.setattr(many, "SIDE_BY_SIDE", False)  # the runs in order, for the recording
    s = rank_survey(X, [3], n_runs=5, random_state=1, max_iter=30, tol=0,
                    callback=lambda k, r, obj: objectives.append(obj))
    best_run = int(np.argmin(objectives))
    np.testing.assert_array_equal(runs_H[best_run], s.factors[3][1])
    U = unit_rows(np.vstack(runs_H))
    expected = stability.component_stability(U.copy(), 3, best_run, runs_H[best_run])
    assert s.stability[0] == pytest.approx(expected[0], rel=1e-12)
    assert s.factor_distance[0] == pytest.approx(expected[3], rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(s.component_stability[3], expected[1], rtol=1e-12)
    np.testing.assert_allclose(s.consensus_components[3], expected[2], rtol=1e-12)
    # and the silhouette is scikit-learn's of the k-means clustering of those components
    labels, _ = stability.kmeans(U, U[3 * best_run:3 * best_run + 3])
    assert s.stability[0] == pytest.approx(
        metrics.silhouette_score(U, labels, metric="cosine"), rel=1e-10)


def test_a_randomized_survey_scores_clearly_lower(survey_data):
    V, _, s = survey_data
    t = rank_survey(V, [2, 3, 4], n_runs=8, random_state=0, randomized=True)
    # the real survey is the same with or without its randomized twin
    for name in ("cophenetic", "dispersion", "rss", "evar", "objective", "stability",
                 "factor_distance", "silhouette_samples", "silhouette_features"):
        np.testing.assert_array_equal(getattr(t, name), getattr(s, name))
    for k in s.ks:
        np.testing.assert_array_equal(t.consensus[k], s.consensus[k])
    r = t.randomized
    assert s.randomized is None and r.randomized is None and list(r.ks) == [2, 3, 4]
    assert r.cophenetic[1] < s.cophenetic[1] - 0.1 and r.dispersion[1] < 0.6
    assert (r.rss > s.rss).all() and r.rss[1] > 100 * s.rss[1]
    assert r.silhouette_samples[1] < 0.8
    header = t.table().splitlines()[0].split()
    assert header[-2:] == ["random_coph", "random_rss"]
    assert float(t.table().splitlines()[2].split()[-2]) == pytest.approx(r.cophenetic[1],
                                                                          abs=5e-5)


@pytest.mark.parametrize("layout", ["C", "fortran", "nan", "mask", "csr", "csr-mask"])
def test_randomized_is_the_survey_of_a_column_shuffled_copy(layout):
    from nmfkit.core.matrix import Matrix
    from nmfkit.rank.chance import shuffle_generator, shuffled_copy
    V, _ = planted(m=24, n=30, k=3, seed=4)
    rng = np.random.default_rng(0)
    mask = None
    if layout == "fortran":
        V = np.asfortranarray(V)
    elif layout == "nan":
        V[rng.random(V.shape) < 0.1] = np.nan
    elif layout in ("mask", "csr-mask"):
        mask = rng.random(V.shape) > 0.1
    if layout.startswith("csr"):
        V[V < 0.05] = 0
        V = sp.csr_matrix(V)
    before = V.copy()
    args = dict(n_runs=2, max_iter=30, tol=0, mask=mask)
    t = rank_survey(V, [2, 3], random_state=5, randomized=True, **args)
    assert (V != before).nnz == 0 if sp.issparse(V) else np.array_equal(V, before,
                                                                         equal_nan=True)
    # by hand: the real survey, then the shuffle and the survey of the copy, one random state
    state = np.random.RandomState(5)
    rank_survey(V, [2, 3], random_state=state, **args)
    S, S_mask = shuffled_copy(Matrix(V, "V", mask=mask), shuffle_generator(state))
    assert sp.issparse(S) == sp.issparse(V)
    args["mask"] = S_mask
    ref = rank_survey(S, [2, 3], random_state=state, **args)
    for name in ("cophenetic", "rss", "evar", "objective", "stability", "silhouette_samples"):
        np.testing.assert_array_equal(getattr(t.randomized, name), getattr(ref, name))
    for k in (2, 3):
        np.testing.assert_array_equal(t.randomized.consensus[k], ref.consensus[k])
        np.testing.assert_array_equal(t.randomized.factors[k][1], ref.factors[k][1])


def test_survey_is_the_same_on_one_and_two_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    V, _ = planted(m=42, n=300, k=3, noise=0.2, seed=6)
    surveys = []
    for n in (1, 2):
        with threadpoolctl.threadpool_limits(n):
            surveys.append(rank_survey(V, [2, 3], n_runs=3, random_state=0, max_iter=40,
                                       tol=0, randomized=True))
    for a, b in ((surveys[0], surveys[1]), (surveys[0].randomized, surveys[1].randomized)):
        for name in ("cophenetic", "rss", "stability", "factor_distance",
                     "silhouette_samples", "silhouette_features"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for k in (2, 3):
            np.testing.assert_array_equal(a.consensus_components[k], b.consensus_components[k])
            np.testing.assert_array_equal(a.component_stability[k], b.component_stability[k])
            np.testing.assert_array_equal(a.sample_clusters[k], b.sample_clusters[k])


def test_stability_false_skips_only_the_components(survey_data):
    V, _, s = survey_data
    t = rank_survey(V, [2, 3, 4], n_runs=8, random_state=0, stability=False)
    assert np.isnan(t.stability).all() and np.isnan(t.factor_distance).all()
    assert t.component_stability == {} and t.consensus_components == {}
    for name in ("cophenetic", "rss", "silhouette_samples", "silhouette_features"):
        np.testing.assert_array_equal(getattr(t, name), getattr(s, name))


def test_one_run_has_no_stability_but_its_own_components():
    V, _ = planted(m=21, n=30)
    with pytest.warns(RuntimeWarning, match="n_runs=1"):
        s = rank_survey(V, [3], n_runs=1, random_state=0)
    assert np.isnan(s.stability[0]) and np.isnan(s.factor_distance[0])
    assert np.isnan(s.silhouette_samples[0]) and np.isfinite(s.silhouette_features[0])
    np.testing.assert_allclose(s.consensus_components[3], s.factors[3][1], rtol=1e-12,
                               atol=1e-300)


def test_randomized_runs_report_after_the_real_ones(survey_data):
    seen = []
    s = rank_survey(survey_data[0], [3, 2], n_runs=2, random_state=0, randomized=True,
                    callback=lambda k, r, obj: seen.append((k, r, obj)))
    assert [(k, r) for k, r, _ in seen] == [(3, 0), (3, 1), (2, 0), (2, 1)] * 2
    assert min(o for k, _, o in seen[4:] if k == 3) == pytest.approx(s.randomized.objective[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rank_survey(survey_data[0], [2], n_runs=2, max_iter=2, random_state=0, randomized=True)
    assert [str(w.message)[:31] for w in caught] == ["2 of 2 runs reached max_iter=2 ",
                                                     "2 of 2 runs on the randomized c"]
    assert all(w.category is ConvergenceWarning for w in caught)


@pytest.mark.parametrize("kwargs, words", [(dict(randomized="yes"), "randomized must be"),
                                           (dict(stability=1), "stability must be")])
def test_survey_flags_are_booleans(kwargs, words):
    V, _ = planted(m=12, n=20)
    with pytest.raises(TypeError, match=words):
        rank_survey(V, [2], n_runs=2, **kwargs)
