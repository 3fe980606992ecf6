"""What a fit returns. The estimator alone turns it into fitted attributes."""

from dataclasses import dataclass

import numpy as np

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """The outcome of a fit, in the caller's units and orientation.

    W: the caller's W (m x k), an ndarray (a dask array from a cluster fit); H: the
    components (k x n); reconstruction_err: scikit-learn's sqrt(2 D) of (W, H);
    loss_history: the penalized objective at the iterations loss_history_iter; converged:
    whether the stopping rule was met before max_iter; init: the start used.
    """
    W: object
    H: np.ndarray
    n_iter: int
    reconstruction_err: float
    loss_history: np.ndarray
    loss_history_iter: np.ndarray
    converged: bool
    init: str
