"""Draw docs/_static/objective_vs_time.png: the objective against wall time for nmfkit and
scikit-learn on the same data from the same start.

Not run by the documentation build (timings belong to a quiet machine, not to CI). Regenerate
with

    python docs/make_performance_plot.py

(under a minute on an idle 2-core machine; needs scikit-learn and matplotlib).
"""

import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.decomposition import NMF as SklearnNMF  # noqa: E402
from sklearn.decomposition._nmf import _initialize_nmf  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import nmfkit  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_static", "objective_vs_time.png")
K = 20


def dense_data():
    """A 2000 x 1000 matrix of rank 20 plus uniform noise."""
    rng = np.random.default_rng(0)
    return rng.random((2000, K)) @ rng.random((K, 1000)) + 0.5 * rng.random((2000, 1000))


def sparse_counts():
    """A 4000 x 2000 CSR matrix of counts, 1% stored entries."""
    rng = np.random.default_rng(1)
    X = sp.random(4000, 2000, density=0.01, format="csr", random_state=1)
    X.data = rng.poisson(3.0, X.nnz).astype(float) + 1.0
    return X


def nmfkit_trace(X, **params):
    """Objective at every iteration of one fit, with the seconds since the fit started."""
    times, values = [], []

    def record(n_iter, objective):
        times.append(time.perf_counter() - start)
        values.append(objective)

    model = nmfkit.NMF(K, init="nndsvda", random_state=0, tol=0, check_every=1,
                       callback=record, **params)
    start = time.perf_counter()
    model.fit(X)
    return np.array(times), np.array(values)


def sklearn_trace(X, iterations, beta, **params):
    """scikit-learn has no callback: one fit per iteration count gives the objectives, and
    the times are those of the longest fit spread evenly over its iterations after the start
    (timing every short fit would add the machine's noise to each point)."""
    values = []
    for n in iterations:
        model = SklearnNMF(K, init="nndsvda", random_state=0, tol=0, max_iter=n,
                           beta_loss=beta, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X)
            seconds = time.perf_counter() - start
        err = model.reconstruction_err_
        # reconstruction_err_ is sqrt(2 D), D the beta-divergence that nmfkit records
        values.append(err * err / 2)
    start = time.perf_counter()
    _initialize_nmf(X, K, init="nndsvda", random_state=0)  # the start its fits use
    start_seconds = time.perf_counter() - start
    per_iteration = (seconds - start_seconds) / iterations[-1]
    return start_seconds + per_iteration * np.asarray(iterations), np.array(values)


def main():
    t_all = time.perf_counter()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")

    X = dense_data()
    ax = axes[0]
    for solver, style in (("auto", "C0-"), ("mu", "C0--")):
        t, f = nmfkit_trace(X, max_iter=100, solver=solver)
        label = "nmfkit ehals (default)" if solver == "auto" else "nmfkit mu"
        ax.plot(t, f, style, label=label)
    for solver, style, its in (("cd", "C1-", (1, 2, 4, 8, 16, 32)),
                               ("mu", "C1--", (1, 10, 30, 100))):
        t, f = sklearn_trace(X, its, "frobenius", solver=solver)
        ax.plot(t, f, style, marker="o", ms=3, label=f"scikit-learn {solver}")
    ax.set(title=f"Dense {X.shape[0]} x {X.shape[1]}, Frobenius, k = {K}",
           xlabel="seconds", ylabel="objective", xscale="log", yscale="log")
    ax.legend()

    X = sparse_counts()
    ax = axes[1]
    t, f = nmfkit_trace(X, max_iter=60, beta_loss="kullback-leibler")
    ax.plot(t, f, "C0-", label="nmfkit mu (default for KL)")
    t, f = sklearn_trace(X, (1, 5, 20, 50), "kullback-leibler", solver="mu")
    ax.plot(t, f, "C1--", marker="o", ms=3, label="scikit-learn mu")
    ax.set(title=f"CSR {X.shape[0]} x {X.shape[1]}, {X.nnz} entries, KL, k = {K}",
           xlabel="seconds", ylabel="objective")
    ax.legend()

    fig.suptitle(f"nmfkit {nmfkit.__version__}: objective against time, same start "
                 f"(init='nndsvda'), {os.cpu_count()} cores", fontsize=10)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT} in {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
