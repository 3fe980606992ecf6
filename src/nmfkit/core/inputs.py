"""What the apps take: a fitted model or the array it would give, read with clear errors.

Every app accepts either a fitted NMF (and reads one of its fitted attributes) or the array
itself; these helpers make that choice, the dense float64 conversion and their messages the
same in every app.
"""

import numpy as np
import scipy.sparse as sp

from ..core.exceptions import NotFittedError

__all__ = ["fitted_attribute", "float_array", "components_array"]


def fitted_attribute(obj, attribute, use):
    """obj's fitted `attribute` if it has one; None if obj is not an estimator (so it is data).

    An estimator (it has a fit method) without the attribute was never fitted: a
    NotFittedError telling to call fit(X) before `use` (e.g. "plot_history").
    """
    value = getattr(obj, attribute, None)
    if value is None and hasattr(obj, "fit"):
        raise NotFittedError(f"This {type(obj).__name__} instance is not fitted yet: call "
                             f"fit(X) before {use}.")
    return value


def float_array(obj, name, expected, *, sparse=True, given=None):
    """obj as a float64 ndarray; a TypeError "{name} must be {expected}, got ..." otherwise.

    sparse : whether a scipy.sparse matrix is accepted (and made dense); if not, it is
        refused like any other object that is not an array of numbers.
    given : what the caller was passed, shown in the message when obj was taken from it
        (a model's attribute); default obj.
    """
    try:
        return np.asarray(obj.toarray() if sparse and sp.issparse(obj) else obj,
                          dtype=np.float64)
    except (TypeError, ValueError):
        given = obj if given is None else given
        raise TypeError(f"{name} must be {expected}, got {type(given).__name__} "
                        f"{given!r:.60}.") from None


def components_array(model_or_components, name="components"):
    """The components_ of a fitted model, or the given array, as a finite float64 array.

    An estimator that was never fitted is a NotFittedError; anything that is not an array
    of finite numbers is a TypeError or ValueError naming `name`. The dimension is left to
    the caller."""
    H = fitted_attribute(model_or_components, "components_", f"using it as {name}")
    H = float_array(model_or_components if H is None else H, name,
                    "a fitted NMF model or a numeric array", given=model_or_components)
    if H.ndim == 0:
        raise TypeError(f"{name} must be a fitted NMF model or an array, got "
                        f"{type(model_or_components).__name__} {model_or_components!r:.60}.")
    if not np.all(np.isfinite(H)):
        raise ValueError(f"{name} contain NaN or infinity; NMF components are finite: pass "
                         "the components_ of a fitted model.")
    return H
