"""CSR kernels: only the stored entries of X are touched; nothing of size m x n exists.

X (r x c) is a canonical CSR matrix given as (indptr, indices, data): index arrays int32 or
int64, data of the factors' dtype (float32 or float64). A (r x k) is the factor whose rows
follow X's rows, B (c x k) the other one, so X ~= A B^T: the same kernels serve the W update
(X = V, A = W, B = Ht) and the H update (X = V^T as CSR, A = Ht, B = W). Rows go in fixed
chunks, and every sum is added up in chunk order: the same bits on any thread count.

Each function is a Cython fused function, indexable by "int32_t|float", "int32_t|double",
"int64_t|float" or "int64_t|double" for one specialization.
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
    """A fused Cython function: callable, and indexable by "<index type>|<float type>"."""

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def __getitem__(self, ctype: str) -> Callable[_P, _R]: ...

def _fused(function: Callable[_P, _R]) -> _Fused[_P, _R]: ...

@_fused
def matmul(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    B: NDArray[_Float],
    out: NDArray[_Float],
    n_threads: int,
) -> None:
    """out (r x k, OUT) = X B, row-parallel."""

@_fused
def kl_numerator(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    num: NDArray[_Float],
    tiny: float,
    n_threads: int,
) -> None:
    """num (r x k, OUT) = R B with R = X / max(A B^T, tiny) at X's stored entries."""

@_fused
def stored_terms(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    beta: float,
    tiny: float,
    n_threads: int,
) -> float:
    """beta 2: sum of x wh; beta 1: sum of x log(x / max(wh, tiny)), over stored entries."""

@_fused
def beta_numerator(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    num: NDArray[_Float],
    den: NDArray[_Float] | None,
    beta: float,
    tiny: float,
    n_threads: int,
) -> None:
    """num (OUT) = P B and den (OUT, unless None) = Q B of a beta update, at stored entries."""

@_fused
def beta_stored(
    indptr: NDArray[_Index],
    indices: NDArray[_Index],
    data: NDArray[_Float],
    A: NDArray[_Float],
    B: NDArray[_Float],
    beta: float,
    tiny: float,
    observed_only: bool,
    n_threads: int,
) -> float:
    """Sum over stored entries of d(x | wh), or of d(x | wh) - d(0 | wh) unless observed_only."""
