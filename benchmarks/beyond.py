"""The features beyond scikit-learn's NMF, measured (issue 5): missing values, streaming,
separable NMF, and the cost of the general beta-divergence updates.

python benchmarks/beyond.py            (about two minutes)
python benchmarks/beyond.py streaming  (one section: missing_values, streaming, separable,
                                        general_beta)
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


def _stream_objective(model, V, beta):
    """The objective on all of V of the model's components, with W solved for them."""
    WH = model.transform(V) @ model.components_
    if beta == 2.0:
        return 0.5 * np.sum((V - WH) ** 2)
    return np.sum(V * np.log(V / WH) - V + WH)


def _stream_ratios(model, V, X, batch, passes, target, beta):
    ratios, start_time = [], time.perf_counter()
    for _ in range(passes):
        for start in range(0, V.shape[0], batch):
            model.partial_fit(X[start:start + batch])
        ratios.append(_stream_objective(model, V, beta) / target)
    return ratios, time.perf_counter() - start_time


def streaming():
    """partial_fit over row batches against the full fit, and scikit-learn's MiniBatchNMF
    (its partial_fit on the same batches, its defaults otherwise)."""
    import warnings

    from sklearn.decomposition import MiniBatchNMF
    print("Streaming: partial_fit on batches of rows, 5 passes; objective on all of V (W "
          "solved for the components) / the full fit's (NMF(k, max_iter=1000, tol=1e-6)), "
          "after each pass; nmfkit and scikit-learn's MiniBatchNMF on the same batches")
    rng = np.random.RandomState(0)
    dense = rng.rand(6000, 6) @ rng.rand(6, 400) + 0.05 * rng.rand(6000, 400)
    rng = np.random.RandomState(0)
    small = rng.rand(3000, 6) @ rng.rand(6, 300) + 0.05 * rng.rand(3000, 300)
    cases = [("Frobenius, dense ", dense, dense, 500, "frobenius", 2.0),
             ("Frobenius, CSR   ", dense, sp.csr_matrix(dense), 500, "frobenius", 2.0),
             ("KL, dense        ", small, small, 300, "kullback-leibler", 1.0)]
    for label, V, X, batch, loss, beta in cases:
        m, n = V.shape
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
            full = NMF(6, beta_loss=loss, max_iter=1000, tol=1e-6, random_state=0).fit(V)
        t_full = time.perf_counter() - t
        target = _stream_objective(full, V, beta)
        ours, t_ours = _stream_ratios(NMF(6, beta_loss=loss, random_state=0), V, X, batch, 5,
                                      target, beta)
        theirs, t_theirs = _stream_ratios(
            MiniBatchNMF(6, beta_loss=loss, batch_size=batch, random_state=0), V, X, batch, 5,
            target, beta)
        print(f"  {label} {m} x {n} rank 6 + noise, batches of {batch} (full fit: "
              f"{full.n_iter_} iterations, {t_full:.1f} s)")
        print(f"    nmfkit       {', '.join(f'{r:.3f}' for r in ours)}   ({t_ours:.1f} s)")
        print(f"    scikit-learn {', '.join(f'{r:.1f}' for r in theirs)}   ({t_theirs:.1f} s)")
        if full.n_iter_ == 1000:  # the multiplicative updates stopped at max_iter: go on
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", nmfkit.ConvergenceWarning)
                longer = NMF(6, beta_loss=loss, max_iter=10000, tol=1e-8,
                             random_state=0).fit(V)
            print(f"    the full fit with max_iter=10000 reaches "
                  f"{_stream_objective(longer, V, beta) / target:.3f} "
                  f"({time.perf_counter() - t:.1f} s)")
    V = nmfkit.make_low_rank(6000, 400, 6, random_state=0)
    full = NMF(6, max_iter=1000, tol=1e-6, random_state=0).fit(V)
    model = NMF(6, random_state=0)
    _stream_ratios(model, V, V, 500, 5, 1.0, 2.0)
    relative = [np.linalg.norm(V - fit.transform(V) @ fit.components_) / np.linalg.norm(V)
                for fit in (full, model)]
    print(f"  Exactly rank 6, 6000 x 400 (make_low_rank): relative error ||V - WH|| / ||V|| "
          f"of the full fit {relative[0]:.1e}, of 5 passes in batches of 500 {relative[1]:.1e} "
          "(both at their stopping rules: a ratio of the two says nothing)")


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


def main(argv=None):
    sections = {"missing_values": missing_values, "streaming": streaming,
                "separable": separable, "general_beta": general_beta}
    names = (sys.argv[1:] if argv is None else argv) or list(sections)
    for name in names:
        if name not in sections:
            print(f"unknown section {name!r}; choose from {', '.join(sections)}",
                  file=sys.stderr)
            return 1
        sections[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
