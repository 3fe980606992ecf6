"""Single-thread CPU time of nmfkit's hot kernels against their NumPy / BLAS equivalents.

python benchmarks/kernels.py

Best of 7 of time.process_time() on one thread (threadpoolctl), so that a busy shared
machine disturbs the figures as little as possible. Dense: 4000 x 2000, k = 20 (the
products of one Frobenius iteration, against numpy's BLAS). Steps: 117000 rows, k = 20.
Sparse: benchmarks/sparse_kernels.py.
"""

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nmfkit.kernels import dense as _dense, steps as _steps


def best(fn, repeat=7):
    out = np.inf
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out = min(out, time.process_time() - t)
    return out * 1000


def main():
    rng = np.random.RandomState(0)
    with threadpool_limits(1):
        for dtype in (np.float64, np.float32):
            V = rng.rand(4000, 2000).astype(dtype)
            W, Ht = rng.rand(4000, 20).astype(dtype), rng.rand(2000, 20).astype(dtype)
            o1, o2 = np.empty((2000, 20), dtype), np.empty((4000, 20), dtype)
            print(f"{np.dtype(dtype).name}: dense 4000 x 2000, k = 20 (ms, 1 thread)")
            print(f"  V^T W  nmfkit {best(lambda: _dense.matmul(V, W, o1, True, 1)):6.2f}"
                  f"   numpy W.T @ V {best(lambda: W.T @ V):6.2f}")
            if dtype == np.float32 and _dense.vtw_f32_kernel():
                _dense.vtw_f32_kernel(False)  # the same product through scipy's BLAS
                print(f"  V^T W  nmfkit through BLAS "
                      f"{best(lambda: _dense.matmul(V, W, o1, True, 1)):6.2f}")
                _dense.vtw_f32_kernel(True)
            print(f"  V Ht   nmfkit {best(lambda: _dense.matmul(V, Ht, o2, False, 1)):6.2f}"
                  f"   numpy V @ Ht  {best(lambda: V @ Ht):6.2f}")
            buf = np.empty((1, 2000 * 50), dtype)
            ref_fro = best(lambda: 0.5 * np.sum((V - W @ Ht.T) ** 2, dtype=np.float64))
            print(f"  Frobenius objective  nmfkit "
                  f"{best(lambda: _dense.objective(V, W, Ht, buf, 2.0, 1e-30, 1)):6.2f}"
                  f"   numpy {ref_fro:6.2f}")
            print(f"  KL objective         nmfkit "
                  f"{best(lambda: _dense.objective(V, W, Ht, buf, 1.0, 1e-30, 1)):6.2f}")
            def numpy_sums():
                return V.sum(dtype=np.float64), np.einsum("ij,ij->", V, V, dtype=np.float64)
            print(f"  sum and sum of squares  nmfkit {best(lambda: _dense.sums(V, 1)):6.2f}"
                  f"   numpy {best(numpy_sums):6.2f}")
            A = rng.rand(117000, 20).astype(dtype)
            print(f"  Gram of 117000 x 20  nmfkit "
                  f"{best(lambda: _dense.gram(A, np.empty((20, 20), dtype), 1)):6.2f}"
                  f"   numpy A.T @ A {best(lambda: A.T @ A):6.2f}")
            num = (rng.rand(117000, 20) * 20).astype(dtype)
            B = rng.rand(500, 20).astype(dtype)
            gram = (B.T @ B).astype(dtype)
            hals = best(lambda: _steps.hals_step(A.copy(), num, gram, 0, 0, 1e-9, 1))
            mu = best(lambda: _steps.mu_fro_step(A.copy(), num, gram, 0, 0, 1e-9, 1e-20, 1))
            copy = best(lambda: A.copy())
            print(f"  steps over 117000 rows: HALS sweep {hals - copy:6.2f}, "
                  f"MU step {mu - copy:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
