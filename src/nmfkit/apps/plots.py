"""One-line pictures (matplotlib, an optional extra: pip install "nmfkit[plot]").

Each function draws one figure and, given a path, writes it there (PNG by default, or any
format matplotlib knows from the extension); it returns the matplotlib Figure. Figures are
made without pyplot, so nothing opens a window and nothing accumulates in pyplot's registry.
"""

import numpy as np

from ..core.params import check_float, check_int
from ..rank.consensus import check_consensus, consensus_tree
from .images import parts_grid
from .inputs import fitted_attribute, float_array

__all__ = ["plot_history", "plot_parts", "plot_consensus", "plot_rank_survey"]

_INSTALL = 'pip install "nmfkit[plot]"'


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"nmfkit's plots need matplotlib, which is not installed: "
                          f"{_INSTALL} (or pip install matplotlib).") from None
    return Figure(figsize=figsize, layout="constrained")


def _finish(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


def _check_dpi(dpi):
    return check_float(dpi, "dpi", 0.0, low_open=True)


def _colormap(cmap):
    """A matplotlib Colormap from a name or a Colormap, with a clear error for anything else."""
    import matplotlib
    from matplotlib.colors import Colormap
    if isinstance(cmap, Colormap):
        return cmap
    if isinstance(cmap, str):
        try:
            return matplotlib.colormaps[cmap]
        except KeyError:
            raise ValueError(f"cmap {cmap!r} is not a matplotlib colormap; choose one of "
                             "matplotlib.colormaps, e.g. 'gray_r' or 'viridis'.") from None
    raise TypeError(f"cmap must be a colormap name or a matplotlib Colormap, got {cmap!r}.")


def plot_history(model, path=None, *, dpi=100, title=None):
    """The objective against the iteration, log scale.

    model : a fitted NMF (loss_history_ at loss_history_iter_), or a sequence of objective
    values (taken as iterations 0, 1, 2, ...).
    """
    history = fitted_attribute(model, "loss_history_", "plot_history")
    if history is not None:
        values = np.asarray(history, dtype=np.float64)
        iters = np.asarray(model.loss_history_iter_)
    else:
        values = float_array(model, "model", "a fitted NMF or a sequence of objective values",
                             sparse=False)
        if values.ndim != 1:
            raise ValueError(f"the objective values must be a 1-D sequence (one per "
                             f"iteration), got shape {values.shape}.")
        iters = np.arange(values.size)
    if values.size == 0:
        raise ValueError("the objective history is empty: fit the model first.")
    if not np.all(np.isfinite(values)):
        raise ValueError("the objective history has NaN or infinite values; an NMF objective "
                         "is finite: plot the loss_history_ of a fitted model.")
    dpi = _check_dpi(dpi)
    fig = _figure((5, 3.5))
    ax = fig.add_subplot()
    ax.plot(iters, values, marker="o", markersize=3)
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    ax.set_title(title or "NMF objective")
    ax.grid(True, alpha=0.3)
    return _finish(fig, path, dpi)


def plot_parts(components, image_shape, path=None, *, n_cols=None, cmap="gray_r", dpi=100,
               title=None):
    """The components as a grid of images (parts_grid), each scaled to its own maximum."""
    grid = parts_grid(components, image_shape, n_cols=n_cols, padding=1, pad_value=np.nan)
    dpi = _check_dpi(dpi)
    h, w = grid.shape
    scale = 6.0 / max(h, w)
    fig = _figure((max(w * scale, 2.0), max(h * scale, 2.0) + (0.4 if title else 0)))
    cmap = _colormap(cmap)
    ax = fig.add_subplot()
    ax.imshow(grid, cmap=cmap.with_extremes(bad="#bbbbbb"), vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)


def plot_consensus(survey_or_matrix, path=None, *, k=None, cmap="viridis", dpi=100):
    """The consensus matrix as a heatmap, rows and columns in the order of its average-linkage
    tree (blocks on the diagonal = stable clusters).

    survey_or_matrix : a RankSurvey (then k picks the rank; default: the first with the
    highest cophenetic correlation) or a square consensus matrix.
    """
    dpi = _check_dpi(dpi)
    if hasattr(survey_or_matrix, "consensus"):
        survey = survey_or_matrix
        if k is not None:
            k = check_int(k, "k")
        if k is None:
            coph = np.where(np.isnan(survey.cophenetic), -np.inf, survey.cophenetic)
            k = int(survey.ks[int(np.argmax(coph))])
        if k not in survey.consensus:
            raise ValueError(f"k={k!r} is not in the survey; choose one of "
                             f"{[int(v) for v in survey.ks]}.")
        C, order = survey.consensus[k], survey.order[k]
        title = f"consensus, k = {k}"
    else:
        from scipy.cluster.hierarchy import leaves_list
        if k is not None:
            raise ValueError(f"k={k!r} picks a rank of a RankSurvey; a consensus matrix is "
                             "drawn as it is: leave k out, or pass the survey.")
        C = check_consensus(survey_or_matrix)
        order = leaves_list(consensus_tree(C)[0])
        title = "consensus"
    fig = _figure((5, 4.3))
    ax = fig.add_subplot()
    im = ax.imshow(C[np.ix_(order, order)], cmap=_colormap(cmap), vmin=0.0, vmax=1.0,
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of runs together")
    ax.set_title(title)
    ax.set_xlabel("rows of V (tree order)")
    ax.set_ylabel("rows of V (tree order)")
    return _finish(fig, path, dpi)


def plot_rank_survey(survey, path=None, *, dpi=100):
    """The rank survey's curves against k: cophenetic, dispersion, rss and evar."""
    fields = ("ks", "cophenetic", "dispersion", "rss", "evar", "n_runs", "beta_loss")
    if not all(hasattr(survey, name) for name in fields):
        raise TypeError(f"survey must be the RankSurvey returned by rank_survey, got a "
                        f"{type(survey).__name__}.")
    dpi = _check_dpi(dpi)
    fig = _figure((8, 5.5))
    axes = fig.subplots(2, 2, sharex=True)
    ks = np.asarray(survey.ks)
    for ax, name in zip(axes.ravel(), ("cophenetic", "dispersion", "rss", "evar")):
        ax.plot(ks, getattr(survey, name), marker="o")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        if name == "rss" and np.all(np.asarray(survey.rss) > 0):
            ax.set_yscale("log")
    for ax in axes[1]:
        ax.set_xlabel("rank k")
        ax.set_xticks(ks)
    fig.suptitle(f"rank survey ({survey.n_runs} runs per k, {survey.beta_loss})")
    return _finish(fig, path, dpi)
