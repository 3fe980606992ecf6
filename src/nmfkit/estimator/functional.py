"""The one-call forms: nmf() (nmfkit's) and non_negative_factorization() (scikit-learn's)."""

import warnings

import numpy as np

from ..core.arrays import check_factor
from ..core.exceptions import ConvergenceWarning
from ..core.matrix import Matrix
from ..core.params import check_bool
from ..solvers.fit import solve_components
from .nmf import NMF

__all__ = ["nmf", "non_negative_factorization"]


def nmf(X, n_components="auto", **params):
    """Factorize X ~= W H in one call: nmfkit's one-call form.

    Fits an :class:`nmfkit.NMF` with these parameters and returns its factors and what the
    fit recorded. For scikit-learn's one-call form use :func:`non_negative_factorization`,
    which differs in what code written for scikit-learn needs: it returns (W, H, n_iter)
    rather than (W, H, info), takes update_H (solve for W with H fixed), and takes W and H
    as its second and third positional arguments.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The nonnegative data (NaN entries are missing values; a dask array is fitted on
        the cluster).
    n_components : int, 'auto' or None, default='auto'
        The number of components, as in :class:`nmfkit.NMF`.
    **params : dict
        Any other parameter of :class:`nmfkit.NMF` (init, solver, beta_loss, tol,
        max_iter, n_init, random_state, ...), and W, H and mask as
        :meth:`nmfkit.NMF.fit_transform` takes them.

    Returns
    -------
    W : ndarray of shape (n_samples, n_components)
        The fitted W.
    H : ndarray of shape (n_components, n_features)
        The fitted components.
    info : dict
        'n_iter', 'reconstruction_err', 'loss_history' and 'loss_history_iter' (the fitted
        attributes of those names, without the trailing underscore) and the fitted
        estimator under 'model'.

    Raises
    ------
    ValueError
        As :meth:`nmfkit.NMF.fit_transform` raises it (a bad parameter, negative data,
        missing values with a Frobenius-only solver).

    See Also
    --------
    nmfkit.NMF : The estimator.
    nmfkit.non_negative_factorization : The one-call function of scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import nmf, make_low_rank
    >>> X = make_low_rank(30, 20, 3, random_state=0)
    >>> W, H, info = nmf(X, 3, random_state=0)
    >>> W.shape, H.shape
    ((30, 3), (3, 20))
    >>> sorted(info)
    ['loss_history', 'loss_history_iter', 'model', 'n_iter', 'reconstruction_err']
    >>> bool(info["loss_history"][-1] < info["loss_history"][0])
    True
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
    """Factorize X ~= W H in one call, as scikit-learn's non_negative_factorization.

    scikit-learn's function, with its parameters, meanings and return values, on nmfkit's
    solvers. ``update_H=True`` fits both factors (from W and H when ``init='custom'``, which
    then needs both). ``update_H=False`` solves for W only, with H fixed and required; a W
    passed then is not used (a RuntimeWarning says so, as in scikit-learn), W is solved to
    the precision :meth:`nmfkit.NMF.transform` uses, and n_iter is the number of W sweeps.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The nonnegative data (NaN entries are missing values).
    W : array-like of shape (n_samples, n_components), default=None
        With ``init='custom'`` and ``update_H=True``, the start of W. Not used with
        ``update_H=False``.
    H : array-like of shape (n_components, n_features), default=None
        With ``init='custom'`` and ``update_H=True``, the start of H; with
        ``update_H=False``, the fixed components (required).
    n_components : int, 'auto' or None, default='auto'
        The number of components. 'auto' takes it from H (its rows) or W (its columns) when
        given, and is the number of features otherwise; None is the number of features.
    init : {'random', 'nndsvd', 'nndsvda', 'nndsvdar', 'spa', 'custom'} or None, \
default=None
        The start, as in :class:`nmfkit.NMF`.
    update_H : bool, default=True
        True fits both factors; False solves for W with H fixed.
    solver : {'auto', 'mu', 'amu', 'hals', 'ehals', 'cd'}, default='auto'
        As in :class:`nmfkit.NMF`. The one default that differs from scikit-learn's ('cd'):
        'auto' picks extrapolated HALS for the Frobenius loss of fully observed data, 'mu'
        otherwise. Both minimize the same objective; 'auto' is faster and also takes the
        other losses and missing values, which scikit-learn's 'cd' refuses. 'cd' (nmfkit's
        parallel HALS, the same coordinate descent) and 'mu' are available as there.
    beta_loss : float or {'frobenius', 'kullback-leibler', 'itakura-saito'}, \
default='frobenius'
        The beta-divergence minimized.
    tol : float, default=1e-4
        Tolerance of the stopping rule, as in :class:`nmfkit.NMF`.
    max_iter : int, default=200
        Maximum number of iterations.
    alpha_W : float, default=0.0
        Weight of the penalty on W (scaled by n_features).
    alpha_H : float or 'same', default='same'
        Weight of the penalty on H (scaled by n_samples); 'same' takes alpha_W.
    l1_ratio : float, default=0.0
        The mix of the penalties, in [0, 1]: 0 is l2, 1 is l1.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the random starts.
    verbose : int or bool, default=0
        Whether to print the objective at each check.
    shuffle : bool, default=False
        Randomize the order of the components at each sweep of 'cd', 'hals' and 'ehals'.
    mask : array-like of bool or sparse matrix of shape (n_samples, n_features), \
default=None
        The observed entries (nmfkit only), as in :meth:`nmfkit.NMF.fit_transform`; NaN
        entries of a dense X are missing too.
    **params : dict
        The other parameters of :class:`nmfkit.NMF`, nmfkit's own (n_init, floor,
        check_every, callback, orthogonal, sparseness_W, sparseness_H).

    Returns
    -------
    W : ndarray of shape (n_samples, n_components)
        The fitted or solved W.
    H : ndarray of shape (n_components, n_features)
        The fitted components, or with ``update_H=False`` the given H (in X's dtype).
    n_iter : int
        Iterations of the fit, or with ``update_H=False`` the sweeps of the W solve.

    Raises
    ------
    ValueError
        If ``update_H=False`` and H is None or of the wrong shape, and as
        :meth:`nmfkit.NMF.fit_transform` raises it.

    Warns
    -----
    ConvergenceWarning
        When the fit, or the W solve, reached its iteration limit with tol > 0.

    See Also
    --------
    nmfkit.NMF : The estimator.
    nmfkit.nmf : The one-call form of nmfkit, which returns the fit's history too.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import non_negative_factorization, make_low_rank
    >>> X = make_low_rank(40, 20, 3, random_state=0)
    >>> W, H, n_iter = non_negative_factorization(X[:30], n_components=3, random_state=0)
    >>> W.shape, H.shape
    ((30, 3), (3, 20))

    W of new rows for the fitted components:

    >>> W_new, H_same, _ = non_negative_factorization(X[30:], H=H, n_components=3,
    ...                                                update_H=False)
    >>> W_new.shape, bool(np.array_equal(H_same, H))
    ((10, 3), True)
    """
    update_H = check_bool(update_H, "update_H")
    est = NMF(n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
              max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
              l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle, **params)
    est.set_output(transform="default")  # arrays, whatever scikit-learn's global output
    if update_H:
        W_out = est.fit_transform(X, W=W, H=H, mask=mask)
        return W_out, est.components_, est.n_iter_
    M = Matrix(X, mask=mask)
    spec = est._spec().for_data(M)
    if H is None:
        raise ValueError("H is required when update_H=False: pass the fixed components, an "
                         "array of shape (n_components, n_features).")
    if W is not None:
        warnings.warn("When update_H=False, the provided initial W is not used.",
                      RuntimeWarning, stacklevel=2)
    if n_components is None:
        k = M.shape[1]
    elif isinstance(n_components, str):  # 'auto' (the spec checked it)
        k = int(np.shape(H)[0]) if np.ndim(H) == 2 else 0
    else:
        k = int(n_components)
    shape = np.shape(H)
    if len(shape) == 2 and shape != (k, M.shape[1]):
        raise ValueError(f"H has shape {shape}, expected ({k}, {M.shape[1]}): n_components="
                         f"{n_components!r} rows by the {M.shape[1]} features of X (with "
                         "n_components='auto' the rank is taken from H).")
    H_fixed = check_factor(H, "H", (k, M.shape[1]), M.dtype)
    W_out, sweeps = solve_components(spec, M, H_fixed)
    limit = spec.polish_iter(M.masked)
    if sweeps >= limit and spec.tol > 0:
        warnings.warn(f"Maximum number of iterations {limit} reached (the W solve's limit "
                      "for this max_iter). Increase max_iter to improve convergence.",
                      ConvergenceWarning, stacklevel=2)
    return W_out, H_fixed, sweeps
