"""scikit-learn's estimator checks for nmfkit's estimators, shared by the test modules."""

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import nmfkit


def _check_name(param):
    check = getattr(param, "values", param)[1]  # (estimator, check), or a pytest.param of it
    return getattr(getattr(check, "func", check), "__name__", "")


def estimator_checks(estimators):
    """parametrize_with_checks(estimators) without check_array_api_input, which needs
    SCIPY_ARRAY_API=1 before scipy is imported and skips itself otherwise: left out rather
    than generated to be skipped."""
    mark = parametrize_with_checks(estimators)
    return pytest.mark.parametrize(
        mark.args[0], [p for p in mark.args[1] if _check_name(p) != "check_array_api_input"],
        **mark.kwargs)


def run_check(estimator, check):
    """One check on one OpenMP thread: these check the API, and a loaded machine then stays
    quick."""
    with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
        check(estimator)
