"""Exact results of a grid of fits, as SHA-256 hashes of W and H: the check that a
refactoring changes no result.

    python benchmarks/fit_hashes.py --write benchmarks/fit_hashes.json   # record
    python benchmarks/fit_hashes.py --check benchmarks/fit_hashes.json   # compare, exit 1 on
                                                                          # any difference

The grid: every loss and solver that goes together, dense (C and Fortran order) and CSR,
float32 and float64, missing values, penalties, restarts, every init, transform, the
streaming update, non_negative_factorization, orthogonal and sparse NMF and a rank survey;
with --dask also fits on a 2-worker LocalCluster. Results are the same bits on any thread
count, but they may change with the versions of NumPy, SciPy and the BLAS: compare only
records made with the same versions (the file keeps them).
"""

import argparse
import hashlib
import json
import sys
import warnings

import numpy as np
import scipy
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = a.toarray() if sp.issparse(a) else np.asarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:24]


def data(dtype=np.float64, m=60, n=40, k=4, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n))
    V[rng.random((m, n)) < 0.3] = 0.0
    return V.astype(dtype)


def layouts(dtype):
    V = data(dtype)
    return {"C": V, "F": np.asfortranarray(V), "csr": sp.csr_matrix(V)}


def survey_arrays(survey):
    """A rank survey's measures and consensus matrices, as arrays."""
    measures = [np.asarray(getattr(survey, name), dtype=np.float64)
                for name in ("cophenetic", "dispersion", "evar", "rss", "objective")]
    return measures + [np.asarray(survey.consensus[k]) for k in survey.ks]


def cases():
    """(name, thunk returning arrays) for every fit of the grid."""
    out = []
    losses = {"frobenius": ("mu", "amu", "hals", "ehals"), "kullback-leibler": ("mu", "cd"),
              1.5: ("mu",)}
    for dtype in (np.float64, np.float32):
        for layout, X in layouts(dtype).items():
            for loss, solvers in losses.items():
                for solver in solvers:
                    def fit(X=X, loss=loss, solver=solver):
                        model = NMF(4, beta_loss=loss, solver=solver, max_iter=60,
                                    random_state=0)
                        W = model.fit_transform(X)
                        return W, model.components_, model.transform(X)
                    out.append((f"{np.dtype(dtype).name}/{layout}/{loss}/{solver}", fit))
    V = data()
    P = V + 0.01  # no zeros: Itakura-Saito
    hidden = np.random.default_rng(1).random(V.shape) < 0.2
    Vn = V.copy()
    Vn[hidden] = np.nan
    extra = {
        "itakura-saito": lambda: NMF(4, beta_loss="itakura-saito", max_iter=40,
                                     random_state=0).fit(P).components_,
        "nan/frobenius": lambda: NMF(4, max_iter=60, random_state=0).fit_transform(Vn),
        "nan/kl": lambda: NMF(4, beta_loss="kullback-leibler", max_iter=60,
                              random_state=0).fit_transform(Vn),
        "mask/csr": lambda: NMF(4, max_iter=60, random_state=0).fit_transform(
            sp.csr_matrix(V), mask=~hidden),
        "penalties/mu": lambda: NMF(4, solver="mu", alpha_W=0.01, alpha_H=0.02, l1_ratio=0.3,
                                    max_iter=60, random_state=0).fit_transform(V),
        "penalties/ehals": lambda: NMF(4, alpha_W=0.01, l1_ratio=0.5, max_iter=60,
                                       random_state=0).fit_transform(V),
        "penalties/kl": lambda: NMF(4, beta_loss="kullback-leibler", alpha_W=0.01,
                                    max_iter=60, random_state=0).fit_transform(V),
        "n_init=3": lambda: NMF(4, n_init=3, max_iter=40, random_state=0).fit_transform(V),
        "tol=0": lambda: NMF(4, solver="mu", tol=0, max_iter=30,
                             random_state=0).fit_transform(V),
        "shuffle/hals": lambda: NMF(4, solver="hals", shuffle=True, max_iter=40,
                                    random_state=0).fit_transform(V),
        "floor=0": lambda: NMF(4, solver="mu", floor=0, max_iter=40,
                               random_state=0).fit_transform(V),
        "inits": lambda: [NMF(4, init=i, max_iter=30, random_state=0).fit_transform(V)
                               for i in ("random", "nndsvd", "nndsvda", "nndsvdar", "spa")],
        "non_negative_factorization": lambda: nmfkit.non_negative_factorization(
            V, n_components=4, max_iter=40, random_state=0)[:2],
        "auto/kl/csr": lambda: NMF(4, beta_loss="kullback-leibler", max_iter=60,
                                   random_state=0).fit_transform(sp.csr_matrix(V)),
        "penalties/kl/cd": lambda: NMF(4, beta_loss="kullback-leibler", solver="cd",
                                       alpha_W=0.01, alpha_H=0.02, l1_ratio=0.3, max_iter=60,
                                       random_state=0).fit_transform(V),
        "orthogonal=W": lambda: NMF(4, orthogonal="W", max_iter=60,
                                    random_state=0).fit_transform(V),
        "orthogonal=H/csr": lambda: NMF(4, orthogonal="H", max_iter=60,
                                        random_state=0).fit_transform(sp.csr_matrix(V)),
        "sparseness_H=0.6": lambda: NMF(4, sparseness_H=0.6, max_iter=60,
                                        random_state=0).fit_transform(V),
        "rank_survey": lambda: survey_arrays(nmfkit.rank_survey(V, [2, 3], n_runs=4,
                                                                max_iter=40, random_state=0)),
        "update_H=False": lambda: nmfkit.non_negative_factorization(
            V, H=NMF(4, max_iter=20, random_state=0).fit(V).components_, n_components=4,
            update_H=False)[0],
    }
    for name, fn in extra.items():
        out.append((name, fn))

    def stream(X, loss):
        model = NMF(4, beta_loss=loss, random_state=0)
        for _ in range(2):
            for start in range(0, X.shape[0], 15):
                model.partial_fit(X[start:start + 15])
        return model.components_
    for loss in ("frobenius", "kullback-leibler"):
        out.append((f"stream/dense/{loss}", lambda loss=loss: stream(V, loss)))
        out.append((f"stream/csr/{loss}", lambda loss=loss: stream(sp.csr_matrix(V), loss)))
    return out


def dask_cases():
    import dask.array as da
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    V = data(m=120)
    out = {}
    try:
        for loss in ("frobenius", "kullback-leibler"):
            X = da.from_array(V, chunks=(30, V.shape[1]))
            model = NMF(4, init="random", solver="mu", beta_loss=loss, max_iter=40,
                        random_state=0)
            W = model.fit_transform(X).compute()
            out[f"dask/{loss}"] = digest(W, model.components_)
    finally:
        client.close()
        cluster.close()
    return out


def run(with_dask):
    results = {}
    warnings.simplefilter("ignore")
    for name, fn in cases():
        value = fn()
        arrays = value if isinstance(value, (tuple, list)) else [value]
        results[name] = digest(*arrays)
    if with_dask:
        results.update(dask_cases())
    return results


def versions():
    return {"nmfkit": nmfkit.__version__, "numpy": np.__version__, "scipy": scipy.__version__}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE")
    group.add_argument("--check", metavar="FILE")
    parser.add_argument("--dask", action="store_true", help="also fits on a LocalCluster")
    args = parser.parse_args()
    results = run(args.dask)
    if args.write:
        with open(args.write, "w") as f:
            json.dump({"versions": versions(), "hashes": results}, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {len(results)} hashes to {args.write}")
        return 0
    with open(args.check) as f:
        recorded = json.load(f)
    if recorded["versions"] | {"nmfkit": None} != versions() | {"nmfkit": None}:
        print(f"note: recorded with {recorded['versions']}, now {versions()}")
    differ = [name for name, h in recorded["hashes"].items()
              if name in results and results[name] != h]
    missing = sorted(set(recorded["hashes"]) - set(results))
    for name in differ:
        print(f"DIFFERENT {name}")
    for name in missing:
        print(f"not run   {name}")
    same = len(recorded["hashes"]) - len(differ) - len(missing)
    print(f"{same} of {len(recorded['hashes'])} recorded results identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
