"""Single-thread CPU time of the CSR kernels on the WordNet corpus (k = 20, best of 7).

python benchmarks/sparse_kernels.py    (needs Debian's wordnet-base; see run.py)

The factor rows these kernels read follow the column indices of V, at random: the numbers
show how well the kernels hide that memory latency (they prefetch rows ahead).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from nmfkit.kernels import sparse as _sparse  # noqa: E402

from run import wordnet_corpus  # noqa: E402


def main():
    X = wordnet_corpus()
    if X is None:
        print("needs /usr/share/wordnet: apt-get install wordnet-base")
        return 1
    XT = X.T.tocsr()
    rng = np.random.RandomState(0)
    W, Ht = rng.rand(X.shape[0], 20), rng.rand(X.shape[1], 20)
    a = (X.indptr.astype(np.int32), X.indices.astype(np.int32), X.data)
    b = (XT.indptr.astype(np.int32), XT.indices.astype(np.int32), XT.data)
    cases = {
        "SpMM V Ht": lambda: _sparse.matmul(*a, Ht, np.empty_like(W), 1),
        "SpMM V^T W": lambda: _sparse.matmul(*b, W, np.empty_like(Ht), 1),
        "KL numerator, W side": lambda: _sparse.kl_numerator(*a, W, Ht, np.empty_like(W),
                                                             1e-12, 1),
        "KL numerator, H side": lambda: _sparse.kl_numerator(*b, Ht, W, np.empty_like(Ht),
                                                             1e-12, 1),
    }
    print(f"WordNet corpus {X.shape[0]} x {X.shape[1]}, {X.nnz} entries, k = 20, 1 thread")
    for name, fn in cases.items():
        best = np.inf
        for _ in range(7):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
        print(f"  {name:24s} {best * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
