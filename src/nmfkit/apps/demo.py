"""`nmfkit demo`: factorize the swimmer images and report how well the known parts come back."""

import time
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..core.exceptions import ConvergenceWarning
from ..core.threads import HAVE_OPENMP, effective_n_threads
from ..datasets import SWIMMER_LIMBS, swimmer
from ..estimator.nmf import NMF

__all__ = ["match_parts", "run_demo", "DEMO_PARAMS"]

# Accelerated MU (Frobenius) from NNDSVDar starts. Every image contains the torso, so with
# k = 17 the torso can also be spread over the limb components with zero error; the NNDSVD
# start keeps it apart. A single start sometimes ends with one limb position missing and
# another duplicated; the best of four starts recovered all 17 parts for seeds 0..89.
DEMO_PARAMS = dict(n_components=17, beta_loss="frobenius", solver="amu", init="nndsvdar",
                   n_init=4, max_iter=1000, tol=1e-5)

_THRESHOLD = 0.9


def match_parts(components, parts):
    """Match each true part to a distinct learned component, maximizing total cosine.

    components : array (n_components, n_features); parts : array (n_parts, n_features).
    Returns (cosines, assignment), both of length n_parts: assignment[i] is the row of
    `components` matched to part i (one-to-one, scipy.optimize.linear_sum_assignment) and
    cosines[i] their cosine similarity; a part left unmatched (fewer components than parts)
    gets assignment -1 and cosine 0. An all-zero row has cosine 0 with everything.
    """
    C = np.asarray(components, dtype=np.float64)
    P = np.asarray(parts, dtype=np.float64)
    if C.ndim != 2 or P.ndim != 2 or C.shape[1] != P.shape[1]:
        raise ValueError(f"components and parts must be 2-d with the same number of columns, "
                         f"got shapes {C.shape} and {P.shape}.")

    def unit(A):
        norms = np.linalg.norm(A, axis=1, keepdims=True)
        return np.divide(A, norms, out=np.zeros_like(A), where=norms > 0)

    S = unit(P) @ unit(C).T  # (n_parts, n_components)
    rows, cols = linear_sum_assignment(S, maximize=True)
    cosines = np.zeros(P.shape[0])
    assignment = np.full(P.shape[0], -1, dtype=np.intp)
    cosines[rows], assignment[rows] = S[rows, cols], cols
    return cosines, assignment


def _part_labels():
    arms, legs = "0/60/120/180", "0/30/60/90"
    return [f"{limb:<10}{arms if 'arm' in limb else legs} deg" for limb in SWIMMER_LIMBS]


def run_demo(seed=0):
    """Factorize the swimmer images with DEMO_PARAMS and random_state=seed; print a report.

    Returns 0 (the process exit code).
    """
    V, parts = swimmer()
    m, n = V.shape
    k = DEMO_PARAMS["n_components"]
    model = NMF(random_state=seed, **DEMO_PARAMS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        W = model.fit_transform(V)
        wall = time.perf_counter() - start
    hit_max_iter = False
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            hit_max_iter = True
        else:  # pass on anything else
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    H = model.components_
    cosines, _ = match_parts(H, parts)
    n_good = int((cosines >= _THRESHOLD).sum())
    err = model.reconstruction_err_
    rel = err / np.linalg.norm(V)
    threads = f"{effective_n_threads()} OpenMP thread(s)" if HAVE_OPENMP else "no OpenMP"
    settings = ", ".join(f"{key}={value!r}" for key, value in DEMO_PARAMS.items())

    print("nmfkit demo: the swimmer images (Donoho & Stodden 2003), torso + 4 limbs x 4 "
          "positions")
    print(f"data     V {m} x {n} (256 images of 32 x 32 pixels, 0/1), "
          f"{int(np.count_nonzero(V))} nonzeros, rank {np.linalg.matrix_rank(V)}; "
          f"{parts.shape[0]} true parts")
    print(f"settings NMF({settings}, random_state={seed!r}); {threads}")
    print(f"fit      {wall:.2f} s wall, {model.n_iter_} iterations in the best of "
          f"{DEMO_PARAMS['n_init']} starts"
          + (" (stopped at max_iter)" if hit_max_iter else " (converged)"))
    history = model.loss_history_
    print(f"result   objective 0.5*||V - WH||_F^2 {history[0]:.4g} at the start -> "
          f"{history[-1]:.4g}; ||V - WH||_F = {err:.4g} (relative {rel:.2e}), "
          f"W {W.shape[0]} x {k}, H {k} x {n}")
    print(f"parts    cosine of each true part with its matched component "
          f"(one-to-one; >= {_THRESHOLD} counts as recovered):")
    print(f"  {'torso':<30}{cosines[0]:.3f}")
    for j, label in enumerate(_part_labels()):
        row = " ".join(f"{c:.3f}" for c in cosines[1 + 4 * j:5 + 4 * j])
        print(f"  {label:<30}{row}")
    print(f"recovered {n_good}/{parts.shape[0]} parts with cosine >= {_THRESHOLD}; mean cosine "
          f"{cosines.mean():.4f}, worst {cosines.min():.4f}")
    return 0
