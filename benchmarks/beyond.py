"""The features beyond scikit-learn's NMF, measured (issue 5): missing values, streaming,
separable NMF, and the cost of the general beta-divergence updates.

python benchmarks/beyond.py            (about a minute)
"""

import sys
import time

import numpy as np
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF


def missing_values():
    print("Missing values: a 200 x 150 rank-5 matrix with 30% of its entries hidden")
    rng = np.random.default_rng(0)
    V = rng.uniform(0.1, 1, (200, 5)) @ rng.uniform(0.1, 1, (5, 150))
    hide = np.random.default_rng(1).random(V.shape) < 0.3
    X = V.copy()
    X[hide] = np.nan
    means = np.broadcast_to(np.nanmean(X, axis=0), V.shape)[hide]
    rmse_means = np.sqrt(np.mean((means - V[hide]) ** 2))
    for loss in ("frobenius", "kullback-leibler", 1.5):
        model = NMF(5, beta_loss=loss, max_iter=500, tol=1e-7, random_state=0)
        W = model.fit_transform(X)
        rmse = np.sqrt(np.mean(((W @ model.components_)[hide] - V[hide]) ** 2))
        print(f"  beta_loss={loss!s:17s} RMSE on hidden entries {rmse:.4f}, column means "
              f"{rmse_means:.4f}: {rmse_means / rmse:.0f}x better")


def streaming():
    print("Streaming: 3000 x 300 rank-10 data in 10 batches of 300 rows, objective on all "
          "of V / the full fit's")
    rng = np.random.default_rng(0)
    V = (rng.random((3000, 10)) ** 4) @ (rng.random((10, 300)) ** 4) + 0.01 * rng.random(
        (3000, 300))
    for loss, beta in (("frobenius", 2.0), ("kullback-leibler", 1.0)):
        def objective(model):
            WH = model.transform(V) @ model.components_
            if beta == 2.0:
                return 0.5 * np.sum((V - WH) ** 2)
            return np.sum(V * np.log(V / WH) - V + WH)
        full = NMF(10, beta_loss=loss, max_iter=1000, tol=1e-6, random_state=0).fit(V)
        target = objective(full)
        model = NMF(10, beta_loss=loss, random_state=0)
        ratios = []
        for _ in range(5):
            for start in range(0, 3000, 300):
                model.partial_fit(V[start:start + 300])
            ratios.append(objective(model) / target)
        print(f"  {loss:17s} after passes 1..5: " + ", ".join(f"{r:.3f}" for r in ratios))


def separable():
    print("SPA on a separable 40 x 150 matrix (6 generating columns), noise relative to "
          "mean(V)")
    for noise in (0.0, 1e-3, 1e-2, 5e-2):
        hits = 0
        for seed in range(20):
            rng = np.random.default_rng(seed)
            W = rng.uniform(0, 1, (40, 6))
            Hp = rng.dirichlet(np.full(6, 0.5), size=144).T * 0.9
            perm = rng.permutation(150)
            V = W @ np.hstack([np.eye(6), Hp])[:, perm]
            V = V + noise * V.mean() * rng.random(V.shape)
            hits += set(nmfkit.spa(V, 6)) == set(np.flatnonzero(perm < 6))
        print(f"  noise {noise:6.0e}: exact recovery in {hits} of 20 matrices")


def general_beta():
    from sklearn.decomposition import NMF as SkNMF
    print("General beta, 20 solver='mu' iterations from the same start, k = 10 "
          "(seconds, nmfkit / scikit-learn)")
    rng = np.random.RandomState(0)
    dense = rng.rand(1000, 500) + 0.01
    csr = sp.random(5000, 2000, density=0.01, random_state=0, format="csr")
    for name, X in (("dense 1000 x 500", dense), ("CSR 5000 x 2000, 1%", csr)):
        for beta in (0.0, 0.5, 1.5, 3.0):
            if beta <= 0 and sp.issparse(X):
                continue
            W0 = rng.rand(X.shape[0], 10) + 0.1
            H0 = rng.rand(10, X.shape[1]) + 0.1
            times = []
            for cls in (NMF, SkNMF):
                model = cls(10, solver="mu", beta_loss=beta, init="custom", max_iter=20,
                            tol=0)
                t = time.perf_counter()
                model.fit(X, W=W0.copy(), H=H0.copy())
                times.append(time.perf_counter() - t)
            print(f"  {name:21s} beta {beta:3.1f}: {times[0]:.3f} / {times[1]:.3f} "
                  f"= {times[1] / times[0]:.1f}x faster")


def main():
    missing_values()
    streaming()
    separable()
    general_beta()
    return 0


if __name__ == "__main__":
    sys.exit(main())
