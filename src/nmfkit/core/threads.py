"""Thread counts: the kernels' OpenMP threads, read at call time, and BLAS kept out of the way.

nmfkit's kernels run on the OpenMP runtime they were compiled with (libgomp for gcc builds).
Their thread count is omp_get_max_threads() at the moment of the call, so
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` and ``OMP_NUM_THREADS`` apply.
Each OpenMP thread calls scipy's BLAS on its own block, so while a fit runs BLAS is held to
one thread (blas_single_threaded); otherwise the two pools would multiply.
"""

import threading
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from ..kernels.steps import HAVE_OPENMP, max_threads

__all__ = ["HAVE_OPENMP", "blas_single_threaded", "effective_n_threads", "threads_for"]

# Below this many floating-point operations per thread, starting a parallel region costs
# more than it saves (and, on a busy machine, waiting for a descheduled thread costs far
# more). Results do not depend on the thread count, so this is a pure speed choice.
MIN_WORK_PER_THREAD = 200_000

_lock = threading.Lock()
_depth = 0
_limiter = None


def effective_n_threads():
    """Number of OpenMP threads a kernel started now would use (1 without OpenMP)."""
    return max(1, int(max_threads()))


def threads_for(work, n_threads):
    """Threads worth using for `work` flops, at most n_threads."""
    return max(1, min(n_threads, int(work // MIN_WORK_PER_THREAD)))


def _release_blas_control():
    """Let the current Python thread set OpenBLAS's limit (threadpoolctl >= 3.8 lets only one
    'controlling' thread do so for a pthreads OpenBLAS; our lock already serializes us)."""
    try:
        from threadpoolctl import OpenBLASController
        OpenBLASController.clear_controlling_thread(force=True)
    except (ImportError, AttributeError):  # older threadpoolctl: no such restriction
        pass


@contextmanager
def blas_single_threaded():
    """Hold BLAS to one thread while the kernels run; nested and concurrent uses share it.

    The first caller in sets the limit, the last one out restores what was there before.
    """
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            _release_blas_control()
            _limiter = threadpool_limits(1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _release_blas_control()  # the last one out may be another Python thread
                _limiter.restore_original_limits()
                _limiter = None
                _release_blas_control()
