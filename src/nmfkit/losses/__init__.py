"""One place per loss: its statistics, its update, its objective (Frobenius, Kullback-Leibler,
and the general beta-divergence, which also serves every loss with missing values).

loss_for is the one place where a loss is chosen; every driver (in-process, streaming,
distributed) asks it.
"""

from .beta import BetaDivergence, beta_gamma
from .frobenius import Frobenius
from .kl import KullbackLeibler

__all__ = ["BetaDivergence", "Frobenius", "KullbackLeibler", "beta_gamma",
           "loss_for"]


def loss_for(beta, masked=False):
    """The loss object of beta: Frobenius (2) and KL (1) of fully observed data have their own
    statistics; any other beta, and missing values with any beta, the general update."""
    if not masked and beta == 2.0:
        return Frobenius()
    if not masked and beta == 1.0:
        return KullbackLeibler()
    return BetaDivergence(beta)
