"""nmfkit: fast nonnegative matrix factorization with fused, parallel compiled kernels."""

from ._estimator import NMF, ConvergenceWarning, NotFittedError, nmf
from ._init import spa
from ._threads import HAVE_OPENMP, effective_n_threads

__version__ = "0.1.0"

__all__ = ["NMF", "nmf", "spa", "ConvergenceWarning", "NotFittedError", "HAVE_OPENMP",
           "effective_n_threads", "__version__"]
