"""nmfkit's exceptions and warnings: scikit-learn's own classes when it is installed (so that
code catching them works unchanged), stand-ins of the same bases without it."""

try:  # a ValueError and a TypeError: code catching either, or scikit-learn's, works
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - exercised only without scikit-learn (or < 1.2)
    class InvalidParameterError(ValueError, TypeError):
        """A parameter of an estimator or function has a wrong type or value."""

try:
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    class ConvergenceWarning(UserWarning):
        """The solver stopped at max_iter before meeting tol."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before fit."""

__all__ = ["ConvergenceWarning", "InvalidParameterError", "NotFittedError"]
