"""The beta-divergence family, and any loss with missing values: the general update.

D_beta(v | x) = (v^b + (b - 1) x^b - b v x^(b-1)) / (b (b - 1)) for beta = b other than 0
and 1 (Itakura-Saito at 0, KL at 1, half the squared error at 2), summed over the observed
entries. Its multiplicative update needs a full denominator, W H^(beta-1) B, as well as the
numerator (V o W H^(beta-2)) B, both formed in tiles of W H that are never stored whole
(Matrix.beta_products). With the exponent gamma(beta) of Fevotte & Idier 2011 the update
never increases the divergence. Frobenius and KL with missing values take this path too.
"""

from ..core.params import loss_name
from ..kernels import steps

__all__ = ["BetaDivergence", "beta_gamma"]


def beta_gamma(beta):
    """The exponent of the multiplicative update that keeps D_beta monotone (Fevotte &
    Idier 2011: 1 / (2 - beta) below 1, 1 / (beta - 1) above 2, 1 in between)."""
    if beta < 1.0:
        return 1.0 / (2.0 - beta)
    if beta > 2.0:
        return 1.0 / (beta - 1.0)
    return 1.0


class BetaDivergence:
    """D_beta for any beta, over the observed entries (the general multiplicative update)."""

    has_product_objective = False
    full_denominator = True  # statistics() fills a den buffer of the factor's shape

    def __init__(self, beta):
        self.beta = float(beta)
        self.gamma = beta_gamma(self.beta)

    @property
    def name(self):
        return loss_name(self.beta)

    @staticmethod
    def row_work(k):
        """Flops per row of the factor in one multiplicative step (about 4 k)."""
        return 4.0 * k

    def statistics(self, M, W, Ht, h_side, num, den, n_threads):
        """num and den of the update of W (h_side false) or Ht, over the observed entries:
        num = (V o WH^(beta-2)) B and den = WH^(beta-1) B, into the buffers; returns den."""
        M.beta_products(W, Ht, num, den, h_side, self.beta, n_threads)
        return den

    def update(self, A, num, den, l1, l2, floor, tiny, n_threads):
        """One multiplicative step of A in place; returns its squared change."""
        return steps.mu_beta_step(A, num, den, l1, l2, self.gamma, floor, tiny, n_threads)

    def divergence(self, M, W, Ht, n_threads):
        """D_beta(V | W Ht^T) over the observed entries, accumulated in double."""
        return M.divergence(W, Ht, self.beta, n_threads)
