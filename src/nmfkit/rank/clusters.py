"""Cluster assignment: each sample's cluster from its row of W, and its silhouette width.

With X (samples x features) ~= W H, row i of W holds how much of each component sample i
contains; NMF used for clustering puts the sample in the component that contributes the
most, the argmax of its row (Brunet et al. 2004; R's NMF package does the same with the
columns of its coefficient matrix, its samples being columns).

How well a sample sits in its cluster is its silhouette width (Rousseeuw 1987): with a(i) the
mean distance from i to the other members of its cluster and b(i) the smallest mean distance
from i to the members of another cluster, s(i) = (b(i) - a(i)) / max(a(i), b(i)), in
[-1, 1]; 0 for a sample alone in its cluster (as R's cluster::silhouette and scikit-learn's
silhouette_samples). Undefined (NaN here) when all samples are in one cluster.

The distance between samples is one minus the cosine (default) or one minus the Pearson
correlation (R's NMF package's choice) of their rows of W. Both are 1 - u_i.u_j for unit
rows u (the rows, centred first for the correlation), so a sample's summed distance to a
cluster c is n_c - u_i.(sum of u over c): the silhouettes take O(n k) time and memory
instead of the O(n^2) of a distance matrix. A row of zeros (or, for the correlation, of
equal entries) has u = 0: its distance to every sample is 1.

pandas is imported only when a data frame is asked for (as_frame=True).

References
----------
Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation of
cluster analysis. Journal of Computational and Applied Mathematics 20, 53-65.
Brunet, J.-P., Tamayo, P., Golub, T. R. & Mesirov, J. P. (2004). Metagenes and molecular
pattern discovery using matrix factorization. PNAS 101(12), 4164-4169.
"""

import numpy as np

from ..core.inputs import float_array
from ..core.params import check_choice

__all__ = ["assign_clusters", "silhouette_widths", "unit_row_silhouettes", "SILHOUETTE_METRICS"]

# The distances between rows of W that assign_clusters offers: 1 - cosine, 1 - correlation.
SILHOUETTE_METRICS = ("cosine", "correlation")


def assign_clusters(W, *, metric="cosine", labels=None, as_frame=None):
    """Each sample's cluster (the argmax of its row of W) and its silhouette width.

    With X (samples x features) ~= W H, row i of W holds how much of each component sample
    i contains; NMF used for clustering puts the sample in the component that contributes
    the most (Brunet et al. 2004). How well the sample sits in its cluster is its
    silhouette width (Rousseeuw 1987).

    Parameters
    ----------
    W : array-like of shape (n_samples, n_components)
        The nonnegative sample factor, e.g. ``NMF.fit_transform(X)``: rows are samples
        (scikit-learn's orientation; R's NMF package has its samples as the columns of its
        coefficient matrix). A pandas DataFrame (as ``set_output(transform="pandas")``
        gives) lends its index as the samples' labels. To cluster the features instead,
        pass ``model.components_.T`` (R's ``predict(x, "features")``).
    metric : {"cosine", "correlation"}, default="cosine"
        The distance of the silhouettes: 1 - cosine, or 1 - Pearson correlation of the rows
        of W (R's NMF package's ``silhouette``). The correlation of rows of length 2 is
        always +1 or -1, so the cosine is the default.
    labels : array-like of shape (n_samples,), optional
        The samples' labels, the index of the data frame.
    as_frame : bool, optional
        True: a pandas DataFrame; False: arrays. Default: a data frame when `labels` are
        given, arrays otherwise.

    Returns
    -------
    clusters : ndarray of shape (n_samples,)
        The cluster, 0 .. n_components - 1 (a row of zeros goes to cluster 0, as numpy's
        and R's argmax do).
    silhouette : ndarray of shape (n_samples,)
        The silhouette width, in [-1, 1]; 0 for a sample alone in its cluster, NaN for
        every sample when they all are in one cluster. With `as_frame`, one DataFrame with
        the columns "cluster" and "silhouette", indexed by the labels (or by position), is
        returned instead of the two arrays.

    Raises
    ------
    ValueError
        If W is not a finite nonnegative 2-D array, `metric` is unknown, or `labels` are
        given with ``as_frame=False`` or do not match the samples.
    ImportError
        If a data frame is asked for and pandas is not installed.

    See Also
    --------
    nmfkit.extract_features : The features that define each component.
    nmfkit.rank_survey : Clusters from many runs, and how stable they are.

    Notes
    -----
    With a(i) the mean distance from i to the other members of its cluster and b(i) the
    smallest mean distance from i to the members of another cluster, the silhouette width
    is s(i) = (b(i) - a(i)) / max(a(i), b(i)). Both distances are 1 - u_i . u_j for unit
    rows u (centred first for the correlation), so the widths take O(n k) time and memory,
    without the n x n distance matrix. A row of zeros is at distance 1 from every sample.

    References
    ----------
    .. [1] Brunet, J.-P., Tamayo, P., Golub, T. R. & Mesirov, J. P. (2004). Metagenes and
       molecular pattern discovery using matrix factorization. PNAS 101(12), 4164-4169.
    .. [2] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis. J. Comput. Appl. Math. 20, 53-65.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import assign_clusters
    >>> W = np.array([[3.0, 0.1], [2.0, 0.2], [0.1, 4.0], [0.3, 2.0]])
    >>> clusters, silhouette = assign_clusters(W)
    >>> clusters
    array([0, 0, 1, 1])
    >>> silhouette.round(2)
    array([1.  , 1.  , 0.99, 0.99])
    >>> assign_clusters(W, labels=["s1", "s2", "s3", "s4"]).round(2)
        cluster  silhouette
    s1        0        1.00
    s2        0        1.00
    s3        1        0.99
    s4        1        0.99
    """
    frame = _want_frame(as_frame, labels)
    found = W.index if _is_data_frame(W) else None
    W = _factor(W, "W")
    check_choice(metric, "metric", SILHOUETTE_METRICS)
    clusters = W.argmax(axis=1)
    silhouette = unit_row_silhouettes(_unit_rows(W, metric), clusters)
    if not frame:
        return clusters, silhouette
    pd = _pandas("assign_clusters")
    index = _frame_index(pd, labels, found, W.shape[0], "row of W", None)
    return pd.DataFrame({"cluster": clusters, "silhouette": silhouette}, index=index)


def silhouette_widths(distances, labels):
    """The silhouette width of each item, from a square matrix of distances between them.

    Parameters
    ----------
    distances : array-like of shape (n, n)
        Nonnegative distances; the diagonal is ignored (an item's distance to itself).
    labels : array-like of shape (n,)
        Each item's cluster (any values numpy can sort: integers, strings).

    Returns
    -------
    ndarray of shape (n,)
        s(i) = (b(i) - a(i)) / max(a(i), b(i)) (Rousseeuw 1987), 0 for an item alone in its
        cluster and where a(i) = b(i) = 0, NaN for every item when there are fewer than two
        clusters. The same numbers as scikit-learn's ``silhouette_samples(distances, labels,
        metric="precomputed")``, in O(n^2 c) time and O(n c) memory for c clusters.

    References
    ----------
    Rousseeuw (1987), J. Comput. Appl. Math. 20, 53-65.
    """
    D = float_array(distances, "distances", "a square array of distances")
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distances must be a square (n, n) array, got shape {D.shape}.")
    if not np.all(np.isfinite(D)) or np.any(D < 0):
        raise ValueError("distances must be finite and nonnegative.")
    inverse, counts = _cluster_codes(labels, D.shape[0])
    one_hot = np.zeros((D.shape[0], counts.size))
    one_hot[np.arange(D.shape[0]), inverse] = 1.0
    return _widths(D @ one_hot, np.diagonal(D), inverse, counts)


# -- the arithmetic ----------------------------------------------------------------------------

def _unit_rows(W, metric):
    """The rows of W (centred for the correlation) divided by their norms; 0 for norm 0.

    A row of equal entries, centred, is 0 up to rounding: a centred norm within a few
    rounding errors of the row's own norm counts as 0 (its correlations are undefined)."""
    norms = np.sqrt(np.einsum("ij,ij->i", W, W))
    if metric == "correlation":
        U = W - W.mean(axis=1, keepdims=True)
        zero = 16 * np.finfo(np.float64).eps * norms
        norms = np.sqrt(np.einsum("ij,ij->i", U, U))
        norms[norms <= zero] = 0.0
    else:
        U = W.copy()
    np.divide(U, norms[:, None], out=U, where=norms[:, None] > 0)
    U[norms == 0] = 0.0
    return U


def unit_row_silhouettes(U, clusters):
    """Silhouettes of rows U of unit (or zero) norm for the distance 1 - u_i.u_j (a zero row
    is at distance 1 from every row), without forming the n x n matrix: O(n c d)."""
    inverse, counts = _cluster_codes(clusters, U.shape[0])
    sums = np.zeros((counts.size, U.shape[1]))
    np.add.at(sums, inverse, U)
    summed = counts[None, :] - U @ sums.T  # (n, c): sum of 1 - u_i.u_j over j in cluster c
    self_distance = 1.0 - np.einsum("ij,ij->i", U, U)
    return _widths(summed, self_distance, inverse, counts)


def _cluster_codes(labels, n):
    """Cluster codes 0 .. c-1 of each item (the labels' sorted order), and the sizes."""
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must be 1-D with one label per item ({n}), got shape "
                         f"{labels.shape}.")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return inverse.reshape(-1), counts.astype(np.float64)


def _widths(summed, self_distance, inverse, counts):
    """s(i) from summed[i, c], the sum of i's distances to cluster c (i itself included)."""
    n = inverse.size
    if counts.size < 2:
        return np.full(n, np.nan)
    rows = np.arange(n)
    own = counts[inverse]
    alone = own == 1
    a = (summed[rows, inverse] - self_distance) / np.where(alone, 1.0, own - 1.0)
    mean_to = summed / counts[None, :]
    mean_to[rows, inverse] = np.inf
    b = mean_to.min(axis=1)
    top = np.maximum(a, b)
    s = np.divide(b - a, top, out=np.zeros(n), where=top > 0)
    s[alone] = 0.0
    return s


# -- inputs and outputs, shared with features.py -----------------------------------------------

def _factor(obj, name):
    """obj as a 2-D finite nonnegative float64 array; errors name it."""
    A = float_array(obj, name, "a 2-D array of numbers")
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {A.shape}.")
    if 0 in A.shape:
        raise ValueError(f"{name} is empty (shape {A.shape}); it needs at least one row and "
                         "one column.")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or infinity; an NMF factor is finite.")
    if np.any(A < 0):
        raise ValueError(f"{name} must be nonnegative (an NMF factor); it has the entry "
                         f"{A.min():g}.")
    return A


def _is_data_frame(obj):
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _want_frame(as_frame, labels):
    """Whether to return pandas objects: as_frame, or (None) whether labels were given."""
    if as_frame is None:
        return labels is not None
    if not isinstance(as_frame, (bool, np.bool_)):
        raise TypeError(f"as_frame must be True, False or None, got {as_frame!r}.")
    if not as_frame and labels is not None:
        raise ValueError("labels are the index of a data frame: pass as_frame=True (or "
                         "leave it None), or no labels.")
    return bool(as_frame)


def _pandas(use):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f"{use}(..., as_frame=True) returns pandas objects: install pandas, "
                          "or pass as_frame=False for arrays.") from None
    return pd


def _frame_index(pd, labels, found, n, what, index_name):
    """The index of a result: the given `labels`, else those found on the input (a model's
    feature_names_in_, a DataFrame's index or columns, keeping their name), else 0..n-1.
    `what` is what one label labels, for the error message."""
    if labels is not None:
        if isinstance(labels, str) or np.ndim(labels) != 1 or len(labels) != n:
            shape = "a string" if isinstance(labels, str) else f"shape {np.shape(labels)}"
            raise ValueError(f"labels must be 1-D with one label per {what} ({n}), got "
                             f"{shape}.")
        return pd.Index(labels, name=index_name)
    if found is not None:
        found = pd.Index(found)
        return found if found.name is not None else found.rename(index_name)
    return pd.RangeIndex(n, name=index_name)
