"""The thread count that follows the machine's load (core/threads.py LoadFollower).

On a shared machine a fit uses at most the CPUs other processes leave free; the results
must not change with it. No timing is asserted here (benchmarks/shared_machine.py measures).
"""

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit.core import threads
from nmfkit.core.threads import FOLLOW_LOAD_ENV, LoadFollower, blas_single_threaded, free_cpus

LINUX_PROC = os.path.exists("/proc/loadavg") and hasattr(os, "sched_getaffinity")


def cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.fixture
def follow(monkeypatch):
    monkeypatch.setenv(FOLLOW_LOAD_ENV, "1")


def fake_queue(monkeypatch, others):
    """Make the run queue show `others` runnable tasks of other processes (a list: one per
    look, cycled) and none of this process."""
    values = iter(others * 1000)
    monkeypatch.setattr(threads, "_runnable_total", lambda: next(values))
    monkeypatch.setattr(threads, "_runnable_own", lambda: 0)


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_free_cpus_counts_other_processes_not_this_one(monkeypatch):
    n = cpus()
    fake_queue(monkeypatch, [0])
    assert free_cpus() == n
    fake_queue(monkeypatch, [1])
    assert free_cpus() == max(0, n - 1)
    fake_queue(monkeypatch, [n + 5])
    assert free_cpus() == 0
    # a task seen in one look only (a passing process) does not count: the fewest seen does
    fake_queue(monkeypatch, [3, 0, 3])
    assert free_cpus() == n
    # nor one that lasts three looks (the worker threads of a batch of starts, ending): the
    # looks are spread over a few milliseconds
    fake_queue(monkeypatch, [2, 2, 2, 0, 2])
    assert free_cpus() == n
    # (a fit, which looks again in a quarter second, looks back to back: it never sleeps)
    fake_queue(monkeypatch, [2, 2, 2, 0, 2])
    sleeps = []
    monkeypatch.setattr(threads.time, "sleep", sleeps.append)
    assert free_cpus(spread=False) == n and sleeps == []
    fake_queue(monkeypatch, [2, 2, 2, 0, 2])
    assert free_cpus() == n and len(sleeps) == 3
    # a busy CPU in every back-to-back look is confirmed by looks spread over a few
    # milliseconds: a kernel thread that ran for a moment does not count ...
    fake_queue(monkeypatch, [1, 1, 1, 1, 1, 1, 0])
    sleeps.clear()
    assert free_cpus(spread=False) == n and len(sleeps) == 2
    # ... a neighbour that stays runnable does
    fake_queue(monkeypatch, [1])
    sleeps.clear()
    assert free_cpus(spread=False) == max(0, n - 1) and len(sleeps) == threads._CONFIRM_LOOKS
    # this process's own runnable threads (the caller, spinning OpenMP workers) are not busy
    monkeypatch.setattr(threads, "_runnable_total", lambda: 3)
    monkeypatch.setattr(threads, "_runnable_own", lambda: 3)
    assert free_cpus() == n


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_follower_takes_the_free_cpus_within_the_cap(monkeypatch, follow):
    n = cpus()
    with threadpool_limits(2, user_api="openmp"):
        fake_queue(monkeypatch, [0])
        assert LoadFollower().now() == min(2, n)
        fake_queue(monkeypatch, [n - 1])
        assert LoadFollower().now() == 1
        fake_queue(monkeypatch, [n + 3])  # every CPU busy: still one thread, never 0
        assert LoadFollower().now() == 1
    with threadpool_limits(1, user_api="openmp"):  # threadpoolctl stays in control
        fake_queue(monkeypatch, [0])
        assert LoadFollower().now() == 1


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_follower_is_off_when_asked_or_when_the_work_is_small(monkeypatch):
    fake_queue(monkeypatch, [cpus() + 3])
    with threadpool_limits(2, user_api="openmp"):
        cap = nmfkit.effective_n_threads()
        monkeypatch.setenv(FOLLOW_LOAD_ENV, "0")
        assert LoadFollower().now() == cap
        monkeypatch.setenv(FOLLOW_LOAD_ENV, "1")
        assert LoadFollower(work=10.0).now() == cap  # too small for a second thread anyway
        assert LoadFollower(work=1e9).now() == 1


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_fits_in_several_python_threads_share_the_free_cpus(monkeypatch, follow):
    n = cpus()
    if n < 2:
        pytest.skip("needs 2 CPUs")
    fake_queue(monkeypatch, [0])
    inside, release, seen = threading.Event(), threading.Event(), []

    def other_fit():
        with blas_single_threaded():
            inside.set()
            release.wait(10)

    with threadpool_limits(n, user_api="openmp"):
        t = threading.Thread(target=other_fit)
        t.start()
        inside.wait(10)
        with blas_single_threaded():
            seen.append(LoadFollower().now())
        release.set()
        t.join()
        with blas_single_threaded():
            seen.append(LoadFollower().now())
    assert seen == [max(1, n // 2), n]


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
def test_follower_looks_again_only_after_the_recheck_interval(monkeypatch, follow):
    n = cpus()
    if n < 2:
        pytest.skip("needs 2 CPUs")
    fake_queue(monkeypatch, [0])
    with threadpool_limits(2, user_api="openmp"):
        load = LoadFollower()
        assert load.now() == 2
        fake_queue(monkeypatch, [n])
        assert load.now() == 2  # within the interval: the last estimate
        monkeypatch.setattr(threads, "LOAD_RECHECK_SECONDS", 0.0)
        load._next = 0.0
        assert load.now() == 1


@pytest.mark.skipif(not LINUX_PROC or cpus() > 8, reason="reads /proc; one busy process "
                    "per CPU")
def test_real_busy_processes_leave_no_cpu_free():
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(cpus())]
    try:
        time.sleep(0.3)
        seen = [free_cpus() for _ in range(5)]
    finally:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()
    # every look sees all CPUs busy (this process's own threads are not counted as busy)
    assert max(seen) == 0, seen


def alternating_queue(monkeypatch):
    """A machine that is idle and fully busy in turn, looked at before every iteration: the
    fit switches between all threads and one at every iteration."""
    monkeypatch.setattr(threads, "LOAD_RECHECK_SECONDS", 0.0)
    state = {"free": 0}

    def free(spread=True):
        state["free"] = cpus() - state["free"]
        return state["free"]

    monkeypatch.setattr(threads, "free_cpus", free)


@pytest.mark.skipif(not LINUX_PROC, reason="reads /proc")
@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("solver,beta", [("ehals", 2), ("hals", 2), ("mu", 2), ("mu", 1)])
def test_switching_threads_during_a_fit_changes_no_result(monkeypatch, kind, solver, beta):
    if nmfkit.effective_n_threads() < 2 or not nmfkit.HAVE_OPENMP:
        pytest.skip("needs 2 OpenMP threads")
    rng = np.random.default_rng(3)
    if kind == "dense":  # large enough that every kernel call uses both threads
        X = rng.random((900, 700))
    else:
        X = sp.random(3000, 2000, density=0.05, format="csr", random_state=4)
    params = dict(n_components=12, solver=solver, beta_loss=beta, init="random",
                  random_state=0, max_iter=12, tol=1e-9)
    monkeypatch.setenv(FOLLOW_LOAD_ENV, "0")
    fixed = nmfkit.NMF(**params)
    W0 = fixed.fit_transform(X)
    counts = []
    original = LoadFollower.now

    def recording(self):
        counts.append(original(self))
        return counts[-1]

    monkeypatch.setenv(FOLLOW_LOAD_ENV, "1")
    alternating_queue(monkeypatch)
    monkeypatch.setattr(LoadFollower, "now", recording)
    moving = nmfkit.NMF(**params)
    W1 = moving.fit_transform(X)
    assert {1, 2} <= set(counts)  # the fit did switch
    np.testing.assert_array_equal(W0, W1)
    np.testing.assert_array_equal(fixed.components_, moving.components_)
    assert fixed.n_iter_ == moving.n_iter_
