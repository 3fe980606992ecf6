"""The NMF estimator: scikit-learn's sklearn.decomposition.NMF, on nmfkit's solvers.

Drop-in for sklearn.decomposition.NMF: every parameter, fitted attribute, method and return
value of it, with their meanings, usable in pipelines and with sklearn.base.clone.
scikit-learn is not needed at run time; when it is installed the estimator also carries its
base classes (HTML repr, set_output, tags for check_estimator) and checks feature names with
scikit-learn's own code (see estimator/compat.py). The parameters become a FitSpec
(core/spec.py) at every fit; the solvers return a FitResult, which only this class turns into
fitted attributes.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ..core.arrays import check_factor
from ..core.exceptions import ConvergenceWarning, NotFittedError
from ..core.matrix import Matrix
from ..core.params import FROBENIUS_ONLY_SOLVERS
from ..core.penalty import Penalty, regularization
from ..core.spec import FitSpec
from ..core.threads import blas_single_threaded
from ..solvers import init as starts
from ..solvers.fit import fit_matrix, solve_components
from ..solvers.sparse import hoyer_sparseness
from ..solvers.stream import StreamState, gather_rows, stream_step
from .base import NMFTags, names_checked_first
from .compat import (
    EstimatorBase,
    NamesMixin,
    TransformerBase,
    check_feature_names,
    check_n_features,
    inverse_transform_argument,
)

__all__ = ["NMF", "is_dask"]


def is_dask(X):
    """Whether X is a dask collection (fitted on the cluster: see nmfkit.distributed)."""
    return type(X).__module__.startswith("dask")


def _no_constraint(spec, where):
    if spec.constrained:
        raise ValueError(f"orthogonal and sparseness_W/sparseness_H are not supported with "
                         f"{where}: fit the in-memory data with NMF.fit.")


def _no_dask_mask(mask):
    if mask is not None:
        raise ValueError("mask is not supported with a dask array: missing values "
                         "need the in-process fit (a NumPy or SciPy X).")


class NMF(NMFTags, NamesMixin, TransformerBase, EstimatorBase):
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
    result, bit for bit, on any number of threads (dense KL and other beta-divergences: up
    to 4 threads; see the README's "Determinism").

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
        nmfkit.solvers.stream) is multiplied by this at every batch. 'auto' is 1 (every batch counts
        alike); 0 keeps none.

    orthogonal : None, 'W' or 'H', default=None
        Orthogonal NMF: the columns of W ('W') or the rows of H ('H') orthogonal. With
        nonnegative factors that means disjoint supports: each sample (each feature) belongs
        to one component, and NMF becomes a clustering akin to k-means (Ding et al. 2006).
        Fitted by the EM-like method of Pompili et al. (2014), which reaches exact
        orthogonality and never increases the objective; Frobenius loss, fully observed data.
    sparseness_W, sparseness_H : None or float in [0, 1], default=None
        Hoyer's NMF with sparseness constraints (Hoyer 2004): every column of W (every row of
        H) kept at this Hoyer sparseness (0: all entries equal, 1: one nonzero entry).
        Frobenius loss, fully observed data, one constraint per fit.

    Fitted attributes add loss_history_ (the objective at iterations loss_history_iter_)
    and sparseness_ ({'W': ..., 'H': ...}: the mean Hoyer sparseness of W's columns and of
    H's rows) to those of scikit-learn.

    References
    ----------
    Ding, C., Li, T., Peng, W., Park, H. (2006). Orthogonal nonnegative matrix
    t-factorizations for clustering. KDD.
    Pompili, F., Gillis, N., Absil, P.-A., Glineur, F. (2014). Two algorithms for orthogonal
    nonnegative matrix factorization with application to clustering. Neurocomputing 141.
    Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints.
    JMLR 5.
    """

    def __init__(self, n_components="auto", *, init=None, solver="auto", beta_loss="frobenius",
                 tol=1e-4, max_iter=200, n_init=1, random_state=None, alpha_W=0.0,
                 alpha_H="same", l1_ratio=0.0, verbose=0, shuffle=False, floor="auto",
                 check_every=10, callback=None, forget_factor="auto", orthogonal=None,
                 sparseness_W=None, sparseness_H=None):
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
        self.orthogonal = orthogonal
        self.sparseness_W = sparseness_W
        self.sparseness_H = sparseness_H

    # -- scikit-learn plumbing --------------------------------------------------------------
    def _allows_nan(self):
        """NaN marks a missing value, which the multiplicative solvers fit ('mu', 'amu',
        and 'auto', which picks 'mu' then); the Frobenius-only solvers refuse it."""
        return not (isinstance(self.solver, str) and self.solver in FROBENIUS_ONLY_SOLVERS)

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

    def _check_fitted(self):
        if not hasattr(self, "components_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with appropriate arguments before using this "
                                 "estimator.")

    def _spec(self):
        """The FitSpec of the current parameters: every one checked, as scikit-learn checks
        them all when fit starts."""
        return FitSpec.from_params(self.get_params(deep=False))

    def _set_fitted(self, result, spec):
        """The fitted attributes from the FitResult of a fit with this spec (the one place a
        fit sets them); W returned."""
        if not result.converged and spec.tol > 0:
            warnings.warn(f"Maximum number of iterations {spec.max_iter} reached. "
                          "Increase it to improve convergence.", ConvergenceWarning,
                          stacklevel=3)
        self.components_ = result.H
        self.n_components_ = result.H.shape[0]
        if not is_dask(result.W):
            self.sparseness_ = {"W": float(np.mean(hoyer_sparseness(result.W, axis=0))),
                                "H": float(np.mean(hoyer_sparseness(result.H, axis=1)))}
        self.n_iter_ = result.n_iter
        self.reconstruction_err_ = result.reconstruction_err
        self.loss_history_ = result.loss_history
        self.loss_history_iter_ = result.loss_history_iter
        self._init_used = result.init
        self._stream = None
        return result.W

    # -- fitting ---------------------------------------------------------------------------
    def fit_transform(self, X, y=None, W=None, H=None, mask=None):
        """Learn the factorization of X and return W (n_samples x n_components).

        Missing values: NaN entries of a dense X, and the entries where `mask` (a boolean
        array of X's shape, or for any X a sparse matrix whose stored nonzeros are the
        observed entries) is False, are unobserved: the updates and the objective sum over
        the observed entries only.
        """
        spec = self._spec()
        if is_dask(X):  # on the dask cluster: see nmfkit.distributed
            _no_dask_mask(mask)
            _no_constraint(spec, "a dask array (the cluster fit)")
            from ..distributed.front import fit as dask_fit
            result = dask_fit(spec, X, W, H)
            self._check_names(X, reset=True)
            self._check_n_features(int(X.shape[1]), reset=True)
            return self._set_fitted(result, spec)
        self._check_names(X, reset=True)
        M = Matrix(X, mask=mask)
        self._check_n_features(M.shape[1], reset=True)
        spec = spec.for_data(M)
        k = spec.rank(M.shape, W, H)
        init = spec.start(k, M.shape)
        if init != "custom" and (W is not None or H is not None):
            # scikit-learn's warning, word for word (filters written for it match)
            warnings.warn("When init!='custom', provided W or H are ignored. Set  "
                          "init='custom' to use them as initialization.", RuntimeWarning,
                          stacklevel=2)
        return self._set_fitted(fit_matrix(spec, M, k, init, W, H), spec)

    @names_checked_first
    def partial_fit(self, X, y=None, W=None, H=None, mask=None):
        """Update components_ from one batch of rows of X; returns self.

        For data that does not fit in memory: call it on batches of rows, for as many
        passes as wanted (see nmfkit.solvers.stream for the update: each batch is fitted on
        its own with `solver`, then the components are updated from the memory of the
        earlier batches, weighted down by forget_factor per batch). The first call starts
        components_ from `init` on its batch (or from H with init='custom'), unless the
        model is already fitted, in which case it goes on from components_. A batch of
        fewer than 3 n_components rows cannot place the components: its rows are held
        and fitted with the next ones once there are that many. Missing values as in
        fit_transform. Sets n_steps_ (the batches seen).
        """
        spec = self._spec()
        _no_constraint(spec, "partial_fit (the streaming update)")
        M = Matrix(X, mask=mask)
        spec.for_data(M)
        rng = None if getattr(self, "_stream", None) is None else self._stream.rng
        rng = rng if rng is not None else spec.random_state_checked()
        root = np.sqrt(M.scale)
        if hasattr(self, "components_"):
            if M.shape[1] != self.components_.shape[1]:
                raise ValueError(f"X has {M.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.components_.shape[1]} features as input.")
            H_ext = self.components_.astype(M.dtype)
            k = H_ext.shape[0]
            init = self._init_used
        else:
            k = spec.rank(M.shape, W, H)
            init = spec.start(k, M.shape)
            if init == "custom":  # only H is needed: each batch solves its own W
                H_ext = check_factor(H, "H", (k, M.shape[1]), M.dtype)
            else:
                with blas_single_threaded():
                    _, H0 = starts.initialize(M.filled(), k, init, rng)
                H_ext = H0 * M.dtype.type(root)
        if getattr(self, "_stream", None) is None:
            self._stream = StreamState(M.shape[1], k, rng)
        n = M.shape[1]
        M = gather_rows(self._stream, M, k)  # a batch of few rows waits for more
        H_new = H_ext
        if M is not None:
            batch_spec = spec.for_data(M)  # held rows may bring missing values
            root = np.sqrt(M.scale)
            H_ext = H_ext.astype(M.dtype, copy=False)
            W0 = starts.least_squares_start(M.filled(), H_ext / M.dtype.type(root))
            W0 *= M.dtype.type(root)

            def penalty_for(rows):
                l1W, l2W, l1H, l2H = regularization(spec.alpha_W, spec.alpha_H, spec.l1_ratio,
                                                    (rows, n))
                return Penalty(l1={"w": l1W, "h": l1H}, l2={"w": l2W, "h": l2H})

            H_new, _ = stream_step(M, H_ext, W0, self._stream, beta=spec.beta,
                                   rho=spec.forget_factor, penalty_for=penalty_for,
                                   w_floor=spec.floor_value(M, k),
                                   w_penalty=spec.penalty(M),
                                   max_iter=spec.polish_iter(M.masked),
                                   solver=batch_spec.solver)
        self._check_n_features(n, reset=True)  # the names were checked on entry
        self.components_ = H_new
        self.n_components_ = k
        self.n_steps_ = self._stream.n_steps
        self._init_used = init
        return self

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
        spec = self._spec()
        if is_dask(X):  # lazy, chunk by chunk: see nmfkit.distributed
            _no_dask_mask(mask)
            from ..distributed.front import transform as dask_transform
            return dask_transform(spec, self.components_, X)
        M = Matrix(X, mask=mask)
        self._check_n_features(M.shape[1], reset=False)
        if M.shape[1] != self.components_.shape[1]:  # components_ set by hand, say
            raise ValueError(f"X has {M.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.components_.shape[1]} features as input.")
        return solve_components(spec.for_data(M), M, self.components_)[0]

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

