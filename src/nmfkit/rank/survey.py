"""Choosing the rank: the consensus survey of Brunet et al. (2004), as the R package NMF does it.

For each rank k, `rank_survey` runs n_runs factorizations of V from random starts, one after
the other on the same prepared matrix (V is validated and laid out for the kernels once).
Each run assigns every row of V (a sample, scikit-learn's convention) to the factor with the
largest entry in its row of W; the consensus matrix C_k is the fraction of runs in which two
rows land together, summarized by its cophenetic correlation and its dispersion (see
nmfkit.rank.consensus).

Alongside: rss = ||V - W H||_F^2 and evar = 1 - rss / ||V||_F^2 of the best run (lowest
objective) of each k, computed from the factors without forming W H.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.exceptions import ConvergenceWarning
from ..core.matrix import Matrix
from ..core.params import RANDOM_INITS, check_int
from ..core.spec import FitSpec
from ..core.threads import blas_single_threaded, effective_n_threads
from ..solvers import init as starts
from ..solvers.alternating import run
from .consensus import consensus_matrix, consensus_tree, dispersion, tree_cophenetic
from .ks import parse_ks

__all__ = ["rank_survey", "RankSurvey"]

# Above this many rows a consensus matrix (m x m doubles per rank) gets a warning.
_LARGE_M = 5000
# Inits that differ from run to run; a consensus over identical runs says nothing.


@dataclass
class RankSurvey:
    """The result of rank_survey: one entry per rank in ks (arrays aligned with ks).

    ks, cophenetic, dispersion, rss, evar, objective (the best run's objective, in the units
    of beta_loss) are arrays; consensus, order (the leaf order of the average-linkage tree,
    for an ordered heatmap) and factors ((W, H) of the best run) are dicts keyed by rank.
    """
    ks: np.ndarray
    cophenetic: np.ndarray
    dispersion: np.ndarray
    rss: np.ndarray
    evar: np.ndarray
    objective: np.ndarray
    consensus: dict = field(repr=False)
    order: dict = field(repr=False)
    factors: dict = field(repr=False)
    n_runs: int = 0
    beta_loss: str = "frobenius"

    def table(self):
        """The survey as a text table, one line per rank."""
        lines = [f"{'k':>4} {'cophenetic':>11} {'dispersion':>11} {'rss':>12} {'evar':>8}"]
        for i, k in enumerate(self.ks):
            lines.append(f"{k:>4} {self.cophenetic[i]:>11.4f} {self.dispersion[i]:>11.4f} "
                         f"{self.rss[i]:>12.5g} {self.evar[i]:>8.4f}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _frobenius_rss(M, W, Ht, n_threads):
    """||V - W H||_F^2 in the caller's units, from the factors (no m x n array)."""
    return 2.0 * M.divergence(W, Ht, 2.0, n_threads) * M.scale ** 2


def _runs_of_rank(M, V_init, spec, k, n_runs, init, rng, penalty, callback):
    """n_runs factorizations of the prepared V (M) at rank k, each from its own start drawn
    from rng on V_init (M.filled()). Returns the cluster of each row of V in each run
    (n_runs x m: the factor with the largest entry in the row's W), the best run (lowest
    objective) and how many runs stopped at max_iter before meeting tol."""
    floor = spec.floor_value(M, k)
    labels = np.empty((n_runs, M.shape[0]), dtype=np.intp)
    best, n_unconverged = None, 0
    for r in range(n_runs):
        W0, H0 = starts.initialize(V_init, k, init, rng)
        Wi, Hti = M.to_internal(W0, H0, scaled=True)
        res = run(M, Wi, Hti, beta=spec.beta, solver=spec.solver, max_iter=spec.max_iter,
                  tol=spec.tol, penalty=penalty, floor=floor, check_every=spec.check_every)
        n_unconverged += not res.converged and spec.tol > 0
        rows = res.Ht if M.transposed else res.W  # the factor along V's rows
        labels[r] = np.argmax(rows, axis=1)
        if best is None or res.history[-1] < best.history[-1]:
            best = res
        if callback is not None:
            callback(k, r, float(M.external_divergence([res.history[-1]], spec.beta)[0]))
    return labels, best, n_unconverged


def rank_survey(V, ks, *, n_runs=30, beta_loss="frobenius", solver="auto", init="random",
                max_iter=200, tol=1e-4, random_state=None, alpha_W=0.0, alpha_H="same",
                l1_ratio=0.0, floor="auto", check_every=10, mask=None, callback=None, verbose=0):
    """Survey the ranks ks of NMF on V by consensus clustering (Brunet et al. 2004).

    Parameters
    ----------
    V : array-like or scipy.sparse matrix (m, n), nonnegative
        Rows are the samples that are clustered (scikit-learn's convention; the R package
        NMF clusters columns, so pass V.T to compare).
    ks : iterable of int >= 2, or a string such as "2-8"
        The ranks to survey.
    n_runs : int, default=30
        Factorizations per rank, each from its own random start.
    beta_loss, solver, max_iter, tol, alpha_W, alpha_H, l1_ratio, floor, check_every
        As for nmfkit.NMF, used by every run.
    mask : None, or which entries of V are observed, as for NMF.fit (NaN in a dense V also
        marks a missing entry); rss and evar then sum over the observed entries.
    init : 'random' (default) or 'nndsvdar'
        The start of each run; it must differ between runs, so the deterministic
        NNDSVD variants are refused.
    random_state : None, int or numpy RandomState / Generator
        Seeds all runs, drawn in order (same arguments, same result).
    callback : callable or None
        Called as callback(k, run, objective) after each run (run = 0 .. n_runs-1).
    verbose : int, default=0
        Print one line per rank when > 0.

    Returns
    -------
    RankSurvey with ks, cophenetic, dispersion, rss, evar, objective (arrays aligned with
    ks) and consensus, order and factors (dicts keyed by k).

    Notes
    -----
    Each consensus matrix is m x m doubles (8 m^2 bytes per rank): for tens of thousands of
    rows, survey a subsample of the rows. The rss and evar come from the best run of each k
    (lowest objective) and are computed from its factors without forming W H.
    """
    from scipy.cluster.hierarchy import leaves_list
    ks = parse_ks(ks)
    n_runs = check_int(n_runs, "n_runs")
    if n_runs < 2:  # one run agrees with itself: cophenetic and dispersion would read 1
        warnings.warn("n_runs=1: cophenetic and dispersion measure how often different runs "
                      "cluster the rows alike, so they are NaN (undefined) with one run; use "
                      "10 or more runs (R's NMF package suggests 30 to 50).", RuntimeWarning,
                      stacklevel=2)
    if not isinstance(verbose, (bool, np.bool_)):  # True / False as for NMF
        verbose = check_int(verbose, "verbose", 0)
    verbose = int(verbose)
    if not isinstance(init, str) or init not in RANDOM_INITS:
        raise ValueError(f"init must be 'random' or 'nndsvdar' for a rank survey, got {init!r}: "
                         "the consensus compares runs from different starts, and the other "
                         "initializations give the same start every time.")
    if callback is not None and not callable(callback):  # called as (k, run, objective)
        raise TypeError(f"callback must be callable or None, got {callback!r}.")
    # the parameters every run shares, checked as NMF checks them
    spec = FitSpec.from_params(dict(
        init=init, solver=solver, beta_loss=beta_loss, tol=tol, max_iter=max_iter,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, floor=floor,
        check_every=check_every, random_state=random_state))
    rng = spec.random_state_checked()
    M = Matrix(V, "V", mask=mask)
    spec = spec.for_data(M)
    m = M.shape[0]
    if m < 2:
        raise ValueError(f"V has {m} row(s); a consensus needs at least 2 rows (samples).")
    # before any run, rather than at the first rank that cannot start
    starts.check_init_rank(init, max(ks), M.shape, ks)
    if m > _LARGE_M:
        warnings.warn(f"V has {m} rows: each consensus matrix is {m} x {m} "
                      f"({8 * m * m / 2**30:.1f} GiB per rank); survey a subsample of rows to "
                      "save memory and time.", UserWarning, stacklevel=2)
    penalty = spec.penalty(M)
    sq_norm = M.sq_norm * M.scale ** 2
    n_threads = effective_n_threads()
    V_init = M.filled()

    out = {name: np.empty(len(ks)) for name in
           ("cophenetic", "dispersion", "rss", "evar", "objective")}
    consensus, order, factors = {}, {}, {}
    n_unconverged = 0
    with blas_single_threaded():  # also keeps the SVD of nndsvdar thread-count independent
        for i, k in enumerate(ks):
            labels, best, n_missed = _runs_of_rank(M, V_init, spec, k, n_runs, init, rng,
                                                   penalty, callback)
            n_unconverged += n_missed
            C = consensus_matrix(labels)
            Z, d = consensus_tree(C)
            consensus[k], order[k] = C, leaves_list(Z)
            out["cophenetic"][i] = tree_cophenetic(Z, d) if n_runs > 1 else np.nan
            out["dispersion"][i] = dispersion(C) if n_runs > 1 else np.nan
            rss = _frobenius_rss(M, best.W, best.Ht, n_threads)
            out["rss"][i] = rss
            out["evar"][i] = 1.0 - rss / sq_norm if sq_norm > 0 else float("nan")
            out["objective"][i] = M.external_divergence([best.history[-1]], spec.beta)[0]
            factors[k] = M.to_external(best.W, best.Ht)
            if verbose:
                print(f"nmfkit rank_survey: k={k}: cophenetic {out['cophenetic'][i]:.4f}, "
                      f"dispersion {out['dispersion'][i]:.4f}, rss {rss:.5g}, "
                      f"evar {out['evar'][i]:.4f}")
    if n_unconverged:
        warnings.warn(f"{n_unconverged} of {n_runs * len(ks)} runs reached max_iter="
                      f"{spec.max_iter} before tol={spec.tol}; increase max_iter for "
                      "steadier consensus matrices.", ConvergenceWarning, stacklevel=2)
    return RankSurvey(ks=np.array(ks), consensus=consensus, order=order, factors=factors,
                      n_runs=n_runs, beta_loss=spec.loss_name, **out)
