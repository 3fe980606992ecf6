"""What every picture shares: matplotlib imported on demand, where to draw, saving, results.

Each plotting function draws into the Axes (`ax=`) or the figure (`fig=`, a Figure or a
SubFigure, for pictures of several panels) it is given, and saves nothing then; without
one it makes its own Figure, without pyplot (nothing opens a window, nothing accumulates in
pyplot's registry), and writes it to `path` when one is given.
"""

import numpy as np

from ...core.params import check_float, check_int

__all__ = ["INSTALL", "require_matplotlib", "axes_to_draw", "figure_to_draw", "save",
           "check_dpi", "colormap", "survey_rank", "Picture"]

INSTALL = 'pip install "nmfkit[plot]"'


def require_matplotlib():
    """Import matplotlib, or raise an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise ImportError(f"nmfkit's plots need matplotlib, which is not installed: "
                          f"{INSTALL} (or pip install matplotlib).") from None


def _new_figure(figsize):
    from matplotlib.figure import Figure
    return Figure(figsize=figsize, layout="constrained")


def _refuse_path(path, given):
    if path is not None:
        raise ValueError(f"path={str(path)!r} saves a figure the function makes itself; with "
                         f"{given}= it draws into yours: save that one (e.g. "
                         "fig.savefig(path)).")


def axes_to_draw(ax, path, figsize):
    """The Axes to draw into: `ax` itself, or the one Axes of a new figure of figsize."""
    require_matplotlib()
    if ax is None:
        return _new_figure(figsize).add_subplot()
    from matplotlib.axes import Axes
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from fig.add_subplot()), got "
                        f"{type(ax).__name__} {ax!r:.60}.")
    _refuse_path(path, "ax")
    return ax


def figure_to_draw(fig, path, figsize):
    """The figure to draw into: `fig` (a Figure or a SubFigure), or a new one of figsize."""
    require_matplotlib()
    if fig is None:
        return _new_figure(figsize)
    from matplotlib.figure import FigureBase
    if not isinstance(fig, FigureBase):
        raise TypeError(f"fig must be a matplotlib Figure or SubFigure (e.g. from "
                        f"fig.subfigures()), got {type(fig).__name__} {fig!r:.60}.")
    _refuse_path(path, "fig")
    return fig


def save(figure, path, dpi):
    """Write the figure to path (format from the extension) when a path is given."""
    if path is not None:
        figure.savefig(path, dpi=dpi)


def check_dpi(dpi):
    return check_float(dpi, "dpi", 0.0, low_open=True)


def colormap(cmap):
    """A matplotlib Colormap from a name or a Colormap, with a clear error for anything else."""
    require_matplotlib()
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


def survey_rank(survey, k):
    """k checked against the survey's ranks; None picks the first with the highest
    cophenetic correlation."""
    if k is None:
        coph = np.where(np.isnan(survey.cophenetic), -np.inf, survey.cophenetic)
        return int(survey.ks[int(np.argmax(coph))])
    k = check_int(k, "k")
    if k not in {int(v) for v in survey.ks}:
        raise ValueError(f"k={k!r} is not in the survey; choose one of "
                         f"{[int(v) for v in survey.ks]}.")
    return k


class Picture:
    """What a picture of several panels returns: its figure, and in subclasses the Axes and
    artists it drew. savefig writes the whole figure; in a notebook it shows itself."""

    figure = None

    def savefig(self, path, **kwargs):
        """Write the figure (the whole one, when the picture is in a SubFigure) to path."""
        self.figure.figure.savefig(path, **kwargs)

    def _repr_png_(self):
        # a pyplot figure is shown by pyplot already; a figure of our own is shown here
        root = self.figure.figure
        if getattr(root.canvas, "manager", None) is not None:
            return None
        import io
        buffer = io.BytesIO()
        root.savefig(buffer, format="png")
        return buffer.getvalue()

    def __repr__(self):
        return f"<{type(self).__name__} in {self.figure!r}>"
