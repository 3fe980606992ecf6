"""End-to-end fits for ci/sanitize.sh: every kernel, through the public API, on awkward shapes.

Run by ci/sanitize.sh with the AddressSanitizer / UBSan runtime preloaded (full set) and,
with NMFKIT_VALGRIND=1, under valgrind (--quick). It only checks that each fit and transform
runs and returns finite, nonnegative factors of the right shapes; the sanitizers decide
whether the kernels touched memory they should not have (a report kills the process).

    python ci/sanitize_tests.py [--quick] [--expect asan|plain] [--expect-dir DIR]

Cases (full set): dense C-ordered, dense Fortran-ordered (the transposed internal problem)
and CSR with empty rows and columns; Frobenius with solvers mu / amu / hals and KL with mu /
amu; float32 and float64; shapes with several row chunks (> 64 rows) and GEMM blocks (> 256
rows), m = 1, n = 1 and k larger than m and n; then transform() on new rows; plus a dense KL
problem large enough that the KL kernels work in several ragged tiles per thread, n_init = 2,
regularization, and 1 and 3 OpenMP threads. The whole set runs twice: as users run it (nmfkit
runs a kernel call serially when its work is small) and with every kernel call forced onto all
OpenMP threads. --quick is a handful of small fits, forced parallel, for valgrind.
"""

import argparse
import itertools
import os
import sys
import time
import warnings


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a few small fits (for valgrind)")
    p.add_argument("--expect", choices=["asan", "plain"], default=None,
                   help="asan: fail unless the kernels are ASan-instrumented and libasan is "
                        "loaded; plain: fail if they are instrumented")
    p.add_argument("--expect-dir", default=None,
                   help="fail unless nmfkit is imported from below this directory")
    return p.parse_args()


def check_build(args):
    import nmfkit
    from nmfkit.kernels import dense as _dense, sparse as _sparse, steps as _steps

    path = os.path.realpath(nmfkit.__file__)
    print(f"nmfkit {nmfkit.__version__} from {path} (HAVE_OPENMP={nmfkit.HAVE_OPENMP}, "
          f"{nmfkit.effective_n_threads()} OpenMP threads)")
    problems = []
    if args.expect_dir:
        root = os.path.realpath(args.expect_dir)
        if not path.startswith(root + os.sep):
            problems.append(f"nmfkit is imported from {path}, not from below {root}")
    if args.expect:
        mods = [_dense, _sparse, _steps]
        instrumented = []
        for mod in mods:
            with open(mod.__file__, "rb") as fh:
                instrumented.append(b"__asan_report_" in fh.read())
        with open("/proc/self/maps") as fh:
            asan_loaded = "libasan" in fh.read()
        if args.expect == "asan":
            if not all(instrumented):
                problems.append("kernels without AddressSanitizer instrumentation: " + ", ".join(
                    m.__name__ for m, i in zip(mods, instrumented) if not i))
            if not asan_loaded:
                problems.append("the ASan runtime (libasan) is not loaded in this process")
        elif any(instrumented):
            problems.append("expected a build without sanitizers, found __asan_ symbols")
    if problems:
        sys.exit("sanitize_tests: " + "; ".join(problems))


def make_data(rng, kind, m, n, dtype):
    import numpy as np
    import scipy.sparse as sp

    X = rng.uniform(0.1, 1.0, size=(m, n))
    X[rng.random((m, n)) < 0.4] = 0.0
    if kind == "csr":
        if m > 2:
            X[1, :] = 0.0  # an empty row
        if n > 2:
            X[:, -1] = 0.0  # an empty column
        return sp.csr_matrix(X.astype(dtype))
    if X.max() == 0:
        X[0, 0] = 1.0
    return np.asarray(X, dtype=dtype, order="F" if kind == "dense-F" else "C")


def check_factors(W, H, m, n, k, dtype, what):
    import numpy as np

    assert W.shape == (m, k) and H.shape == (k, n), (what, W.shape, H.shape)
    for name, F in (("W", W), ("H", H)):
        assert F.dtype == dtype, (what, name, F.dtype)
        assert np.all(np.isfinite(F)), (what, name, "not finite")
        assert np.all(F >= 0), (what, name, "negative entries")


def fit_case(rng, kind, m, n, k, beta, solver, dtype, max_iter, **extra):
    import numpy as np

    import nmfkit

    X = make_data(rng, kind, m, n, dtype)
    init = "random" if k > min(m, n) else None
    model = nmfkit.NMF(k, beta_loss=beta, solver=solver, max_iter=max_iter, tol=1e-4,
                       init=init, random_state=0, **extra)
    what = f"{kind} {m}x{n} k={k} {beta} {solver} {np.dtype(dtype).name} {extra or ''}"
    W = model.fit_transform(X)
    check_factors(W, model.components_, m, n, k, dtype, what)
    assert np.isfinite(model.reconstruction_err_), what
    # transform on new rows (another m) runs the W solve from its own start
    m2 = max(1, m // 2 + 1)
    X2 = make_data(rng, kind, m2, n, dtype)
    W2 = model.transform(X2)
    check_factors(W2, model.components_, m2, n, k, dtype, what + " transform")
    return what


def cases(quick):
    """(kind, m, n, k, beta, solver, dtype, max_iter, extra) tuples."""
    import numpy as np

    solvers = [("frobenius", "mu"), ("frobenius", "amu"), ("frobenius", "hals"),
               ("kullback-leibler", "mu"), ("kullback-leibler", "amu")]
    kinds = ["dense", "dense-F", "csr"]
    dtypes = [np.float32, np.float64]
    if quick:
        shapes = [(40, 25, 3), (7, 5, 9)]
        solvers = [("frobenius", "hals"), ("frobenius", "mu"), ("kullback-leibler", "mu")]
        for (m, n, k), kind, (beta, solver), dtype in itertools.product(
                shapes, kinds, solvers, dtypes):
            if (m, n) == (7, 5) and dtype == np.float32:
                continue
            yield kind, m, n, k, beta, solver, dtype, 4, {}
        return
    # (m, n, k): ordinary; several chunks of 64 rows and GEMM blocks of 256 rows on both
    # sides (internally V or V^T); m = 1; n = 1; k > m, n.
    shapes = [(50, 30, 4), (300, 70, 5), (70, 290, 3), (1, 12, 3), (12, 1, 2), (7, 5, 9)]
    for i, ((m, n, k), kind, (beta, solver), dtype) in enumerate(itertools.product(
            shapes, kinds, solvers, dtypes)):
        extra = {"alpha_W": 0.01, "l1_ratio": 0.5} if i % 3 == 1 else {}
        yield kind, m, n, k, beta, solver, dtype, 12, extra
    # Dense KL with several ragged tiles per thread (see Matrix.buffers: V of ~10 MB gives
    # tiles of a few tens of rows, the H side walks column blocks of ~n/8) and a ragged last
    # tile, both orientations.
    for kind, dtype in itertools.product(["dense", "dense-F"], dtypes):
        yield kind, 1310, 1003, 4, "kullback-leibler", "mu", dtype, 3, {}
    yield "csr", 1310, 1003, 6, "kullback-leibler", "amu", np.float32, 3, {}
    yield "dense", 90, 60, 4, "frobenius", "hals", np.float64, 12, {"n_init": 2}


def force_parallel(on):
    """Make every kernel call use all OpenMP threads, however small (or restore the default).

    nmfkit runs a kernel serially when its work is below _threads.MIN_WORK_PER_THREAD flops
    per thread, which would leave the parallel code paths (per-thread buffers, more threads
    than chunks) out of every small fit. Returns False if this nmfkit has no such knob.
    """
    from nmfkit.core import threads as _threads

    if not hasattr(_threads, "MIN_WORK_PER_THREAD"):
        return False
    if not hasattr(force_parallel, "default"):
        force_parallel.default = _threads.MIN_WORK_PER_THREAD
    _threads.MIN_WORK_PER_THREAD = 1 if on else force_parallel.default
    return True


def main():
    args = parse_args()
    warnings.simplefilter("ignore")  # ConvergenceWarning: the fits are deliberately short
    check_build(args)

    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(20240611)
    t0 = time.perf_counter()
    n_fits = 0
    # Pass 1 as users run it (small work serial); pass 2 with every kernel call parallel.
    passes = [True] if args.quick else [False, True]
    if not force_parallel(False):
        print("note: no nmfkit.core.threads.MIN_WORK_PER_THREAD; nmfkit chooses the thread counts")
        passes = [False]
    for parallel in passes:
        force_parallel(parallel)
        print(f"pass: {'every kernel call on all threads' if parallel else 'as users run it'}")
        for kind, m, n, k, beta, solver, dtype, max_iter, extra in cases(args.quick):
            fit_case(rng, kind, m, n, k, beta, solver, dtype, max_iter, **extra)
            n_fits += 1
    if not args.quick:
        # one thread, and more threads than cores and than some inputs' chunks (still forced
        # parallel after pass 2)
        for n_threads in (1, 3):
            with threadpool_limits(n_threads, user_api="openmp"):
                for kind, (beta, solver) in itertools.product(
                        ["dense", "csr"], [("frobenius", "hals"), ("kullback-leibler", "mu")]):
                    fit_case(rng, kind, 130, 40, 3, beta, solver, np.float64, 8)
                    n_fits += 1
    force_parallel(False)
    print(f"sanitize_tests: {n_fits} fits (+ transform each) OK in "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
