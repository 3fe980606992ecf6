"""The thread count the kernels use, read at call time.

nmfkit's kernels run on the OpenMP runtime they were compiled with (libgomp for gcc builds).
Their thread count is omp_get_max_threads() at the moment of the call, so
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` and ``OMP_NUM_THREADS`` apply.
The BLAS products (scipy's BLAS) follow ``threadpool_limits(n, user_api="blas")``. BLAS is
never called from inside an OpenMP parallel region, so the two pools never multiply.
"""

from ._kernels._steps import HAVE_OPENMP, max_threads

__all__ = ["HAVE_OPENMP", "effective_n_threads"]


def effective_n_threads():
    """Number of OpenMP threads a kernel started now would use (1 without OpenMP)."""
    return max(1, int(max_threads()))
