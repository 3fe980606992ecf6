"""Many starts of one prepared matrix: side by side across threads when one start cannot use
them.

Rank surveys, rank cross-validation and n_init run many factorizations of one matrix. A
start on a small matrix cannot keep several threads busy: its kernel calls are too small to
split (threads_for), and the Python between them runs on one thread anyway. Such starts run
side by side instead, each on its own Python thread (the kernels release the GIL) and on its
share of the CPUs other processes leave free (core.threads.LoadFollower), one thread each
when there are as many starts as free CPUs
(core.threads.local_thread_limit), all on the same prepared Matrix (its workspaces are per
Python thread). A start that can use the threads runs alone on all of them, one after the
other.

The results are those of running the starts one by one: the kernels give the same bits on
any thread count, and the starts are drawn before any runs (by the caller, in the order of
the one-by-one loop).
"""

from concurrent.futures import ThreadPoolExecutor

from ..core.threads import (
    LoadFollower,
    blas_single_threaded,
    effective_n_threads,
    local_thread_limit,
    threads_for,
)
from ..losses import loss_for

__all__ = ["plan_starts", "run_starts"]

# False runs every start one by one on all threads, as before starts ran side by side: the
# reference the tests compare with (results are the same either way).
SIDE_BY_SIDE = True

# Starts run side by side while a lone start's largest kernel call would give its threads
# less than BUSY_FACTOR * MIN_WORK_PER_THREAD flops each. A parallel call pays a start-up
# and a barrier (far more when another process holds a core), and the Python between the
# calls runs on one thread; side by side, starts pay neither. Measured on 2 shared cores
# (benchmarks/many_starts.py), side by side was as fast or faster up to calls of 1e7 flops
# per thread and the gain grew as calls shrank; 16 keeps large starts on all threads.
BUSY_FACTOR = 16


def start_work(M, k, beta):
    """The flops of the largest kernel call of one iteration of a start at rank k: the
    statistics of a factor (V B for Frobenius, twice that for the other losses, which also
    form a tile of W H per product) or a step over the longer factor (the loss's row_work)."""
    loss = loss_for(beta, M.masked)
    products = (2.0 if loss.has_product_objective else 4.0) * max(M.nnz, M.n_observed) * k
    return max(products, loss.row_work(k) * max(M.shape))


def plan_starts(M, k, beta, n_starts, per_iteration_output=False):
    """(at_once, threads_each): how many of n_starts starts of rank k on the prepared M run
    at once, and on how many OpenMP threads each; (1, all threads): one by one.

    Side by side when a lone start's largest kernel call would not give every thread
    BUSY_FACTOR * MIN_WORK_PER_THREAD flops: as many starts as there are CPUs free (or
    starts), the threads shared out among them. One by one with per_iteration_output (a
    verbose or a callback that reports iterations, in order), with one thread, one start or
    one CPU free (each start then follows the machine's load on its own).
    """
    n_threads = effective_n_threads()
    alone = (1, n_threads)
    if not SIDE_BY_SIDE or per_iteration_output or n_starts < 2 or n_threads < 2:
        return alone
    work = start_work(M, k, beta)
    if threads_for(work / BUSY_FACTOR, n_threads) >= n_threads:
        return alone  # a lone start keeps every thread busy
    # the CPUs other processes leave free (core.threads), looked at over a few ms: the
    # decision holds for the whole batch
    free = LoadFollower(spread=True).now()
    if free < 2:
        return alone  # each start then follows the load on its own
    at_once = min(free, n_starts)
    return at_once, free // at_once


def run_starts(jobs, plan):
    """Yield job() for each of jobs (callables without arguments) in their order, by plan
    = (at_once, threads_each) of plan_starts: up to at_once of them side by side, each on
    at most threads_each OpenMP threads (at_once = 1: one by one, on the calling thread).
    An exception of a job is raised here, when its turn comes; the jobs not yet started are
    cancelled and the running ones end before it propagates. BLAS stays on one thread until
    the last job is done."""
    at_once, each = plan
    if at_once <= 1:
        for job in jobs:
            yield job()
        return
    with blas_single_threaded(), ThreadPoolExecutor(at_once,
                                                    thread_name_prefix="nmfkit-start") as pool:
        yield from pool.map(_limited, jobs, [each] * len(jobs))


def _limited(job, n_threads):
    """job() with the kernels it starts held to n_threads OpenMP threads."""
    with local_thread_limit(n_threads):
        return job()
