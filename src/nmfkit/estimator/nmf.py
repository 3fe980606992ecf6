"""The NMF estimator, non_negative_factorization() and nmf(): parameters, restarts, fit,
transform.

Drop-in for sklearn.decomposition.NMF and non_negative_factorization: every parameter,
fitted attribute, method and return value of theirs, with their meanings, usable in
pipelines and with sklearn.base.clone. scikit-learn is not needed at run time; when it is
installed the estimator also carries its base classes (HTML repr, set_output, tags for
check_estimator) and checks feature names with scikit-learn's own code (see _compat.py).
"""

import functools
import warnings

import numpy as np
import scipy.sparse as sp

from ..core.arrays import check_factor
from ..core.exceptions import ConvergenceWarning, InvalidParameterError, NotFittedError
from ..core.matrix import Matrix
from ..core.params import (INITS, SOLVERS, beta_to_float, check_auto_or_float, check_bool,
                           check_choice, check_float, check_int)
from ..core.random import check_random_state
from ..core.threads import blas_single_threaded, effective_n_threads
from ..solvers import init as init_mod
from ..solvers.alternating import Penalty, run, solve_w
from ..solvers.stream import StreamState, gather_rows, stream_step
from .compat import (EstimatorBase, NamesMixin, TransformerBase, check_feature_names,
                     check_n_features, inverse_transform_argument)

__all__ = ["NMF", "nmf", "non_negative_factorization", "ConvergenceWarning", "NotFittedError",
           "InvalidParameterError"]

# Solvers that minimize the Frobenius loss of fully observed data only (no NaN).
_FULLY_OBSERVED_SOLVERS = ("hals", "cd", "ehals")


def _resolve_k(n_components, shape, W, H, init):
    if n_components is None or n_components == "auto":
        if n_components == "auto" and init == "custom":
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


def _regularization(alpha_W, alpha_H, l1_ratio, shape):
    """scikit-learn's scaling: penalties grow with the other dimension of the data."""
    m, n = shape
    alpha_W = check_float(alpha_W, "alpha_W")
    alpha_H = alpha_W if isinstance(alpha_H, str) and alpha_H == "same" else check_float(
        alpha_H, "alpha_H")
    l1_ratio = check_float(l1_ratio, "l1_ratio", 0.0, 1.0)
    return (n * alpha_W * l1_ratio, n * alpha_W * (1 - l1_ratio),
            m * alpha_H * l1_ratio, m * alpha_H * (1 - l1_ratio))


def _internal_penalty(M, beta, l1W, l2W, l1H, l2H):
    """Penalties in the internal scaling and orientation of M."""
    # The objective scales as s^beta, the factors as sqrt(s).
    obj_pow = beta

    def rescale(weight, power):
        if weight == 0:
            return 0.0
        with np.errstate(over="ignore"):
            return float(np.float64(weight) * np.float64(M.scale) ** power)
    wl1, hl1 = rescale(l1W, 0.5 - obj_pow), rescale(l1H, 0.5 - obj_pow)
    wl2, hl2 = rescale(l2W, 1.0 - obj_pow), rescale(l2H, 1.0 - obj_pow)
    if M.transposed:
        wl1, wl2, hl1, hl2 = hl1, hl2, wl1, wl2
    return Penalty(l1={"w": wl1, "h": hl1}, l2={"w": wl2, "h": hl2})


def _floor(M, k, floor):
    """The lower bound of every factor entry, internal units ('auto': tied to the dtype)."""
    floor = check_auto_or_float(floor, "floor")
    if floor == "auto":
        return float(np.finfo(M.dtype).eps) * np.sqrt(M.vmax / k)
    return floor / np.sqrt(M.scale)


def _polish_iter(opts, masked=False):
    """Sweep budget of the W solve: cheap HALS sweeps for Frobenius, MU steps otherwise
    (also for Frobenius with missing values)."""
    if opts["beta"] == 2.0 and not masked:
        return 10 * opts["max_iter"]
    return opts["max_iter"]


def _check_problem(M, opts):
    """What the data allows of the loss and the solver, once the data is known; 'auto'
    picks mu for missing values."""
    if M.masked and opts["solver_name"] == "auto":
        opts["solver"] = "mu"
    if opts["beta"] <= 0 and M.has_zero():
        raise ValueError(f"When beta_loss <= 0 (here {opts['beta']:g}) and X contains zeros, "
                         "the divergence is undefined and the solver may diverge. Add a small "
                         "positive value to X, mark the zeros as missing, or use a positive "
                         "beta_loss.")
    if M.masked and opts["solver"] in ("hals", "ehals"):
        raise ValueError(f"X has missing values (NaN entries, or a mask), which "
                         f"solver='{opts['solver_name']}' cannot fit: it minimizes the Frobenius "
                         "loss of fully observed data only; use solver='mu', 'amu' or 'auto' "
                         "for missing values, or impute them.")
    if M.general(opts["beta"]) and opts["solver"] in ("hals", "ehals"):
        raise ValueError(f"solver='{opts['solver_name']}' minimizes the Frobenius loss only; "
                         f"for beta_loss={opts['beta']:g} use solver='mu' (or 'auto').")


def _sweep_order_rng(rng, opts):
    """shuffle=True with a coordinate-descent solver: the generator of each sweep's order
    of the components, seeded from the fit's random state (so a given random_state gives
    the same fit); None otherwise, and then the random state is left untouched."""
    if not opts["shuffle"] or opts["solver"] not in ("hals", "ehals"):
        return None
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return np.random.RandomState(int(draw(2**31 - 1)))


def _names_checked_first(method):
    """partial_fit: X's feature names are recorded on the first call and checked on the
    later ones, as scikit-learn's partial_fit does, before any state changes."""
    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        self._check_names(X, reset=not hasattr(self, "components_"))
        self._names_checked = True  # _record_features then records the count only
        try:
            return method(self, X, *args, **kwargs)
        finally:
            self.__dict__.pop("_names_checked", None)
    return wrapper


class _Tags:
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


class NMF(_Tags, NamesMixin, TransformerBase, EstimatorBase):
    """Nonnegative matrix factorization X ~= W H with compiled, parallel kernels.

    Parameters mirror sklearn.decomposition.NMF. solver is 'auto' (default: 'ehals' for
    the Frobenius loss of fully observed data, 'mu' otherwise), 'mu' (plain Lee-Seung
    multiplicative updates, the reference), 'amu' (accelerated MU, Gillis & Glineur 2012),
    'hals' (alias 'cd': parallel HALS / cyclic coordinate descent with inner repeats,
    Frobenius only) or 'ehals' (HALS with extrapolation, Ang & Gillis 2019, restarted from
    the best pair; its history and result are the best pair's; Frobenius only).
    Missing values (NaN entries, or `mask`) need 'mu', 'amu' or 'auto' (which picks 'mu');
    the 'allow_nan' tag says so. shuffle=True (sklearn's "randomize the order of coordinates
    in the CD solver") visits the n_components columns in a new random order, drawn from
    random_state, at every sweep of the alternating iterations of 'cd'/'hals'/'ehals' (the
    W solve that ends a fit with tol > 0, and transform's, are convex problems solved to
    their tolerance: they keep the cyclic order, so transform stays deterministic); it has no
    effect on 'mu' and 'amu', as on sklearn's 'mu'. A given random_state gives the same
    result, bit for bit, on any number of threads.

    A pandas DataFrame is read as the values pandas shows: pd.NA / None / NaN of nullable,
    pyarrow and object columns are missing values, a frame whose columns are all sparse
    (fill value 0) is read as a sparse matrix, the dtype is NumPy's promotion of the
    columns' (float32 with float64 columns gives float64, as in scikit-learn; float32
    columns alone, nullable and pyarrow ones too, stay float32), and a column that is not
    numbers (text, even of digits; dates) is a TypeError naming it. Its
    string column names are recorded in feature_names_in_ and checked by transform and
    partial_fit exactly as scikit-learn checks them (same errors, same warnings).

    Beyond scikit-learn's parameters:

    floor : 'auto' or float, default='auto'
        Lower bound of every factor entry during the updates: X <- max(floor, X * ratio)
        (Gillis & Glineur 2008). It keeps multiplicative updates from locking entries at
        zero, so every limit point is stationary. 'auto' is the dtype's machine epsilon times
        sqrt(max(X) / n_components); 0 gives plain Lee-Seung updates (zeros stay zeros).
    check_every : int, default=10
        Iterations between objective evaluations (convergence test, history, callback).
    callback : callable or None
        Called as callback(n_iter, objective) at every evaluation.
    forget_factor : 'auto' or float in [0, 1], default='auto'
        partial_fit only: the weight of the memory of earlier batches (the statistics for
        the Frobenius loss of fully observed data, the span of the components otherwise; see
        nmfkit._stream) is multiplied by this at every batch. 'auto' is 1 (every batch counts
        alike); 0 keeps none.

    Fitted attributes add loss_history_ (the objective at iterations loss_history_iter_)
    to those of scikit-learn.
    """

    def __init__(self, n_components="auto", *, init=None, solver="auto", beta_loss="frobenius",
                 tol=1e-4, max_iter=200, n_init=1, random_state=None, alpha_W=0.0,
                 alpha_H="same", l1_ratio=0.0, verbose=0, shuffle=False, floor="auto",
                 check_every=10, callback=None, forget_factor="auto"):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle
        self.floor = floor
        self.check_every = check_every
        self.callback = callback
        self.forget_factor = forget_factor

    # -- scikit-learn plumbing --------------------------------------------------------------
    def _allows_nan(self):
        """NaN marks a missing value, which the multiplicative solvers fit ('mu', 'amu',
        and 'auto', which picks 'mu' then); the Frobenius-only solvers refuse it."""
        return not (isinstance(self.solver, str) and self.solver in _FULLY_OBSERVED_SOLVERS)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def _check_names(self, X, reset):
        """feature_names_in_ from X (reset=True: fit, first partial_fit) or X's column
        names checked against it, as scikit-learn does (its code when installed)."""
        check_feature_names(self, X, reset=reset)

    def _check_n_features(self, n_features, reset):
        """n_features_in_ set (reset=True) or checked, with scikit-learn's message."""
        check_n_features(self, n_features, reset=reset)

    def _record_features(self, X, n_features):
        """Record X's feature names and count at the end of a fit (the dask fit), or of a
        partial_fit whose names were checked on entry (then only the count)."""
        if not getattr(self, "_names_checked", False):
            self._check_names(X, reset=True)
        self._check_n_features(n_features, reset=True)

    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this "
                                 "estimator.")

    def _penalty(self, M, beta):
        """alpha_W, alpha_H, l1_ratio as l1/l2 weights in M's internal scaling."""
        weights = _regularization(self.alpha_W, self.alpha_H, self.l1_ratio, M.shape)
        return _internal_penalty(M, beta, *weights)

    def _options(self):
        """Every parameter checked (scikit-learn checks them all when fit starts) and the
        ones the solvers need, resolved."""
        beta = beta_to_float(self.beta_loss)
        solver_name = solver = check_choice(self.solver, "solver", SOLVERS)
        if not (self.n_components is None or isinstance(self.n_components, str)
                and self.n_components == "auto"):
            if isinstance(self.n_components, str):
                raise InvalidParameterError(f"n_components must be an integer >= 1, 'auto' or "
                                            f"None, got {self.n_components!r}.")
            check_int(self.n_components, "n_components")
        _regularization(self.alpha_W, self.alpha_H, self.l1_ratio, (1, 1))
        check_auto_or_float(self.floor, "floor")
        check_auto_or_float(self.forget_factor, "forget_factor", 1.0)
        if self.callback is not None and not callable(self.callback):
            raise InvalidParameterError(f"callback must be callable or None, got "
                                        f"{self.callback!r}.")
        try:
            check_random_state(self.random_state)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(str(exc)) from None
        verbose = self.verbose
        if not isinstance(verbose, (bool, np.bool_)):  # scikit-learn takes True / False
            verbose = check_int(verbose, "verbose", 0)
        if solver == "auto":
            solver = "ehals" if beta == 2.0 else "mu"
        solver = "hals" if solver == "cd" else solver
        if solver in ("hals", "ehals") and beta != 2.0:
            raise ValueError(f"solver='{solver_name}' minimizes the Frobenius loss only; use "
                             f"solver='mu' for beta_loss={self.beta_loss!r}.")
        if self.init is not None:
            check_choice(self.init, "init", INITS)
        return dict(beta=beta, solver=solver, solver_name=solver_name,
                    tol=check_float(self.tol, "tol"),
                    max_iter=check_int(self.max_iter, "max_iter"),
                    check_every=check_int(self.check_every, "check_every"),
                    n_init=check_int(self.n_init, "n_init"), verbose=int(verbose),
                    shuffle=check_bool(self.shuffle, "shuffle"))

    # -- fitting ---------------------------------------------------------------------------
    def fit_transform(self, X, y=None, W=None, H=None, mask=None):
        """Learn the factorization of X and return W (n_samples x n_components).

        Missing values: NaN entries of a dense X, and the entries where `mask` (a boolean
        array of X's shape, or for any X a sparse matrix whose stored nonzeros are the
        observed entries) is False, are unobserved: the updates and the objective sum over
        the observed entries only.
        """
        if type(X).__module__.startswith("dask"):  # on the dask cluster: see _dask.py
            if mask is not None:
                raise ValueError("mask is not supported with a dask array: missing values "
                                 "need the in-process fit (a NumPy or SciPy X).")
            from ..distributed.fit import fit_transform as dask_fit_transform
            return dask_fit_transform(self, X, W, H)
        opts = self._options()
        self._check_names(X, reset=True)
        M = Matrix(X, mask=mask)
        self._check_n_features(M.shape[1], reset=True)
        _check_problem(M, opts)
        k = _resolve_k(self.n_components, M.shape, W, H, self.init)
        init = self.init if self.init is not None else init_mod.default_init(k, M.shape)
        if init != "custom" and (W is not None or H is not None):
            # scikit-learn's warning, word for word (filters written for it match)
            warnings.warn("When init!='custom', provided W or H are ignored. Set  "
                          "init='custom' to use them as initialization.", RuntimeWarning,
                          stacklevel=2)
        penalty = self._penalty(M, opts["beta"])
        floor = _floor(M, k, self.floor)
        with blas_single_threaded():  # also makes the SVD of NNDSVD thread-count independent
            best, div = self._restarts(M, k, init, opts, penalty, floor, W, H)
        if not best.converged and opts["tol"] > 0:
            warnings.warn(f"Maximum number of iterations {opts['max_iter']} reached. Increase "
                          "it to improve convergence.", ConvergenceWarning, stacklevel=2)
        W_out, H_out = M.to_external(best.W, best.Ht)
        self.components_ = H_out
        self.n_components_ = H_out.shape[0]
        self.n_iter_ = best.n_iter
        self.reconstruction_err_ = M.external_error(div, opts["beta"])
        self.loss_history_ = M.external_divergence(best.history, opts["beta"])
        self.loss_history_iter_ = np.asarray(best.history_iters)
        self._init_used = init
        self._stream = None
        return W_out

    @_names_checked_first
    def partial_fit(self, X, y=None, W=None, H=None, mask=None):
        """Update components_ from one batch of rows of X; returns self.

        For data that does not fit in memory: call it on batches of rows, for as many
        passes as wanted (see nmfkit._stream for the update: each batch is fitted on its
        own with `solver`, then the components are updated from the memory of the earlier
        batches, weighted down by forget_factor per batch). The first call starts
        components_ from `init` on its batch (or from H with init='custom'), unless the
        model is already fitted, in which case it goes on from components_. A batch of
        fewer than 3 n_components rows cannot place the components: its rows are held
        and fitted with the next ones once there are that many. Missing values as in
        fit_transform. Sets n_steps_ (the batches seen).
        """
        opts = self._options()
        M = Matrix(X, mask=mask)
        _check_problem(M, opts)
        rho = check_auto_or_float(self.forget_factor, "forget_factor", 1.0)
        if rho == "auto":
            rho = 1.0  # every batch counts alike (see nmfkit._stream)
        rng = None if getattr(self, "_stream", None) is None else self._stream.rng
        rng = rng if rng is not None else check_random_state(self.random_state)
        root = np.sqrt(M.scale)
        if hasattr(self, "components_"):
            if M.shape[1] != self.components_.shape[1]:
                raise ValueError(f"X has {M.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.components_.shape[1]} features as input.")
            H_ext = self.components_.astype(M.dtype)
            k = H_ext.shape[0]
            init = self._init_used
        else:
            k = _resolve_k(self.n_components, M.shape, W, H, self.init)
            init = self.init if self.init is not None else init_mod.default_init(k, M.shape)
            if init == "custom":  # only H is needed: each batch solves its own W
                H_ext = check_factor(H, "H", (k, M.shape[1]), M.dtype)
            else:
                with blas_single_threaded():
                    _, H0 = init_mod.initialize(M.for_init(), k, init, rng)
                H_ext = H0 * M.dtype.type(root)
        if getattr(self, "_stream", None) is None:
            self._stream = StreamState(M.shape[1], k, rng)
        n = M.shape[1]
        M = gather_rows(self._stream, M, k)  # a batch of few rows waits for more (_stream)
        H_new = H_ext
        if M is not None:
            _check_problem(M, opts)  # held rows may bring missing values
            root = np.sqrt(M.scale)
            H_ext = H_ext.astype(M.dtype, copy=False)
            W0 = init_mod.least_squares_start(M.for_init(), H_ext / M.dtype.type(root))
            W0 *= M.dtype.type(root)
            floor = _floor(M, k, self.floor)

            def penalty_for(rows):
                l1W, l2W, l1H, l2H = _regularization(self.alpha_W, self.alpha_H,
                                                     self.l1_ratio, (rows, n))
                return Penalty(l1={"w": l1W, "h": l1H}, l2={"w": l2W, "h": l2H})

            H_new, _ = stream_step(M, H_ext, W0, self._stream, beta=opts["beta"], rho=rho,
                                   penalty_for=penalty_for, w_floor=floor,
                                   w_penalty=self._penalty(M, opts["beta"]),
                                   max_iter=_polish_iter(opts, M.masked),
                                   solver=opts["solver"])
        self._record_features(X, n)
        self.components_ = H_new
        self.n_components_ = k
        self.n_steps_ = self._stream.n_steps
        self._init_used = init
        return self

    def _restarts(self, M, k, init, opts, penalty, floor, W, H):
        """n_init runs from seeded starts; the best, finished by the exact W solve."""
        rng = check_random_state(self.random_state)
        best = None
        for r in range(opts["n_init"]):
            run_init = init if r == 0 or init in ("random", "nndsvdar") else "random"
            W0, H0 = init_mod.initialize(M.for_init(), k, run_init, rng, W, H)
            Wi, Hti = M.to_internal(W0, H0, scaled=run_init != "custom")
            res = run(M, Wi, Hti, beta=opts["beta"], solver=opts["solver"],
                      max_iter=opts["max_iter"], tol=opts["tol"], penalty=penalty,
                      floor=floor, check_every=opts["check_every"], verbose=opts["verbose"],
                      callback=self.callback, shuffle=_sweep_order_rng(rng, opts))
            if best is None or res.history[-1] < best.history[-1]:
                best = res
        if opts["tol"] > 0:
            # Finish with the exact W for the final H: what transform(X) computes. tol=0
            # asks for exactly max_iter iterations of the solver, so it is left out then.
            solve_w(M, best.W, best.Ht, beta=opts["beta"], penalty=penalty, floor=floor,
                    max_iter=_polish_iter(opts, M.masked))
        elif opts["beta"] != 2.0 and best.history_iters[-1] == best.n_iter:
            # The last history entry is the divergence of these very factors, computed
            # directly: reuse it. (Frobenius histories come from the products, which lose
            # digits near an exact fit: that one is recomputed.)
            return best, max(best.history[-1] - penalty.value({"w": best.W, "h": best.Ht}),
                             0.0)
        return best, M.divergence(best.W, best.Ht, opts["beta"], effective_n_threads())

    def fit(self, X, y=None, **params):
        """Learn the factorization of X; returns self."""
        self.fit_transform(X, **params)
        return self

    def transform(self, X, mask=None):
        """W for X with components_ fixed, started as fit starts and iterated to tol.

        X may have missing values, given as in fit_transform (NaN or mask). Its feature
        names are checked against feature_names_in_ as scikit-learn checks them."""
        self._check_fitted()
        self._check_names(X, reset=False)
        if type(X).__module__.startswith("dask"):  # lazy, chunk by chunk: see _dask.py
            if mask is not None:
                raise ValueError("mask is not supported with a dask array: missing values "
                                 "need the in-process fit (a NumPy or SciPy X).")
            from ..distributed.fit import transform as dask_transform
            return dask_transform(self, X)
        opts = self._options()
        M = Matrix(X, mask=mask)
        self._check_n_features(M.shape[1], reset=False)
        if M.shape[1] != self.components_.shape[1]:  # components_ set by hand, say
            raise ValueError(f"X has {M.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.components_.shape[1]} features as input.")
        _check_problem(M, opts)
        return self._solve_w(M, self.components_, opts)[0]

    def _solve_w(self, M, H, opts):
        """(W, sweeps): the W of the data M for the fixed components H (k x n), started
        from the clipped least-squares W and iterated to the solver's tolerance."""
        k = H.shape[0]
        H = H.astype(M.dtype)
        penalty = self._penalty(M, opts["beta"])
        with blas_single_threaded():
            # the unconstrained least-squares W, clipped: far closer to the answer than a
            # generic start, which matters most for the slow multiplicative W solve
            W0 = init_mod.least_squares_start(M.for_init(), H / M.dtype.type(np.sqrt(M.scale)))
            Wi, Hti = M.to_internal(W0, H / np.sqrt(M.scale), scaled=True)
            sweeps = solve_w(M, Wi, Hti, beta=opts["beta"], penalty=penalty,
                             floor=_floor(M, k, self.floor),
                             max_iter=_polish_iter(opts, M.masked))
        return M.to_external(Wi, Hti)[0], sweeps

    def inverse_transform(self, X=None, *, Xt=None, W=None):
        """X ~= W components_ for W (n_samples x n_components): an array, a sparse matrix
        or a DataFrame (then a DataFrame, as scikit-learn returns it). The argument's older
        names follow the installed scikit-learn (Xt= deprecated in 1.5 and 1.6, gone in
        1.7; W= deprecated in 1.3 and 1.4)."""
        X = inverse_transform_argument(X, Xt, W)
        self._check_fitted()
        k = self.components_.shape[0]
        shape = X.shape if hasattr(X, "shape") else np.shape(X)
        if len(shape) != 2 or shape[1] != k:
            raise ValueError(f"X must be the transformed data, of shape (n_samples, {k}) "
                             f"(n_components columns), got shape {tuple(shape)}.")
        if sp.issparse(X) or type(X).__module__.startswith("pandas"):
            return X @ self.components_
        return np.asarray(X) @ self.components_


def nmf(X, n_components="auto", **params):
    """Factorize X ~= W H in one call; returns (W, H, info).

    Takes the parameters of NMF, and W, H, mask as fit_transform does. info is a dict
    with n_iter, reconstruction_err, loss_history, loss_history_iter and the fitted
    estimator under 'model'.

    nmfkit's own one-call form. For scikit-learn's, use non_negative_factorization, which
    differs from this in what code written for scikit-learn needs: it returns (W, H,
    n_iter) rather than (W, H, info), takes update_H (solve for W with H fixed), and takes
    W and H as its second and third positional arguments.
    """
    W_init, H_init = params.pop("W", None), params.pop("H", None)
    mask = params.pop("mask", None)
    model = NMF(n_components, **params)
    W = model.fit_transform(X, W=W_init, H=H_init, mask=mask)
    info = {"n_iter": model.n_iter_, "reconstruction_err": model.reconstruction_err_,
            "loss_history": model.loss_history_, "loss_history_iter": model.loss_history_iter_,
            "model": model}
    return W, model.components_, info


def non_negative_factorization(X, W=None, H=None, n_components="auto", *, init=None,
                               update_H=True, solver="auto", beta_loss="frobenius", tol=1e-4,
                               max_iter=200, alpha_W=0.0, alpha_H="same", l1_ratio=0.0,
                               random_state=None, verbose=0, shuffle=False, mask=None,
                               **params):
    """scikit-learn's non_negative_factorization: X ~= W H; returns (W, H, n_iter).

    Its parameters, meanings and return values: update_H=True fits both factors (from W
    and H when init='custom', which then needs both; n_components='auto' takes the rank
    from them). update_H=False solves for W only, with H (n_components x n_features)
    fixed and required; a W passed then is not used (a RuntimeWarning says so, as in
    scikit-learn), W is solved to the precision NMF.transform uses, and n_iter is the
    number of W sweeps.

    One default differs: solver='auto', as for nmfkit.NMF ('ehals' for the Frobenius loss
    of fully observed data, 'mu' otherwise), where scikit-learn's is 'cd'. Both minimize
    the same objective; 'auto' is faster and also takes the other losses and missing
    values, which scikit-learn's 'cd' refuses. solver='cd' (nmfkit's parallel HALS, the
    same coordinate descent) and solver='mu' are available as there.

    Beyond scikit-learn: mask (missing values, as in NMF.fit_transform; NaN entries of a
    dense X are missing too) and NMF's other parameters as keywords (n_init, floor,
    check_every, callback).
    """
    update_H = check_bool(update_H, "update_H")
    est = NMF(n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
              max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
              l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle, **params)
    est.set_output(transform="default")  # arrays, whatever scikit-learn's global output
    if update_H:
        W_out = est.fit_transform(X, W=W, H=H, mask=mask)
        return W_out, est.components_, est.n_iter_
    opts = est._options()
    M = Matrix(X, mask=mask)
    _check_problem(M, opts)
    if H is None:
        raise ValueError("H is required when update_H=False: pass the fixed components, an "
                         "array of shape (n_components, n_features).")
    if W is not None:
        warnings.warn("When update_H=False, the provided initial W is not used.",
                      RuntimeWarning, stacklevel=2)
    if n_components is None:
        k = M.shape[1]
    elif isinstance(n_components, str):  # 'auto' (_options checked it)
        k = int(np.shape(H)[0]) if np.ndim(H) == 2 else 0
    else:
        k = int(n_components)
    shape = np.shape(H)
    if len(shape) == 2 and shape != (k, M.shape[1]):
        raise ValueError(f"H has shape {shape}, expected ({k}, {M.shape[1]}): n_components="
                         f"{n_components!r} rows by the {M.shape[1]} features of X (with "
                         "n_components='auto' the rank is taken from H).")
    H_fixed = check_factor(H, "H", (k, M.shape[1]), M.dtype)
    W_out, sweeps = est._solve_w(M, H_fixed, opts)
    limit = _polish_iter(opts, M.masked)
    if sweeps >= limit and opts["tol"] > 0:
        warnings.warn(f"Maximum number of iterations {limit} reached (the W solve's limit "
                      "for this max_iter). Increase max_iter to improve convergence.",
                      ConvergenceWarning, stacklevel=2)
    return W_out, H_fixed, sweeps
