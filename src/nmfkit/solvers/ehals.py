"""Solver 'ehals': HALS with extrapolation (Ang & Gillis 2019), restarted from the best pair.

Each iteration updates one factor by (accelerated) HALS against the *extrapolated* other
factor, then extrapolates it, y = max(floor, x_new + b (x_new - x_old)), and does the same
for the other factor. The objective of the pair the last update saw (extrapolated W side,
new H side) comes from the products already formed. When it improves on the best so far, b
grows by GAMMA (up to a cap that grows by GAMMA_BAR towards 1); otherwise the run restarts
from the best pair with b divided by ETA, the cap set to the failed b, and one plain HALS
iteration (b = 0), which cannot do worse than the best pair. The recorded objective is the
best pair's, so it never increases, and the best pair is what the run returns.

The parameters were chosen by iterations-to-target on a dense random matrix, a random CSR
matrix and the WordNet corpus (benchmarks/run.py's cases); the paper's scheme compared with
the previous iterate instead of the best pair, which let one corpus run settle 3e-4 higher.

Buffers (no copy in the steady state): each side has `cur` (updated in place by HALS, from
the extrapolated point) and `last` (the previous iterate); the extrapolation kernel writes
the next starting point over `last` and the two swap. The factor updated first is the
smaller one (fewer rows): its extrapolated point is the best pair's until the next success,
so the kernel also writes it to one of two `kept` buffers, alternately.
"""

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.threads import LoadFollower, threads_for
from ..kernels import steps
from ..losses import Frobenius
from .progress import Progress, RunResult

__all__ = ["run_extrapolated"]

BETA0 = 0.25
ETA = 2.0
GAMMA = 1.05
GAMMA_BAR = 1.01


def run_extrapolated(M, W, Ht, *, penalty, floor, max_iter, tol, check_every=10, verbose=0,
                     callback=None, shuffle=None):
    """Extrapolated HALS from internal (W, Ht); the best pair is left in W, Ht. shuffle:
    None, or the RandomState drawing the column order of each HALS sweep."""
    loss = Frobenius()
    k = W.shape[1]
    load = LoadFollower(work=M.product_work(k))
    out = {"w": W, "h": Ht}
    # the smaller factor goes first: its extrapolated point is the one also kept aside
    first = "h" if Ht.shape[0] < W.shape[0] else "w"
    second = OTHER_SIDE[first]
    cur = dict(out)
    last = {s: out[s].copy() for s in out}
    kept = [out[first].copy(), np.empty_like(out[first])]
    best = 0  # kept[best] and last[second] hold the best pair
    nums = {s: np.empty_like(out[s]) for s in out}
    # threads of the products, the steps and the copies, following the machine's load
    threads = {}

    def use_threads(n_threads):
        threads["products"] = n_threads
        threads.update({("step", s): threads_for(loss.row_work(k) * out[s].shape[0],
                                                 n_threads) for s in out})
        threads.update({("copy", s): threads_for(4.0 * out[s].size, n_threads) for s in out})

    use_threads(load.now())
    grams = {s: loss.denominator(out[s], threads["step", s], np.empty((k, k), dtype=M.dtype))
             for s in out}
    n_inner = {s: loss.inner_steps("hals", out[s].shape[0], out[OTHER_SIDE[s]].shape[0], k,
                                   M.nnz, M.kind == "dense") for s in (first, second)}

    def numerator(s, B):
        # V B or V^T B for side s: the loss reads only the fixed factor B of its side
        loss.numerator(M, B, B, s == "h", nums[s], threads["products"])

    def hals(s, fixed):
        loss.update(cur[s], nums[s], grams[fixed], penalty.l1[s], penalty.l2[s], floor, M.tiny,
                    threads["step", s], solver="hals", n_inner=n_inner[s], shuffle=shuffle)

    def gram(s):
        loss.denominator(cur[s], threads["step", s], grams[s])

    def extrapolate(s, dest, step):
        steps.extrapolate(cur[s], last[s], dest, step, floor, threads["copy", s])

    def objective(A0, A1, s):
        # from the statistics, with nums[s] = V A_other current
        value = loss.product_objective(M.sq_norm, A0 if s == first else A1, nums[s],
                                       grams[first], grams[second])
        return value + penalty.value({first: A0, second: A1})

    numerator(first, out[second])  # the first update's numerator
    f_best = objective(out[first], out[second], first)
    progress = Progress(f_best, tol, verbose, callback)
    b, cap, plain = BETA0, 1.0, True  # the first step is plain: x_0 is no iterate
    extrapolating = True
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        if load.now() != threads["products"]:  # the machine's load changed
            use_threads(load.n_threads)
        step = b if extrapolating and not plain else 0.0
        # the smaller factor against the other's extrapolated point (fresh products at it 1)
        if it > 1:
            numerator(first, cur[second])
        hals(first, second)
        free = 1 - best
        extrapolate(first, kept[free], step)
        cur[first], last[first] = last[first], cur[first]
        # the other factor against the first one's extrapolated point
        gram(first)
        numerator(second, cur[first])
        hals(second, first)
        gram(second)
        f = objective(cur[first], cur[second], second)
        if plain and extrapolating and not f < f_best:
            # a plain HALS iteration from the best pair did not improve on it: the run has
            # converged, or the objective's rounding (float32) is as large as its progress
            # and can no longer tell a better pair. Plain HALS from here on.
            extrapolating = False
        if f < f_best or not extrapolating:
            f_best, best, plain = f, free, False
            extrapolate(second, last[second], step)
            cur[second], last[second] = last[second], cur[second]
            b, cap = min(cap, GAMMA * b), min(1.0, GAMMA_BAR * cap)
            if step != 0.0:  # with step 0 the point is the iterate: its Gram is current
                gram(second)
        else:  # restart from the best pair, with one plain iteration
            cap, b, plain = b, b / ETA, True
            np.copyto(cur[first], kept[best])
            np.copyto(last[first], kept[best])
            np.copyto(cur[second], last[second])
            gram(second)
        if (it % check_every == 0 or it == max_iter) and progress.check(it, f_best):
            converged = True
            break
    np.copyto(out[first], kept[best])
    if out[second] is not last[second]:
        np.copyto(out[second], last[second])
    return RunResult(W, Ht, it, progress.history, progress.iters, converged)
