"""scikit-learn compatibility: its checks when it is installed, faithful stand-ins when not.

scikit-learn is optional. When it is installed (1.2 or later), the estimator derives from
its base classes, and the feature-name check, the parameter error and the version-dependent
argument names of inverse_transform are scikit-learn's own, so that code written against it
sees the same errors and warnings. Without it, the stand-ins below behave the same way,
message for message (tests/test_sklearn_compat.py compares them with scikit-learn's).
"""

import functools
import inspect
import warnings

import numpy as np

from ..core.exceptions import NotFittedError

try:
    import sklearn as _sklearn
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    _sklearn = None


def _version(text):
    """(major, minor) of a version string such as '1.9.1' or '1.10.dev0'."""
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


#: (major, minor) of the installed scikit-learn, or None without it.
SKLEARN_VERSION = _version(_sklearn.__version__) if _sklearn is not None else None

# -- feature names (as sklearn.utils.validation does it) ------------------------------------
def get_feature_names(X):
    """The column names of a data frame X as an object array when they are all strings;
    None for arrays, matrices and frames with non-string names; a TypeError when string and
    non-string names are mixed (they could not be checked reliably)."""
    if isinstance(X, np.ndarray):
        return None
    columns = getattr(X, "column_names", None)  # a pyarrow Table (its .columns are data)
    if columns is None or callable(columns):
        columns = getattr(X, "columns", None)  # pandas, polars, ... data frames
    if columns is None or callable(columns):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0:
        return None
    types = sorted(t.__qualname__ for t in {type(name) for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type.")
    if types == ["str"]:
        return names
    return None


def _listed(names, limit=5):
    lines = [f"- {name}\n" for name in names[:limit]]
    if len(names) > limit:
        lines.append("- ...\n")
    return "".join(lines)


def _check_feature_names_fallback(estimator, X, reset):
    """scikit-learn's rule: record the names on reset; afterwards, the same names in the
    same order, or a warning when one side has names and the other has none."""
    names = get_feature_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    cls = type(estimator).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=4)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      "feature names", UserWarning, stacklevel=4)
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))
    message = "The feature names should match those that were passed during fit.\n"
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _listed(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_feature_names(estimator, X, *, reset):
    """Record (reset=True) or check X's column names against feature_names_in_, with
    scikit-learn's own check when it is installed (its errors and warnings exactly)."""
    if _sklearn is not None:
        try:  # scikit-learn >= 1.6: the public helper; only the names are looked at
            from sklearn.utils.validation import validate_data
        except ImportError:
            validate_data = None
        if validate_data is not None:
            validate_data(estimator, X, skip_check_array=True, ensure_2d=False, reset=reset)
            return
        method = getattr(estimator, "_check_feature_names", None)  # scikit-learn < 1.6
        if method is not None:
            method(X, reset=reset)
            return
    _check_feature_names_fallback(estimator, X, reset)


def check_n_features(estimator, n_features, *, reset):
    """Record (reset=True) or check n_features_in_, with scikit-learn's message."""
    if reset:
        estimator.n_features_in_ = int(n_features)
        return
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(f"X has {n_features} features, but {type(estimator).__name__} "
                         f"is expecting {expected} features as input.")


# -- inverse_transform's argument, named as the installed scikit-learn names it -------------
def inverse_transform_argument(X, Xt, W):
    """The matrix given to inverse_transform, under the names scikit-learn accepts.

    The positional argument and X= always work. Its old names follow the installed
    scikit-learn: W= is the name up to 1.2 and deprecated in 1.3 and 1.4; Xt= is the name
    in 1.3 and 1.4 and deprecated in 1.5 and 1.6; from 1.7 on (and without scikit-learn)
    both are unknown keywords, as they are there.
    """
    version = SKLEARN_VERSION if SKLEARN_VERSION is not None else (99, 0)
    if W is not None:
        if version >= (1, 5):
            raise TypeError("inverse_transform() got an unexpected keyword argument 'W'")
        if version >= (1, 3):
            if Xt is not None:
                raise ValueError("Please provide only `Xt`, and not `W`.")
            warnings.warn("Input argument `W` was renamed to `Xt` in v1.3 and will be "
                          "removed in v1.5.", FutureWarning, stacklevel=3)
        if X is not None:
            raise TypeError("inverse_transform() got multiple values for argument 'W'")
        return W
    if Xt is not None:
        if version < (1, 3) or version >= (1, 7):
            raise TypeError("inverse_transform() got an unexpected keyword argument 'Xt'")
        if version >= (1, 5):
            if X is not None:
                raise TypeError("Cannot use both X and Xt. Use X only.")
            warnings.warn("Xt was renamed X in version 1.5 and will be removed in 1.7.",
                          FutureWarning, stacklevel=3)
        elif X is not None:
            raise TypeError("inverse_transform() got multiple values for argument 'Xt'")
        return Xt
    if X is None:
        raise TypeError("inverse_transform() missing 1 required positional argument: 'X'")
    return X


# -- base classes ---------------------------------------------------------------------------
class BaseEstimator:
    """get_params / set_params / repr over the constructor's keyword parameters."""

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {self!r}. Valid "
                                 f"parameters are: {valid!r}.")
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (v is defaults.get(k) or (isinstance(v, (int, float, str))
                                                   and v == defaults.get(k)))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):  # pragma: no cover - only reachable without scikit-learn
        raise NotImplementedError


def _wrapped_output(method):
    """transform / fit_transform returning a pandas DataFrame after set_output(transform=
    'pandas'): columns get_feature_names_out(), the index of a DataFrame X."""
    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        out = method(self, X, *args, **kwargs)
        if getattr(self, "_output_transform", "default") != "pandas":
            return out
        import pandas as pd
        if hasattr(out, "toarray"):
            raise ValueError("The transformer outputs a scipy sparse matrix. Try to set the "
                             "transformer output to a dense array or disable Pandas output "
                             "with set_output(transform='default').")
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(np.asarray(out), index=index,
                            columns=self.get_feature_names_out())
    return wrapper


class TransformerMixin:
    """fit_transform from fit and transform, and set_output(transform='pandas')."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("transform", "fit_transform"):
            if name in vars(cls):
                setattr(cls, name, _wrapped_output(vars(cls)[name]))

    def fit_transform(self, X, y=None, **params):
        return self.fit(X, **params).transform(X)

    def set_output(self, *, transform=None):
        """transform='pandas': transform and fit_transform return DataFrames; 'default'
        returns arrays again; None leaves the setting unchanged."""
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(f"output config must be in {{'default', 'pandas'}} (polars "
                             f"needs scikit-learn), got {transform!r}.")
        self._output_transform = transform
        return self


class FeaturesOutMixin:
    """get_feature_names_out: the class name in lower case followed by 0, 1, ..."""

    def get_feature_names_out(self, input_features=None):
        try:
            n_out = self._n_features_out
        except AttributeError:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this "
                                 "estimator.") from None
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and not np.array_equal(fitted, given):
                raise ValueError("input_features is not equal to feature_names_in_")
            n_in = getattr(self, "n_features_in_", None)
            if n_in is not None and len(given) != n_in:
                raise ValueError("input_features should have length equal to number of "
                                 f"features ({n_in}), got {len(given)}")
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)


# The estimators' bases: scikit-learn's when it is installed (HTML repr, set_output, tags for
# check_estimator), the stand-ins above otherwise.
try:
    from sklearn.base import (
        BaseEstimator as EstimatorBase,
        ClassNamePrefixFeaturesOutMixin as NamesMixin,
        TransformerMixin as TransformerBase,
    )
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    EstimatorBase, NamesMixin, TransformerBase = BaseEstimator, FeaturesOutMixin, TransformerMixin
