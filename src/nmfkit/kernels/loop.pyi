"""The whole multiplicative-update iteration of one dense, fully observed problem (Frobenius
or KL) in compiled code, the same bits as nmfkit.solvers.alternating's Python loop.

mu_loop is a Cython fused function, indexable by "float" or "double" for one
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

@_fused
def mu_loop(
    V: NDArray[_Float],
    W: NDArray[_Float],
    Ht: NDArray[_Float],
    kl: bool,
    h_first: bool,
    update_h: bool,
    max_iter: int,
    tol: float,
    check_every: int,
    penalties: tuple[float, float, float, float],
    floor: float,
    tiny: float,
    sq_norm: float,
    threads: tuple[int, int, int, int],
    buf_num: NDArray[_Float] | None,
    buf_obj: NDArray[_Float] | None,
    col_block: int,
    penalty_value: Callable[[], float] | None,
) -> tuple[int, list[float], list[int], bool]:
    """Iterate W, Ht (OUT) in place; returns (n_iter, history, history_iters, converged)."""
