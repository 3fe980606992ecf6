"""How reproducible the factors of a rank survey are: silhouettes and component stability.

NMF's solution is not unique, so two starts may give different components. Consensus-NMF
pipelines (Kotliar et al. 2019, cNMF) ask whether the components come back: every run's k
components (rows of H), normalized to unit l2 norm, are clustered into k clusters by k-means,
and the silhouette of that clustering (Rousseeuw 1987) with the cosine distance measures how
tight and separate the clusters are: near 1 when every run finds the same k components, near
0 or below when they wander. The elementwise median of each cluster is its consensus
component. Beside it, a distance between the factor sets of two runs that ignores the order
and the scale of the components: the mean of 1 - cosine over the components paired by an
optimal matching (the Hungarian method, scipy.optimize.linear_sum_assignment).

The silhouettes of the samples (distance 1 - consensus, clusters cut from the consensus tree)
and of the features (clustered by their dominant component) follow R's NMF package
(Gaujoux & Seoighe 2010), which reports them per rank beside Brunet et al.'s (2004) cophenetic
correlation.

The silhouettes are computed from the sums of the distances from each point to each cluster,
one matrix product: for the cosine distance, sum_j (1 - x_i . x_j) over a cluster c is
n_c - x_i . (sum of c's members), so no N x N distance matrix is formed.
"""

import numpy as np

from .clusters import silhouette_widths, unit_row_silhouettes

__all__ = ["silhouette_values", "cosine_silhouette_values", "normalize_rows", "kmeans",
           "run_pairs", "factor_set_distance", "component_stability", "consensus_clusters",
           "feature_silhouette", "MAX_PAIRS"]

# factor_set_distance compares all pairs of runs up to this many pairs (n_runs <= 32), and
# about this many pairs in a fixed pattern above (run_pairs).
MAX_PAIRS = 500
# k-means stops after this many reassignments if the labels still change.
_KMEANS_ITER = 100


def _one_hot(labels, n_clusters):
    Z = np.zeros((labels.size, n_clusters))
    Z[np.arange(labels.size), labels] = 1.0
    return Z


def silhouette_values(D, labels):
    """The silhouette of each point for the distance matrix D (N x N, zero diagonal) and the
    cluster labels, Rousseeuw (1987) (rank.clusters.silhouette_widths); NaN with fewer than
    two clusters."""
    return silhouette_widths(D, labels)


def cosine_silhouette_values(X, labels):
    """The silhouette of each row of X with the cosine distance 1 - x_i.x_j / |x_i||x_j| (a
    zero row is at distance 1 from every row, as in scikit-learn), without the N x N
    distances: O(N K d) for N rows of d columns in K clusters."""
    U = np.array(X, dtype=np.float64)
    normalize_rows(U)
    return unit_row_silhouettes(U, np.asarray(labels, dtype=np.intp))


def normalize_rows(X):
    """Divide each row of the float64 array X by its l2 norm, in place (zero rows stay zero).
    Returns the norms."""
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    X /= np.where(norms > 0, norms, 1.0)[:, None]
    return norms


def kmeans(X, centroids, max_iter=_KMEANS_ITER):
    """Lloyd's k-means of the rows of X from the given centroids (K x d), deterministic.

    Each row goes to its nearest centroid (squared Euclidean distance; the first on a tie),
    each centroid moves to the mean of its rows (an empty cluster keeps its centroid), until
    no label changes or max_iter. Returns (labels, centroids).
    """
    C = np.array(centroids, dtype=np.float64)
    labels = None
    for _ in range(max_iter):
        d2 = np.einsum("ij,ij->i", C, C)[None, :] - 2.0 * (X @ C.T)
        new = np.argmin(d2, axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        Z = _one_hot(labels, C.shape[0])
        counts = Z.sum(axis=0)
        filled = counts > 0
        C[filled] = (Z.T @ X)[filled] / counts[filled, None]
    return labels, C


def run_pairs(n_runs, max_pairs=MAX_PAIRS):
    """The pairs of runs (r, s) whose factor sets are compared: all of them when there are at
    most max_pairs; otherwise each run r with r + 1, r + 2, ..., r + ceil(max_pairs / n_runs)
    (mod n_runs), every run in as many pairs, about max_pairs pairs in all."""
    if n_runs * (n_runs - 1) // 2 <= max_pairs:
        return [(r, s) for r in range(n_runs) for s in range(r + 1, n_runs)]
    steps = -(-max_pairs // n_runs)
    return [(r, (r + d) % n_runs) for d in range(1, steps + 1) for r in range(n_runs)]


def factor_set_distance(A, B):
    """The distance between two factor sets A and B (k x d each, rows the components),
    ignoring the order and the scale of the components: the mean of 1 - cosine over the
    pairs of the optimal matching (Hungarian method). 0 when B is a permuted, rescaled A;
    in [0, 1] for nonnegative factors."""
    U = np.array(A, dtype=np.float64)
    V = np.array(B, dtype=np.float64)
    normalize_rows(U)
    normalize_rows(V)
    return _matched_distance(U, V)


def _matched_distance(U, V):
    """factor_set_distance of rows already of unit norm."""
    from scipy.optimize import linear_sum_assignment
    cost = np.clip(1.0 - U @ V.T, 0.0, None)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def component_stability(components, k, best_run, best_H):
    """The stability of the components of one rank, from every run's components.

    components : float64 array (n_runs * k, n_features), run r's k components (rows of its H)
        in rows r*k .. r*k + k - 1; normalized to unit l2 norm IN PLACE.
    best_run : the index of the best run (lowest objective); best_H : its H (k x n_features).

    Returns (stability, per_component, consensus, distance):
    - the clustering: k-means of the normalized components into k clusters, started from the
      best run's components (Kotliar et al. 2019 cluster them the same way);
    - stability: the mean silhouette (cosine distance) of all n_runs * k components;
    - consensus: each cluster's elementwise median (its k-means centroid if it is empty),
      matched to the best run's components (Hungarian method on 1 - cosine) and put in their
      order, each rescaled to the l2 norm of the best run's component it matches (cNMF also
      drops outlying components before the median; no component is dropped here);
    - per_component (k,): the mean silhouette of the members of each consensus component's
      cluster, in that order (NaN for an empty cluster);
    - distance: the mean factor_set_distance over the pairs of runs of run_pairs (all pairs
      up to 32 runs, about MAX_PAIRS = 500 pairs in a fixed pattern above).
    Memory: the components (8 n_runs k n_features bytes, the caller's) and arrays of k rows.
    stability, per_component and distance are NaN with one run (nothing to compare).
    """
    from scipy.optimize import linear_sum_assignment
    n_runs = components.shape[0] // k
    normalize_rows(components)
    best = components[best_run * k:(best_run + 1) * k]
    labels, centroids = kmeans(components, best)
    medians = centroids.copy()
    for c in range(k):
        members = components[labels == c]
        if members.shape[0]:
            medians[c] = np.median(members, axis=0)
    unit = medians.copy()
    normalize_rows(unit)
    _, match = linear_sum_assignment(np.clip(1.0 - best @ unit.T, 0.0, None))
    scale = np.sqrt(np.einsum("ij,ij->i", best_H, best_H, dtype=np.float64))
    consensus = (unit[match] * scale[:, None]).astype(best_H.dtype, copy=False)
    if n_runs < 2:
        return float("nan"), np.full(k, np.nan), consensus, float("nan")
    silhouettes = unit_row_silhouettes(components, labels)
    counts = np.bincount(labels, minlength=k)
    sums = np.bincount(labels, weights=silhouettes, minlength=k)
    per_cluster = np.divide(sums, counts, out=np.full(k, np.nan), where=counts > 0)
    sets = components.reshape(n_runs, k, -1)
    distance = np.mean([_matched_distance(sets[r], sets[s]) for r, s in run_pairs(n_runs)])
    return float(silhouettes.mean()), per_cluster[match], consensus, float(distance)


def consensus_clusters(Z, k, order):
    """The clusters of the samples: the average-linkage tree Z of 1 - consensus cut into (at
    most) k clusters, numbered 0, 1, ... in the order they first appear along the tree's leaf
    order `order` (so that a heatmap in that order shows clusters 0, 1, ... top down)."""
    from scipy.cluster.hierarchy import fcluster
    raw = fcluster(Z, k, criterion="maxclust")
    _, first = np.unique(raw[order], return_index=True)
    rank_of = np.empty(raw.max() + 1, dtype=np.intp)
    rank_of[raw[order][np.sort(first)]] = np.arange(first.size)
    return rank_of[raw]


def feature_silhouette(H):
    """The mean silhouette of the features (columns of H, k x n) clustered by their dominant
    component (the argmax of their column), with the cosine distance between the columns.

    R's NMF package reports this silhouette of the 'features' from the basis matrix (its
    features are rows); the cosine distance compares each feature's profile over the
    components whatever its level, and needs no n x n distance matrix. Features whose column
    is zero belong to no component and are left out. NaN when fewer than two components
    dominate a feature.
    """
    F = np.asarray(H, dtype=np.float64).T
    F = F[F.any(axis=1)]
    if F.shape[0] < 2:
        return float("nan")
    return float(np.mean(cosine_silhouette_values(F, np.argmax(F, axis=1))))
