"""Coordinate descent for the Kullback-Leibler divergence: cyclic over the coordinates of
each factor, Newton steps per variable (Hsieh & Dhillon 2011), solver 'cd' for KL.

One iteration is one pass over each factor (the caller's W first, as the alternating
iteration does); a pass visits every entry of the factor once with up to MAX_INNER Newton
steps, each safeguarded so that it never increases the objective (kernels/cd.pyx). The
stopping rule, the history, verbose and the callback are the alternating iteration's
(Progress). A pass gains far more than a multiplicative update (one majorization step for
all coordinates at once): on the WordNet corpus it reaches scikit-learn MU's objective in
about 8x fewer passes. But it costs more: one division per stored entry, coordinate and
Newton step (up to k * MAX_INNER per entry, against the multiplicative update's one; a
coordinate at the floor that slopes up at the start of its row is skipped). On sparse
counts it is the faster in time (solver='auto' picks it there: core/spec.py), on dense data
MU is (benchmarks/kl_cd.py measures both).
"""

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.threads import LoadFollower, blas_single_threaded
from ..losses import KullbackLeibler
from .progress import Progress, RunResult

__all__ = ["run_kl_cd", "solve_w_cd"]

# Newton steps per coordinate and pass, at most; fewer once a step changes the coordinate by
# at most INNER_RTOL of its value (a Newton step there is already close to the minimizer).
MAX_INNER = 2
INNER_RTOL = 1e-2


def _pass(loss, M, factors, side, penalty, floor, n_threads):
    """One pass over factors[side], in place; returns its squared change."""
    return loss.cd_update(M, factors["w"], factors["h"], side == "h", penalty.l1[side],
                          penalty.l2[side], floor, n_threads, max_inner=MAX_INNER,
                          inner_rtol=INNER_RTOL)


def run_kl_cd(M, W, Ht, **options):
    """Iterate from internal (W, Ht) in place; return a RunResult (see _run_kl_cd)."""
    with blas_single_threaded():
        return _run_kl_cd(M, W, Ht, **options)


def _run_kl_cd(M, W, Ht, *, penalty, floor, max_iter, tol, check_every=10, verbose=0,
               callback=None, update_h=True):
    """Coordinate-descent iterations of the KL divergence of fully observed data M from
    internal (W, Ht), in place; the stopping rule and history of solvers.alternating.run."""
    loss = KullbackLeibler()
    load = LoadFollower(work=M.product_work(W.shape[1]))  # the CPUs free (core.threads)
    n_threads = load.now()
    factors = {"w": W, "h": Ht}
    first = M.w_side
    order = [first, OTHER_SIDE[first]] if update_h else [first]
    obj0 = loss.divergence(M, W, Ht, n_threads) + penalty.value(factors)
    progress = Progress(obj0, tol, verbose, callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        n_threads = load.now()
        for s in order:
            _pass(loss, M, factors, s, penalty, floor, n_threads)
        if it % check_every == 0 or it == max_iter:
            obj = loss.divergence(M, W, Ht, n_threads) + penalty.value(factors)
            if progress.check(it, obj):
                converged = True
                break
    return RunResult(W, Ht, it, progress.history, progress.iters, converged)


def solve_w_cd(M, W, Ht, **options):
    """Solve for the caller's W with H fixed, in place, by coordinate descent (see
    _solve_w_cd); the signature of solvers.polish.solve_w."""
    with blas_single_threaded():
        return _solve_w_cd(M, W, Ht, **options)


def _solve_w_cd(M, W, Ht, *, beta, penalty, floor, max_iter, rtol=1e-7):
    """Passes over the caller's W (KL, beta = 1) until ||W_new - W_old|| <= rtol ||W||, at
    most max_iter; returns the passes done. A row of V that is all 0 gets W's row 0, its
    exact minimizer (as solvers.polish.solve_w)."""
    if beta != 1.0 or M.masked:
        raise ValueError("coordinate descent solves the KL loss of fully observed data only")
    loss = KullbackLeibler()
    load = LoadFollower(work=M.product_work(W.shape[1]))
    factors = {"w": W, "h": Ht}
    s = M.w_side
    A = factors[s]
    passes = 0
    for passes in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        delta = _pass(loss, M, factors, s, penalty, floor, load.now())
        if delta <= rtol * rtol * float(np.einsum("ij,ij->", A, A, dtype=np.float64)):
            break
    A[M.zero_rows()] = 0
    return passes
