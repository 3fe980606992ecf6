"""Choosing the rank: the consensus survey of Brunet et al. (2004), as the R package NMF does it.

For each rank k, `rank_survey` runs n_runs factorizations of V from random starts, one after
the other on the same prepared matrix (V is validated and laid out for the kernels once).
Each run assigns every row of V (a sample, scikit-learn's convention) to the factor with the
largest entry in its row of W; the consensus matrix C_k is the fraction of runs in which two
rows land together. A rank whose clustering is reproducible has C_k close to 0/1 everywhere,
which two summaries measure:

- cophenetic correlation (Brunet et al. 2004): the Pearson correlation between the distances
  1 - C_k and the cophenetic distances of the average-linkage tree built on them;
- dispersion (Kim & Park 2007): the mean of 4 (C_ij - 1/2)^2 over all entries.

Alongside: rss = ||V - W H||_F^2 and evar = 1 - rss / ||V||_F^2 of the best run (lowest
objective) of each k, computed from the factors without forming W H.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core.random import check_random_state
from ..solvers import init as init_mod
from ..estimator.nmf import NMF, _check_problem, _floor
from ..core.exceptions import ConvergenceWarning
from ..core.matrix import Matrix
from ..solvers.alternating import run
from ..core.threads import blas_single_threaded, effective_n_threads
from ..core.params import check_int

__all__ = ["rank_survey", "RankSurvey", "consensus_matrix", "cophenetic_correlation",
           "dispersion", "parse_ks"]

# Above this many rows a consensus matrix (m x m doubles per rank) gets a warning.
_LARGE_M = 5000
# Inits that differ from run to run; a consensus over identical runs says nothing.
_RANDOM_INITS = ("random", "nndsvdar")


def parse_ks(ks, low=2):
    """Ranks as a tuple of distinct ints >= low, in the order given.

    Accepts an iterable of ints, a range, or a string such as "2-8", "2,4,6" or "2-4,8".
    """
    if isinstance(ks, str):
        values = []
        for part in ks.replace(" ", "").split(","):
            lo, sep, hi = part.partition("-")
            try:
                if sep:
                    a, b = int(lo), int(hi)
                    if b < a:
                        raise ValueError
                    values.extend(range(a, b + 1))
                else:
                    values.append(int(lo))
            except ValueError:
                raise ValueError(f"ks: cannot read {part!r} in {ks!r}; write ranks as '2-8', "
                                 "'2,4,6' or '2-4,8'.") from None
        ks = values
    try:
        ks = list(ks)
    except TypeError:
        raise TypeError(f"ks must be an iterable of integers (e.g. range(2, 9)) or a string "
                        f"such as '2-8', got {ks!r}.") from None
    if not ks:
        raise ValueError("ks is empty; give at least one rank, e.g. ks=range(2, 9).")
    out = tuple(check_int(k, "each rank in ks", low) for k in ks)
    if len(set(out)) != len(out):
        raise ValueError(f"ks has repeated ranks: {list(out)}; give each rank once.")
    return out


def consensus_matrix(labels):
    """C (m x m): the fraction of label vectors in which rows i and j have the same label.

    labels : int array (n_runs, m), one cluster label per row of V and run.
    Computed as Z Z^T / n_runs with Z the one-hot (m x sum of label counts) matrix of all
    runs side by side, one matrix product.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] < 1:
        raise ValueError(f"labels must be 2-D (n_runs, n_rows) with n_runs >= 1, got shape "
                         f"{labels.shape}.")
    n_runs, m = labels.shape
    blocks = []
    for lab in labels:
        _, inverse = np.unique(lab, return_inverse=True)
        Z = np.zeros((m, inverse.max() + 1 if m else 0))
        Z[np.arange(m), inverse] = 1.0
        blocks.append(Z)
    Z = np.hstack(blocks)
    C = Z @ Z.T
    C /= n_runs
    return C


def _check_consensus(C):
    """A consensus matrix: square, at least 2 x 2, every entry a fraction in [0, 1]."""
    try:
        C = np.asarray(C, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"the consensus matrix must be a square array of fractions in [0, 1] "
                        f"(e.g. RankSurvey.consensus[k]), got a {type(C).__name__}.") from None
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] < 2:
        raise ValueError(f"the consensus matrix must be square with at least 2 rows, got shape "
                         f"{C.shape}.")
    if not np.all((C >= 0) & (C <= 1)):  # also False for NaN
        bad = C[~((C >= 0) & (C <= 1))][0]
        raise ValueError(f"the consensus matrix holds fractions of runs, in [0, 1]; it has "
                         f"the entry {float(bad):g}: pass RankSurvey.consensus[k] or "
                         "consensus_matrix(labels).")
    return C


def _tree(C):
    """Average-linkage tree on the distances 1 - C, and those distances (condensed)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform
    D = 1.0 - C
    np.fill_diagonal(D, 0.0)
    d = squareform(np.clip(D, 0.0, 1.0), checks=False)
    return linkage(d, method="average"), d


def cophenetic_correlation(C):
    """Pearson correlation of 1 - C with the cophenetic distances of its average-linkage tree.

    1 for a consensus of zeros and ones (perfectly reproducible clusters); lower as the
    clustering varies between runs. NaN when all distances are equal (as R's NMF gives NA),
    e.g. when every run puts all rows in one cluster.
    """
    return _cophenetic(*_tree(_check_consensus(C)))


def _cophenetic(Z, d):
    from scipy.cluster.hierarchy import cophenet
    return float("nan") if np.ptp(d) == 0 else float(cophenet(Z, d)[0])


def dispersion(C):
    """Kim & Park (2007): mean over all entries of 4 (C_ij - 1/2)^2; 1 for a 0/1 consensus."""
    C = _check_consensus(C)
    return float(np.mean(4.0 * (C - 0.5) ** 2))


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
    if not isinstance(init, str) or init not in _RANDOM_INITS:
        raise ValueError(f"init must be 'random' or 'nndsvdar' for a rank survey, got {init!r}: "
                         "the consensus compares runs from different starts, and the other "
                         "initializations give the same start every time.")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}.")
    # One estimator validates the shared parameters exactly as NMF does.
    proto = NMF(ks[0], init=init, solver=solver, beta_loss=beta_loss, tol=tol,
                max_iter=max_iter, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
                floor=floor, check_every=check_every)
    opts = proto._options()
    rng = check_random_state(random_state)
    M = Matrix(V, "V", mask=mask)
    _check_problem(M, opts)
    m = M.shape[0]
    if m < 2:
        raise ValueError(f"V has {m} row(s); a consensus needs at least 2 rows (samples).")
    # before any run, rather than at the first rank that cannot start
    init_mod.check_init_rank(init, max(ks), M.shape, ks)
    if m > _LARGE_M:
        warnings.warn(f"V has {m} rows: each consensus matrix is {m} x {m} "
                      f"({8 * m * m / 2**30:.1f} GiB per rank); survey a subsample of rows to "
                      "save memory and time.", UserWarning, stacklevel=2)
    penalty = proto._penalty(M, opts["beta"])
    sq_norm = M.sq_norm * M.scale ** 2
    n_threads = effective_n_threads()
    Vext = M.for_init()

    out = {name: np.empty(len(ks)) for name in
           ("cophenetic", "dispersion", "rss", "evar", "objective")}
    consensus, order, factors = {}, {}, {}
    n_unconverged = 0
    with blas_single_threaded():
        for i, k in enumerate(ks):
            floor_k = _floor(M, k, floor)
            labels = np.empty((n_runs, m), dtype=np.intp)
            best = None
            for r in range(n_runs):
                W0, H0 = init_mod.initialize(Vext, k, init, rng)
                Wi, Hti = M.to_internal(W0, H0, scaled=True)
                res = run(M, Wi, Hti, beta=opts["beta"], solver=opts["solver"],
                          max_iter=opts["max_iter"], tol=opts["tol"], penalty=penalty,
                          floor=floor_k, check_every=opts["check_every"])
                n_unconverged += not res.converged and opts["tol"] > 0
                rows = res.Ht if M.transposed else res.W  # the factor along V's rows
                labels[r] = np.argmax(rows, axis=1)
                if best is None or res.history[-1] < best.history[-1]:
                    best = res
                if callback is not None:
                    callback(k, r, float(M.external_divergence([res.history[-1]],
                                                               opts["beta"])[0]))
            C = consensus_matrix(labels)
            Z, d = _tree(C)
            consensus[k], order[k] = C, leaves_list(Z)
            out["cophenetic"][i] = _cophenetic(Z, d) if n_runs > 1 else np.nan
            out["dispersion"][i] = dispersion(C) if n_runs > 1 else np.nan
            rss = _frobenius_rss(M, best.W, best.Ht, n_threads)
            out["rss"][i] = rss
            out["evar"][i] = 1.0 - rss / sq_norm if sq_norm > 0 else float("nan")
            out["objective"][i] = M.external_divergence([best.history[-1]], opts["beta"])[0]
            factors[k] = M.to_external(best.W, best.Ht)
            if verbose:
                print(f"nmfkit rank_survey: k={k}: cophenetic {out['cophenetic'][i]:.4f}, "
                      f"dispersion {out['dispersion'][i]:.4f}, rss {rss:.5g}, "
                      f"evar {out['evar'][i]:.4f}")
    if n_unconverged:
        warnings.warn(f"{n_unconverged} of {n_runs * len(ks)} runs reached max_iter="
                      f"{opts['max_iter']} before tol={opts['tol']}; increase max_iter for "
                      "steadier consensus matrices.", ConvergenceWarning, stacklevel=2)
    loss = {2.0: "frobenius", 1.0: "kullback-leibler", 0.0: "itakura-saito"}.get(
        opts["beta"], f"beta={opts['beta']:g}")
    return RankSurvey(ks=np.array(ks), consensus=consensus, order=order, factors=factors,
                      n_runs=n_runs, beta_loss=loss, **out)
