"""Time per iteration of small multiplicative-update fits: nmfkit's compiled loop, nmfkit's
Python loop, scikit-learn.

    python benchmarks/small_problems.py [--repeat 7]

A small problem spends most of a Python iteration in the interpreter; solver 'mu' on dense,
fully observed Frobenius and KL data runs its whole loop in compiled code
(kernels/loop.pyx, the same bits as the Python loop, which
nmfkit.solvers.alternating.compiled_loop(False) brings back for this comparison).

Each fit starts from the same custom (W, H), with tol=0, on one thread (threadpoolctl); the
time per iteration is (t(max_iter=220) - t(max_iter=20)) / 200, which cancels the setup.
Each t is the best of --repeat runs of time.process_time(), so that a busy shared machine
disturbs the figures as little as possible.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import NMF as SklearnNMF
from threadpoolctl import threadpool_limits

from nmfkit import NMF
from nmfkit.solvers.alternating import compiled_loop

# (m, n, k, loss): the 100 x 100, k = 5; an ALL/AML-sized KL problem (38 samples x
# 5000 genes); a medium one where the Python overhead is a smaller share.
SHAPES = [(100, 100, 5, "frobenius"), (100, 100, 5, "kullback-leibler"),
          (38, 5000, 3, "kullback-leibler"), (300, 200, 10, "frobenius"),
          (300, 200, 10, "kullback-leibler"), (1000, 1000, 10, "frobenius")]
SHORT, LONG = 20, 220


def fit_time(cls, V, W0, H0, loss, max_iter, repeat):
    """Best process time of `repeat` fits of max_iter iterations from (W0, H0)."""
    best = np.inf
    for _ in range(repeat):
        model = cls(W0.shape[1], solver="mu", beta_loss=loss, init="custom", tol=0.0,
                    max_iter=max_iter)
        start = time.process_time()
        model.fit_transform(V, W=W0.copy(), H=H0.copy())
        best = min(best, time.process_time() - start)
    return best


def per_iteration(cls, V, W0, H0, loss, repeat):
    """Microseconds per iteration, the setup cancelled."""
    return 1e6 * (fit_time(cls, V, W0, H0, loss, LONG, repeat)
                  - fit_time(cls, V, W0, H0, loss, SHORT, repeat)) / (LONG - SHORT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at tol=0
    print("command: python benchmarks/small_problems.py " + " ".join(sys.argv[1:]))
    print(f"us per iteration, one thread, best of {args.repeat} (process time)")
    print(f"{'shape':>18} {'loss':>17} {'python loop':>12} {'compiled':>9} {'sklearn':>8}"
          f" {'compiled/sklearn':>17} {'compiled/python':>16}")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for m, n, k, loss in SHAPES:
            V = rng.random((m, n)) * rng.random((m, 1))
            W0, H0 = rng.random((m, k)) + 0.1, rng.random((k, n)) + 0.1
            previous = compiled_loop(False)
            try:
                python = per_iteration(NMF, V, W0, H0, loss, args.repeat)
            finally:
                compiled_loop(previous)
            compiled = per_iteration(NMF, V, W0, H0, loss, args.repeat)
            sklearn = per_iteration(SklearnNMF, V, W0, H0, loss, args.repeat)
            print(f"{f'{m} x {n}, k = {k}':>18} {loss:>17} {python:12.1f} {compiled:9.1f}"
                  f" {sklearn:8.1f} {compiled / sklearn:16.2f}x {compiled / python:15.2f}x")


if __name__ == "__main__":
    main()
