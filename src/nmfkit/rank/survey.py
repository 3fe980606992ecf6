"""Choosing the rank: the consensus survey of Brunet et al. (2004), as the R package NMF does it.

For each rank k, `rank_survey` runs n_runs factorizations of V from random starts on the same
prepared matrix (V is validated and laid out for the kernels once): side by side across the
threads when one run cannot use them (nmfkit.solvers.many), with the results of running them
one after the other.
Each run assigns every row of V (a sample, scikit-learn's convention) to the factor with the
largest entry in its row of W; the consensus matrix C_k is the fraction of runs in which two
rows land together, summarized by its cophenetic correlation and its dispersion (see
nmfkit.rank.consensus).

Alongside: rss = ||V - W H||_F^2 and evar = 1 - rss / ||V||_F^2 of the best run (lowest
objective) of each k, computed from the factors without forming W H; the silhouettes of the
samples (clustered by the consensus) and of the features (clustered by the best run's H), as
R's NMF package reports them; the stability of the components across the runs (Kotliar et al.
2019; nmfkit.rank.stability); and, on request, the same survey of a copy of V with every
column shuffled, to compare against chance (Frigyesi & Hoglund 2008; nmfkit.rank.chance).
"""

import functools
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
from ..solvers.many import plan_starts, run_starts
from .chance import shuffle_generator, shuffled_copy
from .consensus import consensus_matrix, consensus_tree, dispersion, tree_cophenetic
from .ks import parse_ks
from .stability import (
    component_stability,
    consensus_clusters,
    feature_silhouette,
    silhouette_values,
)

__all__ = ["rank_survey", "RankSurvey"]

# Above this many rows a consensus matrix (m x m doubles per rank) gets a warning.
_LARGE_M = 5000
# The per-rank arrays of a RankSurvey, in the order rank_survey fills them.
_MEASURES = ("cophenetic", "dispersion", "rss", "evar", "objective", "stability",
             "factor_distance", "silhouette_samples", "silhouette_features")


@dataclass
class RankSurvey:
    """The result of `rank_survey`: the measures of each surveyed rank, aligned with `ks`.

    Arrays hold one value per rank of `ks`; dicts are keyed by the rank. `rank_survey`
    builds it; print it (or call `table`) for one line per rank.

    Parameters
    ----------
    ks : ndarray of int
        The surveyed ranks, in the order given.
    cophenetic : ndarray of float
        The cophenetic correlation of each rank's consensus matrix (Brunet et al. 2004): 1
        when every run clusters the samples alike; NaN with one run.
    dispersion : ndarray of float
        The dispersion of each consensus matrix (Kim & Park 2007), in [0, 1]: 1 when every
        entry is 0 or 1; NaN with one run.
    rss : ndarray of float
        The residual sum of squares ||V - W H||_F^2 of the best run (lowest objective),
        over the observed entries.
    evar : ndarray of float
        The explained variance 1 - rss / ||V||_F^2 of the best run.
    objective : ndarray of float
        The best run's objective, in the units of `beta_loss`.
    consensus : dict of {int: ndarray of shape (n_samples, n_samples)}
        The consensus matrix: the fraction of runs in which two samples share a cluster.
    order : dict of {int: ndarray of shape (n_samples,)}
        The leaf order of the consensus matrix's average-linkage tree (for an ordered
        heatmap, as `nmfkit.plot_consensus` draws it).
    factors : dict of {int: tuple of ndarray}
        (W, H) of the best run, W of shape (n_samples, k), H of shape (k, n_features).
    n_runs : int, default=0
        The factorizations per rank.
    beta_loss : str, default="frobenius"
        The loss of the runs.
    stability : ndarray of float, optional
        The mean silhouette (cosine distance, in [-1, 1]) of all runs' components clustered
        into k (Kotliar et al. 2019); NaN with one run or ``stability=False``.
    factor_distance : ndarray of float, optional
        The mean over pairs of runs of the distance between their sets of components,
        ignoring order and scale, in [0, 1] (all pairs up to 32 runs, about 500 pairs in a
        fixed pattern above); NaN with one run or ``stability=False``.
    silhouette_samples : ndarray of float, optional
        The mean silhouette of the samples in `sample_clusters`, with the distance
        1 - consensus (Rousseeuw 1987); NaN with one run.
    silhouette_features : ndarray of float, optional
        The mean silhouette of the features clustered by their dominant component in the
        best run's H, cosine distance.
    component_stability : dict of {int: ndarray of shape (k,)}, optional
        The mean silhouette of each consensus component's cluster; empty with one run or
        ``stability=False``.
    consensus_components : dict of {int: ndarray of shape (k, n_features)}, optional
        The median of each cluster of components, in the order of the best run's components
        and at their scale; empty with one run or ``stability=False``.
    sample_clusters : dict of {int: ndarray of shape (n_samples,)}, optional
        Each sample's cluster: the consensus tree cut into k clusters.
    randomized : RankSurvey, optional
        The survey of V with each column shuffled (``rank_survey(..., randomized=True)``),
        whose own `randomized` is None; None otherwise.

    See Also
    --------
    nmfkit.rank_survey : Makes it.
    nmfkit.plot_rank_survey : Draws its measures against k.
    nmfkit.plot_consensus : Draws a consensus matrix with its tree.

    Notes
    -----
    Every parameter is kept as the attribute of the same name.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import rank_survey
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10))  # 12 samples in 3 groups
    >>> survey = rank_survey(V, [2, 3], n_runs=5, random_state=0)
    >>> survey.ks
    array([2, 3])
    >>> survey.consensus[3].shape, survey.factors[3][1].shape
    ((12, 12), (3, 10))
    >>> print(survey.table().splitlines()[0].split()[:5])
    ['k', 'cophenetic', 'dispersion', 'rss', 'evar']
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
    stability: np.ndarray = None
    factor_distance: np.ndarray = None
    silhouette_samples: np.ndarray = None
    silhouette_features: np.ndarray = None
    component_stability: dict = field(default=None, repr=False)
    consensus_components: dict = field(default=None, repr=False)
    sample_clusters: dict = field(default=None, repr=False)
    randomized: "RankSurvey" = field(default=None, repr=False)

    def table(self):
        """The survey as a text table, one line per rank.

        The columns: k, cophenetic, dispersion, rss, evar, then stability, factor distance
        ('distance'), the samples' and the features' silhouettes, and with a randomized
        survey its cophenetic and rss ('random_coph', 'random_rss').

        Returns
        -------
        str
            A header line, then one line per rank.
        """
        extra = [("stability", self.stability), ("distance", self.factor_distance),
                 ("sil_samples", self.silhouette_samples),
                 ("sil_features", self.silhouette_features)]
        if self.randomized is not None:
            extra += [("random_coph", self.randomized.cophenetic),
                      ("random_rss", self.randomized.rss)]
        extra = [(name, values) for name, values in extra if values is not None]
        lines = [f"{'k':>4} {'cophenetic':>11} {'dispersion':>11} {'rss':>12} {'evar':>8}"
                 + "".join(f" {name:>12}" for name, _ in extra)]
        for i, k in enumerate(self.ks):
            lines.append(f"{k:>4} {self.cophenetic[i]:>11.4f} {self.dispersion[i]:>11.4f} "
                         f"{self.rss[i]:>12.5g} {self.evar[i]:>8.4f}"
                         + "".join(f" {values[i]:>12.5g}" if name == "random_rss" else
                                   f" {values[i]:>12.4f}" for name, values in extra))
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _frobenius_rss(M, W, Ht, n_threads):
    """||V - W H||_F^2 in the caller's units, from the factors (no m x n array)."""
    return 2.0 * M.divergence(W, Ht, 2.0, n_threads) * M.scale ** 2


def _runs_of_rank(M, V_init, spec, k, n_runs, init, rng, penalty, callback, components):
    """n_runs factorizations of the prepared V (M) at rank k, each from its own start drawn
    from rng on V_init (M.filled()). Returns the cluster of each row of V in each run
    (n_runs x m: the factor with the largest entry in the row's W), the best run (lowest
    objective), its index and how many runs stopped at max_iter before meeting tol.
    components: None, or a float64 array (n_runs * k, n) that receives each run's H (rows
    r*k .. r*k + k - 1 for run r; internal scaling, the same up to one factor)."""
    floor = spec.floor_value(M, k)
    # a run's objective is only read at its end (the best run, the callback): with tol=0
    # nothing stops a run early, and the checks in between would only fill its history
    check_every = spec.check_every if spec.tol > 0 else max(1, spec.max_iter)
    labels = np.empty((n_runs, M.shape[0]), dtype=np.intp)
    best, best_run, n_unconverged = None, 0, 0
    jobs = []  # every start drawn first, in the order of the runs
    for _ in range(n_runs):
        W0, H0 = starts.initialize(V_init, k, init, rng)
        Wi, Hti = M.to_internal(W0, H0, scaled=True)
        jobs.append(functools.partial(run, M, Wi, Hti, beta=spec.beta, solver=spec.solver,
                                      max_iter=spec.max_iter, tol=spec.tol, penalty=penalty,
                                      floor=floor, check_every=check_every))
    # side by side when one run cannot use the threads; the results come back in order
    for r, res in enumerate(run_starts(jobs, plan_starts(M, k, spec.beta, n_runs))):
        n_unconverged += not res.converged and spec.tol > 0
        jobs[r] = None  # its factors live on in res (the best run's) only
        rows = res.Ht if M.transposed else res.W  # the factor along V's rows
        labels[r] = np.argmax(rows, axis=1)
        if components is not None:  # the factor along V's columns: H^T
            components[r * k:(r + 1) * k] = (res.W if M.transposed else res.Ht).T
        if best is None or res.history[-1] < best.history[-1]:
            best, best_run = res, r
        if callback is not None:
            callback(k, r, float(M.external_divergence([res.history[-1]], spec.beta)[0]))
    return labels, best, best_run, n_unconverged


def rank_survey(V, ks, *, n_runs=30, beta_loss="frobenius", solver="auto", init="random",
                max_iter=200, tol=1e-4, random_state=None, alpha_W=0.0, alpha_H="same",
                l1_ratio=0.0, floor="auto", check_every=10, mask=None, callback=None, verbose=0,
                stability=True, randomized=False):
    """Survey the ranks of NMF on V by consensus clustering (Brunet et al. 2004).

    For each rank k of `ks`, `n_runs` factorizations of V start from different random
    points. Each run puts every row of V (a sample) in the component with the largest entry
    in its row of W; the consensus matrix holds how often two samples share a cluster across
    the runs, summarized by its cophenetic correlation and its dispersion. A rank whose
    clusters come out the same in every run (cophenetic near 1) is one the data supports.
    The survey also reports the fit of the best run (rss, evar), the silhouettes of samples
    and features, and how stable the components are across the runs.

    Parameters
    ----------
    V : {array-like, sparse matrix} of shape (n_samples, n_features)
        The nonnegative data. Its rows are the samples that are clustered (scikit-learn's
        convention; R's NMF package clusters columns, so pass V.T to compare).
    ks : iterable of int or str
        The ranks to survey, each >= 2, or a string such as ``"2-8"`` or ``"2,4,6"``.
    n_runs : int, default=30
        Factorizations per rank, each from its own random start. With 1, cophenetic,
        dispersion and the samples' silhouettes are NaN (with a RuntimeWarning).
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float, \
default="frobenius"
        The loss of every run, as for `nmfkit.NMF`.
    solver : str, default="auto"
        The solver of every run, as for `nmfkit.NMF`, except that 'auto' runs the
        multiplicative updates for the Kullback-Leibler loss (Brunet's algorithm, as R's
        NMF package runs it); solver='cd' asks for coordinate descent.
    init : {"random", "nndsvdar"}, default="random"
        The start of each run. It must differ between runs, so the deterministic
        initializations (NNDSVD, NNDSVDa, SPA, custom) are refused.
    max_iter : int, default=200
        The iterations of each run at most.
    tol : float, default=1e-4
        The stopping tolerance of each run, as for `nmfkit.NMF`.
    random_state : None, int, RandomState or Generator, default=None
        Seeds all runs, drawn in order: the same arguments give the same survey.
    alpha_W : float, default=0.0
        The regularization of W, as for `nmfkit.NMF`.
    alpha_H : float or "same", default="same"
        The regularization of H, as for `nmfkit.NMF`.
    l1_ratio : float, default=0.0
        The share of l1 in the regularization, as for `nmfkit.NMF`.
    floor : float or "auto", default="auto"
        The floor of the factors' entries, as for `nmfkit.NMF`.
    check_every : int, default=10
        Iterations between convergence checks, as for `nmfkit.NMF`.
    mask : array-like of bool or sparse matrix, optional
        Which entries of V are observed, as for ``NMF.fit`` (NaN in a dense V also marks a
        missing entry); rss and evar then sum over the observed entries.
    callback : callable, optional
        Called as ``callback(k, run, objective)`` after each run (run = 0 .. n_runs - 1);
        with ``randomized=True`` also for the runs on the randomized copy, after all the
        others.
    verbose : int or bool, default=0
        Print one line per rank when > 0.
    stability : bool, default=True
        Measure how stable the components are across the runs (Kotliar et al. 2019): the
        fields stability, component_stability, factor_distance and consensus_components.
        It keeps every run's H of a rank, n_runs * k * n_features doubles (30 runs at
        k = 20 of 50,000 features: 240 MB while that rank is surveyed). False skips it
        (those fields are then NaN and empty dicts).
    randomized : bool, default=False
        Also survey a copy of V with the entries of each column shuffled independently
        (Frigyesi & Hoglund 2008; R's NMF ``randomize``), with the same parameters and
        random numbers drawn from the same random state after the real survey's; kept as
        ``survey.randomized``. Missing entries move with their column's values; a sparse V
        stays sparse. It doubles the time and holds a second copy of V.

    Returns
    -------
    RankSurvey
        The measures of each rank (arrays aligned with `ks`: cophenetic, dispersion, rss,
        evar, objective, stability, factor_distance, silhouette_samples,
        silhouette_features), the consensus matrices, their orders, the best runs'
        factors and the sample clusters (dicts keyed by k), and `randomized`.

    Raises
    ------
    ValueError
        If a rank is below 2 or above what `init` can start from, if V has fewer than two
        rows, or if `init` is not a random initialization.
    TypeError
        If `callback` is not callable, or `stability` or `randomized` is not a bool.

    Warns
    -----
    ConvergenceWarning
        When runs stop at `max_iter` before meeting `tol`.
    UserWarning
        When V has more than 5000 rows (each consensus matrix is n_samples^2 doubles).

    See Also
    --------
    nmfkit.RankSurvey : The result.
    nmfkit.rank_cv : Choosing the rank by the error on held-out entries.
    nmfkit.plot_rank_survey : The survey's measures against k.
    nmfkit.plot_consensus : The consensus map of one rank.

    Notes
    -----
    The cophenetic correlation is the correlation between the distances 1 - C of the
    consensus matrix C and the cophenetic distances of its average-linkage tree (Brunet et
    al. 2004); the dispersion is the mean of 4 (C_ij - 1/2)^2 (Kim & Park 2007). Brunet et
    al. choose the first k where the cophenetic correlation starts to fall; Frigyesi &
    Hoglund (2008) compare the decrease of rss with that on randomized data.

    Each consensus matrix is n_samples x n_samples doubles (8 n^2 bytes per rank): for tens
    of thousands of rows, survey a subsample of the rows. The rss and evar come from the
    best run of each k (lowest objective) and are computed from its factors without forming
    W H. The silhouettes follow Rousseeuw (1987).

    References
    ----------
    .. [1] Brunet, J.-P., Tamayo, P., Golub, T. R. & Mesirov, J. P. (2004). Metagenes and
       molecular pattern discovery using matrix factorization. PNAS 101(12), 4164-4169.
    .. [2] Kim, H. & Park, H. (2007). Sparse non-negative matrix factorizations via
       alternating non-negativity-constrained least squares for microarray data analysis.
       Bioinformatics 23(12), 1495-1502.
    .. [3] Kotliar, D. et al. (2019). Identifying gene expression programs of cell-type
       identity and cellular activity with single-cell RNA-Seq. eLife 8, e43803.
    .. [4] Frigyesi, A. & Hoglund, M. (2008). Non-negative matrix factorization for the
       analysis of complex gene expression data: identification of clinically relevant
       tumor subtypes. Cancer Informatics 6, 275-292.
    .. [5] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis. J. Comput. Appl. Math. 20, 53-65.

    Examples
    --------
    Twelve samples made of three groups of four:

    >>> import numpy as np
    >>> from nmfkit import rank_survey
    >>> rng = np.random.default_rng(0)
    >>> W = np.repeat(np.eye(3), 4, axis=0) + 0.05 * rng.random((12, 3))
    >>> V = W @ rng.random((3, 10))
    >>> survey = rank_survey(V, "2-4", n_runs=5, random_state=0)
    >>> survey.ks
    array([2, 3, 4])
    >>> survey.evar.round(2)
    array([0.97, 1.  , 1.  ])
    >>> bool(survey.cophenetic[1] > 0.99)
    True
    >>> clusters = survey.sample_clusters[3]
    >>> [len(set(clusters[i:i + 4])) for i in (0, 4, 8)]
    [1, 1, 1]
    """
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
    for name, value in (("stability", stability), ("randomized", randomized)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}.")
    # the parameters every run shares, checked as NMF checks them
    # (with KL, 'auto' keeps Brunet's multiplicative updates, which R's NMF package runs)
    shared = FitSpec.from_params(dict(
        init=init, solver=solver, beta_loss=beta_loss, tol=tol, max_iter=max_iter,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, floor=floor,
        check_every=check_every, random_state=random_state)).multiplicative_kl()
    rng = shared.random_state_checked()
    M = Matrix(V, "V", mask=mask)
    m = M.shape[0]
    if m < 2:
        raise ValueError(f"V has {m} row(s); a consensus needs at least 2 rows (samples).")
    # before any run, rather than at the first rank that cannot start
    starts.check_init_rank(init, max(ks), M.shape, ks)
    if m > _LARGE_M:
        warnings.warn(f"V has {m} rows: each consensus matrix is {m} x {m} "
                      f"({8 * m * m / 2**30:.1f} GiB per rank); survey a subsample of rows to "
                      "save memory and time.", UserWarning, stacklevel=2)
    survey_of = dict(ks=ks, n_runs=n_runs, init=init, rng=rng, callback=callback,
                     verbose=verbose, stability=bool(stability))
    survey, n_unconverged = _survey(M, shared.for_data(M), title="", **survey_of)
    if n_unconverged:
        warnings.warn(f"{n_unconverged} of {n_runs * len(ks)} runs reached max_iter="
                      f"{shared.max_iter} before tol={shared.tol}; increase max_iter for "
                      "steadier consensus matrices.", ConvergenceWarning, stacklevel=2)
    if randomized:
        shuffled, shuffled_mask = shuffled_copy(M, shuffle_generator(rng))
        R = Matrix(shuffled, "V", mask=shuffled_mask)
        survey.randomized, n_unconverged = _survey(R, shared.for_data(R),
                                                   title=" (randomized)", **survey_of)
        if n_unconverged:
            warnings.warn(f"{n_unconverged} of {n_runs * len(ks)} runs on the randomized copy "
                          f"of V reached max_iter={shared.max_iter} before tol={shared.tol}.",
                          ConvergenceWarning, stacklevel=2)
    return survey


def _survey(M, spec, *, ks, n_runs, init, rng, callback, verbose, stability, title):
    """The survey of the prepared V (M) with the checked spec: (RankSurvey, the number of
    runs that stopped at max_iter before tol). title follows 'rank_survey' in verbose
    lines."""
    from scipy.cluster.hierarchy import leaves_list
    penalty = spec.penalty(M)
    sq_norm = M.sq_norm * M.scale ** 2
    n_threads = effective_n_threads()
    V_init = M.filled()

    out = {name: np.full(len(ks), np.nan) for name in _MEASURES}
    consensus, order, factors, clusters = {}, {}, {}, {}
    per_component, components_of = {}, {}
    n_unconverged = 0
    with blas_single_threaded():  # also keeps the SVD of nndsvdar thread-count independent
        for i, k in enumerate(ks):
            H_runs = np.empty((n_runs * k, M.shape[1])) if stability else None
            labels, best, best_run, n_missed = _runs_of_rank(M, V_init, spec, k, n_runs, init,
                                                             rng, penalty, callback, H_runs)
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
            clusters[k] = consensus_clusters(Z, k, order[k])
            if n_runs > 1:
                out["silhouette_samples"][i] = np.mean(silhouette_values(1.0 - C, clusters[k]))
            out["silhouette_features"][i] = feature_silhouette(factors[k][1])
            if stability:
                (out["stability"][i], per_component[k], components_of[k],
                 out["factor_distance"][i]) = component_stability(H_runs, k, best_run,
                                                                  factors[k][1])
                del H_runs
            if verbose:
                print(f"nmfkit rank_survey{title}: k={k}: cophenetic "
                      f"{out['cophenetic'][i]:.4f}, dispersion {out['dispersion'][i]:.4f}, "
                      f"rss {rss:.5g}, evar {out['evar'][i]:.4f}, stability "
                      f"{out['stability'][i]:.4f}")
    survey = RankSurvey(ks=np.array(ks), consensus=consensus, order=order, factors=factors,
                        n_runs=n_runs, beta_loss=spec.loss_name, component_stability=per_component,
                        consensus_components=components_of, sample_clusters=clusters, **out)
    return survey, n_unconverged
