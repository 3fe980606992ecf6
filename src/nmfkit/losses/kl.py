"""The generalized Kullback-Leibler divergence sum V log(V / WH) - V + WH: its statistics,
update and objective.

Statistics of the update of a factor A against the fixed factor B: the numerator
(V / W Ht^T) B (or its transpose's) and the column sums of B. Both are sums over V's rows
(the distributed reduction adds its chunks' partials). The update is Lee & Seung's
multiplicative one, A <- max(floor, A * num / (colsum(B) + penalties)), which never
increases the divergence. cd_update is the other update: a pass of coordinate descent with
Newton steps (solver 'cd', kernels/cd.pyx), which forms its own statistics row by row.
"""

from ..core.matrix import column_sums
from ..core.params import loss_name
from ..kernels import steps

__all__ = ["KullbackLeibler"]


class KullbackLeibler:
    """The KL divergence (beta = 1) of fully observed data."""

    beta = 1.0
    name = loss_name(beta)
    has_product_objective = False  # the objective needs a pass over V
    full_denominator = False  # the denominator is k column sums, not a factor-shaped array

    @staticmethod
    def row_work(k):
        """Flops per row of the factor in one multiplicative step (about 4 k)."""
        return 4.0 * k

    @staticmethod
    def numerator(M, W, Ht, h_side, out, n_threads):
        """out = (V / W Ht^T) Ht (h_side false) or (V / W Ht^T)^T W (h_side true)."""
        return M.kl_numerator(W, Ht, out, h_side, n_threads)

    @staticmethod
    def denominator(B, n_threads=None):
        """The column sums of the fixed factor B (k,), in B's precision: NumPy's
        B.sum(axis=0), to the bit."""
        return column_sums(B, B.dtype)

    def statistics(self, M, W, Ht, h_side, num, den, n_threads):
        """The update's numerator into num and its denominator, returned (den is not used:
        the column sums are k numbers; see full_denominator)."""
        self.numerator(M, W, Ht, h_side, num, n_threads)
        return self.denominator(W if h_side else Ht)

    @staticmethod
    def update(A, num, den, l1, l2, floor, tiny, n_threads, *, solver="mu", n_inner=1,
               shuffle=None):
        """One multiplicative step of A in place; returns its squared change. (solver,
        n_inner and shuffle are the Frobenius update's and do not apply.)"""
        return steps.mu_div_step(A, num, den, l1, l2, floor, tiny, n_threads)

    @staticmethod
    def cd_update(M, W, Ht, h_side, l1, l2, floor, n_threads, *, max_inner, inner_rtol):
        """One coordinate-descent pass over W (h_side false) or Ht, in place, Newton steps per
        entry (at most max_inner, fewer once one changes it by at most inner_rtol of its
        value); returns the squared change."""
        return M.kl_cd(W, Ht, h_side, l1, l2, floor, max_inner, inner_rtol, n_threads)

    def divergence(self, M, W, Ht, n_threads):
        """D_KL(V | W Ht^T), accumulated in double."""
        return M.divergence(W, Ht, self.beta, n_threads)
