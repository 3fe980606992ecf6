"""Consensus clustering: how reproducibly repeated factorizations cluster the rows of V.

Each run of a rank survey assigns every row of V to one factor; the consensus matrix C holds,
for each pair of rows, the fraction of runs that put them together. A rank whose clustering
is reproducible has C close to 0/1 everywhere, which two summaries measure:

- cophenetic correlation (Brunet et al. 2004): the Pearson correlation between the distances
  1 - C and the cophenetic distances of the average-linkage tree built on them;
- dispersion (Kim & Park 2007): the mean of 4 (C_ij - 1/2)^2 over all entries.

scipy.cluster is imported when a tree is built, not with the package.
"""

import numpy as np

__all__ = ["consensus_matrix", "check_consensus", "consensus_tree", "tree_cophenetic",
           "cophenetic_correlation", "dispersion"]


def consensus_matrix(labels):
    """C (m x m): the fraction of label vectors in which rows i and j have the same label.

    labels : int array (n_runs, m), one cluster label per row of V and run.
    Computed as Z Z^T / n_runs with Z the one-hot (m x sum of label counts) matrix of all
    runs side by side, one matrix product.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] < 1:
        raise ValueError(f"labels must be 2-D (n_runs, n_rows) with n_runs >= 1, got shape "
                         f"{labels.shape}.")
    n_runs, m = labels.shape
    blocks = []
    for lab in labels:
        _, inverse = np.unique(lab, return_inverse=True)
        Z = np.zeros((m, inverse.max() + 1 if m else 0))
        Z[np.arange(m), inverse] = 1.0
        blocks.append(Z)
    Z = np.hstack(blocks)
    C = Z @ Z.T
    C /= n_runs
    return C


def check_consensus(C):
    """C as a float64 consensus matrix: square, at least 2 x 2, every entry in [0, 1].

    Anything else is a TypeError (not an array of numbers) or a ValueError saying what to
    pass instead.
    """
    try:
        C = np.asarray(C, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"the consensus matrix must be a square array of fractions in [0, 1] "
                        f"(e.g. RankSurvey.consensus[k]), got a {type(C).__name__}.") from None
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] < 2:
        raise ValueError(f"the consensus matrix must be square with at least 2 rows, got shape "
                         f"{C.shape}.")
    if not np.all((C >= 0) & (C <= 1)):  # also False for NaN
        bad = C[~((C >= 0) & (C <= 1))][0]
        raise ValueError(f"the consensus matrix holds fractions of runs, in [0, 1]; it has "
                         f"the entry {float(bad):g}: pass RankSurvey.consensus[k] or "
                         "consensus_matrix(labels).")
    return C


def consensus_tree(C):
    """The average-linkage tree on the distances 1 - C, and those distances.

    C : a checked consensus matrix (check_consensus). Returns (Z, d): Z the linkage matrix
    of scipy.cluster.hierarchy (its leaves_list(Z) orders the rows for a heatmap with the
    clusters as diagonal blocks) and d the condensed distances 1 - C, clipped to [0, 1].
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    D = 1.0 - C
    np.fill_diagonal(D, 0.0)
    d = squareform(np.clip(D, 0.0, 1.0), checks=False)
    return linkage(d, method="average"), d


def tree_cophenetic(Z, d):
    """The cophenetic correlation of the tree Z built on the condensed distances d.

    NaN when all distances are equal (the correlation is undefined; R's NMF gives NA).
    """
    from scipy.cluster.hierarchy import cophenet
    return float("nan") if np.ptp(d) == 0 else float(cophenet(Z, d)[0])


def cophenetic_correlation(C):
    """Pearson correlation of 1 - C with the cophenetic distances of its average-linkage tree.

    1 for a consensus of zeros and ones (perfectly reproducible clusters); lower as the
    clustering varies between runs. NaN when all distances are equal (as R's NMF gives NA),
    e.g. when every run puts all rows in one cluster.
    """
    return tree_cophenetic(*consensus_tree(check_consensus(C)))


def dispersion(C):
    """Kim & Park (2007): mean over all entries of 4 (C_ij - 1/2)^2; 1 for a 0/1 consensus."""
    C = check_consensus(C)
    return float(np.mean(4.0 * (C - 0.5) ** 2))
