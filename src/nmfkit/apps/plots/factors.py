"""Heatmaps of W and H with one component order, as R's NMF package draws them (coefmap for
the samples' W, basismap for the features' H), with annotation tracks."""

import numpy as np

from ...core.inputs import components_array, float_array
from .common import Picture, check_dpi, colormap, figure_to_draw, save, survey_rank
from .consensus import cluster_colors
from .tracks import (
    CLUSTER_PALETTE,
    LABEL_PALETTES,
    category_colors,
    draw_dendrogram,
    draw_track,
    label_tracks,
    track_colors,
    tracks_legend,
)

__all__ = ["plot_factors", "FactorMaps", "factor_order"]

_ORDERS = ("dominant", "tree")
_NAMES_SHOWN = 60  # feature names are written below H up to this many features


class FactorMaps(Picture):
    """What plot_factors drew.

    figure : the Figure (or SubFigure) drawn into; W_ax, H_ax : the heatmaps of W
    (components x samples) and H (components x features); W_image, H_image : their
    AxesImages; colorbars : {"W": Colorbar, "H": Colorbar}; tracks : {name: Axes} ("samples:
    NAME" for each known label, "samples: component", "features: component"); dendrograms :
    {"samples" / "features": Axes} when ordered by a tree; legend : the tracks' Legend;
    colors : {track name: {category: RGBA}}; component_colors : {component: RGBA};
    sample_order, feature_order : the orders drawn;
    W, H : the matrices drawn (scaled when scale=True), in those orders.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)


def factor_order(A, how):
    """The order of the rows of A (items x components) and its tree (or None).

    how : 'dominant' (by dominant component, then by decreasing weight on it), 'tree' (the
    leaves of the average-linkage tree on the Euclidean distances of the rows) or None (as
    given).
    """
    if how is None:
        return np.arange(A.shape[0]), None
    if how == "dominant":
        dominant = np.argmax(A, axis=1)
        return np.lexsort((-A[np.arange(A.shape[0]), dominant], dominant)), None
    from scipy.cluster.hierarchy import leaves_list, linkage
    Z = linkage(A, method="average", metric="euclidean")
    return leaves_list(Z), Z


def _read_factors(factors, X, k):
    """(W, H, feature names or None, default title) from what plot_factors was given."""
    names = None
    if hasattr(factors, "factors") and hasattr(factors, "ks"):  # a RankSurvey
        k = survey_rank(factors, k)
        (W, H), title = factors.factors[k], f"factors of the best run, k = {k}"
    elif k is not None:
        raise ValueError(f"k={k!r} picks a rank of a RankSurvey; pass the survey, or leave k "
                         "out.")
    elif hasattr(factors, "fit"):  # an estimator: W from X
        H = components_array(factors, "components")
        if X is None:
            raise ValueError("plot_factors(model) needs the samples to compute W: pass X= "
                             "(W = model.transform(X)), or pass (W, H).")
        W, names, title = factors.transform(X), getattr(factors, "feature_names_in_", None), \
            "factors"
    elif hasattr(factors, "W") and hasattr(factors, "H"):  # a FitResult
        W, H, title = factors.W, factors.H, "factors"
    elif isinstance(factors, (tuple, list)) and len(factors) == 2:
        (W, H), title = factors, "factors"
    else:
        raise TypeError(f"factors must be (W, H), a fitted NMF with X=, a FitResult or a "
                        f"RankSurvey, got {type(factors).__name__} {factors!r:.60}.")
    if X is not None and not hasattr(factors, "fit"):
        raise ValueError("X is used with a fitted model, to compute W; with (W, H), a "
                         "FitResult or a survey leave it out.")
    expected = "a nonnegative 2-D array"
    W, H = (float_array(A, name, expected) for A, name in ((W, "W"), (H, "H")))
    if W.ndim != 2 or H.ndim != 2 or W.shape[1] != H.shape[0] or W.shape[1] < 1:
        raise ValueError(f"W (samples x k) and H (k x features) must be 2-D with the same k, "
                         f"got shapes {W.shape} and {H.shape}.")
    for A, name in ((W, "W"), (H, "H")):
        if not np.all(np.isfinite(A) & (A >= 0)):
            raise ValueError(f"{name} must be finite and nonnegative, as NMF factors are.")
    return W, H, names, title


def _shares(A, axis):
    """A divided by its sums along axis (a zero sum stays zero)."""
    sums = A.sum(axis=axis, keepdims=True)
    return np.divide(A, sums, out=np.zeros_like(A), where=sums > 0)


def plot_factors(factors, path=None, *, X=None, k=None, labels=None, scale=True,
                 sample_order="dominant", feature_order="dominant", feature_names=None,
                 fig=None, cmap="YlOrRd", dpi=100, title=None):
    """Plot heatmaps of W and H with the components in one order, as R's NMF package.

    W (components x samples, above; R's ``coefmap``) and H (components x features, below;
    R's ``basismap``), each with annotation tracks of the dominant component of every
    sample and feature, and of known labels of the samples.

    Parameters
    ----------
    factors : tuple of array-like, FitResult, RankSurvey or NMF
        (W, H); a FitResult; a RankSurvey (the best run of rank `k`); or a fitted model
        with `X` (W is ``model.transform(X)``).
    path : str or os.PathLike, optional
        Where to write the figure; only without `fig`.
    X : array-like of shape (n_samples, n_features), optional
        The samples, with a fitted model only.
    k : int, optional
        The rank of a survey; default the first with the highest cophenetic correlation.
        Only with a survey.
    labels : array-like of shape (n_samples,), dict or pandas.DataFrame, optional
        Known categories of the samples, drawn as tracks above W: one array-like, a dict
        {name: array-like} or a DataFrame (one track per column).
    scale : bool, default=True
        True: each sample's weights sum to 1 (its mixture of components, as R's
        ``coefmap``) and each feature's column of H sums to 1 (the share of each component
        in it, as R's ``basismap``); False: the values as they are.
    sample_order : {"dominant", "tree"} or None, default="dominant"
        The order of the samples: grouped by dominant component, the strongest first;
        the leaves of the average-linkage tree of the rows drawn, with its dendrogram; or
        as given.
    feature_order : {"dominant", "tree"} or None, default="dominant"
        The order of the features, likewise.
    feature_names : array-like of shape (n_features,), optional
        Written below H when there are at most 60 features; default the model's
        ``feature_names_in_``.
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure, optional
        The figure to draw into (then nothing is saved); default a new figure.
    cmap : str or matplotlib.colors.Colormap, default="YlOrRd"
        The colormap of the heatmaps.
    dpi : float, default=100
        The resolution of the file written to `path`.
    title : str, optional
        Default "factors" (or "factors of the best run, k = K"); "" for none.

    Returns
    -------
    FactorMaps
        The figure, the heatmaps' Axes (``W_ax``, ``H_ax``) and images, ``colorbars``,
        ``tracks``, ``dendrograms``, ``legend``, the ``colors`` of the tracks and
        ``component_colors``, the orders drawn (``sample_order``, ``feature_order``) and
        the matrices drawn (``W``, ``H``, components x items). Its ``savefig(path)`` writes
        the figure.

    Raises
    ------
    ValueError
        If W and H do not match or are not finite and nonnegative, `X` or `k` is given
        where it does not apply, an order is unknown, or both `path` and `fig` are given.
    TypeError
        If `factors` is none of the accepted kinds.
    ImportError
        If matplotlib is not installed (``pip install "nmfkit[plot]"``).

    See Also
    --------
    nmfkit.plot_consensus : The consensus map of a survey.
    nmfkit.assign_clusters : Each sample's dominant component and its silhouette.
    nmfkit.extract_features : The features that define each component.

    Notes
    -----
    Component c has the same color in the tracks as cluster c in `nmfkit.plot_consensus`.

    References
    ----------
    .. [1] Gaujoux, R. & Seoighe, C. (2010). A flexible R package for nonnegative matrix
       factorization. BMC Bioinformatics 11, 367.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from nmfkit import NMF, plot_factors
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10))  # 12 samples in 3 groups
    >>> model = NMF(3, random_state=0, max_iter=500)
    >>> W_fit = model.fit_transform(V)
    >>> picture = plot_factors((W_fit, model.components_), sample_order="tree")
    >>> type(picture).__name__, picture.W.shape, picture.H.shape
    ('FactorMaps', (3, 12), (3, 10))
    >>> sorted(picture.tracks)
    ['features: component', 'samples: component']
    """
    dpi = check_dpi(dpi)
    cmap = colormap(cmap)  # first: it says how to install matplotlib if it is missing
    W, H, names, default_title = _read_factors(factors, X, k)
    for value, name in ((sample_order, "sample_order"), (feature_order, "feature_order")):
        if value is not None and not (isinstance(value, str) and value in _ORDERS):
            raise ValueError(f"{name} must be 'dominant', 'tree' or None, got {value!r}.")
    if not isinstance(scale, (bool, np.bool_)):
        raise TypeError(f"scale must be True or False, got {scale!r}.")
    (m, n_components), n = W.shape, H.shape[1]
    names = names if feature_names is None else np.asarray(feature_names, dtype=object)
    if names is not None and len(names) != n:
        raise ValueError(f"feature_names must name the {n} features, got {len(names)}.")
    Wd = _shares(W, 1) if scale else W
    Hd = _shares(H, 0) if scale else H
    samples, sample_tree = factor_order(Wd, sample_order)
    features, feature_tree = factor_order(Hd.T, feature_order)
    tracks = {f"samples: {name}": values
              for name, values in label_tracks(labels, m).items()}
    tracks["samples: component"] = np.argmax(W, axis=1).astype(object)
    tracks["features: component"] = np.argmax(H, axis=0).astype(object)
    colors = {}
    for i, (name, values) in enumerate(tracks.items()):
        colors[name] = (cluster_colors(values, n_components) if name.endswith(": component")
                        else track_colors(values, LABEL_PALETTES[i % len(LABEL_PALETTES)]))
    blocks = [_Block("samples", "W", sample_order, sample_tree, samples, Wd[samples].T),
              _Block("features", "H", feature_order, feature_tree, features,
                     Hd[:, features])]
    heat_height = max(1.3, 0.3 * n_components)
    heights = []
    for block in blocks:
        block.tracks = [t for t in tracks if t.startswith(block.what + ":")]
        block.heights = ([0.7] * (block.tree is not None) + [0.2] * len(block.tracks)
                         + [heat_height])
        heights += block.heights + [0.3]  # a spacer between the blocks
    heights.pop()
    fig = figure_to_draw(fig, path, (9.0, sum(heights) + 1.3))
    # the legend beside a nested grid: an Axes spanning the grid's rows would make
    # constrained layout give every row the largest row's margins
    outer = fig.add_gridspec(1, 2, width_ratios=[1.0, 0.16], wspace=0.02)
    grid = outer[0].subgridspec(len(heights), 2, height_ratios=heights,
                                width_ratios=[1.0, 0.025], hspace=0.03, wspace=0.02)
    result = FactorMaps(figure=fig, tracks={}, dendrograms={}, colorbars={}, colors=colors,
                        sample_order=samples, feature_order=features,
                        component_colors=category_colors(list(range(n_components)),
                                                         CLUSTER_PALETTE))
    row = 0
    for block in blocks:
        _draw_block(fig, grid, row, block, tracks, colors, cmap, scale, n_components,
                    names if block.what == "features" else None, result)
        row += len(block.heights) + 1
    legend_colors = {t.split(": ", 1)[1]: c for t, c in colors.items()
                     if not t.endswith(": component")}
    legend_colors["component"] = result.component_colors
    result.legend = tracks_legend(fig.add_subplot(outer[1]), legend_colors)
    title = default_title if title is None else title
    if title:
        fig.suptitle(title)
    save(fig, path, dpi)
    result.title = title
    return result


class _Block:
    """One heatmap with what is above it: its dendrogram and its tracks."""

    def __init__(self, what, letter, how, tree, order, matrix):
        self.what, self.letter, self.how, self.tree = what, letter, how, tree
        self.order, self.matrix = order, matrix


def _draw_block(fig, grid, row, block, tracks, colors, cmap, scale, n_components, names,
                result):
    """Draw a block from grid row `row` down, and record its Axes and artists in result."""
    heatmap = fig.add_subplot(grid[row + len(block.heights) - 1, 0])
    first = None
    if block.tree is not None:
        first = fig.add_subplot(grid[row, 0])
        draw_dendrogram(first, block.tree, block.order, side="top")
        result.dendrograms[block.what] = first
        row += 1
    for name in block.tracks:
        ax = fig.add_subplot(grid[row, 0])
        draw_track(ax, tracks[name][block.order], colors[name])
        ax.set_ylabel(name.split(": ", 1)[1], rotation=0, ha="right", va="center",
                      fontsize="small")
        first = first or ax
        result.tracks[name] = ax
        row += 1
    image = heatmap.imshow(block.matrix, cmap=cmap, vmin=0.0, vmax=1.0 if scale else None,
                           aspect="auto", interpolation="nearest")
    _component_axis(heatmap, n_components, result.component_colors)
    count = block.matrix.shape[1]
    sorted_by = {"dominant": "grouped by dominant component",
                 "tree": "in the order of the tree", None: "as given"}[block.how]
    side = "rows" if block.what == "samples" else "columns"
    heatmap.set_xlabel(f"{block.what} ({side} of V, {count}), {sorted_by}")
    heatmap.set_xticks([])
    if names is not None and count <= _NAMES_SHOWN:
        heatmap.set_xticks(np.arange(count), [str(s) for s in names[block.order]],
                           rotation=90, fontsize="x-small")
    label = "share" if scale else block.letter
    result.colorbars[block.letter] = fig.colorbar(image, cax=fig.add_subplot(grid[row, 1]),
                                                  label=label)
    (first or heatmap).set_title(f"{block.letter}: {block.what} by component", loc="left",
                                 fontsize="medium")
    setattr(result, f"{block.letter}_ax", heatmap)
    setattr(result, f"{block.letter}_image", image)
    setattr(result, block.letter, block.matrix)


def _component_axis(ax, n_components, colors):
    """Components as the heatmap's rows: ticks 0 .. k-1 on boxes of the components' colors."""
    ax.set_yticks(np.arange(n_components), [str(c) for c in range(n_components)],
                  fontsize="small")
    for c, label in enumerate(ax.get_yticklabels()):
        color = colors.get(c)
        if color is not None:
            label.set_bbox(dict(facecolor=color, edgecolor="none", pad=1.5))
