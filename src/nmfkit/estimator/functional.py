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
