"""nmfkit's performance benchmark: every target of the performance issue, in one run.

    python benchmarks/run.py            # full sizes (about 10-15 minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller sizes, a smoke run

Everything is measured side by side in this one process and reported as ratios:
nmfkit against scikit-learn and against the floor (the BLAS / sparse products every
iteration must do, timed here on the same machine). Needs scikit-learn; the corpus row needs
Debian's wordnet-base (WordNet 3.0 glosses, 117k real documents) and is skipped without it.
"""

import argparse
import gc
import os
import re
import sys
import time
import tracemalloc
import warnings
from collections import Counter

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit

warnings.simplefilter("ignore")
K = 20
WORDNET = "/usr/share/wordnet"


def best_time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_iteration(make_model, X, W0, H0, n1, n2, repeat=3):
    """Time per iteration: (fit of n2 iterations - fit of n1) / (n2 - n1), best of repeat."""
    def fit(n):
        return lambda: make_model(n).fit(X, W=W0.copy(), H=H0.copy())
    return (best_time(fit(n2), repeat) - best_time(fit(n1), repeat)) / (n2 - n1)


def start(X, k=K, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    avg = np.sqrt(X.mean() / k)
    return ((avg * rng.rand(X.shape[0], k)).astype(dtype),
            (avg * rng.rand(k, X.shape[1])).astype(dtype))


def dense_floor(V, W, H):
    """The two GEMMs of a dense iteration, W^T V and V H^T, with numpy's BLAS (all threads)."""
    return best_time(lambda: (W.T @ V, V @ H.T), 5)


def sparse_floor(V, W, H):
    """The two products of a sparse iteration, V^T W and V H^T, with scipy.sparse."""
    return best_time(lambda: (V.T @ W, V @ H.T), 5)


def row(name, target, value, ok):
    print(f"  {name:58s} {value:>22s}   target {target:14s} {'PASS' if ok else 'MISS'}",
          flush=True)
    return ok


# -- 1-4: per-iteration cost ----------------------------------------------------------------
def bench_per_iteration(dense, csr, quick):
    from sklearn.decomposition import NMF as SkNMF
    print("Per iteration (solver='mu', same start, k = 20, float64):")
    n1, n2 = (2, 7) if quick else (5, 25)
    results = []
    for kind, X, floor_fn, targets in (
            ("dense", dense, dense_floor, {"frobenius": 1.10, "kullback-leibler": 2.5}),
            ("CSR", csr, sparse_floor, {"frobenius": 0.8, "kullback-leibler": 1.5})):
        W0, H0 = start(X)
        floor = floor_fn(X, W0, H0)
        for loss, target in targets.items():
            ours = per_iteration(lambda n: nmfkit.NMF(K, init="custom", solver="mu",
                                                      beta_loss=loss, max_iter=n, tol=0),
                                 X, W0, H0, n1, n2)
            theirs = per_iteration(lambda n: SkNMF(K, init="custom", solver="mu",
                                                   beta_loss=loss, max_iter=n, tol=0),
                                   X, W0, H0, 1, 3 if quick else 5, repeat=2)
            results.append(row(
                f"{kind} {loss}: nmfkit / floor ({floor * 1e3:.1f} ms)", f"<= {target}x",
                f"{ours / floor:.2f}x (sklearn {theirs / floor:.2f}x)", ours / floor <= target))
    return results


# -- 5-6: time to solution ------------------------------------------------------------------
def time_to_target(model, X, target):
    """Seconds from the start of fit until the objective first reaches target (None: never)."""
    trace = []
    t0 = time.perf_counter()
    model.set_params(callback=lambda it, obj: trace.append((time.perf_counter() - t0, obj)))
    model.fit(X)
    hits = [t for t, obj in trace if obj <= target]
    return (hits[0] if hits else None), trace[-1][1]


def bench_time_to_solution(cases, quick):
    from sklearn.decomposition import NMF as SkNMF
    print("Time to solution (both libraries from init='nndsvda', random_state=0):")
    results = []
    for name, X, loss, sk_solvers, speedup in cases:
        best = None
        for solver in sk_solvers:
            t = time.perf_counter()
            m = SkNMF(K, solver=solver, beta_loss=loss, random_state=0).fit(X)
            dt = time.perf_counter() - t
            obj = m.reconstruction_err_ ** 2 / 2
            if best is None or obj < best[0]:
                best = (obj, dt, solver, m.n_iter_)
        target, t_sk, solver, n_iter = best
        model = nmfkit.NMF(K, beta_loss=loss, init="nndsvda", random_state=0, tol=0,
                           max_iter=2000, check_every=1 if loss == "frobenius" else 5)
        t_ours, final = time_to_target(model, X, target)
        ratio = t_sk / t_ours if t_ours else 0.0
        results.append(row(
            f"{name} {loss}: sklearn {solver} ({n_iter} it, {t_sk:.1f} s) / nmfkit "
            f"{nmfkit.NMF().get_params()['solver']}", f">= {speedup}x",
            f"{ratio:.1f}x ({t_ours or float('nan'):.2f} s)", ratio >= speedup))
    return results


# -- 7: memory ------------------------------------------------------------------------------
def bench_memory(dense):
    print("Memory (tracemalloc peak during the fit, on top of the input):")
    W0, H0 = start(dense)
    factors = W0.nbytes + H0.nbytes
    model = nmfkit.NMF(K, init="custom", beta_loss="kullback-leibler", max_iter=20, tol=0)
    tracemalloc.start()
    model.fit(dense, W=W0, H=H0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ratio = (dense.nbytes + peak) / (dense.nbytes + factors)
    return [row(f"dense KL fit: (input + peak) / (input + factors), input "
                f"{dense.nbytes / 2**20:.0f} MiB", "<= 1.10", f"{ratio:.3f}", ratio <= 1.10)]


# -- 8-9: threads and float32 ---------------------------------------------------------------
def bench_threads_and_float32(dense, quick):
    print("Threads and precision (dense, solver='mu', fixed iterations):")
    n = 5 if quick else 20
    W0, H0 = start(dense)

    def fit(X, W, H, loss):
        return nmfkit.NMF(K, init="custom", solver="mu", beta_loss=loss, max_iter=n,
                          tol=0).fit(X, W=W.copy(), H=H.copy())
    results = []
    with threadpool_limits(1):
        one = best_time(lambda: fit(dense, W0, H0, "kullback-leibler"))
    with threadpool_limits(2):
        two = best_time(lambda: fit(dense, W0, H0, "kullback-leibler"))
    results.append(row("dense KL: 1 thread / 2 threads", ">= 1.7x", f"{one / two:.2f}x",
                       one / two >= 1.7))
    d32, W32, H32 = dense.astype(np.float32), W0.astype(np.float32), H0.astype(np.float32)
    for loss in ("frobenius", "kullback-leibler"):
        t64 = best_time(lambda: fit(dense, W0, H0, loss))
        t32 = best_time(lambda: fit(d32, W32, H32, loss))
        e64 = fit(dense, W0, H0, loss).reconstruction_err_
        e32 = fit(d32, W32, H32, loss).reconstruction_err_
        rel = abs(e32 / e64 - 1)
        results.append(row(f"dense {loss}: float64 time / float32 time (objective rel. "
                           f"diff {rel:.1e})", ">= 1.6x", f"{t64 / t32:.2f}x",
                           t64 / t32 >= 1.6 and rel <= 1e-3))
    return results


def wordnet_corpus(max_docs=None):
    """Document-term counts of WordNet 3.0's glosses (one document per synset), or None."""
    files = [os.path.join(WORDNET, f"data.{p}") for p in ("noun", "verb", "adj", "adv")]
    if not all(os.path.exists(f) for f in files):
        return None
    docs = []
    for f in files:
        with open(f, encoding="latin-1") as fh:
            for line in fh:
                if line.startswith("  ") or "|" not in line:
                    continue
                docs.append(re.findall(r"[a-z]{3,}", line.split("|", 1)[1].lower()))
    docs = docs[:max_docs]
    df = Counter(w for d in docs for w in set(d))
    vocab = {w: i for i, w in enumerate(sorted(w for w, c in df.items() if c >= 3))}
    rows, cols, vals = [], [], []
    for r, d in enumerate(docs):
        for w, c in Counter(w for w in d if w in vocab).items():
            rows.append(r)
            cols.append(vocab[w])
            vals.append(c)
    X = sp.csr_matrix((np.asarray(vals, float), (rows, cols)), shape=(len(docs), len(vocab)))
    keep = np.flatnonzero(X.getnnz(axis=1))
    return X[keep]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    m, n, M, N, nnz = ((1000, 500, 5000, 2500, 60000) if args.quick
                       else (4000, 2000, 20000, 10000, 1_000_000))
    dense = rng.rand(m, n)
    csr = sp.random(M, N, density=nnz / (M * N), format="csr", random_state=1,
                    data_rvs=rng.rand)
    import sklearn
    print(f"nmfkit {nmfkit.__version__}, scikit-learn {sklearn.__version__}, numpy "
          f"{np.__version__}, {os.cpu_count()} cores, {nmfkit.effective_n_threads()} OpenMP "
          f"threads; dense {m}x{n}, CSR {M}x{N} with {csr.nnz} stored entries, k = {K}")
    results = bench_per_iteration(dense, csr, args.quick)
    corpus = wordnet_corpus(20000 if args.quick else None)
    cases = [("dense", dense, "frobenius", ("cd", "mu"), 3.0),
             ("CSR", csr, "frobenius", ("cd", "mu"), 3.0)]
    if corpus is not None:
        print(f"(corpus: WordNet glosses, {corpus.shape[0]} documents x {corpus.shape[1]} terms,"
              f" {corpus.nnz} stored entries)")
        cases.append(("WordNet", corpus, "frobenius", ("cd", "mu"), 3.0))
    else:
        print("(corpus row skipped: apt-get install wordnet-base)")
    cases.append(("CSR", csr, "kullback-leibler", ("mu",), 5.0))
    results += bench_time_to_solution(cases, args.quick)
    results += bench_memory(dense)
    results += bench_threads_and_float32(dense, args.quick)
    print(f"{sum(results)} of {len(results)} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
