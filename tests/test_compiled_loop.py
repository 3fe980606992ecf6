"""The compiled iteration loop of solver 'mu' (kernels/loop.pyx) gives the same bits as the
Python loop of solvers/alternating.py: factors, iteration count, history, convergence."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF
from nmfkit.core.matrix import Matrix
from nmfkit.core.penalty import Penalty
from nmfkit.core.threads import FOLLOW_LOAD_ENV
from nmfkit.solvers import alternating
from nmfkit.solvers.alternating import compiled_loop, run


def random_case(seed):
    """A small random problem and run options: dtype, loss, order, shape (k = 1 and a single
    row or column included), penalties, floor, tol, update_h, check_every."""
    rng = np.random.default_rng(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    beta = (2.0, 1.0)[(seed // 2) % 2]
    m, n = (int(rng.integers(1, 70)) for _ in range(2))
    if seed % 5 == 0:
        m = 1
    elif seed % 5 == 1:
        n = 1
    k = 1 if seed % 3 == 0 else int(rng.integers(2, 9))
    V = rng.random((m, n)) * rng.random((m, 1)) * 5
    V[rng.random((m, n)) < 0.25] = 0.0
    V = V.astype(dtype)
    if seed % 4 >= 2:
        V = np.asfortranarray(V)
    W0, H0 = rng.random((m, k)) + 0.05, rng.random((k, n)) + 0.05
    weights = rng.random(4) * (seed % 3 == 1)  # a third of the cases penalized
    if seed % 6 == 4:
        weights[rng.random(4) < 0.5] = 0.0  # some sides only
    penalty = Penalty(l1={"w": weights[0], "h": weights[1]}, l2={"w": weights[2], "h": weights[3]})
    options = dict(beta=beta, solver="mu", max_iter=int(rng.integers(0, 90)),
                   tol=(0.0, 1e-3, 3e-2)[seed % 3], penalty=penalty,
                   floor=(0.0, 1e-8)[seed % 2], check_every=int(rng.integers(1, 12)),
                   update_h=seed % 7 != 3)
    return V, W0, H0, options


def both_loops(V, W0, H0, options):
    """(compiled, python) RunResults of the same run."""
    results = []
    previous = compiled_loop()
    try:
        for enable in (True, False):
            compiled_loop(enable)
            M = Matrix(V)
            W, Ht = M.to_internal(W0, H0)
            results.append(run(M, W, Ht, **options))
    finally:
        compiled_loop(previous)
    return results


def assert_same_bits(a, b):
    assert a.W.dtype == b.W.dtype and a.W.tobytes() == b.W.tobytes()
    assert a.Ht.tobytes() == b.Ht.tobytes()
    assert a.n_iter == b.n_iter and a.converged == b.converged
    assert a.history_iters == b.history_iters
    assert np.array(a.history).tobytes() == np.array(b.history).tobytes()


@pytest.mark.parametrize("seed", range(120))
def test_compiled_loop_gives_the_python_loops_bits(seed):
    compiled, python = both_loops(*random_case(seed))
    assert_same_bits(compiled, python)


def test_the_cases_cover_early_stops_and_full_runs():
    """The grid above exercises both ends of the stopping rule, and both dispatch paths."""
    stopped = full = 0
    for seed in range(120):
        V, W0, H0, options = random_case(seed)
        compiled, _ = both_loops(V, W0, H0, options)
        stopped += compiled.converged and compiled.n_iter < options["max_iter"]
        full += compiled.n_iter == options["max_iter"]
    assert stopped >= 10 and full >= 10


def test_compiled_loop_is_used_and_can_be_turned_off(monkeypatch):
    calls = []
    original = alternating.loop.mu_loop

    def spy(*args):
        calls.append(args[3])  # kl
        return original(*args)
    monkeypatch.setattr(alternating.loop, "mu_loop", spy)
    V = np.random.default_rng(0).random((20, 15))
    for loss in ("frobenius", "kullback-leibler"):
        NMF(3, solver="mu", beta_loss=loss, max_iter=5, random_state=0).fit(V)
    assert calls == [False, True]
    NMF(3, solver="mu", beta_loss=1.5, max_iter=5, random_state=0).fit(V)  # not for beta 1.5
    NMF(3, solver="mu", max_iter=5, random_state=0, verbose=1).fit(V)  # nor with output
    previous = compiled_loop(False)
    try:
        NMF(3, solver="mu", max_iter=5, random_state=0).fit(V)
    finally:
        compiled_loop(previous)
    assert len(calls) == 2
    # a problem large enough for a second thread stays in the Python loop, which follows
    # the machine's load between iterations; with that off, its thread count is fixed
    big = np.random.default_rng(1).random((700, 600))
    with threadpool_limits(2, user_api="openmp"):
        if nmfkit.effective_n_threads() == 2:
            monkeypatch.setenv(FOLLOW_LOAD_ENV, "1")
            NMF(10, solver="mu", max_iter=2, random_state=0).fit(big)
            assert len(calls) == 2
            monkeypatch.setenv(FOLLOW_LOAD_ENV, "0")
            NMF(10, solver="mu", max_iter=2, random_state=0).fit(big)
            assert len(calls) == 3


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_estimator_results_are_the_same_with_either_loop(loss):
    """Through the estimator (init, restarts, the final objective): the same model."""
    rng = np.random.default_rng(3)
    V = rng.random((40, 30)) @ rng.random((30, 25))
    models = []
    previous = compiled_loop()
    try:
        for enable in (True, False):
            compiled_loop(enable)
            model = NMF(4, solver="mu", beta_loss=loss, alpha_W=0.01, l1_ratio=0.5,
                        max_iter=200, tol=1e-4, n_init=2, random_state=0)
            W = model.fit_transform(V)
            models.append((W.tobytes(), model.components_.tobytes(), model.n_iter_,
                           model.reconstruction_err_))
    finally:
        compiled_loop(previous)
    assert models[0] == models[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [7, 128, 129, 1000])
def test_kl_with_one_component_sums_as_numpy_does(dtype, rows):
    """KL's denominator with k = 1 is the pairwise sum of a factor's one column (NumPy's
    add.reduce of a contiguous run): its blocks of 8 and 128 and halves."""
    rng = np.random.default_rng(rows)
    V = (rng.random((rows, 300)) * 10).astype(dtype)
    options = dict(beta=1.0, solver="mu", max_iter=6, tol=0.0, penalty=Penalty(), floor=0.0,
                   check_every=2)
    compiled, python = both_loops(V, rng.random((rows, 1)), rng.random((1, 300)), options)
    assert_same_bits(compiled, python)
