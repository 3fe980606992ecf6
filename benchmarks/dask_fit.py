"""A 2-worker dask LocalCluster fit against the in-process fit on the same data (issue 7).

    python benchmarks/dask_fit.py                       # dense 20000 x 2000, k = 20
    python benchmarks/dask_fit.py --m 40000 --n 4000 --density 0.01   # CSR chunks

Both fits start from the same random start and run the same number of multiplicative-update
iterations (tol=0), so they do the same arithmetic; the script prints the time of each, their
ratio, and how far the two results are apart. The cluster has two worker processes with one
thread each; the in-process fit uses every core of the machine (OpenMP), so on a 2-core
machine the two have the same hardware. V is put on the workers before the clock starts, as
data that is generated or loaded on a cluster would be. Shared machines are noisy: run it a
few times and read the ratio, not the absolute times.
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=20000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--density", type=float, default=None,
                    help="CSR data with this density (default: dense)")
    ap.add_argument("--chunks", type=int, default=8, help="row chunks of the dask array")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2, help="best of this many fits each")
    ap.add_argument("--loss", default="both", choices=["frobenius", "kullback-leibler", "both"])
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    from nmfkit import NMF, effective_n_threads

    rng = np.random.RandomState(0)
    if args.density:
        V = sp.random(args.m, args.n, density=args.density, format="csr", random_state=rng,
                      data_rvs=rng.rand)
    else:
        V = rng.rand(args.m, args.k) @ rng.rand(args.k, args.n) + 0.1 * rng.rand(args.m, args.n)
    rows = -(-args.m // args.chunks)
    losses = ["frobenius", "kullback-leibler"] if args.loss == "both" else [args.loss]
    kind = f"CSR density {args.density}" if args.density else "dense"
    print(f"V: {args.m} x {args.n}, {kind}, float64, k = {args.k}, {args.iters} MU iterations, "
          f"{args.chunks} row chunks; in-process threads: {effective_n_threads()}")
    # V goes to the workers once, from this process (dask warns about large graphs).
    warnings.filterwarnings("ignore", message=".*Large object.*")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X = da.from_array(V, chunks=(rows, args.n), asarray=not args.density).persist()
        client.wait_for_workers(2)
        for loss in losses:
            kw = dict(n_components=args.k, init="random", solver="mu", beta_loss=loss,
                      random_state=0, tol=0, max_iter=args.iters)
            t_local, t_dask = [], []
            for _ in range(args.repeats):
                t = time.perf_counter()
                local = NMF(**kw)
                W_local = local.fit_transform(V)
                t_local.append(time.perf_counter() - t)
                t = time.perf_counter()
                dist = NMF(**kw)
                W_dist = dist.fit_transform(X).compute()
                t_dask.append(time.perf_counter() - t)
            dH = np.abs(dist.components_ - local.components_).max() / np.abs(
                local.components_).max()
            dW = np.abs(W_dist - W_local).max() / np.abs(W_local).max()
            print(f"{loss:17s} in-process {min(t_local):7.2f} s   2-worker LocalCluster "
                  f"{min(t_dask):7.2f} s   ratio {min(t_dask) / min(t_local):5.2f}x   "
                  f"per iteration {min(t_local) / args.iters * 1e3:6.1f} vs "
                  f"{min(t_dask) / args.iters * 1e3:6.1f} ms   "
                  f"max rel. difference H {dH:.1e}, W {dW:.1e}")


if __name__ == "__main__":
    main()
