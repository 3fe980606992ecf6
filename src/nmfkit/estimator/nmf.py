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
from ..core.params import FULLY_OBSERVED_SOLVERS
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
    """Whether X is a dask collection (fitted on the cluster: see nmfkit.distributed).

    Parameters
    ----------
    X : object
        The data given to a fit or a transform.

    Returns
    -------
    bool
        True when X's type comes from a dask module (dask is not imported to tell).
    """
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
    r"""Nonnegative matrix factorization X ~= W H with compiled, parallel kernels.

    Finds nonnegative W (n_samples x n_components) and H (n_components x n_features,
    stored as ``components_``) that minimize a beta-divergence between X and W H, plus
    optional penalties. A drop-in for :class:`sklearn.decomposition.NMF`: every parameter,
    fitted attribute, method and return value of it, with its meaning, works in pipelines
    and with :func:`sklearn.base.clone`. scikit-learn is not needed at run time. Beyond it:
    more solvers, restarts, a floor against zero-locking, the objective's history, missing
    values, streaming (:meth:`partial_fit`), dask arrays, orthogonal and sparse NMF.

    X may be a NumPy array, a SciPy sparse matrix, a pandas DataFrame or a dask array (fitted
    on the dask cluster; see ``nmfkit.distributed``). NaN entries of a dense X, and the
    entries a ``mask`` marks False, are missing values: the updates and the objective sum
    over the observed entries only. A DataFrame is read as the values pandas shows: pd.NA,
    None and NaN of nullable, pyarrow and object columns are missing values, a frame whose
    columns are all sparse (fill value 0) is read as a sparse matrix, the dtype is NumPy's
    promotion of the columns' (float32 columns alone stay float32), and a column that is not
    numbers (text, even of digits; dates) is a TypeError naming it. Its string column names
    are recorded in ``feature_names_in_`` and checked by :meth:`transform` and
    :meth:`partial_fit` exactly as scikit-learn checks them. float32 data gives float32
    factors; X is never modified.

    Parameters
    ----------
    n_components : int, 'auto' or None, default='auto'
        The rank k: the number of components. 'auto' (as in scikit-learn) takes it from the
        given H (its rows) or W (its columns) when :meth:`fit_transform` receives them, and
        is the number of features otherwise; None is the number of features.
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'spa', 'custom'} or None, default=None
        The start of the (first) run. None is scikit-learn's default: 'nndsvda' when
        n_components <= min(n_samples, n_features), else 'random'. 'random': uniform
        entries scaled by sqrt(X.mean() / n_components), drawn from ``random_state`` as
        scikit-learn draws them (the same start for the same seed). 'nndsvd': nonnegative
        double SVD (Boutsidis & Gallopoulos 2008), zeros left in place; 'nndsvda': its
        zeros filled with the mean of X (better when zeros are not wanted); 'nndsvdar': its
        zeros filled with small random values. 'spa' (nmfkit only): W from the
        n_components columns of X chosen by the successive projection algorithm (Gillis &
        Vavasis 2014), H their clipped least-squares coefficients; exact for separable
        data. 'custom': the W and H passed to :meth:`fit_transform`. The SVD and SPA starts
        need n_components <= min(n_samples, n_features).
    solver : {'auto', 'mu', 'amu', 'hals', 'ehals', 'cd'}, default='auto'
        The algorithm. scikit-learn has 'cd' (its default) and 'mu'; nmfkit's default is
        'auto': 'ehals' for the Frobenius loss of fully observed data, 'cd' for the
        Kullback-Leibler loss of fully observed sparse data, 'mu' otherwise (and with
        missing values). 'mu': the multiplicative updates of Lee & Seung [1]_ and
        Fevotte & Idier [2]_, every loss. 'amu': accelerated MU (Gillis & Glineur [3]_),
        the update repeated on the same products; the same as 'mu' for losses other than
        Frobenius. 'hals' (alias 'cd', scikit-learn's name for the same coordinate
        descent): hierarchical alternating least squares (Cichocki & Phan [5]_), one column
        of a factor at a time, with accelerated inner repeats, run row-parallel. 'ehals':
        HALS with extrapolation (Ang & Gillis [4]_), restarted from the best pair when a
        step does not improve; its history and result are the best pair's. 'hals' and
        'ehals' minimize the Frobenius loss of fully observed data only. 'cd' with
        beta_loss='kullback-leibler': cyclic coordinate descent with Newton steps per
        entry (Hsieh & Dhillon, KDD 2011), each safeguarded so that the objective never
        increases; transform() then solves for W by it too.
    beta_loss : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}, default='frobenius'
        The beta-divergence minimized: 'frobenius' (beta=2), 'kullback-leibler' (beta=1),
        'itakura-saito' (beta=0) or any finite real beta. With beta <= 0 the divergence is
        undefined at the zeros of X, and such data is refused (a ValueError). Losses other
        than Frobenius need solver 'mu', 'amu' or 'auto' ('cd' too for Kullback-Leibler).
    tol : float, default=1e-4
        The stopping rule of scikit-learn: every ``check_every`` iterations, with e the
        square root of twice the penalized objective, a run stops when the decrease of e since
        the previous check, relative to e at the start, is below tol. With tol > 0 the fit
        then solves for W with H fixed (the convex problem :meth:`transform` solves), so
        ``fit(X).transform(X)`` agrees with ``fit_transform(X)``. tol=0 runs exactly
        max_iter iterations and skips that final W solve.
    max_iter : int, default=200
        Maximum number of iterations (updates of both factors) of each run; a
        ConvergenceWarning says when a run with tol > 0 reached it. It also caps the W
        solve of the end of a fit and of :meth:`transform`: 10 max_iter HALS sweeps for the
        Frobenius loss of fully observed data, max_iter multiplicative steps otherwise.
    n_init : int, default=1
        Number of runs (nmfkit only). The first starts from ``init``, the others from
        'random' starts (or from ``init`` when it is random itself: 'random', 'nndsvdar'),
        all drawn from ``random_state``; the run with the lowest final objective is kept.
        NMF is not unique and a run only reaches a local minimum: restarts trade time for
        a better one.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the random starts, the restarts and the order of ``shuffle``. An int gives
        the same result, bit for bit, run to run and on any number of threads; None uses
        NumPy's global random state.
        A :class:`numpy.random.Generator` is accepted too (scikit-learn takes only a
        RandomState).
    alpha_W : float, default=0.0
        Weight of the penalty on W, as in scikit-learn: the objective adds
        ``n_features * alpha_W * (l1_ratio * sum(W) + (1 - l1_ratio) / 2 * ||W||_F^2)``.
        0 means no penalty.
    alpha_H : float or 'same', default='same'
        Weight of the penalty on H, as in scikit-learn (scaled by n_samples); 'same' takes
        alpha_W.
    l1_ratio : float, default=0.0
        The mix of the penalties, in [0, 1]: 0 is an l2 (ridge) penalty, 1 an l1 (lasso)
        penalty, which makes the factors sparse.
    verbose : int or bool, default=0
        Whether to print the objective and the elapsed time at each check.
    shuffle : bool, default=False
        With 'cd', 'hals' or 'ehals', visit the components in a new random order, drawn from
        ``random_state``, at every sweep of the alternating iterations (scikit-learn's
        "randomize the order of coordinates in the CD solver"). The final W solve and
        :meth:`transform`'s, convex problems solved to their tolerance, keep the cyclic
        order, so :meth:`transform` stays deterministic. No effect on 'mu' and 'amu', as on
        scikit-learn's 'mu'.
    floor : 'auto' or float, default='auto'
        Lower bound of every factor entry during the updates (nmfkit only): each step
        writes ``F <- max(floor, F * ratio)``. It keeps the multiplicative updates from
        locking entries at zero, so that every limit point is stationary (Gillis & Glineur
        2008). 'auto' is the dtype's machine epsilon times sqrt(max(X) / n_components);
        0 gives plain Lee-Seung updates (zeros stay zeros), as scikit-learn's 'mu'.
    check_every : int, default=10
        Iterations between evaluations of the objective (nmfkit only; scikit-learn checks
        every 10): the stopping test, ``loss_history_``, ``verbose`` and ``callback`` happen
        then, and at max_iter. Evaluating costs about one product with X for losses other
        than Frobenius, whose objective comes for free.
    callback : callable or None, default=None
        Called as ``callback(n_iter, objective)`` at iteration 0 and at every evaluation
        (nmfkit only); objective is the penalized objective of the run in its internal
        scaling (the value ``loss_history_`` records, for data of ordinary magnitude).
    forget_factor : 'auto' or float, default='auto'
        :meth:`partial_fit` only (nmfkit only): the weight of the memory of earlier batches
        (the statistics for the Frobenius loss of fully observed data, the span of the
        components otherwise), multiplied by this at every batch, in [0, 1]. 'auto' is 1
        (every batch counts alike); 0 keeps none. :class:`MiniBatchNMF` takes
        scikit-learn's per-pass forget_factor instead.
    orthogonal : {'W', 'H'} or None, default=None
        Orthogonal NMF (nmfkit only): the columns of W ('W') or the rows of H ('H') made
        orthogonal. With nonnegative factors that means disjoint supports: each sample
        (each feature) belongs to one component, and NMF becomes a clustering akin to
        k-means (Ding et al. [6]_). Fitted by the EM-like method of Pompili et al. [7]_,
        which reaches exact orthogonality and never increases the objective. Frobenius
        loss, fully observed in-memory data, solver='auto', no other constraint.
    sparseness_W : float or None, default=None
        Sparse NMF (nmfkit only; Hoyer [8]_): every column of W kept at this Hoyer
        sparseness, in [0, 1] (0: all entries equal, 1: a single nonzero entry), and at
        unit norm. Frobenius loss, fully observed in-memory data, solver='auto',
        alpha_W=0, one constraint per fit.
    sparseness_H : float or None, default=None
        As sparseness_W, for every row of H (then the penalty on H must be 0: alpha_H=0,
        or alpha_W=0 with alpha_H='same').

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The factor H: the components, one per row, in X's dtype (float32 or float64).
    n_components_ : int
        The number of components, as resolved from n_components.
    n_iter_ : int
        Iterations of the kept run (the last one with ``n_init=1``).
    reconstruction_err_ : float
        scikit-learn's measure of the fit: sqrt(2 D) for the divergence D of the returned
        W and H, without penalties; for the Frobenius loss the norm
        ``||X - W H||_F`` (over the observed entries).
    loss_history_ : ndarray of shape (n_checks,)
        The penalized objective of the kept run at each evaluation (nmfkit only): 1/2
        ``||X - W H||_F^2`` for Frobenius, D_beta otherwise, plus the penalties, in the
        data's units. It never increases (up to rounding). The final W solve that tol > 0
        adds is not in it.
    loss_history_iter_ : ndarray of shape (n_checks,)
        The iterations at which ``loss_history_`` was evaluated: 0, check_every,
        2 check_every, ..., and the last iteration (nmfkit only).
    sparseness_ : dict
        ``{'W': s_W, 'H': s_H}``: the mean Hoyer sparseness of W's columns and of H's rows
        after :meth:`fit` (nmfkit only; not set by a fit of a dask array or by
        :meth:`partial_fit`).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit. Defined only when X has feature names that are
        all strings.
    n_steps_ : int
        The number of batches :meth:`partial_fit` has processed (set by partial_fit only).

    See Also
    --------
    nmfkit.MiniBatchNMF : Mini-batch NMF, scikit-learn's MiniBatchNMF on nmfkit's streaming
        update.
    nmfkit.nmf : Fit in one call, returning W, H and the fit's information.
    nmfkit.non_negative_factorization : The one-call function of scikit-learn.
    nmfkit.rank_survey : Fits over a range of ranks, to choose n_components.
    sklearn.decomposition.NMF : The estimator this one replaces.

    Notes
    -----
    With X of shape (m, n) and rank k, NMF minimizes

    .. math::

        D_\beta(X \mid W H) + \sum_{F \in \{W, H\}} \left( l_1^F \sum_{ij} F_{ij}
        + \frac{l_2^F}{2} \|F\|_F^2 \right), \qquad W \ge 0,\ H \ge 0,

    where :math:`D_\beta` sums the beta-divergence over the (observed) entries:
    :math:`\frac12 \|X - WH\|_F^2` for beta = 2, the generalized Kullback-Leibler
    divergence :math:`\sum X \log(X / WH) - X + WH` for beta = 1, the Itakura-Saito
    divergence for beta = 0, and :math:`l_1^W = n \alpha_W \rho`,
    :math:`l_2^W = n \alpha_W (1 - \rho)`, :math:`l_1^H = m \alpha_H \rho`,
    :math:`l_2^H = m \alpha_H (1 - \rho)` with :math:`\rho` = l1_ratio.

    The multiplicative updates [1]_ [2]_ multiply each factor, entrywise, by a ratio of the
    negative to the positive part of the gradient, e.g. for Frobenius
    :math:`H \leftarrow H \circ (W^T X) / (W^T W H)`, raised to a power
    :math:`\gamma(\beta)` outside [1, 2]. Each is the minimizer of an auxiliary function
    that majorizes the objective and touches it at the current point, so the objective
    never increases. An entry that reaches 0 stays there; the floor clips every entry at a
    tiny positive value instead. HALS [5]_ minimizes the Frobenius objective exactly over
    one column of a factor at a time, so it is monotone too, and is usually much faster;
    [3]_ repeats cheap updates on the same products, [4]_ adds extrapolation.

    The factorization is not unique: W D and D^-1 H, for any positive diagonal D (and any
    permutation), fit as well, and different starts reach different local minima, which
    ``n_init`` restarts compare.

    References
    ----------
    .. [1] Lee, D. D., Seung, H. S. (2001). Algorithms for non-negative matrix
       factorization. Advances in Neural Information Processing Systems 13, 556-562.
    .. [2] Fevotte, C., Idier, J. (2011). Algorithms for nonnegative matrix factorization
       with the beta-divergence. Neural Computation 23(9), 2421-2456.
    .. [3] Gillis, N., Glineur, F. (2012). Accelerated multiplicative updates and
       hierarchical alternating least squares algorithms for nonnegative matrix
       factorization. Neural Computation 24(4), 1085-1105.
    .. [4] Ang, A. M. S., Gillis, N. (2019). Accelerating nonnegative matrix factorization
       algorithms using extrapolation. Neural Computation 31(2), 417-439.
    .. [5] Cichocki, A., Phan, A.-H. (2009). Fast local algorithms for large scale
       nonnegative matrix and tensor factorizations. IEICE Transactions on Fundamentals of
       Electronics, Communications and Computer Sciences E92-A(3), 708-721.
    .. [6] Ding, C., Li, T., Peng, W., Park, H. (2006). Orthogonal nonnegative matrix
       t-factorizations for clustering. Proceedings of the 12th ACM SIGKDD International
       Conference on Knowledge Discovery and Data Mining, 126-135.
    .. [7] Pompili, F., Gillis, N., Absil, P.-A., Glineur, F. (2014). Two algorithms for
       orthogonal nonnegative matrix factorization with application to clustering.
       Neurocomputing 141, 15-25.
    .. [8] Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness
       constraints. Journal of Machine Learning Research 5, 1457-1469.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import NMF, make_low_rank
    >>> X = make_low_rank(30, 20, 3, random_state=0)  # a nonnegative matrix of rank 3
    >>> model = NMF(n_components=3, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((30, 3), (3, 20))
    >>> bool(model.reconstruction_err_ < 0.01 * np.linalg.norm(X))
    True
    >>> bool(np.all(np.diff(model.loss_history_) <= 0))  # the objective never increases
    True
    >>> np.allclose(model.transform(X), W, rtol=1e-4, atol=1e-6)
    True

    The Kullback-Leibler loss, missing values and restarts:

    >>> X_missing = X.copy()
    >>> X_missing[0, 0] = np.nan
    >>> model = NMF(3, beta_loss="kullback-leibler", n_init=3, max_iter=500, random_state=0)
    >>> model.fit_transform(X_missing).shape
    (30, 3)

    Orthogonal NMF puts each sample in exactly one component, a clustering:

    >>> W = NMF(3, orthogonal="W", random_state=0).fit_transform(X)
    >>> np.unique(np.count_nonzero(W, axis=1))
    array([1])
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
        and 'auto', which picks 'mu' then); the solvers of fully observed data refuse it."""
        return not (isinstance(self.solver, str) and self.solver in FULLY_OBSERVED_SOLVERS)

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
        """Learn the factorization of X and return W.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame, dask array} of shape (n_samples, \
n_features)
            The nonnegative data. NaN entries of a dense X are missing values (see mask).
        y : None
            Ignored; present for the scikit-learn API.
        W : array-like of shape (n_samples, n_components), default=None
            The start of W with ``init='custom'`` (ignored otherwise, with a warning); with
            ``n_components='auto'`` its columns give the rank when H is not given.
        H : array-like of shape (n_components, n_features), default=None
            The start of H with ``init='custom'`` (ignored otherwise, with a warning); with
            ``n_components='auto'`` its rows give the rank.
        mask : array-like of bool or sparse matrix of shape (n_samples, n_features), \
default=None
            The observed entries (nmfkit only): a boolean array, True where X is observed,
            or for any X a sparse matrix whose stored nonzeros are the observed entries.
            The entries it marks False, and NaN entries, are missing: the updates and the
            objective sum over the observed entries only. Not supported for a dask X.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            W, the transformed data: with tol > 0, solved for the final components as
            :meth:`transform` solves it. A dask array for a dask X.

        Raises
        ------
        ValueError
            If X has negative entries; if X has missing values and the solver is 'cd',
            'hals' or 'ehals' (or a constraint is set); if beta_loss <= 0 and X has zeros;
            or if a parameter is invalid (:class:`nmfkit.InvalidParameterError`, a
            ValueError).

        Warns
        -----
        ConvergenceWarning
            When the kept run reached max_iter with tol > 0.

        See Also
        --------
        NMF.fit : The same fit, returning the estimator.
        NMF.transform : W for new data, the components fixed.

        Examples
        --------
        >>> from nmfkit import NMF, make_low_rank
        >>> X = make_low_rank(30, 20, 3, random_state=0)
        >>> NMF(3, random_state=0).fit_transform(X).shape
        (30, 3)
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
        """Update ``components_`` from one batch of rows of X.

        For data that does not fit in memory: call it on batches of rows, for as many
        passes as wanted. Each batch is fitted on its own with ``solver``, then the
        components are updated from the memory of the earlier batches, weighted down by
        ``forget_factor`` per batch. The first call starts ``components_`` from ``init`` on
        its batch (from H with ``init='custom'``), unless the model is already fitted, in
        which case it goes on from ``components_``. A batch of fewer than
        3 n_components rows cannot place the components: its rows are held and fitted
        with the next ones once there are that many. Missing values as in
        :meth:`fit_transform`. Sets ``n_steps_``, the batches seen; the feature names are
        checked before anything changes.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            One batch of rows of the nonnegative data.
        y : None
            Ignored; present for the scikit-learn API.
        W : None
            Not used: each batch solves its own W. Present for symmetry with
            :meth:`fit_transform`; with ``n_components='auto'`` its columns may give the
            rank.
        H : array-like of shape (n_components, n_features), default=None
            The start of the components with ``init='custom'``, read by the first call.
        mask : array-like of bool or sparse matrix of shape (n_samples, n_features), \
default=None
            The observed entries of the batch, as in :meth:`fit_transform`.

        Returns
        -------
        NMF
            The updated estimator (self).

        Raises
        ------
        ValueError
            If ``orthogonal`` or a sparseness constraint is set (they need the whole data),
            or if the batch's number of features differs from the fitted one.

        See Also
        --------
        nmfkit.MiniBatchNMF : Mini-batch steps over the whole data, with early stopping.

        Examples
        --------
        >>> from nmfkit import NMF, make_low_rank
        >>> X = make_low_rank(60, 20, 3, random_state=0)
        >>> model = NMF(3, random_state=0)
        >>> for batch in (X[:20], X[20:40], X[40:]):
        ...     model = model.partial_fit(batch)
        >>> model.n_steps_, model.components_.shape
        (3, (3, 20))
        """
        # 'auto' keeps the multiplicative updates for KL here (those the streaming update has
        # always run); an explicit solver='cd' fits each batch by coordinate descent
        spec = self._spec().multiplicative_kl()
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
        """Learn the factorization of X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame, dask array} of shape (n_samples, \
n_features)
            The nonnegative data (NaN entries are missing values).
        y : None
            Ignored; present for the scikit-learn API.
        **params : dict
            W, H and mask, as :meth:`fit_transform` takes them.

        Returns
        -------
        NMF
            The fitted estimator (self).

        See Also
        --------
        NMF.fit_transform : The same fit, returning W.

        Examples
        --------
        >>> from nmfkit import NMF, make_low_rank
        >>> X = make_low_rank(30, 20, 3, random_state=0)
        >>> model = NMF(3, random_state=0).fit(X)
        >>> model.components_.shape, model.n_features_in_
        ((3, 20), 20)
        """
        self.fit_transform(X, **params)
        return self

    def transform(self, X, mask=None):
        """W for X with ``components_`` fixed.

        Solves the convex problem of W for the fixed components, started from the clipped
        least-squares W and iterated to the solver's tolerance (HALS sweeps for the
        Frobenius loss of fully observed data, multiplicative steps otherwise; at most as
        ``max_iter`` says). It is deterministic, and with tol > 0 ``fit(X).transform(X)``
        agrees with ``fit_transform(X)``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame, dask array} of shape (n_samples, \
n_features)
            The nonnegative data; its feature names are checked against
            ``feature_names_in_`` as scikit-learn checks them.
        mask : array-like of bool or sparse matrix of shape (n_samples, n_features), \
default=None
            The observed entries, as in :meth:`fit_transform` (NaN entries are missing
            too). Not supported for a dask X.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            W, the transformed data (a lazy dask array, computed chunk by chunk, for a dask
            X).

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        ValueError
            If X does not have the fitted number of features.

        See Also
        --------
        NMF.inverse_transform : W H, back in the space of the data.

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit import NMF, make_low_rank
        >>> X = make_low_rank(40, 20, 3, random_state=0)
        >>> model = NMF(3, random_state=0).fit(X[:30])
        >>> W_new = model.transform(X[30:])  # rows the fit has not seen
        >>> W_new.shape, bool(np.all(W_new >= 0))
        ((10, 3), True)
        """
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
        """Transform data back to its original space: ``W @ components_``.

        Parameters
        ----------
        X : {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_components)
            The transformed data W. A DataFrame gives a DataFrame, as scikit-learn returns
            it.
        Xt : ndarray of shape (n_samples, n_components), default=None
            X's older name, where the installed scikit-learn still takes it (deprecated in
            1.5 and 1.6, gone in 1.7).
        W : ndarray of shape (n_samples, n_components), default=None
            X's older name, where the installed scikit-learn still takes it (deprecated in
            1.3 and 1.4).

        Returns
        -------
        {ndarray, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The approximation of the data, W H.

        Raises
        ------
        ValueError
            If X does not have n_components columns.

        See Also
        --------
        NMF.transform : The other way, W for data.

        Examples
        --------
        >>> import numpy as np
        >>> from nmfkit import NMF, make_low_rank
        >>> X = make_low_rank(30, 20, 3, random_state=0)
        >>> model = NMF(3, random_state=0)
        >>> X_approx = model.inverse_transform(model.fit_transform(X))
        >>> X_approx.shape, bool(np.abs(X_approx - X).max() < 0.01)
        ((30, 20), True)
        """
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

