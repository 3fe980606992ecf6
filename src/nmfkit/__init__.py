"""nmfkit: fast nonnegative matrix factorization with fused, parallel compiled kernels."""

from ._version import __version__
from .apps.images import parts_grid
from .apps.plots import plot_consensus, plot_factors, plot_history, plot_parts, plot_rank_survey
from .apps.topics import document_topics, make_topic_corpus, top_terms
from .core.exceptions import ConvergenceWarning, InvalidParameterError, NotFittedError
from .core.threads import HAVE_OPENMP, effective_n_threads
from .datasets import make_low_rank, swimmer
from .estimator.functional import nmf, non_negative_factorization
from .estimator.minibatch import MiniBatchNMF
from .estimator.nmf import NMF
from .rank.clusters import assign_clusters
from .rank.crossval import RankCV, rank_cv
from .rank.features import extract_features, feature_scores
from .rank.survey import RankSurvey, rank_survey
from .solvers.init import spa
from .solvers.sparse import hoyer_sparseness

__all__ = ["NMF", "MiniBatchNMF", "nmf", "non_negative_factorization", "spa", "ConvergenceWarning",
           "NotFittedError", "InvalidParameterError", "HAVE_OPENMP",
           "effective_n_threads", "__version__",
           # the jobs: choosing the rank, topics, image parts, pictures
           "rank_survey", "RankSurvey", "rank_cv", "RankCV", "top_terms", "document_topics",
           "make_topic_corpus",
           "parts_grid", "swimmer", "make_low_rank",
           "plot_history", "plot_parts", "plot_consensus", "plot_rank_survey",
           # beyond: sparseness, features and clusters, the factors' pictures
           "hoyer_sparseness", "feature_scores", "extract_features", "assign_clusters",
           "plot_factors"]
