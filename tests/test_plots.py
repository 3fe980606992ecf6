"""The pictures: each writes a real picture, draws into the Axes or figure it is given and
returns what it drew; a clear error without matplotlib."""

import copy
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import nmfkit
from nmfkit import (
    NMF,
    NotFittedError,
    plot_consensus,
    plot_history,
    plot_parts,
    plot_rank_survey,
    rank_survey,
    swimmer,
)
from nmfkit.apps.plots import plot_factors
from nmfkit.apps.plots.survey import SURVEY_PANELS
from nmfkit.rank.consensus import consensus_tree
from nmfkit.rank.stability import consensus_clusters

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mpl():
    return pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    rng.shuffle(labels)
    V = (np.eye(3)[labels] + 0.1 * rng.random((30, 3))) @ rng.random((3, 40)) ** 4
    return rank_survey(V, [2, 3, 4], n_runs=4, random_state=0, randomized=True), labels


@pytest.fixture(scope="module")
def plt(mpl):
    pyplot = pytest.importorskip("matplotlib.pyplot")
    pyplot.switch_backend("agg")
    return pyplot


def read_png(path):
    from matplotlib.image import imread
    with open(path, "rb") as f:
        assert f.read(8) == PNG
    return imread(path)


def test_history_plot(mpl, tmp_path):
    X = np.random.default_rng(0).random((20, 15))
    model = NMF(3, random_state=0, max_iter=60, tol=0).fit(X)
    path = tmp_path / "history.png"
    ax = plot_history(model, path, dpi=50)  # the Axes drawn into (was: the Figure)
    img = read_png(path)
    assert img.shape[:2] == (round(3.5 * 50), 5 * 50) and img.std() > 0
    assert ax.figure.axes == [ax]
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, model.loss_history_iter_)
    np.testing.assert_array_equal(y, model.loss_history_)
    assert ax.get_yscale() == "log"
    # a plain sequence works too; the Axes is returned without a file
    assert plot_history([3.0, 2.0, 1.5]).lines[0].get_data()[0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="empty"):
        plot_history([])


def test_parts_plot_shows_the_grid(mpl, tmp_path):
    V, parts = swimmer()
    path = tmp_path / "parts.png"
    ax = plot_parts(parts, (32, 32), path, n_cols=6)  # the Axes (was: the Figure)
    read_png(path)
    shown = ax.images[0].get_array()
    grid = nmfkit.parts_grid(parts, (32, 32), n_cols=6, pad_value=np.nan)
    np.testing.assert_array_equal(np.ma.filled(shown, np.nan), grid)
    assert np.ma.getmaskarray(shown).sum() == np.isnan(grid).sum() > 0  # padding drawn apart


def test_consensus_plot_is_ordered(mpl, survey, tmp_path):
    s, labels = survey
    path = tmp_path / "consensus.png"
    drawn = plot_consensus(s, path)  # default k: the highest cophenetic, first such k
    read_png(path)
    best = int(s.ks[np.nanargmax(s.cophenetic)])
    assert drawn.title == f"consensus, k = {best}" and drawn.k == best
    drawn = plot_consensus(s, k=3)  # a ConsensusMap (was: the Figure)
    shown = np.asarray(drawn.image.get_array())
    order = s.order[3]
    np.testing.assert_array_equal(drawn.order, order)
    np.testing.assert_array_equal(shown, s.consensus[3][np.ix_(order, order)])
    # the tree order makes the three clusters three diagonal blocks
    assert np.count_nonzero(np.diff(labels[order])) == 2
    # a bare matrix is ordered the same way
    shown2 = np.asarray(plot_consensus(s.consensus[3]).image.get_array())
    np.testing.assert_array_equal(shown2, shown)
    with pytest.raises(ValueError, match="k=9 is not in the survey"):
        plot_consensus(s, k=9)


def leaf_positions(segments, Z, m, axis):
    """{leaf: its coordinate} read off the drawn brackets of the merges that join leaves."""
    found = {}
    for bracket, (a, b) in zip(segments, Z[:, :2].astype(int)):
        for leaf, point in ((a, bracket[0]), (b, bracket[-1])):
            if leaf < m:
                found[leaf] = point[axis]
    return found


def track_rgba(ax, vertical=False):
    rgba = np.asarray(ax.images[0].get_array())
    return rgba[:, 0] if vertical else rgba[0]


def test_consensus_map_has_the_tree_and_the_tracks(mpl, survey):
    s, labels = survey
    names = np.array(["alpha", "beta", "gamma"])[labels]
    drawn = plot_consensus(s, k=3, labels=names)
    C, m = s.consensus[3], len(labels)
    Z = consensus_tree(C)[0]
    order = drawn.order
    # both dendrograms put every leaf on its row of the heatmap
    position = np.argsort(order)
    top = drawn.dendrogram_top.collections[0].get_segments()
    left = drawn.dendrogram_left.collections[0].get_segments()
    assert len(top) == len(left) == m - 1
    for segments, axis in ((top, 0), (left, 1)):
        found = leaf_positions(segments, Z, m, axis)
        assert len(found) == m
        assert all(found[leaf] == position[leaf] for leaf in found)
    assert drawn.heatmap.get_xlim() == drawn.dendrogram_top.get_xlim() == (-0.5, m - 0.5)
    assert drawn.heatmap.get_ylim() == drawn.dendrogram_left.get_ylim() == (m - 0.5, -0.5)
    # the tracks: the survey's clusters, then the labels, each cell the color of its category
    assert list(drawn.tracks) == ["clusters", "labels"]
    np.testing.assert_array_equal(drawn.clusters, s.sample_clusters[3])
    for name, values in (("clusters", s.sample_clusters[3]), ("labels", names)):
        colors = drawn.colors[name]
        assert set(colors) == set(values.tolist())
        assert len(set(colors.values())) == len(colors)  # one color per category
        expected = [colors[v] for v in values[order].tolist()]
        np.testing.assert_allclose(track_rgba(drawn.tracks[name]), expected)
    # cluster c has color c of the palette, as component c in plot_factors
    from matplotlib import colormaps
    for c, color in drawn.colors["clusters"].items():
        np.testing.assert_allclose(color, colormaps["tab10"](c))
    legend = [t.get_text() for t in drawn.legend.get_texts()]
    assert legend == ["clusters", "0", "1", "2", "labels", "alpha", "beta", "gamma"]
    assert drawn.colorbar.ax is drawn.colorbar_ax


def test_consensus_map_cuts_the_tree_without_sample_clusters(mpl, survey):
    s, labels = survey
    bare = copy.copy(s)
    bare.sample_clusters = None  # a survey from before the clusters were reported
    drawn = plot_consensus(bare, k=3)
    Z = consensus_tree(s.consensus[3])[0]
    np.testing.assert_array_equal(drawn.clusters, consensus_clusters(Z, 3, drawn.order))
    assert np.count_nonzero(np.diff(drawn.clusters[drawn.order])) == 2
    # a bare matrix has no clusters: only the tracks it is given
    drawn = plot_consensus(s.consensus[3], labels={"kind": labels, "half": labels > 0})
    assert drawn.clusters is None and drawn.k is None and list(drawn.tracks) == ["kind", "half"]
    assert plot_consensus(s.consensus[3]).legend is None


def test_consensus_labels_from_pandas(mpl, survey):
    pd = pytest.importorskip("pandas")
    s, labels = survey
    frame = pd.DataFrame({"tissue": labels.astype(str), "batch": labels % 2})
    assert list(plot_consensus(s, k=3, labels=frame).tracks) == ["clusters", "tissue", "batch"]
    series = pd.Series(labels, name="tissue")
    series[0] = None  # a missing label is drawn light gray, not listed
    drawn = plot_consensus(s, k=3, labels=series)
    assert set(drawn.colors["tissue"]) == set(labels[1:].tolist())
    cell = int(np.argsort(drawn.order)[0])
    np.testing.assert_allclose(track_rgba(drawn.tracks["tissue"])[cell], (0.85, 0.85, 0.85, 1))


def shares(A, axis):
    return A / A.sum(axis=axis, keepdims=True)


def test_factor_maps_share_one_component_order(mpl, survey, tmp_path):
    s, labels = survey
    W, H = s.factors[3]
    path = tmp_path / "factors.png"
    drawn = plot_factors(s, path, k=3, labels=labels)
    read_png(path)
    assert drawn.title == "factors of the best run, k = 3"
    Ws, Hs = shares(W, 1), shares(H, 0)
    samples, features = drawn.sample_order, drawn.feature_order
    np.testing.assert_allclose(np.asarray(drawn.W_image.get_array()), Ws[samples].T)
    np.testing.assert_allclose(np.asarray(drawn.H_image.get_array()), Hs[:, features])
    # grouped by dominant component, the strongest first within each group
    for order, A in ((samples, Ws), (features, Hs.T)):
        assert sorted(order.tolist()) == list(range(A.shape[0]))
        dominant = np.argmax(A[order], axis=1)
        assert np.all(np.diff(dominant) >= 0)
        for c in np.unique(dominant):
            assert np.all(np.diff(A[order][dominant == c, c]) <= 0)
    # the planted clusters are the components: three blocks of samples
    assert np.count_nonzero(np.diff(labels[samples])) == 2
    # the tracks: each sample's and each feature's dominant component, in component colors
    for name, dominant, order in (("samples: component", np.argmax(W, axis=1), samples),
                                  ("features: component", np.argmax(H, axis=0), features)):
        expected = [drawn.component_colors[c] for c in dominant[order]]
        np.testing.assert_allclose(track_rgba(drawn.tracks[name]), expected)
    expected = [drawn.colors["samples: labels"][v] for v in labels[samples].tolist()]
    np.testing.assert_allclose(track_rgba(drawn.tracks["samples: labels"]), expected)
    # the heatmaps' rows are the components 0 .. k-1 in both
    for ax in (drawn.W_ax, drawn.H_ax):
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2"]


def test_factor_maps_orders_and_inputs(mpl, survey):
    from scipy.cluster.hierarchy import leaves_list, linkage
    s, _ = survey
    W, H = s.factors[3]
    drawn = plot_factors((W, H), sample_order="tree", feature_order=None, scale=False)
    np.testing.assert_array_equal(drawn.sample_order, leaves_list(linkage(W, "average")))
    np.testing.assert_array_equal(drawn.feature_order, np.arange(H.shape[1]))
    np.testing.assert_array_equal(np.asarray(drawn.W_image.get_array()),
                                  W[drawn.sample_order].T)
    assert list(drawn.dendrograms) == ["samples"]
    assert len(drawn.dendrograms["samples"].collections[0].get_segments()) == W.shape[0] - 1
    # a fitted model with the samples X: W = model.transform(X); its feature names shown
    rng = np.random.default_rng(0)
    X = rng.random((12, 6))
    model = NMF(2, random_state=0, max_iter=50).fit(X)
    names = [f"gene{j}" for j in range(6)]
    drawn = plot_factors(model, X=X, feature_names=names)
    np.testing.assert_allclose(np.asarray(drawn.W_image.get_array()),
                               shares(model.transform(X), 1)[drawn.sample_order].T)
    shown = [t.get_text() for t in drawn.H_ax.get_xticklabels()]
    assert shown == [names[j] for j in drawn.feature_order]
    assert not drawn.tracks["features: component"].get_xticklabels()  # not shared with H


def test_rank_survey_plot(mpl, survey, tmp_path):
    s, _ = survey
    path = tmp_path / "survey.png"
    drawn = plot_rank_survey(s, path)  # a SurveyPlot (was: the Figure)
    read_png(path)
    assert list(drawn.axes) == ["cophenetic", "dispersion", "silhouette", "stability",
                                "factor_distance", "rss", "evar"]
    curves = {panel.name: panel.curves for panel in SURVEY_PANELS}
    for name, ax in drawn.axes.items():
        assert ax.get_title() == name.replace("_", " ")
        assert ax.get_xlabel() == "rank k" and ax.get_ylabel()
        assert len(drawn.lines[name]) == len(curves[name])
        for line, (field, _) in zip(drawn.lines[name], curves[name]):
            x, y = line.get_data()
            np.testing.assert_array_equal(x, s.ks)
            np.testing.assert_array_equal(y, getattr(s, field))
    assert [t.get_text() for t in drawn.axes["silhouette"].get_legend().get_texts()] == \
        ["samples", "features"]


def test_rank_survey_plot_draws_the_randomized_curves(mpl, survey):
    s, _ = survey
    r = s.randomized
    drawn = plot_rank_survey(s)
    curves = {panel.name: panel.curves for panel in SURVEY_PANELS}
    for name in drawn.axes:
        assert len(drawn.randomized_lines[name]) == len(drawn.lines[name]) > 0
        for line, data, (field, _) in zip(drawn.randomized_lines[name], drawn.lines[name],
                                          curves[name]):
            assert line.get_linestyle() == "--" and data.get_linestyle() == "-"
            assert line.get_color() == data.get_color()
            np.testing.assert_array_equal(line.get_xdata(), r.ks)
            np.testing.assert_array_equal(line.get_ydata(), getattr(r, field))
    assert [t.get_text() for t in drawn.legend.get_texts()] == ["data", "randomized data"]
    plain = copy.copy(s)
    plain.randomized = None
    drawn = plot_rank_survey(plain)
    assert drawn.legend is None and not any(drawn.randomized_lines.values())


def test_rank_survey_plot_reads_what_the_survey_has(mpl, survey):
    s, _ = survey
    old = SimpleNamespace(**{name: getattr(s, name) for name in
                             ("ks", "cophenetic", "dispersion", "rss", "evar", "n_runs",
                              "beta_loss")})
    assert list(plot_rank_survey(old).axes) == ["cophenetic", "dispersion", "rss", "evar"]
    no_stability = copy.copy(s)
    no_stability.stability = np.full(len(s.ks), np.nan)  # rank_survey(stability=False)
    assert "stability" not in plot_rank_survey(no_stability).axes
    assert list(plot_rank_survey(s, measures=["evar", "rss"]).axes) == ["evar", "rss"]
    with pytest.raises(ValueError, match="the survey has no 'stability' values"):
        plot_rank_survey(old, measures="stability")


def test_every_picture_draws_where_it_is_told(plt, survey, tmp_path):
    s, _ = survey
    before = plt.get_fignums()
    fig, (ax1, ax2) = plt.subplots(1, 2)
    assert plot_history([3.0, 2.0], ax=ax1) is ax1 and ax1.lines
    assert plot_parts(np.ones((2, 4)), (2, 2), ax=ax2) is ax2 and ax2.images
    assert fig.axes == [ax1, ax2]
    big = plt.figure(figsize=(12, 10))
    top, bottom = big.subfigures(2, 1)
    left, right = top.subfigures(1, 2)
    for where, draw in ((left, lambda f: plot_consensus(s, fig=f)),
                        (right, lambda f: plot_factors(s, fig=f)),
                        (bottom, lambda f: plot_rank_survey(s, fig=f))):
        drawn = draw(where)
        assert drawn.figure is where and where.axes and all(a in big.axes for a in where.axes)
    assert plt.get_fignums() == before + [fig.number, big.number]
    big.savefig(tmp_path / "all.png")
    read_png(tmp_path / "all.png")
    plt.close(fig)
    plt.close(big)
    # a figure made by a function is not pyplot's: nothing to close, nothing that leaks
    before = plt.get_fignums()
    plot_history([2.0, 1.0], tmp_path / "h.png")
    plot_parts(np.ones((2, 4)), (2, 2), tmp_path / "p.png")
    plot_consensus(s, tmp_path / "c.png")
    plot_factors(s, tmp_path / "f.png")
    plot_rank_survey(s, tmp_path / "s.png")
    assert plt.get_fignums() == before


def test_a_picture_shows_itself_in_a_notebook(plt, survey, tmp_path):
    s, _ = survey
    drawn = plot_consensus(s)
    assert drawn._repr_png_()[:8] == PNG and "ConsensusMap" in repr(drawn)
    drawn.savefig(tmp_path / "c.png")
    read_png(tmp_path / "c.png")
    fig = plt.figure()
    assert plot_rank_survey(s, fig=fig)._repr_png_() is None  # pyplot shows its own figures
    plt.close(fig)


def test_other_formats_follow_the_extension(mpl, tmp_path):
    path = tmp_path / "history.svg"
    plot_history([2.0, 1.0], path)
    assert path.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("fn", [plot_history, plot_parts, plot_consensus, plot_rank_survey,
                                plot_factors])
def test_without_matplotlib_the_error_says_how_to_install(monkeypatch, survey, fn):
    args = {plot_history: ([1.0],), plot_parts: (np.ones((2, 4)), (2, 2)),
            plot_consensus: (np.eye(3),), plot_rank_survey: (survey[0],),
            plot_factors: ((np.ones((4, 2)), np.ones((2, 3))),)}[fn]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "nmfkit\[plot\]"'):
        fn(*args)


# (call on a RankSurvey s, exception, words): each call gets an argument a plot cannot draw
BAD_PLOT_CALLS = {
    "history None": (lambda s: plot_history(None), ValueError, "1-D sequence"),
    "history 2-D": (lambda s: plot_history([[1.0, 2.0], [3.0, 4.0]]), ValueError, "1-D sequence"),
    "history text": (lambda s: plot_history("abc"), TypeError, "a fitted NMF or a sequence"),
    "history NaN": (lambda s: plot_history([1.0, np.nan]), ValueError, "NaN or infinite"),
    "history unfitted": (lambda s: plot_history(NMF(2)), NotFittedError, "not fitted yet"),
    "dpi 0": (lambda s: plot_history([2.0, 1.0], dpi=0), ValueError, "dpi"),
    "dpi text": (lambda s: plot_history([2.0, 1.0], dpi="high"), TypeError, "dpi"),
    "parts cmap name": (lambda s: plot_parts(np.ones((2, 4)), (2, 2), cmap="no-such-map"),
                        ValueError, "'no-such-map' is not a matplotlib colormap"),
    "parts cmap int": (lambda s: plot_parts(np.ones((2, 4)), (2, 2), cmap=3), TypeError,
                       "cmap must be"),
    "parts unfitted": (lambda s: plot_parts(NMF(2), (2, 2)), NotFittedError, "not fitted yet"),
    "consensus k list": (lambda s: plot_consensus(s, k=[3]), TypeError, "k must be an integer"),
    "consensus k text": (lambda s: plot_consensus(s, k="3"), TypeError, "k must be an integer"),
    "consensus matrix and k": (lambda s: plot_consensus(s.consensus[3], k=3), ValueError,
                               "leave k out"),
    "consensus NaN": (lambda s: plot_consensus(np.full((3, 3), np.nan)), ValueError,
                      "fractions of runs"),
    "consensus text": (lambda s: plot_consensus("abc"), TypeError, "square array of fractions"),
    "consensus cmap": (lambda s: plot_consensus(s, cmap="no-such-map"), ValueError,
                       "not a matplotlib colormap"),
    "survey None": (lambda s: plot_rank_survey(None), TypeError,
                    "RankSurvey returned by rank_survey"),
    "survey matrix": (lambda s: plot_rank_survey(s.consensus[3]), TypeError, "got a ndarray"),
    "survey measure": (lambda s: plot_rank_survey(s, measures=["coph"]), ValueError,
                       "'coph' is not a panel"),
    "survey no measure": (lambda s: plot_rank_survey(s, measures=[]), ValueError, "empty"),
    "survey fig": (lambda s: plot_rank_survey(s, fig=3), TypeError, "fig must be a matplotlib"),
    "history ax": (lambda s: plot_history([1.0], ax="ax"), TypeError, "ax must be a matplotlib"),
    "history ax and path": (lambda s: plot_history([1.0], "h.png", ax=an_axes()), ValueError,
                            "with ax= it draws into yours"),
    "consensus fig and path": (lambda s: plot_consensus(s, "c.png", fig=an_axes().figure),
                               ValueError, "with fig= it draws into yours"),
    "consensus labels": (lambda s: plot_consensus(s, labels=[1, 2]), ValueError,
                         "one category per sample"),
    "factors text": (lambda s: plot_factors("abc"), TypeError, "factors must be"),
    "factors k": (lambda s: plot_factors(s.factors[3], k=3), ValueError, "picks a rank"),
    "factors k missing": (lambda s: plot_factors(s, k=7), ValueError, "k=7 is not in"),
    "factors unfitted": (lambda s: plot_factors(NMF(2), X=np.ones((3, 3))), NotFittedError,
                         "not fitted yet"),
    "factors no X": (lambda s: plot_factors(NMF(2, tol=0, max_iter=5).fit(np.ones((4, 3)))),
                     ValueError, "pass X="),
    "factors X": (lambda s: plot_factors(s.factors[3], X=np.ones((3, 3))), ValueError,
                  "X is used with a fitted model"),
    "factors k differ": (lambda s: plot_factors((np.ones((4, 2)), np.ones((3, 5)))),
                         ValueError, "the same k"),
    "factors negative": (lambda s: plot_factors((-np.ones((4, 2)), np.ones((2, 5)))),
                         ValueError, "finite and nonnegative"),
    "factors order": (lambda s: plot_factors(s, sample_order="random"), ValueError,
                      "sample_order must be"),
    "factors scale": (lambda s: plot_factors(s, scale="yes"), TypeError, "scale must be"),
    "factors names": (lambda s: plot_factors(s, feature_names=["a"]), ValueError,
                      "feature_names must name"),
    "factors cmap": (lambda s: plot_factors(s, cmap="no-such-map"), ValueError,
                     "not a matplotlib colormap"),
}


def an_axes():
    from matplotlib.figure import Figure
    return Figure().add_subplot()


@pytest.mark.parametrize("case", sorted(BAD_PLOT_CALLS))
def test_bad_arguments_are_clear_errors(mpl, survey, case):
    call, exc, words = BAD_PLOT_CALLS[case]
    with pytest.raises(exc, match=words):
        call(survey[0])
