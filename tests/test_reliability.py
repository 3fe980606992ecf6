"""Reliability: bad input is refused clearly, awkward input works, nothing is modified,
threads and interrupts are safe, nothing leaks, results are reproducible."""

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import nmfkit
from nmfkit import NMF, NotFittedError, nmf
from nmfkit.kernels import (
    cd as _cd,
    dense as _dense,
    loop as _loop,
    sparse as _sparse,
    steps as _steps,
)
from nmfkit.solvers.alternating import compiled_loop

RNG = np.random.RandomState(0)
X_OK = RNG.rand(12, 8)
# Rank 2 plus 1% noise (its own generator, so RNG's draws for the other tests stay as they
# were): the best rank-2 fit leaves 0.63% of it (relative Frobenius error), the rank-1
# outer product of its row and column means 16%, so a bound of 1.5 x the best tells a real
# fit from a trivial answer. Uniform noise such as X_OK cannot: there the best rank-2 fit
# leaves 37% and the means 47%.
_LOW_RNG = np.random.RandomState(2)
X_LOW = _LOW_RNG.rand(12, 2) @ _LOW_RNG.rand(2, 8) + 0.01 * _LOW_RNG.rand(12, 8)


def fit_ok(X, k=3, **kw):
    kw.setdefault("max_iter", 30)
    kw.setdefault("random_state", 0)
    W, H, info = nmf(X, k, **kw)
    for F in (W, H):
        assert np.all(np.isfinite(F)) and np.all(F >= 0)
    assert np.isfinite(info["reconstruction_err"])
    return W, H, info


# -- bad input: one ValueError or TypeError that names the argument ------------------------
def _corrupt_csr(kind):
    X = sp.csr_matrix(X_OK)
    indices, indptr = X.indices.copy(), X.indptr.copy()
    if kind == "index_too_large":
        indices[3] = 8
    elif kind == "index_negative":
        indices[3] = -1
    elif kind == "indptr_decreasing":
        indptr[4], indptr[5] = indptr[5], indptr[4]
    elif kind == "indptr_end":
        indptr[-1] -= 1
    elif kind == "indptr_short":
        indptr = indptr[:-1]
    bad = sp.csr_matrix(X_OK.shape)
    bad.data, bad.indices, bad.indptr = X.data.copy(), indices, indptr
    return bad


BAD_X = {
    "negative": (np.array([[1.0, -1.0], [2.0, 3.0]]), ValueError, "Negative"),
    "all_nan": (np.full((2, 3), np.nan), ValueError, "no observed entry"),
    "inf": (np.array([[1.0, np.inf], [2.0, 3.0]]), ValueError, "infinity"),
    "neg_inf": (np.array([[1.0, -np.inf], [2.0, 3.0]]), ValueError, "infinity"),
    "empty_rows": (np.zeros((0, 4)), ValueError, "0 sample"),
    "empty_cols": (np.zeros((4, 0)), ValueError, "0 feature"),
    "one_d": (np.ones(5), ValueError, "2-D"),
    "three_d": (np.ones((2, 2, 2)), ValueError, "2-D"),
    "complex": (np.ones((3, 3), dtype=complex), ValueError, "Complex"),
    "strings": (np.array([["a", "b"], ["c", "d"]]), TypeError, "numeric"),
    "object": (np.array([[1.0, {}], [2.0, 3.0]], dtype=object), TypeError, "numeric"),
    "sparse_negative": (sp.csr_matrix(np.array([[1.0, -1.0]])), ValueError, "Negative"),
    "sparse_nan": (sp.csr_matrix(np.array([[1.0, np.nan]])), ValueError, "NaN"),
    "sparse_complex": (sp.csr_matrix(np.ones((2, 2), dtype=complex)), ValueError, "Complex"),
    "sparse_empty": (sp.csr_matrix((0, 3)), ValueError, "0 sample"),
    **{f"csr_{k}": (None, ValueError, "corrupt") for k in
       ("index_too_large", "index_negative", "indptr_decreasing", "indptr_end",
        "indptr_short")},
}


@pytest.mark.parametrize("case", sorted(BAD_X))
def test_bad_x_is_refused(case):
    X, exc, words = BAD_X[case]
    if X is None:
        X = _corrupt_csr(case[4:])
    with pytest.raises(exc, match=words):
        NMF(2, max_iter=5).fit(X)


BAD_PARAMS = [
    (dict(n_components=0), ValueError, "n_components"),
    (dict(n_components=-2), ValueError, "n_components"),
    (dict(n_components=2.5), TypeError, "n_components"),
    (dict(n_components="two"), TypeError, "n_components"),
    (dict(n_components=True), TypeError, "n_components"),
    (dict(max_iter=0), ValueError, "max_iter"),
    (dict(max_iter=1.5), TypeError, "max_iter"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(tol=float("nan")), ValueError, "tol"),
    (dict(tol="small"), TypeError, "tol"),
    (dict(n_init=0), ValueError, "n_init"),
    (dict(init="svd"), ValueError, "init"),
    (dict(beta_loss="euclid"), ValueError, "beta_loss"),
    (dict(beta_loss=float("inf")), ValueError, "beta_loss"),
    (dict(beta_loss=[2]), TypeError, "beta_loss"),
    (dict(solver="hals", beta_loss=1.5), ValueError, "solver"),
    (dict(solver="newton"), ValueError, "solver"),
    (dict(solver="hals", beta_loss="kullback-leibler"), ValueError, "solver"),
    (dict(alpha_W=-1.0), ValueError, "alpha_W"),
    (dict(l1_ratio=2.0), ValueError, "l1_ratio"),
    (dict(floor=-1.0), ValueError, "floor"),
    (dict(floor="high"), ValueError, "floor"),
    (dict(random_state="seed"), TypeError, "random_state"),
    (dict(callback=3), TypeError, "callback"),
    (dict(check_every=0), ValueError, "check_every"),
]


@pytest.mark.parametrize("params,exc,words", BAD_PARAMS)
def test_bad_parameters_are_refused(params, exc, words):
    params = {"n_components": 2, "max_iter": 5, **params}
    with pytest.raises(exc, match=words):
        NMF(**params).fit(X_OK)


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda", "nndsvdar", "spa"])
@pytest.mark.parametrize("layout", ["C", "F", "csr", "wide"])
def test_an_init_that_cannot_start_that_rank_says_so(init, layout):
    """NNDSVD takes k singular pairs and SPA k columns of X, so k > min(n_samples,
    n_features) is a ValueError in scikit-learn's words (not an IndexError from inside the
    SVD), whatever the layout; k = min(n_samples, n_features) still starts."""
    X = np.random.RandomState(0).rand(40, 30)
    X = {"C": X, "F": np.asfortranarray(X), "csr": sp.csr_matrix(X), "wide": X.T}[layout]
    with pytest.raises(ValueError, match=rf"init = '{init}' can only be used when "
                       r"n_components <= min\(n_samples, n_features\); got n_components=31 "
                       rf"for X of shape \({X.shape[0]}, {X.shape[1]}\)"):
        NMF(31, init=init).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        W = NMF(30, init=init, max_iter=2).fit_transform(X)
    assert W.shape == (X.shape[0], 30)


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda", "nndsvdar"])
def test_init_rank_error_begins_as_scikit_learns(init):
    skl = pytest.importorskip("sklearn.decomposition")
    X = np.random.RandomState(0).rand(40, 30)
    with pytest.raises(ValueError) as theirs:
        skl.NMF(50, init=init).fit(X)
    with pytest.raises(ValueError) as ours:
        NMF(50, init=init).fit(X)
    assert str(ours.value).startswith(str(theirs.value))


def test_spa_start_on_data_of_too_low_rank_says_so():
    X = np.outer(np.arange(1.0, 6.0), np.arange(1.0, 5.0))  # rank 1
    with pytest.raises(ValueError, match=r"init='spa' needs X of rank >= n_components, but X "
                       r"has rank 1 < n_components=3: choose n_components <= 1"):
        NMF(3, init="spa").fit(X)


@pytest.mark.parametrize("which,value,words", [
    ("W", np.ones((12, 4)), "shape"), ("H", np.ones((2, 8)), "shape"),
    ("W", -np.ones((12, 3)), "Negative"), ("H", np.full((3, 8), np.nan), "NaN"),
    ("W", None, "required"), ("W", np.zeros((12, 3)), "zeros"),
    ("W", sp.csr_matrix(np.ones((12, 3))), "dense"), ("H", np.full((3, 8), np.inf), "infinity"),
    ("W", np.ones(12), "2-D"), ("H", np.full((3, 8), "a"), "numeric"),
])
def test_bad_custom_factors_are_refused(which, value, words):
    factors = {"W": np.ones((12, 3)), "H": np.ones((3, 8)), which: value}
    with pytest.raises((ValueError, TypeError), match=words):
        NMF(3, init="custom", max_iter=5).fit(X_OK, **factors)


@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((0, 5, 2), {}, ValueError, "m must be an integer >= 1"),
    ((5, -1, 2), {}, ValueError, "n must be an integer >= 1"),
    ((5, 5, 0), {}, ValueError, "k must be an integer >= 1"),
    ((2.5, 5, 2), {}, TypeError, "m must be an integer"),
    ((5, 5, 2), dict(density="half"), ValueError, "density must be None or a number"),
    ((5, 5, 2), dict(dtype=int), TypeError, "floating-point dtype.*got int64"),
    ((5, 5, 2), dict(dtype=complex), TypeError, "floating-point dtype"),
])
def test_make_low_rank_bad_arguments(args, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        nmfkit.make_low_rank(*args, **kwargs)


def test_transform_before_fit_and_wrong_features():
    with pytest.raises(NotFittedError):
        NMF(2).transform(X_OK)
    with pytest.raises(NotFittedError):
        NMF(2).inverse_transform(np.ones((3, 2)))
    model = NMF(2, max_iter=20).fit(X_OK)
    with pytest.raises(ValueError, match="features"):
        model.transform(np.ones((4, 5)))
    with pytest.raises(ValueError, match="shape"):
        model.inverse_transform(np.ones((4, 3)))


# -- awkward but valid input ---------------------------------------------------------------
def _big_endian(X):
    return X.astype(X.dtype.newbyteorder(">"))


AWKWARD = {
    "zero_rows_cols": lambda: np.pad(X_OK, ((0, 2), (1, 0))),
    "all_zero": lambda: np.zeros((6, 5)),
    "integers": lambda: (X_OK * 10).astype(np.int64),
    "uint8": lambda: (X_OK * 10).astype(np.uint8),
    "booleans": lambda: X_OK > 0.5,
    "float16": lambda: X_OK.astype(np.float16),
    "fortran": lambda: np.asfortranarray(X_OK),
    "strided": lambda: np.repeat(np.repeat(X_OK, 2, 0), 2, 1)[::2, ::2],
    "transposed_view": lambda: X_OK.T.copy().T,
    "big_endian": lambda: _big_endian(X_OK),
    "float32_huge": lambda: (X_LOW * 1e37).astype(np.float32),
    "float32_tiny": lambda: (X_LOW * 1e-36).astype(np.float32),
    "float64_huge": lambda: X_LOW * 1e300,
    "float64_tiny": lambda: X_LOW * 1e-300,
    "single_row": lambda: X_OK[:1],
    "single_column": lambda: X_OK[:, :1],
    "list_of_lists": lambda: X_OK.tolist(),
    "csr_unsorted_duplicates_zeros": lambda: sp.csr_matrix(
        (np.array([1.0, 2.0, 0.0, 3.0, 1.5]), np.array([2, 0, 1, 2, 0]),
         np.array([0, 3, 3, 5])), shape=(3, 4)),
    "csr_int64_indices": lambda: _int64(sp.csr_matrix(X_OK)),
    "csr_array": lambda: sp.csr_array(X_OK),
    "csc": lambda: sp.csc_matrix(X_OK),
    "csc_array": lambda: sp.csc_array(X_OK),
    "coo": lambda: sp.coo_matrix(X_OK),
    "lil": lambda: sp.lil_matrix(X_OK),
    "sparse_int": lambda: sp.csr_matrix((X_OK * 5).astype(np.int32)),
    "sparse_all_zero": lambda: sp.csr_matrix((5, 4)),
    "sparse_big_endian": lambda: _big_endian_data(sp.csr_matrix(X_OK)),
}


def _big_endian_data(X):
    X.data = _big_endian(X.data)
    return X


def _int64(X):
    X.indices = X.indices.astype(np.int64)
    X.indptr = X.indptr.astype(np.int64)
    return X


@pytest.mark.parametrize("case", sorted(AWKWARD))
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
def test_awkward_input_works(case, loss):
    X = AWKWARD[case]()
    k = 1 if case in ("single_row", "single_column") else 2
    extreme = case.endswith(("huge", "tiny"))
    # at extreme magnitudes, fit to convergence: the answer is checked, not just its shape
    W, H, info = fit_ok(X, k, beta_loss=loss, **(dict(max_iter=300, tol=1e-6) if extreme
                                                 else {}))
    m, n = np.shape(X) if not sp.issparse(X) else X.shape
    assert W.shape == (m, k) and H.shape == (k, n)
    dtype = np.float32 if case.startswith("float32") else np.float64
    assert W.dtype == dtype and H.dtype == dtype
    if extreme:
        s = float(np.max(X))
        Xd = np.asarray(X, dtype=np.float64) / s
        Wd, Hd = W.astype(np.float64) / np.sqrt(s), H.astype(np.float64) / np.sqrt(s)
        rel = np.linalg.norm(Xd - Wd @ Hd) / np.linalg.norm(Xd)
        sv = np.linalg.svd(X_LOW, compute_uv=False)
        best = np.sqrt(np.sum(sv[2:] ** 2) / np.sum(sv ** 2))  # the best rank-2 error
        # the fit is as good at any magnitude as at unit scale: near the best rank 2
        assert rel <= 1.5 * best, (rel, best)
    else:
        # the same values as a plain C-ordered float64 array give the same fit (a sparse
        # matrix to rounding: its products add up in another order)
        ref = np.ascontiguousarray(X.toarray() if sp.issparse(X) else np.asarray(X),
                                   dtype=np.float64)
        # 'auto' runs KL coordinate descent on sparse data (MU on dense): the reference runs
        # the solver the awkward input ran
        solver = "cd" if sp.issparse(X) and loss == "kullback-leibler" else "auto"
        W0, H0, _ = fit_ok(ref, k, beta_loss=loss, solver=solver)
        tol = 1e-3 if sp.issparse(X) else 1e-10
        np.testing.assert_allclose(W @ H, W0 @ H0, rtol=0,
                                   atol=tol * max(float(np.max(W0 @ H0)), 1e-300))


def test_extreme_magnitudes_give_the_same_fit_as_unit_scale():
    base = fit_ok(X_OK.astype(np.float32), 2, init="nndsvda", tol=0)[2]["reconstruction_err"]
    for scale in (2.0 ** 120, 2.0 ** -120):
        X = (X_OK * scale).astype(np.float32)
        err = fit_ok(X, 2, init="nndsvda", tol=0)[2]["reconstruction_err"]
        assert err / scale == pytest.approx(base, rel=1e-4)


def test_huge_sparse_shape_never_densified():
    # The dense form would take 8 TB: any m x n allocation would fail at once.
    m = n = 1_000_000
    rng = np.random.RandomState(0)
    rows, cols = rng.randint(0, m, 20000), rng.randint(0, n, 20000)
    X = sp.csr_matrix((rng.rand(20000), (rows, cols)), shape=(m, n))
    for loss in ("frobenius", "kullback-leibler"):
        W, H, info = nmf(X, 2, beta_loss=loss, init="random", max_iter=3, tol=0,
                         random_state=0)
        assert W.shape == (m, 2) and H.shape == (2, n)
        assert np.isfinite(info["reconstruction_err"])


# -- inputs are never modified; read-only and memory-mapped inputs work ---------------------
def test_inputs_are_not_modified():
    X = RNG.rand(10, 7)
    X_copy = X.copy()
    S = sp.csr_matrix((np.array([1.0, 2.0, 0.0, 3.0, 1.5]), np.array([2, 0, 1, 2, 0]),
                       np.array([0, 3, 3, 5])), shape=(3, 4))
    S_parts = [a.copy() for a in (S.data, S.indices, S.indptr)]
    W0, H0 = RNG.rand(10, 2), RNG.rand(2, 7)
    W0c, H0c = W0.copy(), H0.copy()
    for loss in ("frobenius", "kullback-leibler"):
        model = NMF(2, init="custom", beta_loss=loss, max_iter=20)
        model.fit(X, W=W0, H=H0)
        model.transform(X)
        NMF(2, beta_loss=loss, max_iter=20).fit(S).transform(S)
    assert np.array_equal(X, X_copy)
    assert np.array_equal(W0, W0c) and np.array_equal(H0, H0c)
    for a, b in zip((S.data, S.indices, S.indptr), S_parts):
        assert np.array_equal(a, b)


def test_read_only_and_memmap(tmp_path):
    """Read-only and memory-mapped inputs give the fit of a writable copy, bit for bit."""
    def same_fit(X, writable):
        W, H, _ = fit_ok(X, 3)
        W0, H0, _ = fit_ok(writable, 3)
        assert W.dtype == W0.dtype
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(H, H0)
    X = RNG.rand(20, 9)
    X.setflags(write=False)
    same_fit(X, X.copy())
    Xf = np.asfortranarray(RNG.rand(20, 9))
    Xf.setflags(write=False)
    same_fit(Xf, np.asfortranarray(Xf.copy()))
    S = sp.csr_matrix(RNG.rand(20, 9))
    S0 = S.copy()
    for a in (S.data, S.indices, S.indptr):
        a.setflags(write=False)
    same_fit(S, S0)
    path = tmp_path / "x.npy"
    np.save(path, RNG.rand(20, 9).astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    same_fit(mm, np.array(mm))


# -- threads, interrupts, leaks, determinism ----------------------------------------------
def test_concurrent_fits_match_solo_results():
    data = [RNG.rand(150, 80) for _ in range(4)] + [sp.random(300, 200, density=0.05,
                                                              random_state=i)
                                                    for i in range(2)]
    kw = dict(max_iter=60, tol=0, random_state=0)
    losses = ["frobenius", "kullback-leibler"]
    solo = [nmf(X, 4, beta_loss=losses[i % 2], **kw)[:2] for i, X in enumerate(data)]
    results = [None] * len(data)

    def work(i):
        results[i] = nmf(data[i], 4, beta_loss=losses[i % 2], **kw)[:2]
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(data))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (W1, H1), (W2, H2) in zip(solo, results):
        assert np.array_equal(W1, W2) and np.array_equal(H1, H2)


# The kernels release the GIL, and Ctrl-C stops a fit within the iteration it arrives in.
# Both are observed through the order of events, never timed: with the switch interval
# raised to 1000 s the interpreter never takes the GIL from a running thread, so a second
# Python thread can run only where the first one gives the GIL up (inside a kernel).
KERNEL_MODULES = {"_cd": _cd, "_dense": _dense, "_loop": _loop, "_sparse": _sparse,
                  "_steps": _steps}
KERNELS = ["_cd.kl_cd_csr", "_cd.kl_cd_dense_columns", "_cd.kl_cd_dense_rows",
           "_dense.beta_products", "_dense.gram", "_dense.kl_numerator", "_dense.matmul",
           "_dense.objective", "_dense.sums", "_loop.mu_loop", "_sparse.beta_numerator",
           "_sparse.beta_stored", "_sparse.kl_numerator", "_sparse.matmul",
           "_sparse.stored_terms", "_steps.column_sums", "_steps.extrapolate", "_steps.hals_step",
           "_steps.mu_beta_step", "_steps.mu_div_step", "_steps.mu_fro_step"]


def test_the_kernel_list_is_complete():
    """Every compiled kernel (a fused Cython function) is in KERNELS, so each is checked."""
    fused = sorted(f"{mod}.{name}" for mod, module in KERNEL_MODULES.items()
                   for name in dir(module)
                   if type(getattr(module, name)).__name__ == "fused_cython_function")
    assert fused == KERNELS


def _copy_args(value):
    if isinstance(value, np.ndarray):
        return np.array(value, order="K")
    if isinstance(value, tuple):
        return tuple(_copy_args(v) for v in value)
    return value


def _nbytes(value):
    if isinstance(value, np.ndarray):
        return value.nbytes
    return sum(_nbytes(v) for v in value) if isinstance(value, tuple) else 0


class _Recorder:
    """Stands in for a kernel during the fits below: calls it, and keeps (a copy of) the
    arguments of its largest call, so that each kernel can then be run alone."""

    def __init__(self, name, kernel, largest):
        self.name, self.kernel, self.largest = name, kernel, largest

    def __getitem__(self, key):  # a fused kernel specialized by indexing
        return _Recorder(self.name, self.kernel[key], self.largest)

    def __call__(self, *args):
        size = _nbytes(args)
        if size > self.largest.get(self.name, (-1,))[0]:
            self.largest[self.name] = (size, self.kernel, _copy_args(args))
        return self.kernel(*args)


@pytest.fixture(scope="module")
def kernel_calls():
    """{kernel name: (kernel, args)}: the largest call of every kernel in fits that cover
    all solvers, losses, dense and CSR data, missing values and float32 (one OpenMP thread,
    so that a core stays free for the observing thread)."""
    largest = {}
    saved = {}
    for name in KERNELS:
        mod, attr = name.split(".")
        saved[name] = getattr(KERNEL_MODULES[mod], attr)
        setattr(KERNEL_MODULES[mod], attr, _Recorder(name, saved[name], largest))
    rng = np.random.RandomState(0)
    D = rng.rand(1500, 200)
    S = sp.random(3000, 1500, density=0.01, random_state=0, format="csr")
    Dn = np.where(rng.rand(*D.shape) < 0.1, np.nan, D)
    kw = dict(n_components=10, max_iter=2, tol=0, random_state=0, init="nndsvda")
    try:
        with threadpool_limits(1, user_api="openmp"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for X in (D, S):
                for loss, solver in [("frobenius", "mu"), ("frobenius", "amu"),
                                     ("frobenius", "hals"), ("frobenius", "ehals"),
                                     ("kullback-leibler", "mu"), ("kullback-leibler", "cd"),
                                     (1.5, "mu")]:
                    NMF(beta_loss=loss, solver=solver, **kw).fit(X)
            # dense 'mu' runs its whole loop in kernels.loop; the Python loop's kernels too
            previous = compiled_loop(False)
            try:
                for loss in ("frobenius", "kullback-leibler"):
                    NMF(beta_loss=loss, solver="mu", **kw).fit(D)
            finally:
                compiled_loop(previous)
            for loss in ("frobenius", 1.5):
                NMF(beta_loss=loss, **kw).fit(Dn)
                NMF(beta_loss=loss, **kw).fit(S, mask=S > 0.5)
            NMF(**kw).fit(D.astype(np.float32))
    finally:
        for name, kernel in saved.items():
            mod, attr = name.split(".")
            setattr(KERNEL_MODULES[mod], attr, kernel)
    return {name: (kernel, args) for name, (_, kernel, args) in largest.items()}


def _main_thread_runs_during(kernel, args, max_calls):
    """Call kernel(*args) in a second thread, again and again, until this thread has run
    Python code while a call was in progress (True), or max_calls calls are over (False).
    With no preemption, this thread runs only when the kernel gives up the GIL: a kernel
    that keeps it lets nothing run here until its last call has returned."""
    state = {"inside": False, "seen": False, "done": False, "error": None}

    def work():
        try:
            for _ in range(max_calls):
                state["inside"] = True
                kernel(*args)
                state["inside"] = False
                if state["seen"]:
                    break
        except Exception as exc:  # reported below, in the test's thread
            state["error"] = exc
        finally:
            state["done"] = True

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        while not state["done"]:
            if state["inside"]:
                state["seen"] = True
            time.sleep(0)  # gives the GIL back, so that a call that has returned can report
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    if state["error"] is not None:
        raise state["error"]
    return state["seen"]


def test_every_kernel_is_covered_by_the_gil_fits(kernel_calls):
    assert sorted(kernel_calls) == KERNELS


@pytest.mark.parametrize("name", KERNELS)
def test_kernel_releases_the_gil(kernel_calls, name):
    kernel, args = kernel_calls[name]
    # a call is usually seen at once; small calls may end before this thread wakes up, so
    # they get more tries (the bound matters only for a kernel that keeps the GIL)
    max_calls = int(np.clip(2e9 / _nbytes(args), 100, 2000))
    with threadpool_limits(1, user_api="openmp"):
        assert _main_thread_runs_during(kernel, args, max_calls), f"{name} holds the GIL"


CTRL_C_CHILD = textwrap.dedent("""
    import os, signal, sys, threading
    import numpy as np
    from threadpoolctl import threadpool_info
    from nmfkit import nmf
    from nmfkit.core import threads as _threads

    def small_fit():
        return nmf(np.random.RandomState(1).rand(20, 10), 2, max_iter=50, random_state=0)[:2]

    before, pools = small_fit(), threadpool_info()
    sys.setswitchinterval(1000.0)  # the sender below runs only while a kernel runs
    iterations, sent_after = [], []
    armed = threading.Event()

    def send():
        armed.wait()
        sent_after.append(iterations[-1])
        os.kill(os.getpid(), signal.SIGINT)

    def callback(it, objective):
        iterations.append(it)
        if it == 5:
            armed.set()

    threading.Thread(target=send, daemon=True).start()
    X = np.random.RandomState(0).rand(300, 200)
    try:
        nmf(X, 5, beta_loss="kullback-leibler", max_iter=3000, tol=0, check_every=1,
            callback=callback, random_state=0)
        print("not interrupted", iterations[-1])
    except KeyboardInterrupt:  # no iteration recorded after the one the signal came in
        print("interrupted", sent_after[0] >= 5, sent_after[0] == iterations[-1])
    sys.setswitchinterval(0.005)
    after = small_fit()
    same = all(np.array_equal(a, b) for a, b in zip(before, after))
    print("usable", same, _threads._depth, threadpool_info() == pools)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_fit_within_the_iteration_it_arrives_in():
    """SIGINT, sent after iteration 5 from a thread that can run only while a kernel runs,
    ends the fit before the next iteration is recorded (the first kernel to give the GIL
    up to the sender may come some iterations later, but the stop never does); afterwards
    the process is as before: BLAS limits restored, and a fit gives the same bits."""
    out = subprocess.run([sys.executable, "-c", CTRL_C_CHILD], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["interrupted True True", "usable True 0 True"]


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux /proc")
def test_a_thousand_small_fits_do_not_grow_the_process():
    X = RNG.rand(30, 20)
    S = sp.csr_matrix(X * (X > 0.5))

    def batch(n):
        for i in range(n):
            data = X if i % 2 else S
            nmf(data, 3, beta_loss="kullback-leibler" if i % 3 else "frobenius",
                max_iter=5, tol=0, random_state=i)
    batch(200)
    before = _rss_bytes()
    batch(1000)
    grown = _rss_bytes() - before
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_same_seed_gives_bit_identical_results(kind, loss):
    X = RNG.rand(300, 200) if kind == "dense" else sp.random(400, 300, density=0.05,
                                                             random_state=3)
    kw = dict(beta_loss=loss, max_iter=80, random_state=42, init="random")
    W1, H1, i1 = nmf(X, 5, **kw)
    W2, H2, i2 = nmf(X, 5, **kw)
    assert np.array_equal(W1, W2) and np.array_equal(H1, H2)
    assert i1["n_iter"] == i2["n_iter"]
    assert nmfkit.effective_n_threads() >= 1


def test_works_without_scikit_learn():
    # scikit-learn is a test dependency only: block it and use the estimator in full.
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        import numpy as np
        import nmfkit
        from nmfkit import NMF, NotFittedError
        X = np.random.RandomState(0).rand(20, 8)
        model = NMF(3, max_iter=300, random_state=0)
        W = model.fit_transform(X)
        assert W.shape == (20, 3) and model.components_.shape == (3, 8)
        assert model.get_params()["n_components"] == 3
        model.set_params(max_iter=50)
        assert "max_iter=50" in repr(model)
        assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]
        assert np.allclose(model.transform(X), W, atol=1e-3 * W.max())
        try:
            NMF(2).transform(X)
        except NotFittedError:
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
