"""Thread counts: the kernels' OpenMP threads, read at call time, and BLAS kept out of the way.

nmfkit's kernels run on the OpenMP runtime they were compiled with (libgomp for gcc builds).
Their thread count is omp_get_max_threads() at the moment of the call, so
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` and ``OMP_NUM_THREADS`` apply.
Each OpenMP thread calls scipy's BLAS on its own block, so while a fit runs BLAS is held to
one thread (blas_single_threaded); otherwise the two pools would multiply.

HAVE_OPENMP (bool, public as ``nmfkit.HAVE_OPENMP``) says whether the compiled kernels were
built with OpenMP. Without it (a compiler without OpenMP support, e.g. Apple's clang with no
libomp) every kernel runs on one thread and effective_n_threads() is 1; the results are the
same either way.
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
    """Return the number of OpenMP threads a kernel started now would use.

    It is OpenMP's ``omp_get_max_threads()`` at the moment of the call, so it follows
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits(n, user_api="openmp")``; 1
    when the kernels were built without OpenMP (`nmfkit.HAVE_OPENMP` is False). Small
    problems use fewer threads than this, as starting a thread costs more than it saves.

    Returns
    -------
    int
        The thread count, >= 1.

    See Also
    --------
    threadpoolctl.threadpool_limits : Limits the threads of OpenMP and BLAS in a block.

    Notes
    -----
    The results of a fit do not depend on the thread count: the kernels split their work
    into fixed blocks and sum the blocks' results in a fixed order. While a fit runs, BLAS
    is held to one thread, so that the OpenMP threads and BLAS's do not multiply.

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> from nmfkit import effective_n_threads
    >>> effective_n_threads() >= 1
    True
    >>> with threadpool_limits(1, user_api="openmp"):
    ...     effective_n_threads()
    1
    """
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
