"""Many starts side by side (nmfkit.solvers.many): rank_survey, rank_cv and NMF(n_init) give
the same bits side by side as one by one; the per-thread limit stays on its thread; an
exception in one start reaches the caller; BLAS is held to one thread and restored."""

import pickle
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from nmfkit import NMF, rank_cv, rank_survey
from nmfkit.core import threads
from nmfkit.core.matrix import Matrix
from nmfkit.core.threads import effective_n_threads, local_thread_limit
from nmfkit.solvers import many

LOSSES = ["frobenius", "kullback-leibler"]

# the short fits here stop at max_iter on purpose
pytestmark = pytest.mark.filterwarnings("ignore::nmfkit.ConvergenceWarning")


@pytest.fixture
def side_by_side(monkeypatch):
    """Starts side by side, 4 at once, whatever the machine's thread count; yields the set
    of thread names the starts ran on (empty: one by one)."""
    seen = set()
    limited = many._limited

    def recording(job, n_threads):
        seen.add((threading.current_thread().name, n_threads))
        return limited(job, n_threads)

    monkeypatch.setattr(many, "effective_n_threads", lambda: 4)
    # the machine's load (core.threads.LoadFollower) is left out: 4 CPUs free
    monkeypatch.setattr(many.LoadFollower, "now", lambda self: 4)
    monkeypatch.setattr(many, "_limited", recording)
    return seen


def one_by_one(fn, monkeypatch):
    """fn() with every start run one by one (the reference)."""
    with monkeypatch.context() as patch:
        patch.setattr(many, "SIDE_BY_SIDE", False)
        return fn()


def data(kind, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.poisson(3.0 * rng.random((24, 3)) @ rng.random((3, 40))).astype(np.float64)
    V += rng.random(V.shape) * (V > 0)
    return sp.csr_matrix(V) if kind == "sparse" else V


def assert_same_survey(a, b):
    for name in ("cophenetic", "dispersion", "rss", "evar", "objective", "stability",
                 "factor_distance", "silhouette_samples", "silhouette_features"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for k in a.ks:
        np.testing.assert_array_equal(a.consensus[k], b.consensus[k])
        for x, y in zip(a.factors[k], b.factors[k]):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("loss", LOSSES)
def test_rank_survey_side_by_side_same_bits(kind, loss, side_by_side, monkeypatch):
    V = data(kind)
    calls = []

    def survey():
        return rank_survey(V, [2, 3], n_runs=6, beta_loss=loss, max_iter=40, tol=1e-4,
                           random_state=0, randomized=True,
                           callback=lambda k, r, obj: calls.append((k, r, obj)))

    reference = one_by_one(survey, monkeypatch)
    assert not side_by_side
    expected, calls[:] = list(calls), []
    assert_same_survey(survey(), reference)
    assert {n for _, n in side_by_side} == {1} and len(side_by_side) > 1
    assert calls == expected  # the per-run callback: same order, same values


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("loss", LOSSES)
def test_rank_cv_side_by_side_same_bits(kind, loss, side_by_side, monkeypatch):
    V = data(kind, seed=1)
    if kind == "dense":
        V[0, :3] = np.nan  # missing values as well as the hidden ones

    def cv():
        return rank_cv(V, [1, 2, 3], n_repeats=2, beta_loss=loss, max_iter=30,
                       random_state=0)

    with pytest.warns(Warning) as before:
        reference = one_by_one(cv, monkeypatch)
    assert not side_by_side
    with pytest.warns(Warning) as after:
        result = cv()
    assert side_by_side
    np.testing.assert_array_equal(result.test_errors, reference.test_errors)
    np.testing.assert_array_equal(result.train_errors, reference.train_errors)
    assert [str(w.message) for w in after] == [str(w.message) for w in before]


@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("loss, solver, init, shuffle", [
    ("frobenius", "ehals", None, False),
    ("frobenius", "hals", "nndsvda", True),  # a sweep-order generator drawn per start
    ("frobenius", "mu", "random", False),
    ("kullback-leibler", "mu", None, False),
    ("kullback-leibler", "mu", "nndsvdar", False),
])
def test_n_init_side_by_side_same_bits(kind, loss, solver, init, shuffle, side_by_side,
                                       monkeypatch):
    V = data(kind, seed=2)

    def fit():
        model = NMF(3, beta_loss=loss, solver=solver, init=init, shuffle=shuffle, n_init=5,
                    max_iter=50, tol=1e-5, random_state=0)
        return model.fit_transform(V), model

    W0, ref = one_by_one(fit, monkeypatch)
    assert not side_by_side
    W1, model = fit()
    assert side_by_side
    np.testing.assert_array_equal(W1, W0)
    np.testing.assert_array_equal(model.components_, ref.components_)
    np.testing.assert_array_equal(model.loss_history_, ref.loss_history_)
    assert model.n_iter_ == ref.n_iter_


def test_n_init_with_a_callback_runs_one_by_one(side_by_side):
    iters = []
    NMF(3, n_init=3, max_iter=20, random_state=0,
        callback=lambda n_iter, objective: iters.append(n_iter)).fit(data("dense"))
    assert not side_by_side
    assert iters.count(0) == 3 and iters == sorted(iters[:len(iters) // 3]) * 3


def test_local_thread_limit_stays_on_its_thread(monkeypatch):
    monkeypatch.setattr(threads, "max_threads", lambda: 4)  # as on a 4-thread machine
    seen = {}

    def other():
        seen["other"] = effective_n_threads()

    with local_thread_limit(2):
        assert effective_n_threads() == 2
        with local_thread_limit(3):  # nested: the smaller limit holds
            assert effective_n_threads() == 2
        with local_thread_limit(1):
            assert effective_n_threads() == 1
        assert effective_n_threads() == 2  # the outer limit again
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen["other"] == 4
    assert effective_n_threads() == 4
    with pytest.raises(ValueError, match="n_threads"), local_thread_limit(0):
        pass


def test_starts_run_on_their_share_of_threads_with_blas_held():
    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    before = blas_threads()

    def job():
        return effective_n_threads(), blas_threads(), threading.current_thread().name

    out = list(many.run_starts([job] * 6, (3, 1)))
    assert [n for n, _, _ in out] == [1] * 6
    assert all(blas <= {1} for _, blas, _ in out)
    assert len({name for _, _, name in out}) > 1
    assert blas_threads() == before  # restored by the last one out
    # one by one: on the calling thread, with its threads
    main = threading.current_thread().name
    assert list(many.run_starts([job], (1, 4)))[0][::2] == (effective_n_threads(), main)


def test_an_exception_in_one_start_reaches_the_caller():
    done = []

    def ok(i):
        return lambda: done.append(i) or i

    def fails():
        raise FloatingPointError("start 2")

    jobs = [ok(0), ok(1), fails] + [ok(i) for i in range(3, 40)]
    results = []
    with pytest.raises(FloatingPointError, match="start 2"):
        for value in many.run_starts(jobs, (2, 1)):
            results.append(value)
    assert results == [0, 1]
    assert len(done) < 39  # the starts after the failure were cancelled


def test_an_exception_in_a_survey_run_propagates(side_by_side, monkeypatch):
    from nmfkit.rank import survey

    calls = []

    def failing_run(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("run 3")
        return run(*args, **kwargs)

    run = survey.run
    monkeypatch.setattr(survey, "run", failing_run)
    with pytest.raises(MemoryError, match="run 3"):
        rank_survey(data("dense"), [2], n_runs=6, max_iter=10, random_state=0)
    assert side_by_side


def test_plan_starts(monkeypatch):
    M = Matrix(data("dense"))
    free = {"cpus": 4}  # the CPUs other processes leave free (LoadFollower)
    monkeypatch.setattr(many.LoadFollower, "now", lambda self: min(free["cpus"], self.cap))
    monkeypatch.setattr(many, "effective_n_threads", lambda: 4)
    monkeypatch.setattr(many.LoadFollower, "__init__",
                        lambda self, work=None, spread=False: setattr(
                            self, "cap", many.effective_n_threads()))
    assert many.plan_starts(M, 3, 1.0, 10) == (4, 1)
    free["cpus"] = 2  # two CPUs busy elsewhere: two starts at once
    assert many.plan_starts(M, 3, 1.0, 10) == (2, 1)
    free["cpus"] = 1  # one CPU free: one by one (each start follows the load itself)
    assert many.plan_starts(M, 3, 1.0, 10) == (1, 4)
    free["cpus"] = 8
    assert many.plan_starts(M, 3, 1.0, 2) == (2, 2)  # the threads shared out
    assert many.plan_starts(M, 3, 1.0, 1) == (1, 4)
    assert many.plan_starts(M, 3, 1.0, 10, per_iteration_output=True) == (1, 4)
    monkeypatch.setattr(many, "SIDE_BY_SIDE", False)
    assert many.plan_starts(M, 3, 1.0, 10) == (1, 4)
    monkeypatch.setattr(many, "SIDE_BY_SIDE", True)
    big = Matrix(np.ones((3000, 2000)))  # a lone start keeps 4 threads busy
    assert many.plan_starts(big, 10, 1.0, 10) == (1, 4)
    # 8 threads: the tiles do not depend on the thread count, so starts of any matrix
    # small enough run side by side
    monkeypatch.setattr(many, "effective_n_threads", lambda: 8)
    mid = Matrix(np.ones((100, 1000)))
    assert many.plan_starts(mid, 5, 1.0, 8) == (8, 1)
    assert many.plan_starts(M, 3, 1.0, 8) == (8, 1)


def test_matrix_workspaces_are_per_thread_and_not_pickled():
    M = Matrix(data("dense"))
    mine = M.buffers(1)
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(M.buffers(1)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and M.buffers(1) is mine
    copy = pickle.loads(pickle.dumps(M))
    assert copy.buffers(1) is not mine and copy.buffers(1).shape == mine.shape
    np.testing.assert_array_equal(copy.V, M.V)
