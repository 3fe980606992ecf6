"""
The solvers' convergence compared
=================================

nmfkit has four solvers for the Frobenius loss (see the user guide for what each is):
``"mu"``, Lee and Seung's multiplicative updates; ``"amu"``, the same updates repeated
on each factor while that pays off; ``"hals"``, hierarchical alternating least squares
(coordinate descent on one component at a time); and ``"ehals"`` (the default for
Frobenius), HALS with extrapolation. This example runs each from the same start on the
same data, scikit-learn's ``NMF`` with its two solvers (``"cd"`` and ``"mu"``) too, and
draws the objective against the iteration and against the time.

The data are scikit-learn's 8 x 8 handwritten digits (1797 images, shipped with
scikit-learn), with 20 components.
"""

# %%
# Recording the objective and the time
# ------------------------------------
# Every fit keeps the objective at each convergence check in ``loss_history_`` (at the
# iterations in ``loss_history_iter_``); ``check_every=1`` checks at every iteration.
# ``callback(n_iter, objective)`` is called at each check, which gives the time as well.
# ``tol=0`` turns the stopping test off, so that every solver runs ``max_iter``
# iterations; ``init="random"`` with the same ``random_state`` gives the same start as
# scikit-learn's.
#
# The digits are small, and scikit-learn's coordinate descent runs on one thread: to compare
# the algorithms rather than the thread counts, every fit here runs on one thread
# (``threadpoolctl.threadpool_limits(1)`` holds nmfkit's OpenMP threads and the BLAS ones).
# On larger data nmfkit's kernels use every core (see the performance page).
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import nmfkit

X = load_digits().data
k, max_iter = 20, 200


def run_nmfkit(solver):
    """Fit with nmfkit; return the time, iteration and objective at every check."""
    times = []
    start = time.perf_counter()
    model = nmfkit.NMF(k, solver=solver, init="random", random_state=0, tol=0,
                       max_iter=max_iter, check_every=1,
                       callback=lambda n_iter, objective: times.append(
                           time.perf_counter() - start))
    model.fit(X)
    return np.array(times), model.loss_history_iter_, model.loss_history_


with threadpool_limits(1):
    results = {f"nmfkit {solver}": run_nmfkit(solver)
               for solver in ("mu", "amu", "hals", "ehals")}

# %%
# scikit-learn's ``NMF`` keeps no history, so each of its points is a fit of its own from
# the same start, stopped after a given number of iterations (its time is that whole fit,
# the best of three for the short ones, whose times are at the mercy of the machine).
# Its ``reconstruction_err_`` is the Frobenius norm ``||X - WH||``; nmfkit's objective,
# as scikit-learn's loss, is half its square.


def run_sklearn(solver, steps=(1, 2, 3, 5, 10, 20, 50, 100, 200)):
    """Fit scikit-learn's NMF for each number of iterations in steps."""
    times, objectives = [], []
    for n_iter in steps:
        model = SklearnNMF(k, solver=solver, init="random", random_state=0, tol=0,
                           max_iter=n_iter)
        elapsed = []
        for _ in range(3 if n_iter <= 20 else 1):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X)
            elapsed.append(time.perf_counter() - start)
        times.append(min(elapsed))
        objectives.append(0.5 * model.reconstruction_err_ ** 2)
    return np.array(times), np.array(steps), np.array(objectives)


with threadpool_limits(1):
    for solver in ("cd", "mu"):
        results[f"scikit-learn {solver}"] = run_sklearn(solver)

# %%
# The objective against the iteration and the time
# ------------------------------------------------
# nmfkit's times include computing the objective at every iteration (``check_every=1``),
# which scikit-learn's fits do not spend.
#
# Each objective is drawn relative to the lowest one found (by a longer HALS run of 2000
# iterations, or by any of the runs), on log axes. An iteration is one update of W and H:
# ``"amu"``, ``"hals"`` and ``"ehals"`` do more work in one (several passes over a factor
# for one product with X), so the time is the fairer axis. Different solvers may also end
# in different local minima: NMF's objective is not convex.
with threadpool_limits(1):
    long_run = nmfkit.NMF(k, solver="hals", init="random", random_state=0, tol=0,
                          max_iter=2000).fit(X)
best = min([long_run.loss_history_[-1]]
           + [objectives.min() for _, _, objectives in results.values()])
styles = {"nmfkit": "-", "scikit-learn": "--"}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
for name, (times, iterations, objectives) in results.items():
    style = styles[name.split()[0]]
    marker = "o" if name.startswith("scikit") else None
    after_start = iterations >= 1      # the start (iteration 0) has no place on a log axis
    excess = np.maximum(objectives / best - 1, 1e-9)[after_start]
    axes[0].plot(iterations[after_start], excess, style, marker=marker, ms=3, label=name)
    axes[1].plot(times[after_start], excess, style, marker=marker, ms=3, label=name)
for ax, xlabel in zip(axes, ("iteration", "time (s)")):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("objective / lowest objective - 1")
    ax.grid(True, which="major", alpha=0.3)
axes[0].legend()
axes[0].set_title("Against the iteration")
axes[1].set_title("Against the time")
fig.suptitle(f"Frobenius NMF of the digits (1797 x 64), k = {k}, same random start")

for name, (times, iterations, objectives) in results.items():
    print(f"{name:18s} objective after {iterations[-1]:3d} iterations "
          f"{objectives[-1]:12.1f} in {times[-1]:.3f} s")

# %%
# :func:`nmfkit.plot_history` draws one fit's history (here, the default solver's).
model = nmfkit.NMF(k, init="random", random_state=0, max_iter=500).fit(X)
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
_ = nmfkit.plot_history(model, ax=ax,
                        title=f"ehals, stopped after {model.n_iter_} iterations")

plt.show()
