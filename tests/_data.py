"""Test data shared by the test modules (imported as a sibling module: pytest puts tests/ on
sys.path)."""

import numpy as np
import scipy.sparse as sp


def low_rank(m, n, k, seed=0, noise=0.05):
    """A nonnegative rank-k m x n matrix plus uniform noise."""
    rng = np.random.RandomState(seed)
    V = rng.rand(m, k) @ rng.rand(k, n)
    return V + noise * rng.rand(m, n)


def sparse_data(m, n, density, seed=0, fmt="csr"):
    """A random sparse matrix with uniform(0, 1) stored values."""
    return sp.random(m, n, density=density, format=fmt, random_state=seed,
                     data_rvs=np.random.RandomState(seed + 1).rand)
