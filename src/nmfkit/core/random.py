"""Random states, as scikit-learn takes them."""

import numbers

import numpy as np


def check_random_state(seed):
    """None, an int, or a numpy RandomState / Generator, as in scikit-learn."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)):
        if not 0 <= int(seed) < 2**32:
            raise ValueError(f"random_state must be in [0, 2**32), got {seed}.")
        return np.random.RandomState(int(seed))
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    raise TypeError(f"random_state must be None, an int or a numpy RandomState / Generator, "
                    f"got {seed!r}.")


def legacy_random_state(seed):
    """check_random_state(seed) as a RandomState: a Generator seeds a new RandomState from one
    draw, for code whose draws are RandomState's (so a given seed gives the same numbers)."""
    rng = check_random_state(seed)
    if isinstance(rng, np.random.Generator):
        return np.random.RandomState(rng.integers(2**32))
    return rng
