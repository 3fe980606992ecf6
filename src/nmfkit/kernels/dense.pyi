"""Dense kernels: chunked BLAS products and the tiled KL numerator, beta products and objective.

V (m x n), W (m x k) and Ht (n x k) are C-contiguous arrays of one dtype, float32 or
float64, with V ~= W Ht^T. IN arrays may be read-only; OUT arrays are written in place. Work
is cut into blocks and tiles that depend on the shapes only, and every sum is added up in
block order: the same bits on any thread count. The caller keeps BLAS single-threaded
meanwhile (nmfkit.core.threads.blas_single_threaded).

Each function but vtw_f32_kernel and kl_small_v3 is a Cython fused function: called directly
it picks the specialization from its arguments' dtype; indexed by "float" or "double" (as in
``objective["double"](None, ...)``) it is that specialization, for calls where no array
argument names the dtype.
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

VTW_K_MIN: int
VTW_K_MAX: int
KL_SMALL_K_MAX: int  # the largest k of the fused dense KL numerator (0: none)

def kl_small_v3(enable: bool | None = None) -> bool:
    """Whether the fused small-k KL kernels run their x86-64-v3 version; enable turns it
    off/on; returns the previous setting."""

def vtw_f32_kernel(enable: bool | None = None) -> bool:
    """Whether float32 X^T B may run in the AVX2 kernel; enable turns it off/on; returns the
    previous setting."""

@_fused
def matmul(
    X: NDArray[_Float], B: NDArray[_Float], out: NDArray[_Float], trans_x: bool, n_threads: int
) -> None:
    """out (OUT) = op(X) B, op(X) = X^T if trans_x, in blocks of GEMM_ROWS output rows."""

@_fused
def gram(B: NDArray[_Float], out: NDArray[_Float], n_threads: int = 1) -> NDArray[_Float]:
    """out (k x k, OUT) = B^T B, summed over row blocks in order; returns out."""

@_fused
def sums(V: NDArray[_Float], n_threads: int) -> tuple[float, float]:
    """(sum, sum of squares) of V's entries, in double, in one pass."""

@_fused
def kl_numerator(
    V: NDArray[_Float],
    W: NDArray[_Float],
    Ht: NDArray[_Float],
    h_side: bool,
    num: NDArray[_Float],
    buf: NDArray[_Float],
    col_block: int,
    tiny: float,
    n_threads: int,
) -> None:
    """num (OUT) = R Ht, or R^T W if h_side, with R = V / max(W Ht^T, tiny) formed by tiles."""

@_fused
def beta_products(
    V: NDArray[_Float] | None,
    W: NDArray[_Float],
    Ht: NDArray[_Float],
    h_side: bool,
    num: NDArray[_Float] | None,
    den: NDArray[_Float],
    buf: NDArray[_Float],
    buf2: NDArray[_Float],
    col_block: int,
    beta: float,
    tiny: float,
    n_threads: int,
) -> None:
    """num, den (OUT) of a beta multiplicative update; V None: an all-zero V, den only."""

@_fused
def objective(
    V: NDArray[_Float] | None,
    W: NDArray[_Float],
    Ht: NDArray[_Float],
    buf: NDArray[_Float],
    beta: float,
    tiny: float,
    n_threads: int,
) -> float:
    """Beta-divergence D(V | W Ht^T) in double, NaN entries left out; V None: all zeros."""
