"""The Frobenius loss 1/2 ||V - W Ht^T||_F^2: its statistics, updates and objective.

Statistics of the update of a factor A against the fixed factor B (A W's side: B = Ht, and
the other way round): the numerator V B (or V^T B) and the Gram matrix B^T B. Both are sums
over V's rows, so a distributed fit adds its chunks' partials and a stream keeps running
sums. The update is HALS (exact coordinate descent, one column of A at a time) or the
multiplicative update A <- A * num / (A B^T B), repeated on one pair of statistics while
repeats are cheap (Gillis & Glineur 2012). The objective comes from the same statistics:
||V||^2 - 2 <A, V B> + <A^T A, B^T B>, with no m x n product formed.
"""

import numpy as np

from ..core.params import loss_name
from ..kernels import dense, steps

__all__ = ["Frobenius", "dot64", "inner_steps"]

# Accelerated inner loops (Gillis & Glineur 2012): alpha and delta of the paper, and the
# cost of a BLAS flop relative to a flop of the step kernels (measured on x86-64: GEMM at
# 20-40 GFlop/s per core against 2-4 for the row loops).
_ACCEL_ALPHA = 0.5
_ACCEL_DELTA = 0.1
_DENSE_FLOP_COST = 0.125


def dot64(a, b):
    """<a, b> of two arrays of the same shape, accumulated in double."""
    return float(np.dot(a.ravel().astype(np.float64, copy=False),
                        b.ravel().astype(np.float64, copy=False)))


def inner_steps(solver, rows_a, rows_b, k, nnz, dense_data):
    """How many cheap repeats of a Frobenius step one pair of products pays for.

    Gillis & Glineur's rho = 1 + (K + n k) / (m (k + 1)) is the cost of the products over
    the cost of one step, in flops. A dense product runs in BLAS, several times faster per
    flop than a step's loops, so its K counts for _DENSE_FLOP_COST of a step's flop.
    """
    if solver == "mu":
        return 1
    work = nnz * (_DENSE_FLOP_COST if dense_data else 1.0)
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
    Glineur 2012). Returns the squared change of A in the last step.

    shuffle: None (each HALS sweep visits the columns 0..k-1) or a np.random.RandomState
    that draws each sweep's order (scikit-learn's shuffle=True); MU steps ignore it."""
    first = None
    for _ in range(n_inner):
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
    return delta


class Frobenius:
    """The Frobenius loss (beta = 2) of fully observed data."""

    beta = 2.0
    name = loss_name(beta)
    has_product_objective = True  # the objective follows from the update's statistics

    @staticmethod
    def row_work(k):
        """Flops per row of the factor in one update (a HALS sweep: about 2 k^2)."""
        return 2.0 * k * k

    inner_steps = staticmethod(inner_steps)

    @staticmethod
    def numerator(M, W, Ht, h_side, out, n_threads):
        """out = V Ht (h_side false: the statistic of W's update) or V^T W (h_side true)."""
        return M.multiply(W if h_side else Ht, out, h_side, n_threads)

    @staticmethod
    def denominator(B, n_threads=None, out=None):
        """The Gram matrix B^T B (k x k) of the fixed factor B."""
        k = B.shape[1]
        out = np.empty((k, k), dtype=B.dtype) if out is None else out
        if n_threads is None:
            return dense.gram(B, out)
        return dense.gram(B, out, n_threads)

    @staticmethod
    def update(A, num, den, l1, l2, floor, tiny, n_threads, *, solver="mu", n_inner=1,
               shuffle=None):
        """A updated in place from its numerator and the fixed factor's Gram matrix: n_inner
        HALS sweeps (solver 'hals') or MU steps; returns the squared change of the last."""
        return frobenius_steps(A, num, den, l1, l2, floor, tiny, solver, n_inner, n_threads,
                               shuffle)

    @staticmethod
    def product_objective(sq_norm, A, num, den_A, den_B):
        """1/2 ||V - A B^T||^2 from ||V||^2, A, its numerator V B and the two Gram matrices:
        1/2 (||V||^2 - 2 <A, V B> + <A^T A, B^T B>), in double, at least 0."""
        return max(0.5 * (sq_norm - 2.0 * dot64(A, num) + dot64(den_A, den_B)), 0.0)

    def divergence(self, M, W, Ht, n_threads):
        """1/2 ||V - W Ht^T||^2 computed from V and the factors (no product formed)."""
        return M.divergence(W, Ht, self.beta, n_threads)
