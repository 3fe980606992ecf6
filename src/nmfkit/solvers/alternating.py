"""One factorization run: the iteration, its stopping rule, and the objective history.

Policy lives here; arithmetic lives in the kernels. The problem is held internally as
V ~= W Ht^T (see _matrix.py), so "side" 'w' updates the factor whose rows follow V's rows
and 'h' the other one. Per iteration the caller's W is updated first, then H, as in
scikit-learn's multiplicative-update solver.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ..kernels import dense, steps
from ..core.threads import blas_single_threaded, effective_n_threads, threads_for
from ..core.params import beta_gamma

# Accelerated inner loops (Gillis & Glineur 2012): alpha and delta of the paper, and the
# cost of a BLAS flop relative to a flop of the step kernels (measured on x86-64: GEMM at
# 20-40 GFlop/s per core against 2-4 for the row loops).
_ACCEL_ALPHA = 0.5
_ACCEL_DELTA = 0.1
_DENSE_FLOP_COST = 0.125


@dataclass
class Penalty:
    """l1 and l2 weights on each internal side ('w', 'h'), in the internal scaling."""
    l1: dict = field(default_factory=lambda: {"w": 0.0, "h": 0.0})
    l2: dict = field(default_factory=lambda: {"w": 0.0, "h": 0.0})

    def value(self, factors):
        total = 0.0
        for s, F in factors.items():
            if self.l1[s]:
                total += self.l1[s] * float(F.sum(dtype=np.float64))
            if self.l2[s]:
                total += 0.5 * self.l2[s] * float(np.einsum("ij,ij->", F, F, dtype=np.float64))
        return total


@dataclass
class RunResult:
    W: np.ndarray  # internal factors (C-ordered, internal scaling)
    Ht: np.ndarray
    n_iter: int
    history: list  # penalized objective at the checked iterations (internal units)
    history_iters: list
    converged: bool


class Progress:
    """The objective's record of one run (history, verbose lines, callback) and
    scikit-learn's stopping rule: stop when the decrease of sqrt(2 * objective) since the
    last check, relative to its initial value, falls below tol."""

    def __init__(self, obj0, tol, verbose, callback):
        self.start = time.perf_counter()
        self.history, self.iters = [obj0], [0]
        self.err_init = self.err_prev = np.sqrt(2.0 * max(obj0, 0.0))
        self.tol, self.verbose, self.callback = tol, verbose, callback
        if verbose:
            print(f"nmfkit: iteration 0, objective {obj0:.6g}")
        if callback is not None:
            callback(0, obj0)

    def check(self, it, obj):
        """Record obj at iteration it; True when the run has converged."""
        self.history.append(obj)
        self.iters.append(it)
        if self.verbose:
            print(f"nmfkit: iteration {it}, objective {obj:.6g}, "
                  f"{time.perf_counter() - self.start:.2f} s")
        if self.callback is not None:
            self.callback(it, obj)
        err = np.sqrt(2.0 * max(obj, 0.0))
        if self.tol > 0 and (self.err_init == 0 or (self.err_prev - err) / self.err_init
                             < self.tol):
            return True
        self.err_prev = err
        return False


def _dot64(a, b):
    return float(np.dot(a.ravel().astype(np.float64, copy=False),
                        b.ravel().astype(np.float64, copy=False)))


def inner_steps(solver, rows_a, rows_b, k, nnz, dense):
    """How many cheap repeats of a Frobenius step one pair of products pays for.

    Gillis & Glineur's rho = 1 + (K + n k) / (m (k + 1)) is the cost of the products over
    the cost of one step, in flops. A dense product runs in BLAS, several times faster per
    flop than a step's loops, so its K counts for _DENSE_FLOP_COST of a step's flop.
    """
    if solver == "mu":
        return 1
    work = nnz * (_DENSE_FLOP_COST if dense else 1.0)
    rho = 1.0 + (work + rows_b * k) / (rows_a * (k + 1.0))
    return int(1 + _ACCEL_ALPHA * rho)


def shuffled_hals_step(A, num, gram, l1, l2, floor, n_threads, order):
    """One HALS sweep of A that visits its columns in the given order (a permutation of
    range(k)): the cyclic sweep of the kernel on the permuted columns of A and num and the
    permuted rows and columns of gram, written back in place. Same arithmetic as the cyclic
    sweep, so the result does not depend on the thread count either."""
    A_perm = np.ascontiguousarray(A[:, order])
    delta = steps.hals_step(A_perm, np.ascontiguousarray(num[:, order]),
                             np.ascontiguousarray(gram[np.ix_(order, order)]), l1, l2, floor,
                             n_threads)
    A[:, order] = A_perm
    return delta


def frobenius_steps(A, num, gram, l1, l2, floor, tiny, solver, n_inner, n_threads,
                    shuffle=None):
    """Up to n_inner HALS sweeps (solver 'hals') or MU steps of A on one pair of products,
    stopping early once a step moves A by less than _ACCEL_DELTA of the first (Gillis &
    Glineur 2012). Returns the number of steps taken.

    shuffle: None (each HALS sweep visits the columns 0..k-1) or a np.random.RandomState
    that draws each sweep's order (scikit-learn's shuffle=True); MU steps ignore it."""
    first = None
    for done in range(1, n_inner + 1):
        if solver == "hals" and shuffle is not None:
            delta = shuffled_hals_step(A, num, gram, l1, l2, floor, n_threads,
                                       shuffle.permutation(A.shape[1]))
        elif solver == "hals":
            delta = steps.hals_step(A, num, gram, l1, l2, floor, n_threads)
        else:
            delta = steps.mu_fro_step(A, num, gram, l1, l2, floor, tiny, n_threads)[2]
        if first is None:
            first = delta
        elif delta <= _ACCEL_DELTA ** 2 * first:
            break
    return done


def run(M, W, Ht, **options):
    """Iterate from internal (W, Ht) in place; return a RunResult (see _run)."""
    with blas_single_threaded():
        return _run(M, W, Ht, **options)


def _run(M, W, Ht, *, beta, solver, max_iter, tol, penalty, floor, check_every=10,
         update_h=True, verbose=0, callback=None, shuffle=None):
    """Iterate from internal (W, Ht) in place; return a RunResult.

    The stopping rule is scikit-learn's: every `check_every` iterations, stop when the
    decrease of sqrt(2 * objective) since the last check, relative to its initial value,
    falls below tol. Solver 'ehals' runs in _ehals when it applies (Frobenius loss, fully
    observed data, both factors updated), else as 'hals'. shuffle: None, or the
    RandomState drawing the order of the columns at each HALS sweep (frobenius_steps).
    """
    if solver == "ehals":
        if beta == 2.0 and not M.general(beta) and update_h:
            from .ehals import run_extrapolated
            return run_extrapolated(M, W, Ht, penalty=penalty, floor=floor, max_iter=max_iter,
                                    tol=tol, check_every=check_every, verbose=verbose,
                                    callback=callback, shuffle=shuffle)
        solver = "hals"
    n_threads = effective_n_threads()
    factors = {"w": W, "h": Ht}
    other = {"w": "h", "h": "w"}
    caller_w = "h" if M.transposed else "w"
    order = [caller_w, other[caller_w]] if update_h else [caller_w]
    tiny = M.tiny
    k = W.shape[1]
    # threads per step call, by its work: a row costs about 2 k^2 flops (Frobenius, HALS)
    step_threads = {s: threads_for(2.0 * k * k * factors[s].shape[0], n_threads)
                    for s in factors}
    div_threads = {s: threads_for(4.0 * k * factors[s].shape[0], n_threads) for s in factors}

    nums = {s: np.empty_like(factors[s]) for s in order}
    general = M.general(beta)
    fro = beta == 2.0 and not general
    if general:  # beta other than 1 and 2, or missing values: plain MU with a full den
        dens = {s: np.empty_like(factors[s]) for s in order}
        gamma = beta_gamma(beta)
    if fro:
        grams = {s: dense.gram(factors[s], np.empty((k, k), dtype=M.dtype), step_threads[s])
                 for s in factors}
        n_inner = {s: inner_steps(solver, factors[s].shape[0], factors[other[s]].shape[0], k,
                                  M.nnz, M.kind == "dense") for s in order}

    def fro_update(s, fresh_num):
        A, B = factors[s], factors[other[s]]
        if fresh_num:
            M.xb(B, nums[s], s == "h", n_threads)
        frobenius_steps(A, nums[s], grams[other[s]], penalty.l1[s], penalty.l2[s], floor,
                        tiny, solver, n_inner[s], step_threads[s], shuffle)
        dense.gram(A, grams[s], step_threads[s])

    def kl_update(s):
        A, B = factors[s], factors[other[s]]
        M.kl_num(W, Ht, nums[s], s == "h", n_threads)
        den = B.sum(axis=0)
        steps.mu_div_step(A, nums[s], den, penalty.l1[s], penalty.l2[s], floor, tiny,
                           div_threads[s])

    def beta_update(s):
        M.beta_products(W, Ht, nums[s], dens[s], s == "h", beta, n_threads)
        steps.mu_beta_step(factors[s], nums[s], dens[s], penalty.l1[s], penalty.l2[s], gamma,
                            floor, tiny, div_threads[s])

    def objective(s=None):
        # The Frobenius objective comes from products already formed, for side s:
        # ||V||^2 - 2 <A, V B> + <A^T A, B^T B> (its numerator nums[s] = V B is current).
        if fro:
            cross = _dot64(factors[s], nums[s])
            value = max(0.5 * (M.sq_norm - 2.0 * cross
                               + _dot64(grams[s], grams[other[s]])), 0.0)
        else:
            value = M.divergence(W, Ht, beta, n_threads)
        return value + penalty.value(factors)

    if fro:  # the first update's numerator, formed now, gives the initial objective too
        s0 = order[0]
        M.xb(factors[other[s0]], nums[s0], s0 == "h", n_threads)
        progress = Progress(objective(s0), tol, verbose, callback)
    else:
        progress = Progress(objective(), tol, verbose, callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        for s in order:
            if general:
                beta_update(s)
            elif fro:
                fro_update(s, fresh_num=(update_h or it == 1) and not (it == 1 and s == s0))
            else:
                kl_update(s)
        if (it % check_every == 0 or it == max_iter) and progress.check(it, objective(
                order[-1])):
            converged = True
            break
    return RunResult(W, Ht, it, progress.history, progress.iters, converged)


def solve_w(M, W, Ht, **options):
    """Solve for the caller's W with H fixed, in place (see _solve_w)."""
    with blas_single_threaded():
        return _solve_w(M, W, Ht, **options)


def _solve_w(M, W, Ht, *, beta, penalty, floor, max_iter, rtol=1e-7):
    """Solve for the caller's W with H fixed (a convex problem), in place, to rtol.

    transform() runs this from its start, and fit() runs it from its last W when it has
    converged, so both end at the same minimizer. Frobenius: HALS sweeps over products
    formed once (each sweep costs O(m k^2)). KL: multiplicative updates of W alone.
    General beta or missing values: multiplicative updates of W alone with their full
    denominator. Stops when ||W_new - W_old|| <= rtol ||W||; returns the number of sweeps.
    """
    n_threads = effective_n_threads()
    factors = {"w": W, "h": Ht}
    s = "h" if M.transposed else "w"
    A, B = factors[s], factors["w" if s == "h" else "h"]
    num = np.empty_like(A)
    k = A.shape[1]
    step_threads = threads_for(2.0 * k * k * A.shape[0], n_threads)
    general = M.general(beta)
    if general:
        den_full = np.empty_like(A)
        gamma = beta_gamma(beta)
    elif beta == 2.0:
        M.xb(B, num, s == "h", n_threads)
        gram = dense.gram(B, np.empty((A.shape[1],) * 2, dtype=M.dtype),
                           threads_for(2.0 * k * k * B.shape[0], n_threads))
    else:
        den = B.sum(axis=0)
    sweeps = 0
    for sweeps in range(1, max_iter + 1):
        if general:
            M.beta_products(W, Ht, num, den_full, s == "h", beta, n_threads)
            delta = steps.mu_beta_step(A, num, den_full, penalty.l1[s], penalty.l2[s], gamma,
                                        floor, M.tiny, step_threads)
        elif beta == 2.0:
            delta = steps.hals_step(A, num, gram, penalty.l1[s], penalty.l2[s], floor,
                                     step_threads)
        else:
            M.kl_num(W, Ht, num, s == "h", n_threads)
            delta = steps.mu_div_step(A, num, den, penalty.l1[s], penalty.l2[s], floor,
                                       M.tiny, step_threads)
        if delta <= rtol * rtol * float(np.einsum("ij,ij->", A, A, dtype=np.float64)):
            break
    # A row of V whose observed entries are all 0 has W's row 0 as its exact minimizer (for
    # every beta > 0, penalties too): the floor kept it at eps, which a caller normalizing the
    # row (topic mixtures) would read as a uniform mixture.
    A[M.zero_rows()] = 0
    return sweeps
