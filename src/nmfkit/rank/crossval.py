"""Choosing the rank by cross-validation: hide random entries, fit the rest, score the hidden.

For each repeat, a random fraction `holdout` of the entries of V is hidden through NMF's
missing-value mask; every k is fitted on the same observed entries, and the error of W H on
the hidden entries is the held-out error of that k. The training error falls as k grows;
the held-out error falls while k adds structure and rises once it fits noise, so its minimum
is the rank to choose (Owen & Perry 2009 bi-cross-validation has the same spirit; this is
the entry-wise variant, as in Kanagal & Sindhwani 2010).
"""

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..core.arrays import check_dense
from ..core.exceptions import ConvergenceWarning
from ..core.matrix import Matrix
from ..core.params import check_float, check_int
from ..core.random import legacy_random_state
from ..core.spec import FitSpec
from ..solvers.fit import fit_matrix
from ..solvers.init import check_init_rank
from ..solvers.many import plan_starts, run_starts
from .ks import parse_ks

__all__ = ["rank_cv", "RankCV"]

# Above this many entries a sparse V is refused: its mask lists every observed entry.
_MAX_DENSE_ENTRIES = 50_000_000


@dataclass
class RankCV:
    """The result of `rank_cv`: training and held-out errors of each rank, aligned with `ks`.

    Print it (or call `table`) for one line per rank; `best_k` is the rank with the smallest
    held-out error.

    Parameters
    ----------
    ks : ndarray of int
        The ranks, in the order given.
    test_error : ndarray of float
        The mean per-entry loss on the hidden entries (the squared error for Frobenius,
        the beta-divergence term otherwise), averaged over the repeats.
    train_error : ndarray of float
        The same on the observed entries the fits saw.
    test_errors : ndarray of shape (n_repeats, len(ks))
        The held-out error of each repeat.
    train_errors : ndarray of shape (n_repeats, len(ks))
        The training error of each repeat.
    holdout : float
        The fraction of entries hidden in each repeat.
    n_repeats : int
        The number of hidden sets.
    beta_loss : str
        The loss of the fits and of the errors.

    See Also
    --------
    nmfkit.rank_cv : Makes it.
    nmfkit.RankSurvey : The result of the consensus survey.

    Notes
    -----
    Every parameter is kept as the attribute of the same name.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import rank_cv
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10)) + 0.01 * rng.random((12, 10))  # rank 3 and noise
    >>> cv = rank_cv(V, [2, 3, 4], max_iter=2000, random_state=0)
    >>> cv.best_k
    3
    >>> cv.test_errors.shape
    (3, 3)
    """
    ks: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    test_errors: np.ndarray
    train_errors: np.ndarray
    holdout: float
    n_repeats: int
    beta_loss: str

    @property
    def best_k(self):
        """The rank with the smallest held-out error (the first, on a tie)."""
        return int(self.ks[int(np.argmin(self.test_error))])

    def table(self):
        """The errors as a text table: k, the held-out error and the training error.

        Returns
        -------
        str
            A header line, then one line per rank.
        """
        lines = [f"{'k':>4} {'held-out error':>15} {'train error':>12}"]
        for k, te, tr in zip(self.ks, self.test_error, self.train_error):
            lines.append(f"{k:>4} {te:>15.6g} {tr:>12.6g}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _entry_loss(v, p, beta):
    """Per-entry beta-divergence d_beta(v | p) (Frobenius: the squared error (v - p)^2)."""
    if beta == 2.0:
        return (v - p) ** 2
    p = np.maximum(p, np.finfo(np.float64).tiny)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if beta == 1.0:
            safe = np.where(v > 0, v, 1.0)
            return np.where(v > 0, v * np.log(safe / p), 0.0) - v + p
        if beta == 0.0:
            return v / p - np.log(v / p) - 1
        return (v ** beta + (beta - 1) * p ** beta - beta * v * p ** (beta - 1)) / (
            beta * (beta - 1))


def _holdout_mask(given, holdout, rng):
    """True = observed. Each given entry (given: bool array, False where V is NaN) is hidden
    with probability holdout, but every row and column with a given entry keeps one
    observed, so that its factor row is fitted, and at least one entry is hidden, so that
    there is something to score (a ValueError when V is too small for that)."""
    m, n = given.shape
    observed = (rng.random_sample((m, n)) >= holdout) & given
    for axis in (1, 0):
        lacking = np.flatnonzero(~observed.any(axis=axis) & given.any(axis=axis))
        for i in lacking:  # give it back one of its given entries, chosen at random
            line = np.flatnonzero(given[i] if axis == 1 else given[:, i])
            j = line[rng.randint(line.size)]
            observed[(i, j) if axis == 1 else (j, i)] = True
    if not (given & ~observed).any():
        rows, cols = observed.sum(axis=1), observed.sum(axis=0)
        spare = np.flatnonzero(observed & (rows[:, None] > 1) & (cols[None, :] > 1))
        if not spare.size:
            raise ValueError(f"V of shape {given.shape} with {int(given.sum())} observed "
                             "entries is too small to cross-validate: every row and column "
                             "must keep an observed entry, so none can be held out; use a "
                             "larger matrix.")
        observed.flat[spare[rng.randint(spare.size)]] = False
    return observed


def _fit_ranks(X, observed, ks, params):
    """The FitResult of NMF's fit of X on its observed entries at each rank of ks, in order
    (params: NMF's parameters but the rank). X is prepared once and shared by the fits,
    which run side by side across threads when one cannot use them (nmfkit.solvers.many)."""
    M = Matrix(X, "V", mask=observed)
    jobs = []
    for k in ks:
        spec = FitSpec.from_params(dict(params, n_components=k)).for_data(M)
        jobs.append(functools.partial(fit_matrix, spec, M, k, spec.start(k, M.shape)))
    return run_starts(jobs, plan_starts(M, max(ks), spec.beta, len(jobs)))


def rank_cv(V, ks, *, holdout=0.1, n_repeats=3, beta_loss="frobenius", solver="auto",
            init=None, max_iter=200, tol=1e-4, random_state=None, alpha_W=0.0,
            alpha_H="same", l1_ratio=0.0, callback=None):
    """Held-out error of NMF at each rank: hide entries, fit the rest, score the hidden.

    In each of `n_repeats` repeats a random fraction `holdout` of the entries of V is
    hidden through NMF's missing-value mask; every rank is fitted on the same observed
    entries and scored on the hidden ones. The training error falls as k grows; the
    held-out error falls while k adds structure and rises once it fits noise, so its
    minimum (`RankCV.best_k`) is the rank to choose.

    Parameters
    ----------
    V : {array-like, sparse matrix} of shape (n_samples, n_features)
        The nonnegative data. NaN entries are missing values: never fitted, never scored.
        A sparse V is scored on all its entries, zeros included (its zeros are data), so it
        is handled densely and may have at most 5e7 entries.
    ks : iterable of int or str
        The ranks, each >= 1, or a string such as ``"1-8"``.
    holdout : float, default=0.1
        The fraction of entries hidden in each repeat, in (0, 0.5]. Every row and column
        keeps an observed entry and at least one entry is hidden.
    n_repeats : int, default=3
        Independent hidden sets; every rank is scored on the same ones.
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float, \
default="frobenius"
        The loss of the fits and of the errors, as for `nmfkit.NMF`.
    solver : str, default="auto"
        As for `nmfkit.NMF`.
    init : str, optional
        The start of each fit, as for `nmfkit.NMF`; "custom" is refused.
    max_iter : int, default=200
        As for `nmfkit.NMF`.
    tol : float, default=1e-4
        As for `nmfkit.NMF`.
    random_state : None, int, RandomState or Generator, default=None
        Seeds the hidden sets and the fits.
    alpha_W : float, default=0.0
        As for `nmfkit.NMF`.
    alpha_H : float or "same", default="same"
        As for `nmfkit.NMF`.
    l1_ratio : float, default=0.0
        As for `nmfkit.NMF`.
    callback : callable, optional
        Called as ``callback(k, repeat, test_error)`` after each fit.

    Returns
    -------
    RankCV
        The errors of each rank (means and per repeat) and `best_k`.

    Raises
    ------
    ValueError
        If V is too small to hide an entry while every row and column keeps one, if a
        sparse V has more than 5e7 entries, if ``init="custom"``, or if the held-out errors
        overflow float64.
    TypeError
        If `callback` is not callable.

    Warns
    -----
    ConvergenceWarning
        When a fit stops at `max_iter` before meeting `tol`.

    See Also
    --------
    nmfkit.RankCV : The result.
    nmfkit.rank_survey : Choosing the rank by consensus clustering.

    Notes
    -----
    This is entry-wise cross-validation (Kanagal & Sindhwani 2010), in the spirit of Owen &
    Perry's (2009) bi-cross-validation. The errors are per-entry means of the loss
    d_beta(v | (W H)_ij), so that ranks are compared on the same scale.

    References
    ----------
    .. [1] Owen, A. B. & Perry, P. O. (2009). Bi-cross-validation of the SVD and the
       nonnegative matrix factorization. Annals of Applied Statistics 3(2), 564-594.
    .. [2] Kanagal, B. & Sindhwani, V. (2010). Rank selection in low-rank matrix
       approximations: a study of cross-validation for NMFs. NIPS workshop on low-rank
       methods for large-scale machine learning.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import rank_cv
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10)) + 0.01 * rng.random((12, 10))  # rank 3 and noise
    >>> cv = rank_cv(V, "1-5", max_iter=2000, random_state=0)
    >>> cv.best_k
    3
    >>> bool(cv.test_error[2] < cv.test_error[1] < cv.test_error[0])
    True
    >>> print(cv.table().splitlines()[0])
       k  held-out error  train error
    """
    ks = parse_ks(ks, low=1)
    holdout = check_float(holdout, "holdout", 0.0, 0.5, low_open=True)
    n_repeats = check_int(n_repeats, "n_repeats")
    # the parameters of every fit, checked as NMF checks them, before any work
    spec = FitSpec.from_params(dict(
        init=init, solver=solver, beta_loss=beta_loss, tol=tol, max_iter=max_iter,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, random_state=random_state))
    if callback is not None and not callable(callback):  # called as (k, repeat, test_error)
        raise TypeError(f"callback must be callable or None, got {callback!r}.")
    if isinstance(init, str) and init == "custom":
        raise ValueError("init='custom' needs a W and an H for every rank, which rank_cv does "
                         "not take; use init=None, 'random', 'nndsvda' or another built-in "
                         "start.")
    if sp.issparse(V):
        if V.shape[0] * V.shape[1] > _MAX_DENSE_ENTRIES:
            raise ValueError(f"V is sparse with {V.shape[0]} x {V.shape[1]} entries; rank_cv "
                             "scores every entry (zeros are data), which needs a mask of that "
                             "size: cross-validate a subsample of rows or columns.")
        V = V.toarray()
    # shape, dtype and values checked here, naming V (NaN entries are missing values)
    X = check_dense(V, "V", allow_nan=True)
    check_init_rank(init, max(ks), X.shape, ks)  # before any fit
    rng = legacy_random_state(spec.random_state)  # the draws below are RandomState's
    test = np.empty((n_repeats, len(ks)))
    train = np.empty((n_repeats, len(ks)))
    Xf = X.astype(np.float64)
    given = ~np.isnan(Xf)  # NaN entries are missing already: never hidden, never scored
    params = dict(init=init, solver=solver, beta_loss=beta_loss, tol=tol, max_iter=max_iter,
                  alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio)
    for r in range(n_repeats):
        observed = _holdout_mask(given, holdout, rng)
        hidden = given & ~observed
        seed = int(rng.randint(2**31))
        fits = _fit_ranks(X, observed, ks, dict(params, random_state=seed))
        for i, (k, result) in enumerate(zip(ks, fits)):
            if not result.converged and tol > 0:  # NMF's warning, from the caller's thread
                warnings.warn(f"Maximum number of iterations {max_iter} reached. Increase it "
                              "to improve convergence.", ConvergenceWarning, stacklevel=2)
            WH = result.W.astype(np.float64) @ result.H.astype(np.float64)
            loss = _entry_loss(Xf, WH, spec.beta)
            test[r, i] = loss[hidden].mean()
            train[r, i] = loss[observed].mean()
            if callback is not None:
                callback(k, r, float(test[r, i]))
    if not np.isfinite(test).all():  # argmin over inf would pick ks[0] without a word
        raise ValueError(f"The held-out errors overflow float64 (the largest entry of V is "
                         f"{np.nanmax(Xf):.3g}): divide V by a constant first; the ranking of "
                         "the ranks does not change.")
    return RankCV(ks=np.array(ks), test_error=test.mean(axis=0), train_error=train.mean(axis=0),
                  test_errors=test, train_errors=train, holdout=holdout, n_repeats=n_repeats,
                  beta_loss=spec.loss_name)
