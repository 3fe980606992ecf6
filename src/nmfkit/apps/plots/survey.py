"""The rank survey's measures against k, one panel each, with the curves of the same survey on
randomized data beside them (R's NMF plot of nmfEstimateRank with a randomized comparison)."""

from typing import NamedTuple

import numpy as np

from .common import Picture, check_dpi, figure_to_draw, save

__all__ = ["plot_rank_survey", "SurveyPlot", "SURVEY_PANELS"]


class Panel(NamedTuple):
    """One panel: its name, the y axis's label, the survey's fields it draws (field, label
    in the panel's legend or None) and whether the y axis is logarithmic."""
    name: str
    ylabel: str
    curves: tuple
    log: bool = False


SURVEY_PANELS = (
    Panel("cophenetic", "cophenetic correlation\n(1: same clusters in every run)",
          (("cophenetic", None),)),
    Panel("dispersion", "dispersion of the consensus\n(1: every entry 0 or 1)",
          (("dispersion", None),)),
    Panel("silhouette", "mean silhouette\n(1: well separated clusters)",
          (("silhouette_samples", "samples"), ("silhouette_features", "features"))),
    Panel("stability", "silhouette of the components\nof all runs (1: stable)",
          (("stability", None),)),
    Panel("factor_distance", "1 - cosine of matched components\nof two runs (0: the same)",
          (("factor_distance", None),)),
    Panel("rss", "residual sum of squares\n$\\|V - WH\\|_F^2$ (best run)", (("rss", None),),
          log=True),
    Panel("evar", "explained variance\n$1 - rss\\,/\\,\\|V\\|_F^2$", (("evar", None),)),
)
_PANELS = {panel.name: panel for panel in SURVEY_PANELS}
_REQUIRED = ("ks", "cophenetic", "dispersion", "rss", "evar", "n_runs", "beta_loss")


class SurveyPlot(Picture):
    """What plot_rank_survey drew.

    figure : the Figure (or SubFigure) drawn into; axes : {panel name: Axes}; lines :
    {panel name: [Line2D of the survey]}; randomized_lines : {panel name: [Line2D of the
    randomized survey]} (empty lists without one); legend : the Legend of the line styles
    (data, randomized data), None without a randomized survey.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _values(survey, field):
    values = getattr(survey, field, None)
    return None if values is None else np.asarray(values, dtype=np.float64)


def _has_values(survey, field):
    values = _values(survey, field)
    return values is not None and not np.all(np.isnan(values))


def _panels(survey, measures):
    """The panels to draw: those named in measures, or every one the survey has values for
    (not all NaN, as the stability of a survey run with stability=False)."""
    if measures is None:
        return [p for p in SURVEY_PANELS
                if any(_has_values(survey, field) for field, _ in p.curves)]
    if isinstance(measures, str):
        measures = [measures]
    panels = []
    for name in measures:
        if name not in _PANELS:
            raise ValueError(f"measures: {name!r} is not a panel of the survey plot; choose "
                             f"from {[p.name for p in SURVEY_PANELS]}.")
        panel = _PANELS[name]
        if all(_values(survey, field) is None for field, _ in panel.curves):
            raise ValueError(f"measures: the survey has no {name!r} values; leave it out, or "
                             "run a rank_survey that reports it.")
        panels.append(panel)
    if not panels:
        raise ValueError("measures is empty: name at least one panel, or pass None for all.")
    return panels


def _draw_panel(ax, panel, survey, randomized):
    """The panel's curves for the survey (solid) and the randomized survey (dashed, same
    colors). Returns the two lists of Line2D."""
    ks = np.asarray(survey.ks)
    lines, randomized_lines = [], []
    for i, (field, label) in enumerate(panel.curves):
        values = _values(survey, field)
        if values is None:
            continue
        lines += ax.plot(ks, values, marker="o", color=f"C{i}", label=label)
        shuffled = None if randomized is None else _values(randomized, field)
        if shuffled is not None:
            randomized_lines += ax.plot(np.asarray(randomized.ks), shuffled, marker="o",
                                        color=f"C{i}", linestyle="--", markerfacecolor="none",
                                        alpha=0.85)
    everything = np.concatenate([line.get_ydata() for line in lines + randomized_lines])
    if panel.log and np.all(everything[np.isfinite(everything)] > 0):
        ax.set_yscale("log")
    ax.set_title(panel.name.replace("_", " "))
    ax.set_xlabel("rank k")
    ax.set_ylabel(panel.ylabel, fontsize="small")
    if len(ks) <= 16:
        ax.set_xticks(ks)
    ax.grid(True, alpha=0.3)
    if any(label for _, label in panel.curves) and len(lines) > 1:
        ax.legend(fontsize="small")
    return lines, randomized_lines


def plot_rank_survey(survey, path=None, *, measures=None, fig=None, dpi=100, title=None):
    """Plot the measures of a rank survey against k, one panel each.

    The panels (those the survey has values for): cophenetic correlation, dispersion,
    silhouettes of samples and features, component stability, factor distance, rss (log
    scale) and explained variance, as R's NMF package plots ``nmfEstimateRank``.

    Parameters
    ----------
    survey : RankSurvey
        The result of `nmfkit.rank_survey`.
    path : str or os.PathLike, optional
        Where to write the figure (PNG, or any format matplotlib knows from the
        extension); only without `fig`.
    measures : str or list of str, optional
        The panels to draw, by name: "cophenetic", "dispersion", "silhouette",
        "stability", "factor_distance", "rss", "evar" (``SURVEY_PANELS``); default every
        one the survey has values for.
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure, optional
        The figure to draw into (then nothing is saved); default a new figure, made
        without pyplot.
    dpi : float, default=100
        The resolution of the file written to `path`.
    title : str, optional
        Default "rank survey (N runs per k, LOSS)"; "" for none.

    Returns
    -------
    SurveyPlot
        The ``figure``, its ``axes`` ({panel name: Axes}), the ``lines`` of the survey and
        the ``randomized_lines`` of the randomized survey ({panel name: list of Line2D}),
        the ``legend`` of the line styles (None without a randomized survey) and the
        ``title``. Its ``savefig(path)`` writes the figure.

    Raises
    ------
    TypeError
        If `survey` is not a RankSurvey.
    ValueError
        If a measure is unknown, or not in the survey, or both `path` and `fig` are
        given.
    ImportError
        If matplotlib is not installed (``pip install "nmfkit[plot]"``).

    See Also
    --------
    nmfkit.rank_survey : Makes the survey.
    nmfkit.plot_consensus : The consensus map of one rank.

    Notes
    -----
    When the survey has a randomized survey (``rank_survey(..., randomized=True)``), its
    curves are drawn dashed in the same colors: a rank is worth choosing where the data's
    curves stand apart from them (Frigyesi & Hoglund 2008).

    References
    ----------
    .. [1] Brunet, J.-P., Tamayo, P., Golub, T. R. & Mesirov, J. P. (2004). Metagenes and
       molecular pattern discovery using matrix factorization. PNAS 101(12), 4164-4169.
    .. [2] Frigyesi, A. & Hoglund, M. (2008). Non-negative matrix factorization for the
       analysis of complex gene expression data: identification of clinically relevant
       tumor subtypes. Cancer Informatics 6, 275-292.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from nmfkit import plot_rank_survey, rank_survey
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10))  # 12 samples in 3 groups
    >>> survey = rank_survey(V, [2, 3, 4], n_runs=5, random_state=0, randomized=True)
    >>> picture = plot_rank_survey(survey, measures=["cophenetic", "rss"])
    >>> type(picture).__name__, sorted(picture.axes)
    ('SurveyPlot', ['cophenetic', 'rss'])
    >>> len(picture.randomized_lines["rss"])
    1
    """
    if not all(hasattr(survey, name) for name in _REQUIRED):
        raise TypeError(f"survey must be the RankSurvey returned by rank_survey, got a "
                        f"{type(survey).__name__}.")
    dpi = check_dpi(dpi)
    panels = _panels(survey, measures)
    randomized = getattr(survey, "randomized", None)
    n = len(panels)
    n_cols = n if n <= 2 else 2 if n <= 4 else 3 if n <= 6 else 4
    n_rows = -(-n // n_cols)
    fig = figure_to_draw(fig, path, (0.6 + 3.1 * n_cols, 0.5 + 2.7 * n_rows))
    grid = fig.add_gridspec(n_rows, n_cols)
    axes, lines, randomized_lines = {}, {}, {}
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(grid[divmod(i, n_cols)])
        axes[panel.name] = ax
        lines[panel.name], randomized_lines[panel.name] = _draw_panel(ax, panel, survey,
                                                                      randomized)
    legend = None
    if any(randomized_lines.values()):
        from matplotlib.lines import Line2D
        styles = [Line2D([], [], color="0.3", marker="o", label="data"),
                  Line2D([], [], color="0.3", marker="o", linestyle="--",
                         markerfacecolor="none", label="randomized data")]
        if n < n_rows * n_cols:  # the first empty slot holds the legend
            spare = fig.add_subplot(grid[divmod(n, n_cols)])
            spare.set_axis_off()
            legend = spare.legend(handles=styles, loc="center", title="curves")
        else:
            last = axes[panels[-1].name]
            legend = last.legend(handles=styles, loc="best", fontsize="small")
    if title is None:
        title = f"rank survey ({survey.n_runs} runs per k, {survey.beta_loss})"
    if title:
        fig.suptitle(title)
    save(fig, path, dpi)
    return SurveyPlot(figure=fig, axes=axes, lines=lines, randomized_lines=randomized_lines,
                      legend=legend, title=title)
