"""Reliability: bad input is refused clearly, awkward input works, nothing is modified,
threads and interrupts are safe, nothing leaks, results are reproducible."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

import nmfkit
from nmfkit import NMF, NotFittedError, nmf

RNG = np.random.RandomState(0)
X_OK = RNG.rand(12, 8)


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


@pytest.mark.parametrize("which,value,words", [
    ("W", np.ones((12, 4)), "shape"), ("H", np.ones((2, 8)), "shape"),
    ("W", -np.ones((12, 3)), "Negative"), ("H", np.full((3, 8), np.nan), "NaN"),
    ("W", None, "required"), ("W", np.zeros((12, 3)), "zeros"),
    ("W", sp.csr_matrix(np.ones((12, 3))), "dense"),
])
def test_bad_custom_factors_are_refused(which, value, words):
    factors = {"W": np.ones((12, 3)), "H": np.ones((3, 8)), which: value}
    with pytest.raises((ValueError, TypeError), match=words):
        NMF(3, init="custom", max_iter=5).fit(X_OK, **factors)


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
    "float32_huge": lambda: (X_OK * 1e37).astype(np.float32),
    "float32_tiny": lambda: (X_OK * 1e-36).astype(np.float32),
    "float64_huge": lambda: X_OK * 1e300,
    "float64_tiny": lambda: X_OK * 1e-300,
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
    W, H, info = fit_ok(X, k, beta_loss=loss)
    m, n = np.shape(X) if not sp.issparse(X) else X.shape
    assert W.shape == (m, k) and H.shape == (k, n)
    dtype = np.float32 if case.startswith("float32") else np.float64
    assert W.dtype == dtype and H.dtype == dtype
    if case.endswith(("huge", "tiny")):
        s = float(np.max(X))
        Xd = np.asarray(X, dtype=np.float64) / s
        Wd, Hd = W.astype(np.float64) / np.sqrt(s), H.astype(np.float64) / np.sqrt(s)
        rel = np.linalg.norm(Xd - Wd @ Hd) / np.linalg.norm(Xd)
        assert rel < 0.5  # the fit is meaningful at any magnitude, not just finite


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
    X = RNG.rand(20, 9)
    X.setflags(write=False)
    fit_ok(X, 3)
    Xf = np.asfortranarray(RNG.rand(20, 9))
    Xf.setflags(write=False)
    fit_ok(Xf, 3)
    S = sp.csr_matrix(RNG.rand(20, 9))
    for a in (S.data, S.indices, S.indptr):
        a.setflags(write=False)
    fit_ok(S, 3)
    path = tmp_path / "x.npy"
    np.save(path, RNG.rand(20, 9).astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    W, H, _ = fit_ok(mm, 3)
    assert W.dtype == np.float32


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


def test_kernels_release_the_gil():
    # While a long fit runs in a thread, the main thread keeps running Python code.
    X = RNG.rand(600, 400)
    done = threading.Event()
    ticks = []

    def work():
        nmf(X, 10, beta_loss="kullback-leibler", max_iter=40, tol=0, random_state=0)
        done.set()
    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([np.inf])
    assert len(ticks) > 5 and np.median(gaps) < 0.05


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_a_long_fit_quickly():
    code = textwrap.dedent("""
        import sys, time, numpy as np
        from nmfkit import nmf
        X = np.random.RandomState(0).rand(1500, 1000)
        print("ready", flush=True)
        try:
            nmf(X, 20, beta_loss="kullback-leibler", max_iter=100000, tol=0)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        W, H, info = nmf(np.random.RandomState(1).rand(20, 10), 2, max_iter=50)
        print("usable", np.isfinite(info["reconstruction_err"]), flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        line = proc.stdout.readline().strip()
        delay = time.perf_counter() - sent
        assert line == "interrupted"
        assert delay < 2.0, delay
        assert proc.stdout.readline().strip() == "usable True"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()


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
