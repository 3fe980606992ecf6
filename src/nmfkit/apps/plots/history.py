"""The objective of a fit against the iteration, and the components as images."""

import numpy as np

from ...core.inputs import fitted_attribute, float_array
from ..images import parts_grid
from .common import axes_to_draw, check_dpi, colormap, save

__all__ = ["plot_history", "plot_parts"]


def plot_history(model, path=None, *, ax=None, dpi=100, title=None):
    """The objective against the iteration, log scale.

    model : a fitted NMF (loss_history_ at loss_history_iter_), or a sequence of objective
        values (taken as iterations 0, 1, 2, ...).
    path : where to write the figure (PNG, or any format matplotlib knows from the
        extension); only without ax.
    ax : a matplotlib Axes to draw into (then nothing is saved); default a new figure.

    Returns the Axes drawn into (its .figure is the figure).
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
    dpi = check_dpi(dpi)
    ax = axes_to_draw(ax, path, (5, 3.5))
    ax.plot(iters, values, marker="o", markersize=3)
    if np.all(values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    ax.set_title(title or "NMF objective")
    ax.grid(True, alpha=0.3)
    save(ax.figure, path, dpi)
    return ax


def plot_parts(components, image_shape, path=None, *, ax=None, n_cols=None, cmap="gray_r",
               dpi=100, title=None):
    """The components as a grid of images (parts_grid), each scaled to its own maximum.

    path, ax : as for plot_history. Returns the Axes drawn into.
    """
    grid = parts_grid(components, image_shape, n_cols=n_cols, padding=1, pad_value=np.nan)
    dpi = check_dpi(dpi)
    h, w = grid.shape
    scale = 6.0 / max(h, w)
    figsize = (max(w * scale, 2.0), max(h * scale, 2.0) + (0.4 if title else 0))
    cmap = colormap(cmap)
    ax = axes_to_draw(ax, path, figsize)
    ax.imshow(grid, cmap=cmap.with_extremes(bad="#bbbbbb"), vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    save(ax.figure, path, dpi)
    return ax
