"""Checks of scalar parameters, and the names of the losses, inits and solvers.

Parameter errors are InvalidParameterError: scikit-learn's when it is installed, a
ValueError and a TypeError at once, so that code catching any of the three works. Every
error names the argument, shows the value and says what is allowed.
"""

import numbers

import numpy as np

from .exceptions import InvalidParameterError

LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
INITS = ("random", "nndsvd", "nndsvda", "nndsvdar", "spa", "custom")
SOLVERS = ("auto", "mu", "amu", "hals", "ehals", "cd")
# Solvers that minimize the Frobenius loss only.
FROBENIUS_ONLY_SOLVERS = ("hals", "ehals")
# Solvers of fully observed data only: the Frobenius-only ones and 'cd' (HALS for the
# Frobenius loss, coordinate descent with Newton steps for Kullback-Leibler).
FULLY_OBSERVED_SOLVERS = ("hals", "cd", "ehals")
# The losses (their beta) that solver 'cd' minimizes.
CD_BETAS = (2.0, 1.0)
# Starts that differ from run to run (restarts and surveys draw them anew each time).
RANDOM_INITS = ("random", "nndsvdar")


def _kind(value):
    return f"{value!r} ({type(value).__name__})"


# Parameter errors are InvalidParameterError: scikit-learn's when it is installed, a
# ValueError and a TypeError at once, so that code catching any of the three works.
def check_int(value, name, low=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {_kind(value)}.")
    if value < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value}.")
    return int(value)


def check_bool(value, name):
    """True or False (numpy's too), as scikit-learn's 'boolean' constraint."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {_kind(value)}.")
    return bool(value)


def check_float(value, name, low=0.0, high=None, low_open=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a real number, got {_kind(value)}.")
    value = float(value)
    bad = (not np.isfinite(value) or value < low or (low_open and value == low)
           or (high is not None and value > high))
    if bad:
        rng = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise InvalidParameterError(f"{name} must be a finite number {rng}, got {value!r}.")
    return value


def check_auto_or_float(value, name, high=None):
    """'auto', or a finite number >= 0 (and <= high): returned as 'auto' or a float."""
    if isinstance(value, str):
        if value != "auto":
            rng = f"in [0, {high:g}]" if high is not None else ">= 0"
            raise InvalidParameterError(f"{name} must be 'auto' or a number {rng}, got "
                                        f"{value!r}.")
        return value
    return check_float(value, name, 0.0, high)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameterError(f"{name} must be one of {', '.join(map(repr, choices))}; "
                                    f"got {value!r}.")
    return value


def beta_to_float(beta_loss):
    """'frobenius' -> 2, 'kullback-leibler' -> 1, 'itakura-saito' -> 0, or any finite float."""
    if isinstance(beta_loss, str):
        if beta_loss not in LOSSES:
            raise InvalidParameterError(
                "beta_loss must be 'frobenius', 'kullback-leibler', 'itakura-saito' or a "
                f"number (the beta of the beta-divergence), got {beta_loss!r}.")
        return LOSSES[beta_loss]
    if isinstance(beta_loss, numbers.Real) and not isinstance(beta_loss, (bool, np.bool_)):
        if not np.isfinite(beta_loss):
            raise InvalidParameterError(f"beta_loss must be a finite number, got "
                                        f"{beta_loss!r}.")
        return float(beta_loss)
    raise InvalidParameterError(f"beta_loss must be a string or a number, got "
                                f"{_kind(beta_loss)}.")


def loss_name(beta):
    """The name of the loss of beta: 'frobenius', 'kullback-leibler', 'itakura-saito', or
    'beta=<beta>' for the other beta-divergences."""
    for name, value in LOSSES.items():
        if value == beta:
            return name
    return f"beta={beta:g}"
