"""The exact W for a fixed H: a convex problem, solved to a relative tolerance.

transform() runs this from its start, and fit() runs it from its last W when it has
converged, so both end at the same minimizer.
"""

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.threads import LoadFollower, blas_single_threaded, threads_for
from ..losses import loss_for

__all__ = ["solve_w"]


def solve_w(M, W, Ht, **options):
    """Solve for the caller's W with H fixed, in place (see _solve_w)."""
    with blas_single_threaded():
        return _solve_w(M, W, Ht, **options)


def _solve_w(M, W, Ht, *, beta, penalty, floor, max_iter, rtol=1e-7):
    """Solve for the caller's W with H fixed, in place, to rtol; returns the sweeps done.

    Frobenius: HALS sweeps over statistics formed once (each sweep costs O(m k^2)). Other
    losses and missing values: multiplicative updates of W alone. Stops when
    ||W_new - W_old|| <= rtol ||W||.
    """
    loss = loss_for(beta, M.masked)
    factors = {"w": W, "h": Ht}
    s = M.w_side
    A, B = factors[s], factors[OTHER_SIDE[s]]
    num = np.empty_like(A)
    k = A.shape[1]
    load = LoadFollower(work=M.product_work(k))
    n_threads = load.now()

    def step_threads():
        return threads_for(2.0 * k * k * A.shape[0], load.now())

    l1, l2 = penalty.l1[s], penalty.l2[s]
    if loss.has_product_objective:  # statistics formed once: B does not move
        loss.numerator(M, W, Ht, s == "h", num, n_threads)
        gram = loss.denominator(B, threads_for(2.0 * k * k * B.shape[0], n_threads))

        def sweep():
            return loss.update(A, num, gram, l1, l2, floor, M.tiny, step_threads(),
                               solver="hals")
    elif loss.full_denominator:  # beta-divergences, missing values: both sides each sweep
        den_buffer = np.empty_like(A)

        def sweep():
            den = loss.statistics(M, W, Ht, s == "h", num, den_buffer, load.now())
            return loss.update(A, num, den, l1, l2, floor, M.tiny, step_threads())
    else:  # KL: the denominator (B's column sums) is formed once, B does not move
        den = loss.denominator(B)

        def sweep():
            loss.numerator(M, W, Ht, s == "h", num, load.now())
            return loss.update(A, num, den, l1, l2, floor, M.tiny, step_threads())
    sweeps = 0
    for sweeps in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        if sweep() <= rtol * rtol * float(np.einsum("ij,ij->", A, A, dtype=np.float64)):
            break
    # A row of V whose observed entries are all 0 has W's row 0 as its exact minimizer (for
    # every beta > 0, penalties too): the floor kept it at eps, which a caller normalizing the
    # row (topic mixtures) would read as a uniform mixture.
    A[M.zero_rows()] = 0
    return sweeps
