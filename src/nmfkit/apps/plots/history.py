"""The objective of a fit against the iteration, and the components as images."""

import numpy as np

from ...core.inputs import fitted_attribute, float_array
from ..images import parts_grid
from .common import axes_to_draw, check_dpi, colormap, save

__all__ = ["plot_history", "plot_parts"]


def plot_history(model, path=None, *, ax=None, dpi=100, title=None):
    """Plot the objective of a fit against the iteration, on a log scale.

    The curve shows how fast a solver converges and whether it stopped early; the y axis is
    logarithmic when every value is positive.

    Parameters
    ----------
    model : NMF or sequence of float
        A fitted model (its ``loss_history_``, at the iterations ``loss_history_iter_``),
        or a sequence of objective values (taken as iterations 0, 1, 2, ...).
    path : str or os.PathLike, optional
        Where to write the figure (PNG, or any format matplotlib knows from the
        extension); only without `ax`.
    ax : matplotlib.axes.Axes, optional
        The Axes to draw into (then nothing is saved); default a new figure, made without
        pyplot.
    dpi : float, default=100
        The resolution of the file written to `path`.
    title : str, optional
        The Axes' title; default "NMF objective".

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into; its ``figure`` is the figure.

    Raises
    ------
    ValueError
        If the history is empty, not 1-D, or has NaN or infinite values, or if both `path`
        and `ax` are given.
    ImportError
        If matplotlib is not installed (``pip install "nmfkit[plot]"``).

    See Also
    --------
    nmfkit.NMF : Records ``loss_history_`` while it fits.
    nmfkit.plot_parts : The components as images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from nmfkit import NMF, make_low_rank, plot_history
    >>> X = make_low_rank(20, 10, 3, random_state=0)
    >>> model = NMF(3, random_state=0).fit(X)
    >>> ax = plot_history(model, title="Frobenius, 3 components")
    >>> type(ax).__name__, ax.get_yscale()
    ('Axes', 'log')
    >>> type(plot_history([4.0, 2.0, 1.5, 1.4])).__name__
    'Axes'
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
    """Plot the components as a grid of images, each scaled to its own maximum.

    NMF of images (one flattened image per row of X) finds parts; this draws each row of H
    as an image, in a grid laid out by `nmfkit.parts_grid`, with gray padding.

    Parameters
    ----------
    components : NMF, MiniBatchNMF or array-like of shape (n_parts, h * w)
        A fitted model (its ``components_`` are used) or an array, each row a row-major
        flattened h x w image.
    image_shape : tuple of int
        The images' (h, w).
    path : str or os.PathLike, optional
        Where to write the figure; only without `ax`.
    ax : matplotlib.axes.Axes, optional
        The Axes to draw into (then nothing is saved); default a new figure.
    n_cols : int, optional
        Images per row of the grid; default ceil(sqrt(n_parts)).
    cmap : str or matplotlib.colors.Colormap, default="gray_r"
        The colormap of the images (0 white, 1 black by default).
    dpi : float, default=100
        The resolution of the file written to `path`.
    title : str, optional
        The Axes' title; default none.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn into; its ``figure`` is the figure.

    Raises
    ------
    ValueError
        If `image_shape` does not match the components, `cmap` is not a colormap, or both
        `path` and `ax` are given.
    ImportError
        If matplotlib is not installed (``pip install "nmfkit[plot]"``).

    See Also
    --------
    nmfkit.parts_grid : The grid as an array.
    nmfkit.swimmer : Images made of 17 parts.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from nmfkit import plot_parts, swimmer
    >>> V, parts = swimmer()
    >>> ax = plot_parts(parts, (32, 32), n_cols=6, title="the 17 parts")
    >>> type(ax).__name__, ax.get_title()
    ('Axes', 'the 17 parts')
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
