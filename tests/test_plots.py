"""The matplotlib one-liners: each writes a real picture; a clear error without matplotlib."""

import sys

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
    return rank_survey(V, [2, 3, 4], n_runs=4, random_state=0), labels


def read_png(path):
    from matplotlib.image import imread
    with open(path, "rb") as f:
        assert f.read(8) == PNG
    return imread(path)


def test_history_plot(mpl, tmp_path):
    X = np.random.default_rng(0).random((20, 15))
    model = NMF(3, random_state=0, max_iter=60, tol=0).fit(X)
    path = tmp_path / "history.png"
    fig = plot_history(model, path, dpi=50)
    img = read_png(path)
    assert img.shape[:2] == (round(3.5 * 50), 5 * 50) and img.std() > 0
    ax = fig.axes[0]
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, model.loss_history_iter_)
    np.testing.assert_array_equal(y, model.loss_history_)
    assert ax.get_yscale() == "log"
    # a plain sequence works too; the figure is returned without a file
    assert plot_history([3.0, 2.0, 1.5]).axes[0].lines[0].get_data()[0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="empty"):
        plot_history([])


def test_parts_plot_shows_the_grid(mpl, tmp_path):
    V, parts = swimmer()
    path = tmp_path / "parts.png"
    fig = plot_parts(parts, (32, 32), path, n_cols=6)
    read_png(path)
    shown = fig.axes[0].images[0].get_array()
    grid = nmfkit.parts_grid(parts, (32, 32), n_cols=6, pad_value=np.nan)
    np.testing.assert_array_equal(np.ma.filled(shown, np.nan), grid)
    assert np.ma.getmaskarray(shown).sum() == np.isnan(grid).sum() > 0  # padding drawn apart


def test_consensus_plot_is_ordered(mpl, survey, tmp_path):
    s, labels = survey
    path = tmp_path / "consensus.png"
    fig = plot_consensus(s, path)  # default k: the highest cophenetic, first such k
    read_png(path)
    best = int(s.ks[np.nanargmax(s.cophenetic)])
    assert fig.axes[0].get_title() == f"consensus, k = {best}"
    fig = plot_consensus(s, k=3)
    shown = np.asarray(fig.axes[0].images[0].get_array())
    order = s.order[3]
    np.testing.assert_array_equal(shown, s.consensus[3][np.ix_(order, order)])
    # the tree order makes the three clusters three diagonal blocks
    assert np.count_nonzero(np.diff(labels[order])) == 2
    # a bare matrix is ordered the same way
    shown2 = np.asarray(plot_consensus(s.consensus[3]).axes[0].images[0].get_array())
    np.testing.assert_array_equal(shown2, shown)
    with pytest.raises(ValueError, match="k=9 is not in the survey"):
        plot_consensus(s, k=9)


def test_rank_survey_plot(mpl, survey, tmp_path):
    s, _ = survey
    path = tmp_path / "survey.png"
    fig = plot_rank_survey(s, path)
    read_png(path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["cophenetic", "dispersion", "rss", "evar"]
    for ax, name in zip(fig.axes, titles):
        x, y = ax.lines[0].get_data()
        np.testing.assert_array_equal(x, s.ks)
        np.testing.assert_array_equal(y, getattr(s, name))


def test_other_formats_follow_the_extension(mpl, tmp_path):
    path = tmp_path / "history.svg"
    plot_history([2.0, 1.0], path)
    assert path.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("fn", [plot_history, plot_parts, plot_consensus, plot_rank_survey])
def test_without_matplotlib_the_error_says_how_to_install(monkeypatch, survey, fn):
    args = {plot_history: ([1.0],), plot_parts: (np.ones((2, 4)), (2, 2)),
            plot_consensus: (np.eye(3),), plot_rank_survey: (survey[0],)}[fn]
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
}


@pytest.mark.parametrize("case", sorted(BAD_PLOT_CALLS))
def test_bad_arguments_are_clear_errors(mpl, survey, case):
    call, exc, words = BAD_PLOT_CALLS[case]
    with pytest.raises(exc, match=words):
        call(survey[0])
