"""Feature selection: how specific each feature is to one component, and the features that
define each component (Kim & Park 2007; Carmona-Saez et al. 2006), as R's NMF package's
``featureScore`` and ``extractFeatures``.

Orientation. R's NMF package factors V (features x samples) ~= W H and reads the features as
the rows of its basis matrix W. nmfkit follows scikit-learn, X (samples x features) ~= W H:
the features are the COLUMNS of ``components_`` (H, n_components x n_features), and H.T is
R's basis matrix. Every formula below is R's, with W(i, q) read as H[q, i].

Kim & Park's score of feature i, with p(i, q) = H[q, i] / sum_r H[r, i] the share of the
feature that component q holds::

    S_i = 1 + 1 / log2(k) * sum_q p(i, q) log2 p(i, q)        (0 log 0 = 0)

is 1 for a feature that one component holds alone and 0 for one shared equally by all k.
R computes 0 * log2(0) as NaN (a feature with a zero in its column scores NaN there); here it
is 0, the limit. Defined where R's formula is not: a feature no component uses (a column of
zeros) scores 0 (it defines none), and with k = 1 (log2(1) = 0) every other feature scores 1
(it is all of the one component's).

References
----------
Kim, H. & Park, H. (2007). Sparse non-negative matrix factorizations via alternating
non-negativity-constrained least squares for microarray data analysis. Bioinformatics 23(12),
1495-1502.
Carmona-Saez, P., Pascual-Marqui, R. D., Tirado, F., Carazo, J. M. & Pascual-Montano, A.
(2006). Biclustering of gene expression data by non-smooth non-negative matrix factorization.
BMC Bioinformatics 7, 78.
Gaujoux, R. & Seoighe, C. (2010). A flexible R package for nonnegative matrix factorization.
BMC Bioinformatics 11, 367.
"""

import numbers

import numpy as np

from ..core.inputs import components_array
from ..core.params import check_choice, check_float, check_int
from .clusters import _factor, _frame_index, _is_data_frame, _pandas, _want_frame

__all__ = ["feature_scores", "extract_features", "FEATURE_METHODS", "MAD_SCALE"]

# The named methods of feature_scores and extract_features (R's featureScore/extractFeatures).
FEATURE_METHODS = ("kim", "max")
# R's mad(): the median absolute deviation times 1.4826, the standard deviation of a normal.
MAD_SCALE = 1.4826


def feature_scores(model_or_components, method="kim", *, labels=None, as_frame=None):
    """How specific each feature is to one component (R's ``featureScore``).

    The features are the columns of the components H (n_components x n_features), in
    scikit-learn's orientation; R's NMF package has them as the rows of its basis matrix,
    which is H.T.

    Parameters
    ----------
    model_or_components : NMF, MiniBatchNMF or array-like of shape (n_components, \
n_features)
        A fitted model (its ``components_`` are used) or the components themselves.
    method : {"kim", "max"}, default="kim"
        "kim": Kim & Park's score in [0, 1], 1 for a feature that one component holds
        alone, 0 for one shared equally by all; "max": the feature's largest entry in the
        components (Carmona-Saez et al. 2006).
    labels : array-like of shape (n_features,), optional
        The features' labels, the index of the Series. Default: the model's
        ``feature_names_in_`` (fitted on a DataFrame), a DataFrame's columns, else
        positions.
    as_frame : bool, optional
        True: a pandas Series; False: an array. Default: a Series when `labels` are given.

    Returns
    -------
    ndarray or pandas.Series of shape (n_features,)
        The score of each feature (a Series named "score" with `as_frame`).

    Raises
    ------
    ValueError
        If the components are not a finite nonnegative 2-D array, `method` is unknown, or
        `labels` are given with ``as_frame=False`` or do not match the features.
    ImportError
        If a Series is asked for and pandas is not installed.

    See Also
    --------
    nmfkit.extract_features : The features that define each component.
    nmfkit.assign_clusters : Each sample's cluster from W.

    Notes
    -----
    With p(i, q) = H[q, i] / sum_r H[r, i] the share of feature i that component q holds,
    Kim & Park's score is

    .. math:: S_i = 1 + \\frac{1}{\\log_2 k} \\sum_q p(i, q) \\log_2 p(i, q).

    R computes 0 log 0 as NaN (a feature with a zero in its column scores NaN); here it is
    0, the limit. A feature no component uses (a column of zeros) scores 0, and with k = 1
    every other feature scores 1.

    References
    ----------
    .. [1] Kim, H. & Park, H. (2007). Sparse non-negative matrix factorizations via
       alternating non-negativity-constrained least squares for microarray data analysis.
       Bioinformatics 23(12), 1495-1502.
    .. [2] Carmona-Saez, P., Pascual-Marqui, R. D., Tirado, F., Carazo, J. M. &
       Pascual-Montano, A. (2006). Biclustering of gene expression data by non-smooth
       non-negative matrix factorization. BMC Bioinformatics 7, 78.
    .. [3] Gaujoux, R. & Seoighe, C. (2010). A flexible R package for nonnegative matrix
       factorization. BMC Bioinformatics 11, 367.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import feature_scores
    >>> H = np.array([[5., 0., 1., 2., 0.],
    ...               [0., 4., 1., 1., 3.]])  # 2 components of 5 features
    >>> feature_scores(H).round(2)
    array([1.  , 1.  , 0.  , 0.08, 1.  ])
    >>> feature_scores(H, method="max")
    array([5., 4., 1., 2., 3.])
    """
    frame = _want_frame(as_frame, labels)
    check_choice(method, "method", FEATURE_METHODS)
    H, found = _components(model_or_components)
    scores = _kim_scores(H) if method == "kim" else H.max(axis=0)
    if not frame:
        return scores
    pd = _pandas("feature_scores")
    index = _frame_index(pd, labels, found, H.shape[1], "feature", "feature")
    return pd.Series(scores, index=index, name="score")


def extract_features(model_or_components, method="kim", *, labels=None, as_frame=None):
    """The features that define each component (R's ``extractFeatures``).

    The features are the columns of the components H (n_components x n_features); each
    rule selects, for each component, the features that belong to it most.

    Parameters
    ----------
    model_or_components : NMF, MiniBatchNMF or array-like of shape (n_components, \
n_features)
        A fitted model (its ``components_`` are used) or the components themselves.
    method : {"kim", "max"}, int or float, default="kim"
        The rule:

        - "kim" (Kim & Park 2007): the features whose score (`feature_scores`) is at least
          median + 3 MAD of all scores (MAD as R's ``mad()``, scaled by 1.4826) and whose
          largest entry is at least the median of all entries of H; each goes to the
          component where it is largest, by decreasing score (ties in column order).
        - "max" (Carmona-Saez et al. 2006): for each component, the features in decreasing
          order of their entry in it, up to the first one that is not strictly larger there
          than in every other component.
        - an int n >= 1: the n features with the largest entries in each component.
        - a float t in (0, 1]: the features that component q holds at least the share t
          of, p(i, q) >= t (R's threshold), by decreasing share (R keeps column order).
    labels : array-like of shape (n_features,), optional
        The features' labels, shown in the data frame. Default: the model's
        ``feature_names_in_``, a DataFrame's columns, else positions.
    as_frame : bool, optional
        True: one pandas DataFrame; False: arrays. Default: a DataFrame when `labels` are
        given.

    Returns
    -------
    list of ndarray or pandas.DataFrame
        One integer array per component, holding the column indices of the features
        selected for it (empty when none is; R gives NA). The DataFrame has one row per
        selected feature, in the same order, with the columns "component", "feature" (its
        label, or its position), "position" (its column of H), "contribution"
        (H[component, position]) and "score" (its Kim & Park score).

    Raises
    ------
    ValueError
        If the components are not a finite nonnegative 2-D array, or `method` is out of
        range.
    TypeError
        If `method` is neither a method name nor a number.
    ImportError
        If a DataFrame is asked for and pandas is not installed.

    See Also
    --------
    nmfkit.feature_scores : The score the "kim" rule uses.
    nmfkit.top_terms : The largest entries of each component, as words.

    Notes
    -----
    R's code compares with >= (its documentation says "greater than"): when most features
    share one score (a factorization with every feature in one component scores all 1) they
    are all kept; when most are shared equally (score 0) every feature passes the first
    test. A feature no component uses is never selected.

    References
    ----------
    .. [1] Kim, H. & Park, H. (2007). Sparse non-negative matrix factorizations via
       alternating non-negativity-constrained least squares for microarray data analysis.
       Bioinformatics 23(12), 1495-1502.
    .. [2] Carmona-Saez, P., Pascual-Marqui, R. D., Tirado, F., Carazo, J. M. &
       Pascual-Montano, A. (2006). Biclustering of gene expression data by non-smooth
       non-negative matrix factorization. BMC Bioinformatics 7, 78.
    .. [3] Gaujoux, R. & Seoighe, C. (2010). A flexible R package for nonnegative matrix
       factorization. BMC Bioinformatics 11, 367.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import extract_features
    >>> H = np.array([[5., 0., 1., 2., 0.],
    ...               [0., 4., 1., 1., 3.]])  # 2 components of 5 features
    >>> extract_features(H)
    [array([0]), array([1, 4])]
    >>> extract_features(H, method="max")
    [array([0, 3]), array([1, 4])]
    >>> extract_features(H, method=1)
    [array([0]), array([1])]
    >>> extract_features(H, labels=["a", "b", "c", "d", "e"])
       component feature  position  contribution  score
    0          0       a         0           5.0    1.0
    1          1       b         1           4.0    1.0
    2          1       e         4           3.0    1.0
    """
    frame = _want_frame(as_frame, labels)
    rule = _check_method(method)
    H, found = _components(model_or_components)
    scores = _kim_scores(H)
    if rule == "kim":
        selected = _select_kim(H, scores)
    elif rule == "max":
        selected = _select_max(H)
    elif isinstance(rule, int):
        selected = [np.argsort(-row, kind="stable")[:rule] for row in H]
    else:
        selected = _select_share(H, rule)
    if not frame:
        return selected
    pd = _pandas("extract_features")
    index = _frame_index(pd, labels, found, H.shape[1], "feature", "feature")
    component = np.repeat(np.arange(H.shape[0]), [len(s) for s in selected])
    position = np.concatenate(selected).astype(np.intp)
    return pd.DataFrame({"component": component, "feature": index[position],
                         "position": position, "contribution": H[component, position],
                         "score": scores[position]})


# -- the rules ---------------------------------------------------------------------------------

def _kim_scores(H):
    """Kim & Park's score of each column of H (module docstring)."""
    k = H.shape[0]
    totals = H.sum(axis=0)
    used = totals > 0
    P = np.divide(H, totals, out=np.zeros_like(H), where=used)
    log_p = np.log2(P, out=np.zeros_like(P), where=P > 0)
    if k == 1:
        return used.astype(np.float64)
    scores = 1.0 + np.einsum("qi,qi->i", P, log_p) / np.log2(k)
    np.clip(scores, 0.0, 1.0, out=scores)  # rounding can step out by an ulp
    scores[~used] = 0.0
    return scores


# Scores closer than this are equal: a score is a sum of k terms with rounding errors of order
# 1e-16 each, and the floor's tiny entries (p log p ~ 1e-14) must not split a tie, or a clean
# factorization (every score 1) would keep only the features that round up.
_SCORE_TOL = 1e-9


def _select_kim(H, scores):
    median = np.median(scores)
    mad = np.median(np.abs(scores - median))
    threshold = median + 3.0 * MAD_SCALE * (mad if mad > _SCORE_TOL else 0.0)
    keep = ((scores >= threshold - _SCORE_TOL) & (H.max(axis=0) >= np.median(H))
            & (H.sum(axis=0) > 0))
    order = np.argsort(-scores, kind="stable")
    order = order[keep[order]]
    home = H[:, order].argmax(axis=0)
    return [order[home == q] for q in range(H.shape[0])]


def _select_max(H):
    selected = []
    for q, row in enumerate(H):
        others = np.delete(H, q, axis=0).max(axis=0, initial=0.0)
        dominant = (row > others) & (row > 0)
        order = np.argsort(-row, kind="stable")
        failing = np.flatnonzero(~dominant[order])
        selected.append(order[:failing[0] if failing.size else order.size])
    return selected


def _select_share(H, share):
    totals = H.sum(axis=0)
    P = np.divide(H, totals, out=np.zeros_like(H), where=totals > 0)
    selected = []
    for row in P:
        order = np.argsort(-row, kind="stable")
        selected.append(order[row[order] >= share])
    return selected


# -- inputs ------------------------------------------------------------------------------------

def _check_method(method):
    """'kim', 'max', an int >= 1 or a float in (0, 1]; a clear error otherwise."""
    if isinstance(method, str):
        return check_choice(method, "method", FEATURE_METHODS)
    if isinstance(method, numbers.Integral) and not isinstance(method, (bool, np.bool_)):
        return check_int(method, "method", low=1)
    if isinstance(method, numbers.Real) and not isinstance(method, (bool, np.bool_)):
        return check_float(method, "method", low=0.0, high=1.0, low_open=True)
    raise TypeError(f"method must be 'kim', 'max', an int (features per component) or a "
                    f"float in (0, 1] (a share), got {method!r} ({type(method).__name__}).")


def _components(model_or_components):
    """(H, feature names or None): a fitted model's components_ or the array, checked."""
    H = _factor(components_array(model_or_components), "components")
    if _is_data_frame(model_or_components):
        return H, model_or_components.columns
    return H, getattr(model_or_components, "feature_names_in_", None)
