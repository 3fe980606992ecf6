"""nmfkit: fast nonnegative matrix factorization with fused, parallel compiled kernels."""

from ._crossval import RankCV, rank_cv
from ._datasets import make_low_rank, swimmer
from ._estimator import (NMF, ConvergenceWarning, InvalidParameterError, NotFittedError, nmf,
                         non_negative_factorization)
from ._images import parts_grid
from ._init import spa
from ._minibatch import MiniBatchNMF
from ._plots import plot_consensus, plot_history, plot_parts, plot_rank_survey
from ._survey import RankSurvey, rank_survey
from ._threads import HAVE_OPENMP, effective_n_threads
from ._topics import document_topics, make_topic_corpus, top_terms

__version__ = "0.1.0"

__all__ = ["NMF", "MiniBatchNMF", "nmf", "non_negative_factorization", "spa", "ConvergenceWarning",
           "NotFittedError", "InvalidParameterError", "HAVE_OPENMP",
           "effective_n_threads", "__version__",
           # the jobs: choosing the rank, topics, image parts, pictures
           "rank_survey", "RankSurvey", "rank_cv", "RankCV", "top_terms", "document_topics", "make_topic_corpus",
           "parts_grid", "swimmer", "make_low_rank",
           "plot_history", "plot_parts", "plot_consensus", "plot_rank_survey"]
