"""The parts of an annotated heatmap: category colors, annotation tracks, dendrograms, legend.

An annotation track is a strip of colored cells beside a heatmap, one cell per row (or
column) of it, in the heatmap's order: the cluster of each sample, or a known label. A
dendrogram is drawn from a scipy linkage matrix onto an Axes that shares the heatmap's
coordinates (cell i is centered at i), so that its leaves sit on the heatmap's rows.
"""

import numpy as np

__all__ = ["CLUSTER_PALETTE", "LABEL_PALETTES", "label_tracks", "category_colors",
           "track_colors", "draw_track", "dendrogram_segments", "draw_dendrogram",
           "tracks_legend"]

# cluster or component c has the same color in every picture
CLUSTER_PALETTE = "tab10"
# one qualitative palette per known-label track, in turn
LABEL_PALETTES = ("Set2", "Dark2", "Pastel1", "Accent", "Set1")
_MISSING = (0.85, 0.85, 0.85, 1.0)


def label_tracks(labels, n, name="labels"):
    """Known labels as {track name: (n,) object array}.

    labels : None; one array-like of n categories (a pandas Series is named after itself);
        a dict {name: array-like}; or a pandas DataFrame (one track per column).
    """
    if labels is None:
        return {}
    if hasattr(labels, "columns") and hasattr(labels, "__getitem__"):  # a DataFrame
        labels = {str(c): labels[c] for c in labels.columns}
    elif not isinstance(labels, dict):
        series_name = getattr(labels, "name", None)
        labels = {str(series_name) if isinstance(series_name, str) else name: labels}
    tracks = {}
    for key, values in labels.items():
        values = np.asarray(values, dtype=object)
        if values.ndim != 1 or values.shape[0] != n:
            raise ValueError(f"labels {key!r} must be one category per sample ({n}), got "
                             f"shape {values.shape}.")
        tracks[str(key)] = values
    return tracks


def _is_missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def _categories(values):
    """The distinct values, sorted when they can be (missing values left out)."""
    present = [v for v in values.tolist() if not _is_missing(v)]
    distinct = list(dict.fromkeys(present))
    try:
        return sorted(distinct)
    except TypeError:  # mixed kinds: in order of appearance
        return distinct


def category_colors(categories, palette):
    """{category: RGBA} from a qualitative palette, or evenly along 'turbo' past its end."""
    import matplotlib
    cmap = matplotlib.colormaps[palette]
    n = len(categories)
    if n > cmap.N:
        cmap = matplotlib.colormaps["tab20" if n <= 20 else "turbo"]
    colors = cmap.colors if hasattr(cmap, "colors") and n <= cmap.N else \
        cmap(np.linspace(0.05, 0.95, max(n, 1)))
    return {c: tuple(float(x) for x in matplotlib.colors.to_rgba(colors[i]))
            for i, c in enumerate(categories)}


def track_colors(values, palette):
    """The color of each category of values (missing values are light gray, not listed)."""
    return category_colors(_categories(values), palette)


def draw_track(ax, values, colors, *, vertical=False, name=None):
    """Draw the values (already in the heatmap's order) as colored cells on ax; returns the
    AxesImage. The track's name is written beside it, outside the layout."""
    rgba = np.array([_MISSING if _is_missing(v) else colors[v] for v in values.tolist()])
    image = ax.imshow(rgba[:, None, :] if vertical else rgba[None, :, :], aspect="auto",
                      interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if name is not None:
        if vertical:
            text = ax.text(0.5, 1.01, name, transform=ax.transAxes, rotation=90,
                           ha="center", va="bottom", fontsize="small")
        else:
            text = ax.text(-0.01, 0.5, name, transform=ax.transAxes, ha="right",
                           va="center", fontsize="small")
        text.set_in_layout(False)
    return image


def dendrogram_segments(Z, order):
    """One polyline per merge of the linkage Z, with leaf i at position where it is in order.

    Returns a (n - 1, 4, 2) array of (position, height) points: each merge is drawn as the
    bracket from its first child up to its height, across, and down to its second child.
    Iterative (no recursion), so any number of leaves works.
    """
    n = len(order)
    position = np.empty(2 * n - 1)
    height = np.zeros(2 * n - 1)
    position[np.asarray(order)] = np.arange(n)
    segments = np.empty((n - 1, 4, 2))
    for j, (a, b, h, _) in enumerate(np.asarray(Z)):
        a, b = int(a), int(b)
        segments[j] = [(position[a], height[a]), (position[a], h), (position[b], h),
                       (position[b], height[b])]
        position[n + j] = (position[a] + position[b]) / 2
        height[n + j] = h
    return segments


def draw_dendrogram(ax, Z, order, *, side="top"):
    """Draw the tree Z on ax, its leaves at the heatmap's cells 0 .. n-1: above the
    heatmap (side='top', root up) or to its left (side='left', root at the left). Returns
    the LineCollection."""
    from matplotlib.collections import LineCollection
    segments = dendrogram_segments(Z, order)
    top = float(segments[:, :, 1].max()) if len(segments) else 0.0
    if side == "left":
        segments = segments[:, :, ::-1]
    lines = LineCollection(segments, colors="0.2", linewidths=0.8 if len(order) <= 300 else 0.3)
    ax.add_collection(lines)
    top = top if top > 0 else 1.0
    heights = (1.02 * top, -0.01 * top)  # merges at height 0 drawn whole, not half clipped
    leaves = (-0.5, len(order) - 0.5)  # the heatmap's cells, top to bottom for side='left'
    if side == "left":
        ax.set_xlim(heights)
        ax.set_ylim(leaves[::-1])
    else:
        ax.set_xlim(leaves)
        ax.set_ylim(heights[::-1])
    ax.set_axis_off()
    return lines


def tracks_legend(ax, colors):
    """One legend for every track: a header per track, then its categories' color patches.
    colors: {track name: {category: RGBA}}. Drawn on ax (an empty Axes, turned off)."""
    from matplotlib.patches import Patch
    handles = []
    for name, mapping in colors.items():
        handles.append(Patch(visible=False, label=name))
        handles.extend(Patch(facecolor=color, edgecolor="none", label=str(category))
                       for category, color in mapping.items())
    ax.set_axis_off()
    legend = ax.legend(handles=handles, loc="upper left", frameon=False, fontsize="small",
                       handlelength=1.0, borderaxespad=0.0)
    for text, handle in zip(legend.get_texts(), handles):
        if not handle.get_visible():
            text.set_fontweight("bold")
    return legend
