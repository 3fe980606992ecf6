"""MiniBatchNMF: scikit-learn's MiniBatchNMF, driven by nmfkit's streaming update.

Drop-in for sklearn.decomposition.MiniBatchNMF (its parameters with their defaults, its
fitted attributes, methods and early stopping), where each mini-batch step is
nmfkit.NMF.partial_fit (see nmfkit.solvers.stream): the batch's own fit followed by the update of
the components from the statistics of the batches seen, which ends far closer to the full
fit than scikit-learn's one multiplicative step per batch.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ..core.arrays import check_dense, check_sparse, from_frame
from ..core.exceptions import ConvergenceWarning
from ..core.matrix import Matrix
from ..core.params import check_bool, check_float, check_int
from ..core.penalty import regularization
from ..core.threads import effective_n_threads
from .base import NMFTags
from .compat import EstimatorBase, NamesMixin, TransformerBase
from .nmf import NMF

__all__ = ["MiniBatchNMF"]


def _rows(X):
    """X as a float array (NaN for missing values) or a CSR matrix, whose row slices are
    the batches; a DataFrame is read as nmfkit.NMF reads it. The caller's X is not modified."""
    X = from_frame(X, "X")
    if sp.issparse(X):
        return check_sparse(X, "X")
    return check_dense(X, "X", allow_nan=True)


class MiniBatchNMF(NMFTags, NamesMixin, TransformerBase, EstimatorBase):
    """Mini-batch nonnegative matrix factorization X ~= W H on nmfkit's streaming update.

    A drop-in for :class:`sklearn.decomposition.MiniBatchNMF`: its parameters with their
    defaults, its fitted attributes, methods and early stopping, with their meanings. Each
    mini-batch step is what :meth:`nmfkit.NMF.partial_fit` does with one batch: the batch's
    own fit (W solved afresh for the current components), followed by the update of the
    components from the statistics of all the batches seen, weighted down by the forget
    factor. That ends far closer to the full fit's error than scikit-learn's one
    multiplicative step per batch.

    Batches are consecutive row slices of ``batch_size`` rows, in order and without
    shuffling, cycled for at most ``max_iter`` passes over the data. A batch of fewer than
    3 n_components rows cannot place the components: its rows wait for the next ones. Beyond
    scikit-learn: missing values (NaN entries of a dense X, pd.NA or None of a DataFrame)
    are left out of the fit, float32 data gives float32 factors, and X is never modified.

    Parameters
    ----------
    n_components : int, 'auto' or None, default='auto'
        The number of components; 'auto' takes it from the H given with
        ``init='custom'``, and is the number of features otherwise, as is None.
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'spa', 'custom'} or None, default=None
        The start of the components, computed by the first step from the first batch (as
        :meth:`nmfkit.NMF.partial_fit` starts; see :class:`nmfkit.NMF` for the choices).
        With 'custom', H is the start and W is not needed (each batch solves its own W).
    batch_size : int, default=1024
        Number of rows in each mini-batch (at most the number of samples).
    beta_loss : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}, default='frobenius'
        The beta-divergence minimized, as in :class:`nmfkit.NMF`. Each batch is fitted by
        nmfkit's 'auto' solver: extrapolated HALS for the Frobenius loss of fully observed
        data, multiplicative updates otherwise.
    tol : float, default=1e-4
        Early stopping on the components, as in scikit-learn: the fit stops when
        ``||H_new - H||_F / ||H_new||_F`` between two steps is at most tol; 0 disables it.
    max_no_improvement : int or None, default=10
        Early stopping on the cost, as in scikit-learn: the fit stops when the exponentially
        weighted average of the batch cost (the batch's penalized objective per row, for the
        components it arrives with and its W solved for them; weight
        batch rows / (n_samples + 1)) has not improved for this many steps. None disables
        it. The first step, and a step whose rows are held, are not checked.
    max_iter : int, default=200
        Maximum number of passes over the data; a ConvergenceWarning says when the fit
        stopped there with tol > 0.
    alpha_W : float, default=0.0
        Weight of the penalty on W, as in :class:`nmfkit.NMF` (scaled by n_features).
    alpha_H : float or 'same', default='same'
        Weight of the penalty on H (scaled by the rows of the batch); 'same' takes alpha_W.
    l1_ratio : float, default=0.0
        The mix of the penalties, in [0, 1]: 0 is l2, 1 is l1.
    forget_factor : float, default=0.7
        The weight of past information after one pass over the data, in [0, 1], as in
        scikit-learn: the memory of the earlier batches (the statistics sum X^T W and
        sum W^T W for the Frobenius loss of fully observed data, the span of the components
        otherwise) is weighted down by ``rho = forget_factor ** (batch_size / n_samples)`` at
        every batch. :meth:`partial_fit` computes rho from its first call's batch (so
        rho = forget_factor, unless that batch has more than batch_size rows). 1 keeps
        everything seen.
    fresh_restarts : bool, default=False
        Whatever this says, nmfkit solves each batch's W afresh for the current components
        at every step, because its statistics need that W (scikit-learn's default
        instead takes one multiplicative step from the W the batch had one pass earlier).
        True caps that solve at fresh_restarts_max_iter, False at transform's cap. The
        cap counts 10 x that many HALS sweeps for the Frobenius loss of fully observed data,
        that many multiplicative steps otherwise, each solve stopping once W has converged.
    fresh_restarts_max_iter : int, default=30
        The cap of each batch's W solve with ``fresh_restarts=True``.
    transform_max_iter : int or None, default=None
        The cap of :meth:`transform`'s W solve, and of the batches' with
        ``fresh_restarts=False``; None is max_iter.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the random starts; an int gives the same result on any number of threads.
    verbose : int or bool, default=0
        Whether to print the batch cost at each step and why the fit stopped.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The factor H: the components, one per row.
    n_components_ : int
        The number of components.
    n_iter_ : int
        Number of passes over the data started.
    n_steps_ : int
        Number of mini-batches processed (by :meth:`fit`, or by the calls of
        :meth:`partial_fit`).
    reconstruction_err_ : float
        sqrt(2 D) for the divergence D between the data and W H, W solved for the final
        components (the Frobenius norm ``||X - W H||_F`` for the Frobenius loss); set by
        :meth:`fit`.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during fit. Defined only when X has feature names that are
        all strings.

    See Also
    --------
    nmfkit.NMF : The full-batch estimator, whose partial_fit makes the steps.
    sklearn.decomposition.MiniBatchNMF : The estimator this one replaces.

    Notes
    -----
    fit_transform always returns W solved for the final components with transform's cap
    (scikit-learn does that only with ``fresh_restarts=True``; otherwise it returns the W
    left by the batches, computed for earlier components), so W and ``reconstruction_err_``
    describe the fitted components.

    Each step, for batch X_b of m_b rows: (1) the batch is factorized on its own, started
    from the current components, with the solver of a full fit; (2) for the Frobenius loss
    of fully observed data, the statistics A = sum X_j^T W_j and B = sum W_j^T W_j of the
    batches seen (weighted down by rho per batch, and carried to the batch's components)
    are updated, and H minimizes 1/2 tr(H B H^T) - tr(H A) plus the penalties by HALS
    sweeps; for other losses and missing values the part of the batch's components
    outside the span of the previous ones is shrunk by the batch's share of the rows seen.
    Mairal et al. (2010) and Lefevre, Bach & Fevotte (2011) describe the statistics on
    which scikit-learn's MiniBatchNMF is built.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import MiniBatchNMF, make_low_rank
    >>> X = make_low_rank(200, 20, 3, random_state=0)
    >>> model = MiniBatchNMF(n_components=3, batch_size=50, random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((200, 3), (3, 20))
    >>> bool(model.reconstruction_err_ < 0.01 * np.linalg.norm(X))
    True
    """

    def __init__(self, n_components="auto", *, init=None, batch_size=1024,
                 beta_loss="frobenius", tol=1e-4, max_no_improvement=10, max_iter=200,
                 alpha_W=0.0, alpha_H="same", l1_ratio=0.0, forget_factor=0.7,
                 fresh_restarts=False, fresh_restarts_max_iter=30, transform_max_iter=None,
                 random_state=None, verbose=0):
        self.n_components = n_components
        self.init = init
        self.batch_size = batch_size
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.max_iter = max_iter
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.forget_factor = forget_factor
        self.fresh_restarts = fresh_restarts
        self.fresh_restarts_max_iter = fresh_restarts_max_iter
        self.transform_max_iter = transform_max_iter
        self.random_state = random_state
        self.verbose = verbose

    # -- what nmfkit.NMF already does, shared ----------------------------------------------
    _check_names = NMF._check_names
    _check_n_features = NMF._check_n_features
    _check_fitted = NMF._check_fitted
    _n_features_out = NMF._n_features_out
    inverse_transform = NMF.inverse_transform

    def _model(self, rho=1.0):
        """The nmfkit.NMF that makes the steps, configured from these parameters."""
        return NMF(self.n_components, init=self.init, beta_loss=self.beta_loss, tol=self.tol,
                   max_iter=self.max_iter, random_state=self.random_state,
                   alpha_W=self.alpha_W, alpha_H=self.alpha_H, l1_ratio=self.l1_ratio,
                   verbose=self.verbose, forget_factor=rho)

    def _allows_nan(self):
        return self._model()._allows_nan()

    def _options(self, n_samples):
        """Every parameter checked (the shared ones by nmfkit.NMF); the underlying
        nmfkit.NMF for data of n_samples rows, and the batch rows."""
        check_int(self.max_iter, "max_iter")
        batch = min(check_int(self.batch_size, "batch_size"), n_samples)
        if self.max_no_improvement is not None:
            check_int(self.max_no_improvement, "max_no_improvement")
        forget = check_float(self.forget_factor, "forget_factor", 0.0, 1.0)
        check_bool(self.fresh_restarts, "fresh_restarts")
        check_int(self.fresh_restarts_max_iter, "fresh_restarts_max_iter")
        if self.transform_max_iter is not None:
            check_int(self.transform_max_iter, "transform_max_iter")
        model = self._model(forget ** (batch / n_samples))
        model._spec()  # every parameter of the model checked now
        return model, batch

    def _set_budget(self, model, fitting):
        """The cap of the W solves of the next call of the model (see the class docstring)."""
        transform_cap = self.max_iter if self.transform_max_iter is None \
            else self.transform_max_iter
        model.max_iter = self.fresh_restarts_max_iter if fitting and self.fresh_restarts \
            else transform_cap

    def _cost(self, model, batch, W, H):
        """(divergence, penalized objective) of the batch for W and H, the caller's units."""
        M = Matrix(batch)
        spec = model._spec()
        beta = spec.beta
        Wi, Hti = M.to_internal(W, H)
        div = float(M.external_divergence(M.divergence(Wi, Hti, beta, effective_n_threads()),
                                          beta))
        l1W, l2W, l1H, l2H = regularization(spec.alpha_W, spec.alpha_H, spec.l1_ratio,
                                            M.shape)
        W64, H64 = W.astype(np.float64), H.astype(np.float64)
        penalty = (l1W * W64.sum() + 0.5 * l2W * np.sum(W64 ** 2) + l1H * H64.sum()
                   + 0.5 * l2H * np.sum(H64 ** 2))
        return div, div + penalty

    # -- fitting ---------------------------------------------------------------------------
    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the factorization of X by mini-batch steps and return W.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The nonnegative data (NaN entries are missing values).
        y : None
            Ignored; present for the scikit-learn API.
        W : array-like of shape (n_samples, n_components), default=None
            Not used (each batch solves its own W); with ``init='custom'`` it may be passed
            along with H, as scikit-learn takes it. Ignored otherwise, with a warning.
        H : array-like of shape (n_components, n_features), default=None
            The start of the components with ``init='custom'``. Ignored otherwise, with a
            warning.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            W, solved for the final components (as :meth:`transform` solves it).

        Warns
        -----
        ConvergenceWarning
            When the fit stopped at max_iter passes with tol > 0.

        See Also
        --------
        MiniBatchNMF.fit : The same fit, returning the estimator.

        Examples
        --------
        >>> from nmfkit import MiniBatchNMF, make_low_rank
        >>> X = make_low_rank(200, 20, 3, random_state=0)
        >>> MiniBatchNMF(3, batch_size=50, random_state=0).fit_transform(X).shape
        (200, 3)
        """
        self._check_names(X, reset=True)
        data = _rows(X)
        n_samples, n_features = data.shape
        model, batch = self._options(n_samples)
        if model.init != "custom" and (W is not None or H is not None):
            warnings.warn("When init!='custom', provided W or H are ignored. Set  "
                          "init='custom' to use them as initialization.", RuntimeWarning,
                          stacklevel=2)
            W = H = None
        per_pass = -(-n_samples // batch)
        n_steps = self.max_iter * per_pass
        state = [None, None, 0]  # the early stopping's: ewa cost, its minimum, steps without
        for step in range(n_steps):
            start = (step % per_pass) * batch
            rows = data[start:start + batch]
            if step == 0:  # the start; the first step is not checked (as in scikit-learn)
                self._set_budget(model, fitting=True)
                model.partial_fit(rows, W=W, H=H)
                continue
            H_old = np.array(model.components_, dtype=np.float64)
            self._set_budget(model, fitting=True)
            model.partial_fit(rows)
            stream = model._stream
            if stream.held:
                # too few rows for the components: held until there are 3 per component
                # (nmfkit.solvers.stream.gather_rows); H has not moved, so nothing to check yet
                continue
            # the batch cost as the step computed it: the penalized objective per row of
            # the rows just fitted, for the components they arrived with and their W solved
            # for them (in the caller's units unless the data's magnitude is extreme)
            if self._converged(model.components_, H_old, stream.batch_cost,
                               stream.last_rows, n_samples, step, n_steps, state):
                break
        n_steps = step + 1
        self._set_budget(model, fitting=False)
        W_out = model.transform(data)
        H_out = model.components_
        self.reconstruction_err_ = float(np.sqrt(2.0 * self._cost(model, data, W_out,
                                                                  H_out)[0]))
        self._check_n_features(n_features, reset=True)
        self._nmf = model
        self.components_ = H_out
        self.n_components_ = H_out.shape[0]
        self.n_steps_ = n_steps
        self.n_iter_ = -(-n_steps // per_pass)
        if self.n_iter_ == self.max_iter and self.tol > 0:
            warnings.warn(f"Maximum number of iterations {self.max_iter} reached. Increase "
                          "it to improve convergence.", ConvergenceWarning, stacklevel=2)
        return W_out

    def _converged(self, H, H_old, cost, rows, n_samples, step, n_steps, state):
        """scikit-learn's early stopping after a step: state = [ewa, ewa_min, no_improvement],
        updated in place."""
        ewa, ewa_min, no_improvement = state
        if ewa is None:
            ewa = cost
        else:
            alpha = min(rows / (n_samples + 1), 1.0)
            ewa = ewa * (1 - alpha) + cost * alpha
        if self.verbose:
            print(f"Minibatch step {step + 1}/{n_steps}: mean batch cost: {cost}, "
                  f"ewa cost: {ewa}")
        H64 = H.astype(np.float64)
        norm = np.linalg.norm(H64)
        change = np.linalg.norm(H64 - H_old) / norm if norm > 0 else 0.0
        state[0] = ewa
        if self.tol > 0 and change <= self.tol:
            if self.verbose:
                print(f"Converged (small H change) at step {step + 1}/{n_steps}")
            return True
        if ewa_min is None or ewa < ewa_min:
            no_improvement, ewa_min = 0, ewa
        else:
            no_improvement += 1
        state[1], state[2] = ewa_min, no_improvement
        if self.max_no_improvement is not None and no_improvement >= self.max_no_improvement:
            if self.verbose:
                print(f"Converged (lack of improvement in objective function) at step "
                      f"{step + 1}/{n_steps}")
            return True
        return False

    def fit(self, X, y=None, W=None, H=None):
        """Learn the factorization of X by mini-batch steps.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The nonnegative data (NaN entries are missing values).
        y : None
            Ignored; present for the scikit-learn API.
        W : array-like of shape (n_samples, n_components), default=None
            As in :meth:`fit_transform`.
        H : array-like of shape (n_components, n_features), default=None
            The start of the components with ``init='custom'``.

        Returns
        -------
        MiniBatchNMF
            The fitted estimator (self).

        See Also
        --------
        MiniBatchNMF.fit_transform : The same fit, returning W.

        Examples
        --------
        >>> from nmfkit import MiniBatchNMF, make_low_rank
        >>> X = make_low_rank(200, 20, 3, random_state=0)
        >>> model = MiniBatchNMF(3, batch_size=50, random_state=0).fit(X)
        >>> model.components_.shape, model.n_steps_ >= 1
        ((3, 20), True)
        """
        self.fit_transform(X, W=W, H=H)
        return self

    def partial_fit(self, X, y=None, W=None, H=None):
        """One mini-batch step with the rows of X.

        The first call (on a model not fitted yet) records the feature names and starts
        the components from ``init`` on X (from H with ``init='custom'``); the later calls,
        and the calls after :meth:`fit`, go on from the components and the statistics
        there are. ``n_steps_`` counts the batches. X's feature names are checked before
        anything changes.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            One batch of rows of the nonnegative data.
        y : None
            Ignored; present for the scikit-learn API.
        W : array-like of shape (n_samples, n_components), default=None
            Not used (each batch solves its own W).
        H : array-like of shape (n_components, n_features), default=None
            The start of the components with ``init='custom'``, read by the first call.

        Returns
        -------
        MiniBatchNMF
            The updated estimator (self).

        See Also
        --------
        nmfkit.NMF.partial_fit : The step itself, with nmfkit's per-batch forget_factor.

        Examples
        --------
        >>> from nmfkit import MiniBatchNMF, make_low_rank
        >>> X = make_low_rank(60, 20, 3, random_state=0)
        >>> model = MiniBatchNMF(3, random_state=0)
        >>> for batch in (X[:20], X[20:40], X[40:]):
        ...     model = model.partial_fit(batch)
        >>> model.n_steps_, model.components_.shape
        (3, (3, 20))
        """
        # a model with components_ but no stream (components_ set by hand) starts afresh
        first = not (hasattr(self, "components_") and hasattr(self, "_nmf"))
        self._check_names(X, reset=first)
        data = _rows(X)
        if first:
            model, _ = self._options(data.shape[0])
        else:
            self._check_n_features(data.shape[1], reset=False)
            model = self._nmf
        self._set_budget(model, fitting=True)
        model.partial_fit(data, W=W if first else None, H=H if first else None)
        if first:
            self._check_n_features(data.shape[1], reset=True)
            self._nmf = model
        self.components_ = model.components_
        self.n_components_ = model.components_.shape[0]
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        return self

    def transform(self, X):
        """W for X with ``components_`` fixed.

        Solved as :meth:`nmfkit.NMF.transform` solves it, with
        ``max_iter=transform_max_iter`` (None: max_iter).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The nonnegative data; its feature names are checked as scikit-learn checks
            them.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            W, the transformed data.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.

        See Also
        --------
        MiniBatchNMF.inverse_transform : W H, back in the space of the data.

        Examples
        --------
        >>> from nmfkit import MiniBatchNMF, make_low_rank
        >>> X = make_low_rank(200, 20, 3, random_state=0)
        >>> model = MiniBatchNMF(3, batch_size=50, random_state=0).fit(X[:150])
        >>> model.transform(X[150:]).shape
        (50, 3)
        """
        self._check_fitted()
        self._check_names(X, reset=False)
        data = _rows(X)
        self._check_n_features(data.shape[1], reset=False)
        model = self._model()  # the current parameters, as scikit-learn's transform reads them
        model.components_ = self.components_
        self._set_budget(model, fitting=False)
        return model.transform(data)
