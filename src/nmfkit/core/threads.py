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

import os
import sys
import threading
import time
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ..kernels.steps import HAVE_OPENMP, max_threads

__all__ = ["FOLLOW_LOAD_ENV", "HAVE_OPENMP", "LoadFollower", "blas_single_threaded",
           "effective_n_threads", "free_cpus", "local_thread_limit", "threads_for"]

# Below this many floating-point operations per thread, starting a parallel region costs
# more than it saves (and, on a busy machine, waiting for a descheduled thread costs far
# more). Results do not depend on the thread count, so this is a pure speed choice.
MIN_WORK_PER_THREAD = 200_000

# Set to "0" to turn off following the machine's load (the kernels then always use
# effective_n_threads(); benchmarks compare the two).
FOLLOW_LOAD_ENV = "NMFKIT_FOLLOW_LOAD"
# How often a long fit looks again at the CPUs free (seconds).
LOAD_RECHECK_SECONDS = 0.25
# Looks at the run queue per estimate, this many seconds apart; the fewest busy CPUs seen
# counts (a process that is busy for real is runnable in every look, a short-lived one, or a
# thread of this process that is just ending, is not). Back-to-back looks were fooled by the
# worker threads of a batch of starts ending: the next batch ran one by one.
_LOOKS = 5
_LOOK_GAP = 0.001
# Looks that confirm, spread, a busy CPU that back-to-back looks saw (free_cpus).
_CONFIRM_LOOKS = 3

_lock = threading.Lock()
_depth = 0
_limiter = None
_blas = {"controller": None, "modules": -1}  # _blas_controller's scan, and when it was made
_fitting = {}  # Python thread ident -> depth of its blas_single_threaded blocks: fits running


def effective_n_threads():
    """Return the number of OpenMP threads a kernel started now would use.

    It is OpenMP's ``omp_get_max_threads()`` at the moment of the call, so it follows
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits(n, user_api="openmp")``; 1
    when the kernels were built without OpenMP (`nmfkit.HAVE_OPENMP` is False); at most the
    limit `local_thread_limit` set on the calling Python thread. Small problems use fewer
    threads than this, as starting a thread costs more than it saves.

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
    return local_limit(max(1, int(max_threads())))


def threads_for(work, n_threads):
    """Threads worth using for `work` flops, at most n_threads."""
    return max(1, min(n_threads, int(work // MIN_WORK_PER_THREAD)))


def _runnable_total():
    """Tasks runnable on the machine now (all processes, this one included), from the fourth
    field of /proc/loadavg (Linux)."""
    with open("/proc/loadavg", "rb") as f:
        return int(f.read().split()[3].split(b"/")[0])


def _runnable_own():
    """This process's threads that are runnable now (state R in /proc/self/task)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        if stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] == b"R":
            count += 1
    return count


def free_cpus(spread=True):
    """CPUs of this process's affinity mask that no other process keeps busy now, or None
    where that cannot be read (not Linux).

    The run queue is looked at up to _LOOKS times, _LOOK_GAP seconds apart (once when it
    shows nothing busy), and the fewest tasks of other processes seen there count: a
    CPU-bound neighbour is runnable at every look, a passing one is not. With spread=False
    (a fit, which looks again in a quarter second) the looks are back to back, and only a
    CPU they all show busy is confirmed by up to _CONFIRM_LOOKS more, spread: a kernel
    thread that runs for a few hundred microseconds (a virtual machine's memory monitor)
    filled every back-to-back look of a third of the fits on an idle 2-CPU machine, which
    then ran on one thread. This process's own threads (the caller, OpenMP workers still
    spinning after their last region, other fits) are left out; fits in several Python
    threads of this process share what is free through LoadFollower.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
        busy = cpus
        for look in range(_LOOKS + (0 if spread else _CONFIRM_LOOKS)):
            if look and (spread or look >= _LOOKS):
                time.sleep(_LOOK_GAP)
            busy = min(busy, _runnable_total() - _runnable_own())
            if busy <= 0:
                break
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return max(0, cpus - max(0, busy))


class LoadFollower:
    """The thread count of a fit's kernels, following the CPUs actually free.

    On a shared machine a parallel region waits at its end for its slowest thread; a thread
    whose CPU is taken by another process stalls every region, and a fit on two threads can
    run several times slower than on one. So a fit uses at most the CPUs that other
    processes leave free, shared among the fits running in this process's Python threads,
    and at least 1 thread; never more than effective_n_threads() (threadpoolctl and
    OMP_NUM_THREADS keep control). `now()` looks again when LOAD_RECHECK_SECONDS have passed
    (a long fit follows a neighbour that starts or stops). The results do not depend on the
    thread count, so this is a pure speed choice; NMFKIT_FOLLOW_LOAD=0 turns it off.
    """

    def __init__(self, work=None, spread=False):
        """work: the flops of the fit's largest kernel call; when they are too few for a
        second thread (threads_for), the load is not looked at. spread: look at the run
        queue over a few milliseconds (free_cpus), for a decision that holds long (how many
        starts run side by side); a fit looks again soon anyway and does not wait."""
        self.cap = effective_n_threads()
        self.spread = spread
        self.follow = (self.cap > 1 and os.environ.get(FOLLOW_LOAD_ENV, "1") != "0"
                       and (work is None or threads_for(work, self.cap) > 1))
        self._next = 0.0
        self.n_threads = self.cap

    def now(self):
        """The thread count to use from here (looked at again at most every
        LOAD_RECHECK_SECONDS)."""
        if not self.follow:
            return self.cap
        t = time.monotonic()
        if t >= self._next:
            self._next = t + LOAD_RECHECK_SECONDS
            free = free_cpus(self.spread)
            if free is None:
                self.n_threads = self.cap
            else:
                with _lock:
                    fits = max(1, len(_fitting))
                self.n_threads = max(1, min(self.cap, free // fits))
        return self.n_threads


def _release_blas_control():
    """Let the current Python thread set OpenBLAS's limit (threadpoolctl >= 3.8 lets only one
    'controlling' thread do so for a pthreads OpenBLAS; our lock already serializes us)."""
    try:
        from threadpoolctl import OpenBLASController
        OpenBLASController.clear_controlling_thread(force=True)
    except (ImportError, AttributeError):  # older threadpoolctl: no such restriction
        pass


def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded. Its scan of every loaded
    library costs milliseconds (more than a whole fit of a small matrix), so it is kept, and
    made again only when an import since may have loaded another library. Under _lock."""
    if _blas["controller"] is None or _blas["modules"] != len(sys.modules):
        _blas["controller"] = ThreadpoolController().select(user_api="blas")
        _blas["modules"] = len(sys.modules)
    return _blas["controller"]


@contextmanager
def blas_single_threaded():
    """Hold BLAS to one thread while the kernels run; nested and concurrent uses share it.

    The first caller in sets the limit, the last one out restores what was there before.
    Every fit runs inside it, so it also counts the fits running in this process's Python
    threads (LoadFollower shares the free CPUs among them).
    """
    global _depth, _limiter
    me = threading.get_ident()
    with _lock:
        if _depth == 0:
            _release_blas_control()
            _limiter = _blas_controller().limit(limits=1)
        _depth += 1
        _fitting[me] = _fitting.get(me, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _fitting[me] -= 1
            if _fitting[me] == 0:
                del _fitting[me]
            _depth -= 1
            if _depth == 0:
                _release_blas_control()  # the last one out may be another Python thread
                _limiter.restore_original_limits()
                _limiter = None
                _release_blas_control()


# -- A limit for one Python thread (many starts side by side) ---------------------------------
# Several starts of one matrix may run at once, each on its own Python thread (the kernels
# release the GIL) and each on one OpenMP thread. threadpoolctl's OpenMP limit cannot say
# that: it is one process-wide setting (and omp_set_num_threads binds only the Python thread
# that calls it). This limit belongs to the Python thread that sets it, and
# effective_n_threads() honours it, so every kernel started from that thread gets at most
# that many threads while the other Python threads are untouched. Results do not depend on
# the thread count, so it is a pure speed choice like the others.

_local = threading.local()


def local_limit(n_threads):
    """n_threads, capped by the limit local_thread_limit set on this Python thread (if any)."""
    limit = getattr(_local, "limit", None)
    return n_threads if limit is None else min(n_threads, limit)


@contextmanager
def local_thread_limit(n_threads):
    """Run the kernels started from this Python thread on at most n_threads OpenMP threads.

    Other Python threads, and this one after the block, keep their own count. Nested blocks
    keep the smallest limit.
    """
    if int(n_threads) < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads!r}.")
    previous = getattr(_local, "limit", None)
    _local.limit = int(n_threads) if previous is None else min(previous, int(n_threads))
    try:
        yield
    finally:
        _local.limit = previous
