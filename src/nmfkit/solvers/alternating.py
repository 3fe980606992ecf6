"""One factorization run: the alternating iteration, its stopping rule, its history.

Policy lives here; arithmetic lives in the loss objects (nmfkit.losses) and the kernels. The
problem is held internally as V ~= W Ht^T (see core/matrix.py), so "side" 'w' updates the
factor whose rows follow V's rows and 'h' the other one. Per iteration the caller's W is
updated first, then H, as in scikit-learn's multiplicative-update solver.

Two kinds of loss drive the iteration differently:
- a loss whose objective follows from its statistics (Frobenius) keeps the Gram matrix of
  each factor current, reuses the numerator of the last update for the objective, and
  repeats its cheap update on one pair of statistics (inner steps);
- the others (KL, the beta-divergences, anything with missing values) form their statistics
  at every update and need a pass over V for the objective.

Solver 'mu' on dense, fully observed Frobenius or KL data, with no output and no callback,
runs this whole loop in compiled code (kernels.loop.mu_loop, the same bits) when its thread
count is fixed for the run: a problem too small for a second thread (most of a small
problem's time was the interpreter's), one thread, or load-following turned off. A larger
problem stays in Python, whose loop follows the machine's load between iterations.
"""

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.threads import LoadFollower, blas_single_threaded, threads_for
from ..kernels import loop
from ..losses import Frobenius, KullbackLeibler, loss_for
from .ehals import run_extrapolated
from .kl_cd import run_kl_cd
from .progress import Progress, RunResult

__all__ = ["compiled_loop", "run"]

# Whether solver 'mu' on dense, fully observed Frobenius and KL problems runs its whole loop
# in compiled code (kernels/loop.pyx: the same bits, no interpreter between iterations).
_COMPILED_LOOP = [True]
# Its factors' entries must fit the BLAS integers of its dot products.
_BLAS_INT_MAX = 2**31 - 1


def compiled_loop(enable=None):
    """Whether solver 'mu' may run its whole loop in compiled code; enable=False / True turns
    that off / on (tests and benchmarks compare the two loops). Returns the previous setting."""
    previous = _COMPILED_LOOP[0]
    if enable is not None:
        _COMPILED_LOOP[0] = bool(enable)
    return previous


class _Sides:
    """What both kinds of update share: the thread counts of their kernel calls."""

    def set_threads(self, n_threads):
        """Use n_threads from here: the products get n_threads, each factor's step as many
        as its rows' work is worth (threads_for)."""
        k = self.factors["w"].shape[1]
        self.n_threads = n_threads
        self.threads = {s: threads_for(self.loss.row_work(k) * A.shape[0], n_threads)
                        for s, A in self.factors.items()}


class _ProductUpdates(_Sides):
    """Updates of a loss whose objective follows from its statistics (Frobenius): the Gram
    matrix of each factor is kept current, so each update forms one numerator."""

    def __init__(self, loss, M, factors, order, solver, n_threads, shuffle):
        k = factors["w"].shape[1]
        self.loss, self.M, self.factors = loss, M, factors
        self.solver, self.shuffle = solver, shuffle
        self.set_threads(n_threads)
        threads = self.threads
        self.nums = {s: np.empty_like(factors[s]) for s in order}
        self.grams = {s: loss.denominator(factors[s], threads[s],
                                          np.empty((k, k), dtype=M.dtype)) for s in factors}
        self.n_inner = {s: loss.inner_steps(solver, factors[s].shape[0],
                                            factors[OTHER_SIDE[s]].shape[0], k, M.nnz,
                                            M.kind == "dense") for s in order}

    def form_numerator(self, s):
        f = self.factors
        self.loss.numerator(self.M, f["w"], f["h"], s == "h", self.nums[s], self.n_threads)

    def update(self, s, penalty, floor, fresh=True):
        """Update side s; fresh=False reuses its numerator (the other factor has not moved
        since it was formed)."""
        if fresh:
            self.form_numerator(s)
        A = self.factors[s]
        self.loss.update(A, self.nums[s], self.grams[OTHER_SIDE[s]], penalty.l1[s],
                         penalty.l2[s], floor, self.M.tiny, self.threads[s],
                         solver=self.solver, n_inner=self.n_inner[s], shuffle=self.shuffle)
        self.loss.denominator(A, self.threads[s], self.grams[s])

    def objective(self, s):
        """The loss, from side s's current numerator and the Gram matrices."""
        return self.loss.product_objective(self.M.sq_norm, self.factors[s], self.nums[s],
                                           self.grams[s], self.grams[OTHER_SIDE[s]])


class _PassUpdates(_Sides):
    """Updates of a loss whose statistics and objective each need a pass over V (KL, the
    beta-divergences, missing values)."""

    def __init__(self, loss, M, factors, order, n_threads):
        self.loss, self.M, self.factors = loss, M, factors
        self.set_threads(n_threads)
        self.nums = {s: np.empty_like(factors[s]) for s in order}
        self.dens = {s: np.empty_like(factors[s]) if loss.full_denominator else None
                     for s in order}

    def update(self, s, penalty, floor, fresh=True):
        f = self.factors
        den = self.loss.statistics(self.M, f["w"], f["h"], s == "h", self.nums[s],
                                   self.dens[s], self.n_threads)
        self.loss.update(f[s], self.nums[s], den, penalty.l1[s], penalty.l2[s], floor,
                         self.M.tiny, self.threads[s])

    def objective(self, s=None):
        return self.loss.divergence(self.M, self.factors["w"], self.factors["h"],
                                    self.n_threads)


def run(M, W, Ht, **options):
    """Iterate from internal (W, Ht) in place; return a RunResult (see _run)."""
    with blas_single_threaded():
        return _run(M, W, Ht, **options)


def _run(M, W, Ht, *, beta, solver, max_iter, tol, penalty, floor, check_every=10,
         update_h=True, verbose=0, callback=None, shuffle=None):
    """Iterate from internal (W, Ht) in place; return a RunResult.

    The stopping rule is scikit-learn's: every `check_every` iterations, stop when the
    decrease of sqrt(2 * objective) since the last check, relative to its initial value,
    falls below tol. Solver 'ehals' runs in solvers.ehals when it applies (Frobenius loss,
    fully observed data, both factors updated), else as 'hals'. Solver 'cd' with the KL loss
    of fully observed data runs in solvers.kl_cd. shuffle: None, or the RandomState drawing
    the order of the columns at each HALS sweep.
    """
    loss = loss_for(beta, M.masked)
    if solver == "cd":
        if not isinstance(loss, KullbackLeibler):
            raise ValueError("solver 'cd' runs here for the KL loss of fully observed data only")
        return run_kl_cd(M, W, Ht, penalty=penalty, floor=floor, max_iter=max_iter, tol=tol,
                         check_every=check_every, verbose=verbose, callback=callback,
                         update_h=update_h)
    if solver == "ehals":
        if isinstance(loss, Frobenius) and update_h:
            return run_extrapolated(M, W, Ht, penalty=penalty, floor=floor, max_iter=max_iter,
                                    tol=tol, check_every=check_every, verbose=verbose,
                                    callback=callback, shuffle=shuffle)
        solver = "hals"
    factors = {"w": W, "h": Ht}
    first = M.w_side
    order = [first, OTHER_SIDE[first]] if update_h else [first]
    k = W.shape[1]
    load = LoadFollower(work=M.product_work(k))
    if (solver == "mu" and _COMPILED_LOOP[0] and not load.follow and verbose == 0
            and callback is None and M.kind == "dense"
            and isinstance(loss, (Frobenius, KullbackLeibler))
            and M.V.size > 0 and max(W.size, Ht.size, max_iter) <= _BLAS_INT_MAX
            and check_every >= 1):
        # a problem too small for a second thread (or a fixed thread count: nothing to
        # follow): the whole loop in compiled code, with the thread counts of this loop
        n_threads = load.now()
        threads = {s: threads_for(loss.row_work(k) * factors[s].shape[0], n_threads)
                   for s in factors}
        return _run_compiled(loss, M, W, Ht, threads, n_threads, update_h=update_h,
                             max_iter=max_iter, tol=tol, check_every=check_every,
                             penalty=penalty, floor=floor)
    if loss.has_product_objective:
        sides = _ProductUpdates(loss, M, factors, order, solver, load.now(), shuffle)
        sides.form_numerator(first)  # the first update's numerator gives the objective too
        obj0 = sides.objective(first)
    else:
        sides = _PassUpdates(loss, M, factors, order, load.now())
        obj0 = sides.objective()
    progress = Progress(obj0 + penalty.value(factors), tol, verbose, callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        if load.now() != sides.n_threads:  # the machine's load changed
            sides.set_threads(load.n_threads)
        for s in order:
            # with H fixed, W's numerator is formed once; at iteration 1 the first one is
            # already there
            fresh = (update_h or it == 1) and not (it == 1 and s == first)
            sides.update(s, penalty, floor, fresh)
        if it % check_every == 0 or it == max_iter:
            obj = sides.objective(order[-1]) + penalty.value(factors)
            if progress.check(it, obj):
                converged = True
                break
    return RunResult(W, Ht, it, progress.history, progress.iters, converged)


def _run_compiled(loss, M, W, Ht, threads, n_threads, *, update_h, max_iter, tol, check_every,
                  penalty, floor):
    """_run's iteration for solver 'mu' on dense, fully observed Frobenius or KL, in compiled
    code (kernels.loop.mu_loop): the same kernels with the same thread counts and
    workspaces, so the same bits. The penalty, if any, is evaluated here at each check."""
    kl = isinstance(loss, KullbackLeibler)
    factors = {"w": W, "h": Ht}
    pass_threads = threads_for(2.0 * M.nnz * W.shape[1], n_threads)  # products, objective
    kl_threads = threads_for(4.0 * M.nnz * W.shape[1], n_threads)  # KL numerators
    buf_num = M.buffers(kl_threads) if kl else None
    buf_obj = M.buffers(pass_threads) if kl else None
    weights = (penalty.l1["w"], penalty.l2["w"], penalty.l1["h"], penalty.l2["h"])
    penalty_value = (lambda: penalty.value(factors)) if any(weights) else None
    n_iter, history, iters, converged = loop.mu_loop(
        M.V, W, Ht, kl, M.w_side == "h", update_h, max_iter, tol, check_every, weights,
        floor, M.tiny, M.sq_norm, (threads["w"], threads["h"], pass_threads, kl_threads),
        buf_num, buf_obj, M.col_block if kl else 0, penalty_value)
    return RunResult(W, Ht, n_iter, history, iters, converged)
