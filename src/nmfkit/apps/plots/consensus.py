"""The consensus map, as R's NMF package draws it (consensusmap): the consensus matrix of a
rank survey ordered by its average-linkage tree, the tree above and to the left, annotation
tracks for the clusters found and the known labels, a colorbar and a legend."""

import numpy as np

from ...rank.consensus import check_consensus, consensus_tree
from ...rank.stability import consensus_clusters
from .common import Picture, check_dpi, colormap, figure_to_draw, save, survey_rank
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

__all__ = ["plot_consensus", "ConsensusMap", "cluster_colors"]


class ConsensusMap(Picture):
    """What plot_consensus drew.

    figure : the Figure (or SubFigure) drawn into. heatmap, dendrogram_top, dendrogram_left,
    colorbar_ax, legend_ax : its Axes (legend_ax None without tracks); tracks : {name:
    Axes}. image : the heatmap's AxesImage; colorbar : the Colorbar; legend : the Legend of
    the tracks or None. order : the samples' order (the tree's leaves); clusters : each
    sample's cluster (None for a bare matrix); colors : {track name: {category: RGBA}};
    k : the rank shown (None for a bare matrix); title : the title drawn.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)


def cluster_colors(values, k):
    """The colors of clusters or components: number c has the palette's c-th color whatever
    else is present (so that it matches in every picture), when all are integers in [0, k);
    other values are colored in their sorted order."""
    distinct = set(values.tolist())
    if all(isinstance(v, (int, np.integer)) and 0 <= v < k for v in distinct):
        colors = category_colors(list(range(k)), CLUSTER_PALETTE)
        return {int(c): colors[int(c)] for c in sorted(distinct)}
    return track_colors(values, CLUSTER_PALETTE)


def _read(survey_or_matrix, k):
    """(C, clusters or None, k or None, default title) from a survey and k, or a matrix."""
    if hasattr(survey_or_matrix, "consensus"):
        survey = survey_or_matrix
        k = survey_rank(survey, k)
        found = getattr(survey, "sample_clusters", None) or {}
        clusters = found.get(k)
        return check_consensus(survey.consensus[k]), clusters, k, f"consensus, k = {k}"
    if k is not None:
        raise ValueError(f"k={k!r} picks a rank of a RankSurvey; a consensus matrix is "
                         "drawn as it is: leave k out, or pass the survey.")
    return check_consensus(survey_or_matrix), None, None, "consensus"


def plot_consensus(survey_or_matrix, path=None, *, k=None, labels=None, fig=None,
                   cmap="viridis", dpi=100, title=None):
    """Plot the consensus map of a rank survey, as R's NMF package's ``consensusmap``.

    The consensus matrix (how often two samples share a cluster across the runs) with its
    rows and columns in the order of its average-linkage tree, so that stable clusters
    show as blocks on the diagonal; the tree above and to the left, and annotation tracks
    of the clusters and of known labels above the map.

    Parameters
    ----------
    survey_or_matrix : RankSurvey or array-like of shape (n_samples, n_samples)
        A survey of `nmfkit.rank_survey` (then `k` picks the rank), or a square consensus
        matrix with entries in [0, 1].
    path : str or os.PathLike, optional
        Where to write the figure (PNG, or any format matplotlib knows from the
        extension); only without `fig`.
    k : int, optional
        The rank of the survey to draw; default the first with the highest cophenetic
        correlation. Only with a survey.
    labels : array-like of shape (n_samples,), dict or pandas.DataFrame, optional
        Known categories of the samples, drawn as tracks with a legend: one array-like, a
        dict {name: array-like}, or a DataFrame (one track per column).
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure, optional
        The figure to draw into (then nothing is saved); default a new figure, made
        without pyplot.
    cmap : str or matplotlib.colors.Colormap, default="viridis"
        The colormap of the consensus, from 0 to 1.
    dpi : float, default=100
        The resolution of the file written to `path`.
    title : str, optional
        Default "consensus, k = K" (or "consensus" for a matrix); "" for none.

    Returns
    -------
    ConsensusMap
        The figure (``figure``), its Axes (``heatmap``, ``dendrogram_top``,
        ``dendrogram_left``, ``colorbar_ax``, ``legend_ax``, ``tracks``), its artists
        (``image``, ``colorbar``, ``legend``), the samples' ``order``, their ``clusters``
        (None for a bare matrix), the tracks' ``colors``, ``k`` and ``title``. Its
        ``savefig(path)`` writes the figure; in a notebook it shows itself.

    Raises
    ------
    ValueError
        If `k` is not a rank of the survey or is given with a matrix, the matrix is not a
        square array in [0, 1], the labels do not match the samples, or both `path` and
        `fig` are given.
    ImportError
        If matplotlib is not installed (``pip install "nmfkit[plot]"``).

    See Also
    --------
    nmfkit.rank_survey : Computes the consensus matrices.
    nmfkit.plot_rank_survey : The survey's measures against k.
    nmfkit.plot_factors : Heatmaps of W and H.

    Notes
    -----
    With a survey, the first track is the consensus clusters: ``survey.sample_clusters[k]``
    when the survey has them, else the tree cut into k clusters (numbered in tree order).
    Cluster c has the same color as component c in `nmfkit.plot_factors`.

    References
    ----------
    .. [1] Brunet, J.-P., Tamayo, P., Golub, T. R. & Mesirov, J. P. (2004). Metagenes and
       molecular pattern discovery using matrix factorization. PNAS 101(12), 4164-4169.
    .. [2] Gaujoux, R. & Seoighe, C. (2010). A flexible R package for nonnegative matrix
       factorization. BMC Bioinformatics 11, 367.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from nmfkit import plot_consensus, rank_survey
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10))  # 12 samples in 3 groups
    >>> survey = rank_survey(V, [2, 3], n_runs=5, random_state=0)
    >>> picture = plot_consensus(survey, k=3, labels=["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    >>> type(picture).__name__, picture.k, picture.order.shape
    ('ConsensusMap', 3, (12,))
    >>> sorted(picture.tracks)
    ['clusters', 'labels']
    """
    dpi = check_dpi(dpi)
    cmap = colormap(cmap)  # first: it says how to install matplotlib if it is missing
    C, clusters, k, default_title = _read(survey_or_matrix, k)
    m = C.shape[0]
    Z = consensus_tree(C)[0]
    from scipy.cluster.hierarchy import leaves_list
    order = leaves_list(Z)
    if clusters is None and k is not None:
        clusters = consensus_clusters(Z, k, order)
    tracks = {} if clusters is None else {"clusters": np.asarray(clusters, dtype=object)}
    tracks.update(label_tracks(labels, m))
    colors = {}
    for i, (name, values) in enumerate(tracks.items()):
        colors[name] = (cluster_colors(values, k) if name == "clusters" and clusters is not None
                        else track_colors(values, LABEL_PALETTES[i % len(LABEL_PALETTES)]))
    n_tracks = len(tracks)
    fig = figure_to_draw(fig, path, (6.2 + 1.3 * bool(tracks), 5.6 + 0.22 * n_tracks))
    # the legend beside a nested grid: an Axes spanning the grid's rows would make
    # constrained layout give every row the largest row's margins
    outer = fig.add_gridspec(1, 1 + bool(tracks), width_ratios=[6.2] + [1.3] * bool(tracks),
                             wspace=0.02)
    grid = outer[0].subgridspec(2 + n_tracks, 3, height_ratios=[1.0] + [0.2] * n_tracks + [5.0],
                                width_ratios=[1.0, 5.0, 0.18], hspace=0.02, wspace=0.02)
    heatmap = fig.add_subplot(grid[-1, 1])
    image = heatmap.imshow(C[np.ix_(order, order)], cmap=cmap, vmin=0.0, vmax=1.0,
                           aspect="auto", interpolation="nearest")
    heatmap.set_xticks([])
    heatmap.set_yticks([])
    heatmap.set_xlabel(f"samples (rows of V, {m}) in the order of the tree")
    top = fig.add_subplot(grid[0, 1])
    draw_dendrogram(top, Z, order, side="top")
    left = fig.add_subplot(grid[-1, 0])
    draw_dendrogram(left, Z, order, side="left")
    track_axes = {}
    for i, (name, values) in enumerate(tracks.items()):
        ax = fig.add_subplot(grid[1 + i, 1])
        draw_track(ax, values[order], colors[name], name=name)
        track_axes[name] = ax
    heatmap.set_xlim(-0.5, m - 0.5)
    heatmap.set_ylim(m - 0.5, -0.5)
    colorbar_ax = fig.add_subplot(grid[-1, 2])
    colorbar = fig.colorbar(image, cax=colorbar_ax, label="fraction of runs together")
    legend_ax = legend = None
    if tracks:
        legend_ax = fig.add_subplot(outer[1])
        legend = tracks_legend(legend_ax, colors)
    title = default_title if title is None else title
    if title:
        fig.suptitle(title)
    save(fig, path, dpi)
    return ConsensusMap(figure=fig, heatmap=heatmap, dendrogram_top=top, dendrogram_left=left,
                        tracks=track_axes, colorbar_ax=colorbar_ax, legend_ax=legend_ax,
                        image=image, colorbar=colorbar, legend=legend, order=order,
                        clusters=None if clusters is None else np.asarray(clusters),
                        colors=colors, k=k, title=title)
