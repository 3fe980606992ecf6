"""Threads: every kernel gives the same bits on 1, 2 and 3 OpenMP threads, under
threadpoolctl limits, from two Python threads at once; per-thread workspaces; BLAS held to
one thread. Conventions and helpers: _kernel_cases.py."""

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from nmfkit.core.threads import blas_single_threaded, effective_n_threads
from nmfkit.kernels import dense as _dense, sparse as _sparse, steps as _steps

from _kernel_cases import (
    CHUNK,
    DTYPES,
    GEMM_ROWS,
    TINY,
    assert_close,
    col_blocks,
    csr_args,
    csr_with_empty_rows,
    dense_kl_num,
    dense_objective,
    f64,
    problem,
    rand,
    readonly,
    ref_kl_num,
    ref_objective,
    rtol,
    run_step,
    widths,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


KL_L_ROWS = 7      # run_all_kernels: L = 7 n, so 7 rows per W-side tile
KL_COL_BLOCK = 40  # and H-side blocks of 40 columns (clamped to n), 7 n / 40 rows per tile


def run_all_kernels(data, n_threads):
    """Every kernel once on `data`; returns a dict of results (arrays, floats, tuples)."""
    V, W, Ht, X, XT, dtype = (data[key] for key in ("V", "W", "Ht", "X", "XT", "dtype"))
    m, n = V.shape
    k = W.shape[1]
    res = {}
    with blas_single_threaded():
        out = np.empty((m, k), dtype)
        _dense.matmul(V, Ht, out, False, n_threads)
        res["matmul"] = out
        out = np.empty((n, k), dtype)
        _dense.matmul(V, W, out, True, n_threads)
        res["matmul_t"] = out
        res["gram"] = _dense.gram(W, np.empty((k, k), dtype)).copy()
        for h_side in (False, True):  # a fixed L and col_block: the same tiles for any count
            res[f"kl_num_{h_side}"] = dense_kl_num(V, W, Ht, h_side, KL_L_ROWS * n,
                                                   KL_COL_BLOCK, n_threads)
        for beta in (2.0, 1.0):
            res[f"obj_{beta}"] = dense_objective(V, W, Ht, beta, 5 * n, n_threads)
    for beta in (2.0, 1.0):
        res[f"stored_{beta}"] = _sparse.stored_terms(*X, W, Ht, beta, TINY, n_threads)
    out = np.empty((m, k), dtype)
    _sparse.matmul(*X, Ht, out, n_threads)
    res["spmm"] = out
    out = np.empty((n, k), dtype)
    _sparse.matmul(*XT, W, out, n_threads)
    res["spmm_t"] = out
    out = np.empty((m, k), dtype)
    _sparse.kl_numerator(*X, W, Ht, out, TINY, n_threads)
    res["sp_kl"] = out
    out = np.empty((n, k), dtype)
    _sparse.kl_numerator(*XT, Ht, W, out, TINY, n_threads)
    res["sp_kl_t"] = out
    # The steps take the CSR kernels' products as inputs (no BLAS in them), so that their
    # results stay comparable exactly even where BLAS is not held to one thread.
    num = res["spmm"]
    gram = np.ascontiguousarray(res["gram"])
    for name, step in (("mu_fro", _steps.mu_fro_step), ("hals", _steps.hals_step)):
        A = np.array(W)
        extra = (TINY,) if name == "mu_fro" else ()
        sums = step(A, num, gram, 0.1, 0.2, 1e-6, *extra, n_threads)
        res[name], res[name + "_sums"] = A, sums
    A = np.array(W)
    res["mu_div_delta"] = _steps.mu_div_step(A, res["sp_kl"], np.ascontiguousarray(Ht.sum(0)),
                                             0.1, 0.2, 1e-6, TINY, n_threads)
    res["mu_div"] = A
    return res


def make_data(rng, m, n, k, dtype, density=0.3):
    Xs = csr_with_empty_rows(rng, m, n, dtype, np.int32, density=density)
    V = readonly(Xs.toarray())
    XT = sp.csr_matrix(Xs.T)
    W, Ht = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    return {"V": V, "W": W, "Ht": Ht, "X": csr_args(Xs), "XT": csr_args(XT), "dtype": dtype}


# Results that go through BLAS (dense products, dense KL, dense objective, gram): exact only
# where BLAS is held to one thread; the rest never touches BLAS.
BLAS_KEYS = ("matmul", "gram", "kl_num", "obj")


def assert_same_results(a, b, dtype, blas_exact=True):
    """Every result bit-identical: arrays, sums and tuples of sums (no rounding allowed).

    blas_exact=False: the BLAS results only to rounding (see test_blas_single_threaded_in_
    another_python_thread: BLAS may not be single-threaded in a Python worker thread).
    """
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype == dtype, key
        else:
            assert type(x) is type(y), key
        if not blas_exact and key.startswith(BLAS_KEYS):
            np.testing.assert_allclose(x, y, rtol=rtol(dtype), err_msg=key)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            assert x == y, (key, x, y)  # exact, not approx


# Several chunks everywhere: m and n above GEMM_ROWS (2 BLAS blocks each side of matmul),
# 5 CHUNKs of rows on each side of the sparse kernels and in the steps, 39 W-side KL tiles,
# 7 H-side column blocks of 6 tiles each, 54 objective tiles.
BIG = (270, 260, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_thread_equals_two_threads(rng, dtype):
    data = make_data(rng, *BIG, dtype)
    one = run_all_kernels(data, 1)
    for n_threads in (2, 3):
        assert_same_results(one, run_all_kernels(data, n_threads), dtype)


def test_float32_close_to_float64(rng):
    """The same data in both precisions: every kernel agrees to float32 accuracy."""
    d64 = make_data(rng, 31, 23, 4, np.float64)
    d32 = dict(d64, dtype=np.float32)
    for key in ("V", "W", "Ht"):
        d32[key] = readonly(d64[key].astype(np.float32))
    for key in ("X", "XT"):
        d32[key] = readonly(d64[key][0], d64[key][1], d64[key][2].astype(np.float32))
    # Make the float64 inputs exactly the float32 values, so only kernel rounding differs.
    for key in ("V", "W", "Ht"):
        d64[key] = readonly(d32[key].astype(np.float64))
    for key in ("X", "XT"):
        d64[key] = readonly(d64[key][0], d64[key][1], d32[key][2].astype(np.float64))
    r32, r64 = run_all_kernels(d32, 2), run_all_kernels(d64, 2)
    for key in r64:
        if isinstance(r64[key], np.ndarray):
            assert r32[key].dtype == np.float32 and r64[key].dtype == np.float64
            assert_close(r32[key], r64[key], np.float32)
        else:
            np.testing.assert_allclose(r32[key], r64[key], rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("dtype", DTYPES)
def test_threadpool_limits_one(rng, dtype):
    data = make_data(rng, 150, 40, 4, dtype)
    two = run_all_kernels(data, 2)
    with threadpool_limits(1):
        assert effective_n_threads() == 1
        assert _steps.max_threads() == 1
        one = run_all_kernels(data, effective_n_threads())
    assert effective_n_threads() >= 1
    assert_same_results(two, one, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_in_two_python_threads(rng, dtype):
    """The kernels release the GIL and share no state: concurrent runs equal serial runs."""
    data_sets = [make_data(rng, 400, 300, 12, dtype, density=0.2) for _ in range(2)]
    expected = [run_all_kernels(d, 1) for d in data_sets]
    results = [[None] * 3 for _ in range(2)]
    errors = []
    barrier = threading.Barrier(2)

    def work(t):
        try:
            barrier.wait()
            for rep in range(3):
                results[t][rep] = run_all_kernels(data_sets[t], 2)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t in range(2):
        for rep in range(3):
            assert_same_results(expected[t], results[t][rep], dtype, blas_exact=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_inputs_from_two_python_threads(rng, dtype):
    """Two Python threads reading the same IN arrays, each with its own OUT arrays."""
    data = make_data(rng, 300, 250, 8, dtype, density=0.2)
    expected = run_all_kernels(data, 1)
    got = [None, None]
    barrier = threading.Barrier(2)

    def work(t):
        barrier.wait()
        got[t] = run_all_kernels(data, 2)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(2):
        assert got[t] is not None
        assert_same_results(expected, got[t], dtype, blas_exact=False)


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_single_threaded_in_another_python_thread():
    """A fit in a worker thread, after one in the main thread, still holds BLAS to one thread
    (otherwise BLAS threads nest in the OpenMP ones, and the bits depend on the thread)."""
    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS")
    before = blas_threads()
    for _ in range(2):  # the second time from the kept scan of the libraries
        with blas_single_threaded():  # as a fit in the main thread does
            assert set(blas_threads()) == {1}
        assert blas_threads() == before
    with threadpool_limits(2, user_api="blas"):
        if min(blas_threads()) < 2:
            pytest.skip("BLAS cannot use 2 threads here")
        seen = []

        def work():
            with blas_single_threaded():
                seen.extend(blas_threads())

        th = threading.Thread(target=work)
        th.start()
        th.join()
    assert seen and set(seen) == {1}, seen


# -- thread counts: determinism, workspaces per thread, more threads than rows -----------

THREADS = [1, 2, 3]


def reduction_results(data, n_threads):
    """Every kernel result that is a reduction over chunks, plus the steps' arrays.

    The inputs of the steps are computed in NumPy, so they do not depend on n_threads.
    """
    V, W, Ht, X, dtype = (data[key] for key in ("V", "W", "Ht", "X", "dtype"))
    n = V.shape[1]
    res = {}
    with blas_single_threaded():
        for beta in (2.0, 1.0):  # 3 rows per tile: many tiles, several per thread
            res[f"obj_{beta}"] = dense_objective(V, W, Ht, beta, 3 * n, n_threads)
        res["kl_num_True"] = dense_kl_num(V, W, Ht, True, 3 * n, 4, n_threads)
    for beta in (2.0, 1.0):
        res[f"stored_{beta}"] = _sparse.stored_terms(*X, W, Ht, beta, TINY, n_threads)
    V64, W64, H64 = f64(V, W, Ht)
    num = readonly((V64 @ H64).astype(dtype))
    gram = readonly((H64.T @ H64).astype(dtype))
    den = readonly(H64.sum(axis=0).astype(dtype))
    for name in ("mu_fro", "hals", "mu_div"):
        A = np.array(W)
        res[name + "_sums"] = run_step(name, A, num, gram, den, n_threads)
        res[name] = A
    return res


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
def test_reductions_bit_identical_on_repeat(rng, dtype, n_threads):
    """Dynamic scheduling never changes the bits: the same call, the same result."""
    data = make_data(rng, 3 * CHUNK + 5, 37, 4, dtype)
    first = reduction_results(data, n_threads)
    assert isinstance(first["obj_2.0"], float) and len(first["mu_fro_sums"]) == 3
    for _ in range(3):
        assert_same_results(first, reduction_results(data, n_threads), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_bit_identical_across_thread_counts(rng, dtype):
    """One partial sum per chunk, added in chunk order: the same bits on any thread count."""
    data = make_data(rng, 3 * CHUNK + 5, 37, 4, dtype)
    one = reduction_results(data, 1)
    for n_threads in THREADS[1:]:
        assert_same_results(one, reduction_results(data, n_threads), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("m", [10, 7, 2])
def test_dense_kl_and_objective_workspace_per_thread(rng, dtype, n_threads, m):
    """Each thread works in its own row of buf, for every L and column block.

    L from n (one row per tile) to more than m * n (one tile), most tiles not dividing m,
    and m = 2 with 3 threads (a thread without a task). dense_kl_num and dense_objective
    check that a buf row beyond n_threads stays untouched. Every result is bit-identical to
    the one-thread result for the same L and col_block.
    """
    n, k = 6, 3
    V, W, Ht = problem(rng, m, n, k, dtype)
    refs = {h_side: ref_kl_num(V, W, Ht, h_side, TINY) for h_side in (False, True)}
    objs = {beta: ref_objective(V, W, Ht, beta, TINY) for beta in (2.0, 1.0)}
    assert any(m % (L // n) for L in widths(m, n))
    with blas_single_threaded():
        for L in widths(m, n):
            for h_side in (False, True):
                for cb in (col_blocks(n) if h_side else [3]):
                    num = dense_kl_num(V, W, Ht, h_side, L, cb, n_threads)
                    assert_close(num, refs[h_side], dtype)
                    np.testing.assert_array_equal(
                        num, dense_kl_num(V, W, Ht, h_side, L, cb, 1), err_msg=str((L, cb)))
            for beta in (2.0, 1.0):
                got = dense_objective(V, W, Ht, beta, L, n_threads)
                assert got == pytest.approx(objs[beta], rel=rtol(dtype))
                assert got == dense_objective(V, W, Ht, beta, L, 1), (L, beta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_x", [False, True])
@pytest.mark.parametrize("rows", [1, 3, GEMM_ROWS, GEMM_ROWS + 1, 3 * GEMM_ROWS - 5])
def test_dense_matmul_thread_chunks(rng, dtype, trans_x, rows):
    """Blocks of GEMM_ROWS output rows, any thread count, the same bits.

    Fewer blocks than threads (1, 3, GEMM_ROWS rows), a one-row last block (GEMM_ROWS + 1)
    and a short one (3 GEMM_ROWS - 5); every row written exactly once.
    """
    inner, k = 6, 3
    X = readonly(rand(rng, (inner, rows) if trans_x else (rows, inner), dtype, zeros=0.3))
    B = readonly(rand(rng, (inner, k), dtype))
    Xd, Bd = f64(X, B)
    expected = (Xd.T if trans_x else Xd) @ Bd
    results = []
    with blas_single_threaded():
        for n_threads in (1, 2, 3, 4):
            out = np.full((rows, k), np.nan, dtype=dtype)
            _dense.matmul(X, B, out, trans_x, n_threads)
            assert np.all(np.isfinite(out)), n_threads
            assert_close(out, expected, dtype)
            results.append(out)
    for n_threads, out in zip((2, 3, 4), results[1:]):
        np.testing.assert_array_equal(out, results[0], err_msg=str(n_threads))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 2])
def test_all_kernels_with_more_threads_than_rows(rng, dtype, m):
    data = make_data(rng, m, 5, 3, dtype, density=0.6)
    assert_same_results(run_all_kernels(data, 1), run_all_kernels(data, 3), dtype)
