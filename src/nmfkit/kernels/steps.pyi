"""Row-parallel update steps of one factor A (r x k), in place, given its products with the data.

Every factor update of nmfkit is, row by row, a function of A's own row, a numerator row
(X B for Frobenius, (X / AB^T) B for KL) and a k x k Gram matrix or a k-vector. A is
C-contiguous and written in place; the other arrays are IN (read-only allowed), all of A's
dtype, float32 or float64. Each step returns ||A_new - A_old||^2 (mu_fro_step also the sums
that give the objective at the old A). Rows go in fixed chunks with one partial sum each:
the same bits on any thread count.

The steps are Cython fused functions, indexable by "float" or "double" for one
specialization.
"""

from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Float = TypeVar("_Float", np.float32, np.float64)

class _Fused(Generic[_P, _R]):
    """A fused Cython function: callable, and indexable by "float" or "double"."""

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def __getitem__(self, ctype: str) -> Callable[_P, _R]: ...

def _fused(function: Callable[_P, _R]) -> _Fused[_P, _R]: ...

HAVE_OPENMP: bool

def max_threads() -> int:
    """omp_get_max_threads() now (1 without OpenMP)."""

@_fused
def column_sums(B: NDArray[_Float], out: NDArray[np.float32] | NDArray[np.float64]) -> None:
    """out (k) = B's column sums row after row in out's precision (B's, or double for a
    float32 B): NumPy's B.sum(axis=0, dtype=out.dtype) for k > 1."""

@_fused
def mu_fro_step(
    A: NDArray[_Float],
    num: NDArray[_Float],
    gram: NDArray[_Float],
    l1: float,
    l2: float,
    floor: float,
    tiny: float,
    n_threads: int,
) -> tuple[float, float, float]:
    """Frobenius MU step; returns (sum(A_old num), sum(A_old (A_old gram)), ||A_new - A_old||^2)."""

@_fused
def mu_div_step(
    A: NDArray[_Float],
    num: NDArray[_Float],
    den: NDArray[_Float],
    l1: float,
    l2: float,
    floor: float,
    tiny: float,
    n_threads: int,
) -> float:
    """MU step with one denominator per column, den (k); returns ||A_new - A_old||^2."""

@_fused
def mu_beta_step(
    A: NDArray[_Float],
    num: NDArray[_Float],
    den: NDArray[_Float],
    l1: float,
    l2: float,
    gamma: float,
    floor: float,
    tiny: float,
    n_threads: int,
) -> float:
    """MU step with a full denominator den (r x k), exponent gamma; returns the squared move."""

@_fused
def hals_step(
    A: NDArray[_Float],
    num: NDArray[_Float],
    gram: NDArray[_Float],
    l1: float,
    l2: float,
    floor: float,
    n_threads: int,
) -> float:
    """One HALS sweep over A's columns; returns ||A_new - A_old||^2."""

@_fused
def extrapolate(
    cur: NDArray[_Float],
    last: NDArray[_Float],
    keep: NDArray[_Float],
    beta: float,
    floor: float,
    n_threads: int,
) -> None:
    """last and keep (OUT) = max(floor, cur + beta (cur - last)), elementwise."""
