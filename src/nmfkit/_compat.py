"""Minimal stand-ins for scikit-learn's base classes, used only when it is not installed."""

import inspect

import numpy as np


class ConvergenceWarning(UserWarning):
    """The solver stopped at max_iter before meeting tol."""


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before fit."""


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
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}.")
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


class TransformerMixin:
    def fit_transform(self, X, y=None, **params):
        return self.fit(X, **params).transform(X)


class FeaturesOutMixin:
    def get_feature_names_out(self, input_features=None):
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object)
