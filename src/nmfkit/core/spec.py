"""FitSpec: the one frozen, typed specification of a fit, built once from the parameters.

Every front (the NMF estimator, nmf(), non_negative_factorization(), partial_fit and
MiniBatchNMF, the rank tools, the cluster front) turns its parameters into a FitSpec with
FitSpec.from_params, which checks each of them against PARAMETER_CONSTRAINTS, the one table
of what each parameter takes (as scikit-learn's _parameter_constraints), in the table's
order, so every front raises the same errors. What depends on the data (the solver for
missing values, the penalty and floor in the data's internal scaling, the rank) is derived
from the spec and the prepared matrix by its methods.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from .exceptions import InvalidParameterError
from .params import (
    CD_BETAS,
    FROBENIUS_ONLY_SOLVERS,
    FULLY_OBSERVED_SOLVERS,
    INITS,
    SOLVERS,
    beta_to_float,
    check_auto_or_float,
    check_bool,
    check_choice,
    check_float,
    check_int,
    loss_name,
)
from .penalty import internal_penalty, regularization
from .random import check_random_state

__all__ = ["PARAMETER_CONSTRAINTS", "FitSpec", "default_init", "resolve_rank"]

# 'auto' runs coordinate descent for the KL loss of fully observed SPARSE data, which it
# reaches scikit-learn MU's objective sooner than 'mu' does (benchmarks/kl_cd.py: 2.6x on
# the WordNet corpus; 1.4x on a random CSR), and 'mu' on dense data, where a pass of
# coordinate descent costs more than it gains. The rank survey, partial_fit and the cluster
# keep 'mu' (FitSpec.multiplicative_kl).


class Constraint(NamedTuple):
    """What a parameter takes: its default (NMF's), the check that returns its value
    (raising InvalidParameterError with a message naming it), and a one-line description."""
    default: Any
    check: Callable[[Any, str], Any]
    takes: str


def _rank(value, name):
    if value is None or isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, str):
        raise InvalidParameterError(f"{name} must be an integer >= 1, 'auto' or None, got "
                                    f"{value!r}.")
    return check_int(value, name)


def _same_or_float(value, name):
    return value if isinstance(value, str) and value == "same" else check_float(value, name)


def _callable_or_none(value, name):
    if value is not None and not callable(value):
        raise InvalidParameterError(f"{name} must be callable or None, got {value!r}.")
    return value


def _random_state(value, name):
    try:
        check_random_state(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(str(exc)) from None
    return value


def _verbose(value, name):
    if isinstance(value, (bool, np.bool_)):  # scikit-learn takes True / False
        return int(value)
    return check_int(value, name, 0)


def _init(value, name):
    return value if value is None else check_choice(value, name, INITS)


def _factor_or_none(value, name):
    return value if value is None else check_choice(value, name, FACTORS)


def _fraction_or_none(value, name):
    return value if value is None else check_float(value, name, 0.0, 1.0)


# The parameters of a fit, in the order they are checked, with NMF's defaults.
PARAMETER_CONSTRAINTS = {
    "beta_loss": Constraint("frobenius", lambda v, n: beta_to_float(v),
                            "'frobenius', 'kullback-leibler', 'itakura-saito' or a real beta"),
    "solver": Constraint("auto", lambda v, n: check_choice(v, n, SOLVERS),
                         "one of " + ", ".join(map(repr, SOLVERS))),
    "n_components": Constraint("auto", _rank, "an integer >= 1, 'auto' or None"),
    "alpha_W": Constraint(0.0, check_float, "a real number >= 0"),
    "alpha_H": Constraint("same", _same_or_float, "a real number >= 0 or 'same'"),
    "l1_ratio": Constraint(0.0, lambda v, n: check_float(v, n, 0.0, 1.0), "a real in [0, 1]"),
    "floor": Constraint("auto", check_auto_or_float, "'auto' or a real number >= 0"),
    "forget_factor": Constraint("auto", lambda v, n: check_auto_or_float(v, n, 1.0),
                                "'auto' or a real in [0, 1]"),
    "callback": Constraint(None, _callable_or_none, "a callable or None"),
    "random_state": Constraint(None, _random_state,
                               "None, an int in [0, 2**32) or a RandomState / Generator"),
    "verbose": Constraint(0, _verbose, "an integer >= 0 or a bool"),
    "init": Constraint(None, _init, "None or one of " + ", ".join(map(repr, INITS))),
    "tol": Constraint(1e-4, check_float, "a real number >= 0"),
    "max_iter": Constraint(200, check_int, "an integer >= 1"),
    "check_every": Constraint(10, check_int, "an integer >= 1"),
    "n_init": Constraint(1, check_int, "an integer >= 1"),
    "shuffle": Constraint(False, check_bool, "True or False"),
    "orthogonal": Constraint(None, _factor_or_none, "None, 'W' or 'H'"),
    "sparseness_W": Constraint(None, _fraction_or_none, "None or a real in [0, 1]"),
    "sparseness_H": Constraint(None, _fraction_or_none, "None or a real in [0, 1]"),
}

# The factors a constraint can apply to, as the caller names them.
FACTORS = ("W", "H")


def _check_constrained(values, beta, solver_name):
    """Orthogonal and sparse NMF: the Frobenius loss, their own solver, one constraint."""
    what = "orthogonal" if values["orthogonal"] is not None else "sparseness_W/sparseness_H"
    if beta != 2.0:
        raise ValueError(f"{what} is available for the Frobenius loss only, got beta_loss="
                         f"{beta:g}; use beta_loss='frobenius'.")
    if solver_name != "auto":
        raise ValueError(f"{what} runs its own solver; leave solver='auto' (got "
                         f"solver={solver_name!r}).")
    if values["orthogonal"] is not None and (values["sparseness_W"] is not None
                                             or values["sparseness_H"] is not None):
        raise ValueError("orthogonal and sparseness_W/sparseness_H cannot be combined; choose "
                         "one constraint.")
    if values["sparseness_W"] is not None and values["sparseness_H"] is not None:
        raise ValueError("sparseness_W and sparseness_H cannot both be set; constrain one "
                         "factor.")
    for F, G in (("W", "H"), ("H", "W")):
        alpha = values["alpha_W"] if F == "W" or values["alpha_H"] == "same" else \
            values["alpha_H"]
        if values[f"sparseness_{F}"] is not None and alpha != 0:
            raise ValueError(f"sparseness_{F} keeps the vectors of {F} at unit norm, where a "
                             f"penalty is a constant: set alpha_{F}=0 (alpha_H defaults to "
                             f"alpha_W) and penalize {G} only.")


def default_init(k, shape):
    """scikit-learn's default start: 'nndsvda' when k <= min(m, n), else 'random'."""
    return "nndsvda" if k <= min(shape) else "random"


def resolve_rank(n_components, shape, W=None, H=None):
    """The rank of a fit of data of this shape: n_components, or with None the number of
    features, or with 'auto' the rank of the given H (its rows) or W (its columns)."""
    if n_components is None or n_components == "auto":
        if n_components == "auto":
            for F, name, axis in ((H, "H", 0), (W, "W", 1)):
                if F is None:
                    continue
                if np.ndim(F) != 2:
                    raise ValueError(f"{name} must be a 2-D array (n_components gives "
                                     f"{'its rows' if name == 'H' else 'its columns'}), got "
                                     f"shape {np.shape(F)}.")
                return int(np.shape(F)[axis])
        return shape[1]
    return check_int(n_components, "n_components")


@dataclass(frozen=True)
class FitSpec:
    """A fit's parameters, checked and resolved (see FitSpec.from_params)."""
    n_components: Any        # an int, 'auto' or None, as given (see rank())
    init: Any                # None (the default start) or the name of a start
    solver: str              # 'mu', 'amu', 'hals', 'ehals' or 'cd' (KL): 'auto' resolved
    solver_name: str         # the solver as given, for messages
    beta: float              # of the beta-divergence: 2 Frobenius, 1 KL, 0 Itakura-Saito
    tol: float
    max_iter: int
    check_every: int
    n_init: int
    verbose: int
    shuffle: bool
    alpha_W: float
    alpha_H: float           # 'same' resolved to alpha_W
    l1_ratio: float
    floor: Any               # 'auto' or a number >= 0 (see floor_value())
    forget_factor: float     # 'auto' resolved to 1
    callback: Any
    random_state: Any        # as given (checked)
    orthogonal: Any = None   # None, 'W' (columns of W orthogonal) or 'H' (rows of H)
    sparseness_W: Any = None  # None, or the Hoyer sparseness every column of W must have
    sparseness_H: Any = None  # None, or the Hoyer sparseness every row of H must have
    auto_kl_cd: bool = True  # 'auto' may run 'cd' for sparse KL (see multiplicative_kl)

    @classmethod
    def from_params(cls, params):
        """The spec of a mapping of NMF's parameters (missing ones take their defaults):
        each checked in PARAMETER_CONSTRAINTS' order, then what they say together."""
        unknown = set(params) - set(PARAMETER_CONSTRAINTS)
        if unknown:
            raise InvalidParameterError(f"Unknown parameter(s) {sorted(unknown)}; a fit takes "
                                        f"{', '.join(PARAMETER_CONSTRAINTS)}.")
        values = {}
        for name, constraint in PARAMETER_CONSTRAINTS.items():
            values[name] = constraint.check(params.get(name, constraint.default), name)
        beta = values.pop("beta_loss")
        solver_name = values["solver"]
        solver = values["solver"]
        if solver == "auto":  # KL: 'mu' here, 'cd' for sparse data (for_data)
            solver = "ehals" if beta == 2.0 else "mu"
        if solver == "cd" and beta not in CD_BETAS:
            raise ValueError(f"solver='cd' minimizes the Frobenius and Kullback-Leibler losses "
                             f"only; use solver='mu' for beta_loss="
                             f"{params.get('beta_loss')!r}.")
        solver = "hals" if solver == "cd" and beta == 2.0 else solver
        if solver in FROBENIUS_ONLY_SOLVERS and beta != 2.0:
            alternatives = "'cd' or 'mu'" if beta == 1.0 else "'mu'"
            raise ValueError(f"solver='{solver_name}' minimizes the Frobenius loss only; use "
                             f"solver={alternatives} for beta_loss="
                             f"{params.get('beta_loss')!r}.")
        constrained = values["orthogonal"] is not None or values["sparseness_W"] is not None \
            or values["sparseness_H"] is not None
        if constrained:
            _check_constrained(values, beta, solver_name)
        if isinstance(values["alpha_H"], str):  # 'same'
            values["alpha_H"] = values["alpha_W"]
        if values["forget_factor"] == "auto":
            values["forget_factor"] = 1.0  # every batch counts alike (see solvers.stream)
        values.update(solver=solver, solver_name=solver_name, beta=beta)
        return cls(**values)

    @property
    def constrained(self):
        """Whether the fit has an orthogonality or sparseness constraint (its own solver)."""
        return (self.orthogonal is not None or self.sparseness_W is not None
                or self.sparseness_H is not None)

    @property
    def constrained_factor(self):
        """'W' or 'H': the caller's factor the constraint holds for (None without one)."""
        if self.orthogonal is not None:
            return self.orthogonal
        if self.sparseness_W is not None:
            return "W"
        return "H" if self.sparseness_H is not None else None

    @property
    def loss_name(self):
        """'frobenius', 'kullback-leibler', 'itakura-saito' or 'beta=<beta>'."""
        return loss_name(self.beta)

    def multiplicative_kl(self):
        """The spec with 'auto' kept on the multiplicative updates for KL, also for sparse
        data: for the fronts that reproduce Brunet's updates (the rank survey) or run only
        those (the streaming update, the cluster)."""
        return replace(self, auto_kl_cd=False)

    def for_data(self, M):
        """The spec for the prepared data M (a Matrix): under 'auto', missing values take
        solver 'mu' and the KL loss of sparse data 'cd'; a loss or solver the data does not
        allow is a ValueError."""
        spec = self
        if M.masked and self.solver_name == "auto":
            spec = replace(self, solver="mu")
        elif (self.solver_name == "auto" and self.beta == 1.0 and M.kind == "csr"
              and self.auto_kl_cd and not self.constrained):
            spec = replace(self, solver="cd")  # see the note at the top
        if spec.beta <= 0 and M.has_zero():
            raise ValueError(f"When beta_loss <= 0 (here {spec.beta:g}) and X contains zeros, "
                             "the divergence is undefined and the solver may diverge. Add a "
                             "small positive value to X, mark the zeros as missing, or use a "
                             "positive beta_loss.")
        if M.masked and spec.constrained:
            raise ValueError("X has missing values (NaN entries, or a mask), which orthogonal "
                             "and sparse NMF cannot fit: impute them, or fit without the "
                             "constraint.")
        if M.masked and spec.solver in FULLY_OBSERVED_SOLVERS:
            raise ValueError(f"X has missing values (NaN entries, or a mask), which "
                             f"solver='{spec.solver_name}' cannot fit: it minimizes the loss "
                             "of fully observed data only; use solver='mu', 'amu' or 'auto' "
                             "for missing values, or impute them.")
        return spec

    def rank(self, shape, W=None, H=None):
        """The rank k of a fit of data of this shape (see resolve_rank)."""
        return resolve_rank(self.n_components, shape, W, H)

    def start(self, k, shape):
        """The start of the first run: init, or scikit-learn's default for k and shape."""
        return self.init if self.init is not None else default_init(k, shape)

    def penalty(self, M):
        """alpha_W, alpha_H and l1_ratio as l1/l2 weights in the internal scaling and
        orientation of M (anything with shape, scale and transposed)."""
        weights = regularization(self.alpha_W, self.alpha_H, self.l1_ratio, M.shape)
        return internal_penalty(M, self.beta, *weights)

    def floor_value(self, M, k):
        """The lower bound of every factor entry in M's internal units: 'auto' is the
        dtype's machine epsilon times sqrt(max(V) / k)."""
        if self.floor == "auto":
            return float(np.finfo(M.dtype).eps) * np.sqrt(M.vmax / k)
        return self.floor / np.sqrt(M.scale)

    def polish_iter(self, masked=False):
        """Sweep budget of the W solve: cheap HALS sweeps for the Frobenius loss of fully
        observed data (10 max_iter), multiplicative steps otherwise (max_iter)."""
        if self.beta == 2.0 and not masked:
            return 10 * self.max_iter
        return self.max_iter

    def random_state_checked(self):
        """The random state as a RandomState or Generator (None: NumPy's global one)."""
        return check_random_state(self.random_state)
