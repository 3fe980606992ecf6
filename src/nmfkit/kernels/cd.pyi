"""Coordinate descent for the Kullback-Leibler divergence, Newton steps per variable (Hsieh &
Dhillon 2011): one pass over the factor A (r x k), in place, against the fixed B, X ~= A B^T.

Every coordinate of every row of A is visited once per pass, with up to max_inner Newton
steps (fewer once a step changes it by at most inner_rtol of its value), by a rule that never
increases the objective (see the notes of cd.pyx); the result is clipped at floor, and a
product below tiny is read as tiny. colsum is B's column sums (k doubles), computed by the
caller once per pass. Each pass returns ||A_new - A_old||^2. Rows of A are independent:
the same bits on any thread count.

Each function is a Cython fused function, indexable by its specialization's type names.
"""

from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Float = TypeVar("_Float", np.float32, np.float64)
_Index = TypeVar("_Index", np.int32, np.int64)

class _Fused(Generic[_P, _R]):
    """A fused Cython function: callable, and indexable by its specialization's types."""

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def __getitem__(self, ctype: str) -> Callable[_P, _R]: ...

def _fused(function: Callable[_P, _R]) -> _Fused[_P, _R]: ...

@_fused
def kl_cd_csr(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    colsum: NDArray[np.float64],
    l1: float,
    l2: float,
    floor: float,
    tiny: float,
    max_inner: int,
    inner_rtol: float,
    n_threads: int,
) -> float:
    """A (r x k, IN/OUT) for X CSR (r x c) ~= A B^T, B (c x k); row-parallel."""

@_fused
def kl_cd_dense_rows(
    V: NDArray[_Float],
    A: NDArray[_Float],
    Bt: NDArray[_Float],
    colsum: NDArray[np.float64],
    l1: float,
    l2: float,
    floor: float,
    tiny: float,
    max_inner: int,
    inner_rtol: float,
    n_threads: int,
) -> float:
    """A (m x k, IN/OUT) for V (m x n) ~= A B^T, Bt = B^T (k x n); by V's rows."""

@_fused
def kl_cd_dense_columns(
    V: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    colsum: NDArray[np.float64],
    l1: float,
    l2: float,
    floor: float,
    tiny: float,
    max_inner: int,
    inner_rtol: float,
    col_block: int,
    n_threads: int,
) -> float:
    """A (n x k, IN/OUT) for V^T ~= A B^T, V (m x n), B (m x k); blocks of col_block
    columns of V side by side."""
