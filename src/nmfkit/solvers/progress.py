"""What one run records: the objective's history, its stopping rule, and its result."""

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["Progress", "RunResult"]


@dataclass
class RunResult:
    """One run's end: the internal factors (C-ordered, internal scaling and orientation),
    the iterations done, the penalized objective at the checked iterations, and whether the
    stopping rule was met."""
    W: np.ndarray
    Ht: np.ndarray
    n_iter: int
    history: list
    history_iters: list
    converged: bool


class Progress:
    """The objective's record of one run (history, verbose lines, callback) and
    scikit-learn's stopping rule: stop when the decrease of sqrt(2 * objective) since the
    last check, relative to its initial value, falls below tol."""

    def __init__(self, obj0, tol, verbose, callback):
        self.start = time.perf_counter()
        self.history, self.iters = [obj0], [0]
        self.err_init = self.err_prev = np.sqrt(2.0 * max(obj0, 0.0))
        self.tol, self.verbose, self.callback = tol, verbose, callback
        if verbose:
            print(f"nmfkit: iteration 0, objective {obj0:.6g}")
        if callback is not None:
            callback(0, obj0)

    def check(self, it, obj):
        """Record obj at iteration it; True when the run has converged."""
        self.history.append(obj)
        self.iters.append(it)
        if self.verbose:
            print(f"nmfkit: iteration {it}, objective {obj:.6g}, "
                  f"{time.perf_counter() - self.start:.2f} s")
        if self.callback is not None:
            self.callback(it, obj)
        err = np.sqrt(2.0 * max(obj, 0.0))
        if self.tol > 0 and (self.err_init == 0 or (self.err_prev - err) / self.err_init
                             < self.tol):
            return True
        self.err_prev = err
        return False
