"""nmfkit's exceptions and warnings, shared with scikit-learn.

When scikit-learn is installed, `ConvergenceWarning`, `NotFittedError` and
`InvalidParameterError` ARE scikit-learn's classes (``sklearn.exceptions.ConvergenceWarning``,
``sklearn.exceptions.NotFittedError``, ``sklearn.utils._param_validation.InvalidParameterError``),
so that code catching scikit-learn's catches nmfkit's too, and their documentation is
scikit-learn's. Without scikit-learn (it is not a dependency of nmfkit), stand-ins defined here
take their place, with the same names and the same bases:

- ConvergenceWarning(UserWarning): a solver stopped at max_iter before meeting tol.
- NotFittedError(ValueError, AttributeError): an estimator was used before fit.
- InvalidParameterError(ValueError, TypeError): a parameter has a wrong type or value.

Catching ValueError (or TypeError, or AttributeError) catches them either way.

Examples
--------
>>> import warnings
>>> from nmfkit import NMF, ConvergenceWarning, InvalidParameterError, NotFittedError
>>> issubclass(InvalidParameterError, ValueError), issubclass(NotFittedError, ValueError)
(True, True)
>>> try:
...     NMF(2).transform([[1.0, 2.0]])
... except NotFittedError:
...     print("not fitted")
not fitted
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     _ = NMF(1, max_iter=1, tol=1e-12, init="random", random_state=0).fit(
...         [[1.0, 2.0], [3.0, 1.0]])
>>> any(issubclass(w.category, ConvergenceWarning) for w in caught)
True
"""

try:  # a ValueError and a TypeError: code catching either, or scikit-learn's, works
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover - exercised only without scikit-learn (or < 1.2)
    class InvalidParameterError(ValueError, TypeError):
        """A parameter of an estimator or function has a wrong type or value.

        nmfkit's stand-in for scikit-learn's class of the same name, used when scikit-learn
        is not installed. It is both a ValueError and a TypeError, so code that catches
        either catches it.

        See Also
        --------
        nmfkit.NotFittedError : Raised when an estimator is used before fit.

        Examples
        --------
        >>> from nmfkit import InvalidParameterError
        >>> issubclass(InvalidParameterError, (ValueError, TypeError))
        True
        """

try:
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    class ConvergenceWarning(UserWarning):
        """A solver stopped at max_iter before meeting tol.

        nmfkit's stand-in for scikit-learn's class of the same name, used when scikit-learn
        is not installed. The factors are usable but not converged: raise max_iter, or
        loosen tol.

        See Also
        --------
        nmfkit.NMF : Warns with it when a fit reaches max_iter.

        Examples
        --------
        >>> from nmfkit import ConvergenceWarning
        >>> issubclass(ConvergenceWarning, UserWarning)
        True
        """

    class NotFittedError(ValueError, AttributeError):
        """An estimator was used before fit.

        nmfkit's stand-in for scikit-learn's class of the same name, used when scikit-learn
        is not installed. It is both a ValueError and an AttributeError, as scikit-learn's.

        See Also
        --------
        nmfkit.InvalidParameterError : Raised for a parameter of a wrong type or value.

        Examples
        --------
        >>> from nmfkit import NMF, NotFittedError
        >>> try:
        ...     NMF(2).transform([[1.0, 2.0]])
        ... except NotFittedError:
        ...     print("not fitted")
        not fitted
        """

__all__ = ["ConvergenceWarning", "InvalidParameterError", "NotFittedError"]
