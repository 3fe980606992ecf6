"""The penalty term of the objective: alpha_W, alpha_H and l1_ratio as l1 and l2 weights on
each internal factor, in scikit-learn's scaling and then in the internal one."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Penalty", "internal_penalty", "regularization"]


@dataclass
class Penalty:
    """l1 and l2 weights on each internal side ('w', 'h'), in the internal scaling.

    The penalized objective is D(V | W Ht^T) + sum over sides of
    l1 * sum(F) + l2 / 2 * ||F||_F^2 (F >= 0, so sum(F) is its l1 norm)."""
    l1: dict = field(default_factory=lambda: {"w": 0.0, "h": 0.0})
    l2: dict = field(default_factory=lambda: {"w": 0.0, "h": 0.0})

    def value(self, factors):
        """The penalty of the factors {'w': W, 'h': Ht} (either may be left out), in double."""
        total = 0.0
        for s, F in factors.items():
            if self.l1[s]:
                total += self.l1[s] * float(F.sum(dtype=np.float64))
            if self.l2[s]:
                total += 0.5 * self.l2[s] * float(np.einsum("ij,ij->", F, F, dtype=np.float64))
        return total


def regularization(alpha_W, alpha_H, l1_ratio, shape):
    """(l1 of W, l2 of W, l1 of H, l2 of H) in scikit-learn's scaling: the penalties grow with
    the other dimension of the data (n for W, m for H). alpha_H is a number here."""
    m, n = shape
    return (n * alpha_W * l1_ratio, n * alpha_W * (1 - l1_ratio),
            m * alpha_H * l1_ratio, m * alpha_H * (1 - l1_ratio))


def internal_penalty(M, beta, l1W, l2W, l1H, l2H):
    """The caller's penalty weights in the internal scaling and orientation of M (anything
    with scale and transposed): the objective scales as s^beta, the factors as sqrt(s)."""
    obj_pow = beta

    def rescale(weight, power):
        if weight == 0:
            return 0.0
        with np.errstate(over="ignore"):
            return float(np.float64(weight) * np.float64(M.scale) ** power)
    wl1, hl1 = rescale(l1W, 0.5 - obj_pow), rescale(l1H, 0.5 - obj_pow)
    wl2, hl2 = rescale(l2W, 1.0 - obj_pow), rescale(l2H, 1.0 - obj_pow)
    if M.transposed:
        wl1, wl2, hl1, hl2 = hl1, hl2, wl1, wl2
    return Penalty(l1={"w": wl1, "h": hl1}, l2={"w": wl2, "h": hl2})
