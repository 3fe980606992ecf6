"""The per-feature and per-sample tables `nmfkit fit` and `nmfkit rank` write: the features
that define each component (Kim & Park 2007) and each sample's cluster with its silhouette."""

import numpy as np

from ..rank.clusters import assign_clusters
from ..rank.features import extract_features, feature_scores
from .files import write_table

__all__ = ["component_names", "write_features", "write_sample_clusters"]


def component_names(k):
    """nmf0 .. nmf{k-1}, as the factor tables label the components."""
    return [f"nmf{j}" for j in range(k)]


def write_features(path, H, data, params):
    """One row per feature (a column of the input): its Kim & Park score, the component it
    defines when extract_features selects it ('' otherwise) and its contribution there."""
    k, n = H.shape
    scores = feature_scores(H)
    defines = np.full(n, "", dtype=object)
    contribution = np.zeros(n)
    for j, selected in enumerate(extract_features(H)):
        defines[selected] = component_names(k)[j]
        contribution[selected] = H[j, selected]
    labels = (data.column_labels if data.column_labels is not None
              else np.arange(n).astype(str))
    write_table(path, {"score": scores, "defines": defines.astype(str),
                       "contribution": contribution}, row_labels=labels, params=params)
    chosen = int(np.count_nonzero(defines != ""))
    print(f"wrote     {path}: the score of each of the {n} features; {chosen} define a "
          "component (Kim & Park)")


def sample_columns(W):
    """Each sample's cluster (its largest component, nmf0 ..) and that assignment's
    silhouette (cosine distance between the rows of W)."""
    clusters, silhouette = assign_clusters(W)
    names = np.array(component_names(W.shape[1]))
    return {"factor": names[clusters], "silhouette": silhouette}


def write_sample_clusters(path, W, data, params, consensus=None):
    """One row per sample: (with consensus, its consensus cluster first,) the component it
    loads on most and the silhouette of that assignment."""
    labels = (data.row_labels if data.row_labels is not None
              else np.arange(W.shape[0]).astype(str))
    columns = {"cluster": consensus} if consensus is not None else {}
    columns.update(sample_columns(W))
    write_table(path, columns, row_labels=labels, params=params)
