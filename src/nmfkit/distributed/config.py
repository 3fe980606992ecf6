"""Typed records of a distributed fit: what the client knows of V as a whole (DataStats) and
the static configuration every worker task receives (WorkerConfig).

The per-iteration broadcast (H and its statistics) is not part of WorkerConfig: it changes at
every iteration and travels as its own argument (a future the tasks receive resolved).
"""

from dataclasses import dataclass

import numpy as np

from ..core.matrix import tiny_for
from ..core.penalty import Penalty
from ..losses import loss_for

__all__ = ["DataStats", "WorkerConfig"]


@dataclass(frozen=True)
class DataStats:
    """V (m x n) as a whole, from the reduced statistics of its chunks, in the internal units
    (V / scale): what the penalty, the floor and the starts need to know of it.

    V on a cluster is never used through its transpose: the rows of the internal matrix are
    W's rows (transposed is False).
    """

    shape: tuple
    dtype: np.dtype
    scale: float        # a power of 4, 1.0 unless V has extreme magnitudes
    vmax: float         # largest entry (1.0 if V is all zero)
    total: float        # sum of the entries

    @property
    def transposed(self):
        return False

    @property
    def tiny(self):
        """Below this, a product W H is read as this (never divided by 0): what a Matrix of
        V as a whole would have (each chunk's Matrix is given this one, not its own)."""
        return tiny_for(self.dtype, self.vmax)

    def factor_scale(self, k):
        """sqrt(mean(V) / k): the typical entry of rank-k factors whose product has V's mean
        (the random start draws around it), as a NumPy float."""
        return np.sqrt(self.total / (self.shape[0] * self.shape[1]) / k)


@dataclass(frozen=True)
class WorkerConfig:
    """The static configuration of the worker tasks of one fit (or transform), internal units.

    beta: the loss (see `loss`), Frobenius (2) or KL (1) on a cluster. solver: the update
    of the iteration, 'mu', 'amu' or 'hals'; n_inner_w: the W update's repeats on one pair
    of statistics (Frobenius). start_value: every entry of the flat start of a W_c solved
    from scratch (with H fixed, polish_iter sweeps). polish: finish the fit with that
    exact W solve (tol > 0). dtype: the working dtype, as a string (transform prepares its
    blocks in it).
    """

    beta: float
    solver: str
    penalty: Penalty
    floor: float
    tiny: float
    vmax: float
    scale: float
    start_value: float
    polish_iter: int
    polish: bool
    dtype: str
    n_inner_w: int = 1

    @property
    def loss(self):
        """The loss object of beta (V on a cluster has no missing values)."""
        return loss_for(self.beta)
