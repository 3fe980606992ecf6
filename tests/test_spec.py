"""FitSpec: one table of parameter constraints, the same checks and errors from every front,
the resolution of 'auto' values, and what the data allows."""

import inspect

import numpy as np
import pytest

import nmfkit
from nmfkit import NMF, InvalidParameterError, MiniBatchNMF, nmf, non_negative_factorization
from nmfkit.core.matrix import Matrix
from nmfkit.core.spec import PARAMETER_CONSTRAINTS, FitSpec, default_init, resolve_rank

X = np.random.RandomState(0).rand(12, 8)

BAD = [("beta_loss", "kl"), ("solver", "lbfgs"), ("n_components", "three"),
       ("n_components", 0), ("alpha_W", -1.0), ("alpha_H", "other"), ("l1_ratio", 1.5),
       ("floor", "low"), ("forget_factor", 2.0), ("callback", 3), ("random_state", -1),
       ("verbose", -1), ("init", "svd"), ("tol", -1e-4), ("max_iter", 0), ("max_iter", 2.5),
       ("check_every", 0), ("n_init", 0), ("shuffle", "yes"), ("orthogonal", "rows"),
       ("orthogonal", 1), ("sparseness_W", 1.5), ("sparseness_H", "high")]


def test_the_table_holds_the_estimators_parameters_and_defaults():
    signature = inspect.signature(NMF.__init__).parameters
    defaults = {name: p.default for name, p in signature.items() if name != "self"}
    assert set(defaults) == set(PARAMETER_CONSTRAINTS)
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        assert defaults[name] == constraint.default, name
        assert constraint.takes  # described, for the documentation


@pytest.mark.parametrize("name, value", BAD)
def test_each_bad_value_is_an_invalid_parameter_naming_it(name, value):
    with pytest.raises(InvalidParameterError, match=name):
        FitSpec.from_params({name: value})
    # every front raises the same error, before any work
    with pytest.raises(InvalidParameterError, match=name) as from_estimator:
        NMF(**{name: value}).fit(X)
    with pytest.raises(InvalidParameterError, match=name) as from_function:
        nmf(X, **{name: value})
    assert str(from_estimator.value) == str(from_function.value)
    if name != "n_components":  # non_negative_factorization's own signature
        with pytest.raises(InvalidParameterError, match=name):
            non_negative_factorization(X, **{name: value})


@pytest.mark.parametrize("params, words", [
    ({"orthogonal": "W", "beta_loss": "kullback-leibler"}, "Frobenius loss only"),
    ({"sparseness_H": 0.5, "solver": "mu"}, "own solver"),
    ({"orthogonal": "H", "sparseness_W": 0.5}, "cannot be combined"),
    ({"sparseness_W": 0.5, "sparseness_H": 0.5}, "cannot both be set"),
    ({"sparseness_H": 0.5, "alpha_W": 0.1}, "set alpha_H=0"),
    ({"sparseness_W": 0.5, "alpha_W": 0.1, "alpha_H": 0.0}, "set alpha_W=0")])
def test_constraints_need_frobenius_their_solver_and_one_factor(params, words):
    with pytest.raises(ValueError, match=words):
        FitSpec.from_params(params)


def test_constraint_sides_and_data():
    assert FitSpec.from_params({"orthogonal": "H"}).constrained_factor == "H"
    assert FitSpec.from_params({"sparseness_W": 0.3}).constrained_factor == "W"
    assert FitSpec.from_params({}).constrained_factor is None
    V = X.copy()
    V[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        FitSpec.from_params({"orthogonal": "W"}).for_data(Matrix(V))
    with pytest.raises(ValueError, match="partial_fit"):
        NMF(2, orthogonal="W").partial_fit(X)


def test_unknown_parameter():
    with pytest.raises(InvalidParameterError, match="colour"):
        FitSpec.from_params({"colour": 1})


@pytest.mark.parametrize("params, solver", [
    ({}, "ehals"), ({"beta_loss": "kullback-leibler"}, "mu"), ({"beta_loss": 0.5}, "mu"),
    ({"solver": "cd"}, "hals"), ({"solver": "amu"}, "amu")])
def test_solver_is_resolved_once(params, solver):
    spec = FitSpec.from_params(params)
    assert spec.solver == solver
    assert spec.solver_name == params.get("solver", "auto")


def test_resolved_values():
    spec = FitSpec.from_params({"alpha_W": 0.3, "verbose": True})
    assert spec.alpha_H == 0.3 and spec.forget_factor == 1.0 and spec.verbose == 1
    assert FitSpec.from_params({"alpha_W": 0.3, "alpha_H": 0.1}).alpha_H == 0.1
    assert spec.loss_name == "frobenius"
    assert FitSpec.from_params({"beta_loss": 1.5}).loss_name == "beta=1.5"
    with pytest.raises(ValueError, match="Frobenius loss only"):
        FitSpec.from_params({"solver": "hals", "beta_loss": "kullback-leibler"})
    with pytest.raises(AttributeError):  # frozen
        spec.tol = 1.0


def test_what_the_data_allows():
    V = X.copy()
    V[0, 0] = np.nan
    M = Matrix(V)
    assert FitSpec.from_params({}).for_data(M).solver == "mu"  # missing values under 'auto'
    assert FitSpec.from_params({}).for_data(Matrix(X)).solver == "ehals"
    with pytest.raises(ValueError, match="missing values"):
        FitSpec.from_params({"solver": "hals"}).for_data(M)
    Z = X.copy()
    Z[1, 1] = 0.0
    with pytest.raises(ValueError, match="beta_loss <= 0"):
        FitSpec.from_params({"beta_loss": "itakura-saito"}).for_data(Matrix(Z))


def test_rank_start_floor_penalty_and_budget():
    spec = FitSpec.from_params({"alpha_W": 0.5, "l1_ratio": 0.25, "max_iter": 30})
    M = Matrix(X)
    assert resolve_rank(None, (12, 8)) == 8 and spec.rank((12, 8)) == 8  # 'auto', no W/H
    assert FitSpec.from_params({"n_components": "auto"}).rank((12, 8), H=np.ones((3, 8))) == 3
    assert default_init(3, (12, 8)) == "nndsvda" and default_init(9, (12, 8)) == "random"
    assert spec.start(3, (12, 8)) == "nndsvda"
    assert spec.floor_value(M, 4) == np.finfo(np.float64).eps * np.sqrt(X.max() / 4)
    assert FitSpec.from_params({"floor": 1e-3}).floor_value(M, 4) == 1e-3
    pen = spec.penalty(M)  # scikit-learn's scaling: n alpha_W for W, m alpha_H for H
    assert pen.l1["w"] == pytest.approx(8 * 0.5 * 0.25)
    assert pen.l2["h"] == pytest.approx(12 * 0.5 * 0.75)
    assert spec.polish_iter() == 300 and spec.polish_iter(masked=True) == 30
    assert FitSpec.from_params({"beta_loss": 1, "max_iter": 30}).polish_iter() == 30


def test_minibatch_checks_the_shared_parameters_through_the_spec():
    with pytest.raises(InvalidParameterError, match="beta_loss"):
        MiniBatchNMF(2, beta_loss="kl").fit(X)


def test_the_version_comes_from_one_place():
    """meson.build's project() version reaches the package and its installed metadata."""
    import importlib.metadata
    import pathlib
    import re
    assert nmfkit.__version__ == importlib.metadata.version("nmfkit")
    meson = pathlib.Path(__file__).resolve().parents[1] / "meson.build"
    if meson.exists():  # a source checkout (the wheel tests run without it)
        assert re.search(r"version: '([^']+)'", meson.read_text()).group(1) == nmfkit.__version__
