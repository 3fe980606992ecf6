"""What nmfkit's estimators share: scikit-learn's tags, and the feature-name check of
partial_fit."""

import functools

import numpy as np

__all__ = ["NMFTags", "names_checked_first"]


def names_checked_first(method):
    """partial_fit: X's feature names are recorded on the first call and checked on the
    later ones, as scikit-learn's partial_fit does, before any state changes."""
    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        self._check_names(X, reset=not hasattr(self, "components_"))
        return method(self, X, *args, **kwargs)
    return wrapper


class NMFTags:
    """scikit-learn's estimator tags of nmfkit's estimators: nonnegative input, sparse input,
    float32/float64 preserved, NaN allowed when the estimator's _allows_nan() says so."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = self._allows_nan()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"requires_positive_X": True, "allow_nan": self._allows_nan(),
                "preserves_dtype": [np.float64, np.float32]}
