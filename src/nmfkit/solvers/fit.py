"""The in-process fit: restarts from seeded starts, the best run finished by the exact W
solve, and the W of new data for fixed components. Takes a FitSpec and a prepared Matrix,
returns a FitResult; the estimator turns it into fitted attributes."""

import functools

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.params import FROBENIUS_ONLY_SOLVERS, RANDOM_INITS
from ..core.result import FitResult
from ..core.threads import blas_single_threaded, effective_n_threads
from . import init as starts
from .alternating import run
from .kl_cd import solve_w_cd
from .many import plan_starts, run_starts
from .polish import solve_w

__all__ = ["fit_matrix", "solve_components"]


def sweep_order_rng(rng, spec):
    """shuffle=True with a coordinate-descent solver: the generator of each sweep's order
    of the components, seeded from the fit's random state (so a given random_state gives
    the same fit); None otherwise, and then the random state is left untouched."""
    if not spec.shuffle or spec.solver not in FROBENIUS_ONLY_SOLVERS:
        return None
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return np.random.RandomState(int(draw(2**31 - 1)))


def constrained_run(spec, M, W, Ht, **common):
    """One run of orthogonal NMF (solvers.orthogonal) or sparse NMF (solvers.sparse), with
    the constraint on the internal side that holds the caller's constrained factor."""
    side = M.w_side if spec.constrained_factor == "W" else OTHER_SIDE[M.w_side]
    if spec.orthogonal is not None:
        from .orthogonal import run_orthogonal
        return run_orthogonal(M, W, Ht, side=side, **common)
    from .sparse import run_sparse
    target = spec.sparseness_W if spec.constrained_factor == "W" else spec.sparseness_H
    return run_sparse(M, W, Ht, side=side, target=target, **common)


def w_solver(spec):
    """The solve for the caller's W with H fixed (its signature is solvers.polish.solve_w's):
    the plain one, or the constrained one when the constraint is on W (so that transform
    gives W with the constraint, and fit_transform(X) equals fit(X).transform(X)); with
    solver 'cd' for KL, coordinate descent."""
    if spec.solver == "cd":
        return solve_w_cd
    if spec.constrained_factor != "W":
        return solve_w
    if spec.orthogonal is not None:
        from .orthogonal import solve_orthogonal_w
        return solve_orthogonal_w
    from .sparse import solve_sparse_w
    return functools.partial(solve_sparse_w, target=spec.sparseness_W)


def fit_matrix(spec, M, k, init, W=None, H=None):
    """spec.n_init runs on the prepared data M (spec already for_data(M)) from seeded starts
    (the first from init, the others random unless init is), the best finished by the
    exact W for its H when tol > 0. Returns a FitResult in the caller's units."""
    penalty = spec.penalty(M)
    floor = spec.floor_value(M, k)
    common = dict(max_iter=spec.max_iter, tol=spec.tol, penalty=penalty, floor=floor,
                  check_every=spec.check_every, verbose=spec.verbose, callback=spec.callback)
    with blas_single_threaded():  # also makes the SVD of NNDSVD thread-count independent
        rng = spec.random_state_checked()
        jobs = []  # every start drawn first, in the order the runs once drew them
        for r in range(spec.n_init):
            run_init = init if r == 0 or init in RANDOM_INITS else "random"
            W0, H0 = starts.initialize(M.filled(), k, run_init, rng, W, H)
            Wi, Hti = M.to_internal(W0, H0, scaled=run_init != "custom")
            if spec.constrained:
                jobs.append(functools.partial(constrained_run, spec, M, Wi, Hti, **common))
            else:
                jobs.append(functools.partial(run, M, Wi, Hti, beta=spec.beta,
                                              solver=spec.solver,
                                              shuffle=sweep_order_rng(rng, spec), **common))
        reports = bool(spec.verbose) or spec.callback is not None  # iterations, in order
        best = None
        for res in run_starts(jobs, plan_starts(M, k, spec.beta, len(jobs), reports)):
            if best is None or res.history[-1] < best.history[-1]:
                best = res
        div = _final_divergence(spec, M, best, penalty, floor)
    W_out, H_out = M.to_external(best.W, best.Ht)
    return FitResult(W=W_out, H=H_out, n_iter=best.n_iter,
                     reconstruction_err=M.external_error(div, spec.beta),
                     loss_history=M.external_divergence(best.history, spec.beta),
                     loss_history_iter=np.asarray(best.history_iters),
                     converged=best.converged, init=init)


def _final_divergence(spec, M, best, penalty, floor):
    """Finish the best run (tol > 0: the exact W for its H, in place) and return its
    divergence, internal units."""
    if spec.tol > 0:
        # Finish with the exact W for the final H: what transform(X) computes. tol=0
        # asks for exactly max_iter iterations of the solver, so it is left out then.
        w_solver(spec)(M, best.W, best.Ht, beta=spec.beta, penalty=penalty, floor=floor,
                       max_iter=spec.polish_iter(M.masked))
    elif spec.beta != 2.0 and best.history_iters[-1] == best.n_iter:
        # The last history entry is the divergence of these very factors, computed
        # directly: reuse it. (Frobenius histories come from the products, which lose
        # digits near an exact fit: that one is recomputed.)
        return max(best.history[-1] - penalty.value({"w": best.W, "h": best.Ht}), 0.0)
    return M.divergence(best.W, best.Ht, spec.beta, effective_n_threads())


def solve_components(spec, M, H):
    """(W, sweeps): the W of the data M (spec already for_data(M)) for the fixed components
    H (k x n), started from the clipped least-squares W and iterated to the solver's
    tolerance."""
    k = H.shape[0]
    H = H.astype(M.dtype)
    penalty = spec.penalty(M)
    with blas_single_threaded():
        # the unconstrained least-squares W, clipped: far closer to the answer than a
        # generic start, which matters most for the slow multiplicative W solve
        W0 = starts.least_squares_start(M.filled(), H / M.dtype.type(np.sqrt(M.scale)))
        Wi, Hti = M.to_internal(W0, H / np.sqrt(M.scale), scaled=True)
        sweeps = w_solver(spec)(M, Wi, Hti, beta=spec.beta, penalty=penalty,
                                floor=spec.floor_value(M, k),
                                max_iter=spec.polish_iter(M.masked))
    return M.to_external(Wi, Hti)[0], sweeps
