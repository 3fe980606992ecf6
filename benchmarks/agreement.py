"""Issue 2's acceptance check: 100 mu iterations from the same W, H as scikit-learn.

Prints, for dense 2000 x 1000 and CSR 20000 x 10000 (0.5% dense), k = 20, float64, both
losses: scikit-learn's and nmfkit's final reconstruction_err_, their relative difference,
and both wall times with their ratio. Run: python benchmarks/agreement.py
"""

import time

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF as SkNMF

from nmfkit import NMF


def main(k=20, max_iter=100):
    rng = np.random.RandomState(0)
    cases = {
        "dense 2000x1000": rng.rand(2000, 1000),
        "csr 20000x10000 0.5%": sp.random(20000, 10000, density=0.005, format="csr",
                                          random_state=1, data_rvs=rng.rand),
    }
    print(f"{'data':22s} {'loss':18s} {'sklearn err':>14s} {'nmfkit err':>14s} {'rel diff':>9s} "
          f"{'sk s':>7s} {'nmfkit s':>8s} {'speedup':>7s}")
    worst = 0.0
    for name, X in cases.items():
        avg = np.sqrt(X.mean() / k)
        W0 = avg * rng.rand(X.shape[0], k)
        H0 = avg * rng.rand(k, X.shape[1])
        for loss in ("frobenius", "kullback-leibler"):
            res = {}
            for lib, cls in (("sk", SkNMF), ("nmfkit", NMF)):
                model = cls(k, init="custom", solver="mu", beta_loss=loss, max_iter=max_iter,
                            tol=0)
                t = time.perf_counter()
                model.fit_transform(X, W=W0.copy(), H=H0.copy())
                res[lib] = (model.reconstruction_err_, time.perf_counter() - t)
            rel = abs(res["nmfkit"][0] / res["sk"][0] - 1)
            worst = max(worst, rel)
            print(f"{name:22s} {loss:18s} {res['sk'][0]:14.8f} {res['nmfkit'][0]:14.8f} "
                  f"{rel:9.1e} {res['sk'][1]:7.2f} {res['nmfkit'][1]:8.2f} "
                  f"{res['sk'][1] / res['nmfkit'][1]:6.1f}x")
    print(f"worst relative difference: {worst:.1e} ({'OK' if worst <= 1e-6 else 'ABOVE'} 1e-6)")


if __name__ == "__main__":
    main()
