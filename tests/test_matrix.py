"""nmfkit.core.matrix.Matrix: dense C, dense Fortran and CSR give the same products and
divergences; round trips, workspaces and column blocks. Helpers: _kernel_cases.py."""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit.core.matrix import Matrix
from nmfkit.core.threads import blas_single_threaded
from nmfkit.kernels import dense as _dense

from _kernel_cases import DTYPES, TINY, assert_close, f64, rand, ref_objective, rtol


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def matrix_variants(V):
    """The same V as dense C, dense Fortran, CSR; the Fortran one works on V^T."""
    MC, MF, MS = Matrix(np.ascontiguousarray(V)), Matrix(np.asfortranarray(V)), \
        Matrix(sp.csr_matrix(V))
    return MC, MF, MS


MATRIX_SHAPES = [(13, 9, 3), (1, 7, 2), (7, 1, 2), (6, 5, 1), (3, 4, 6)]
MATRIX_IDS = ["m13n9k3", "m1", "n1", "k1", "k>m,n"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", MATRIX_SHAPES, ids=MATRIX_IDS)
def test_matrix_dense_equals_csr(rng, dtype, m, n, k):
    V = rand(rng, (m, n), dtype, zeros=0.5)
    if m > 2:
        V[1] = 0.0  # an empty CSR row
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    MC, MF, MS = matrix_variants(V)
    assert (MC.kind, MF.kind, MS.kind) == ("dense", "dense", "csr")
    assert not MC.transposed and not MS.transposed
    assert MF.transposed == (m > 1 and n > 1)  # a single row/column is also C-contiguous
    assert MC.tiny == MF.tiny == MS.tiny
    nt = 2

    Wc, Hc = MC.to_internal(W, H)
    Ws, Hs = MS.to_internal(W, H)
    Wf, Hf = MF.to_internal(W, H)
    assert Wf.shape == (MF.internal_shape[0], k) and Hf.shape == (MF.internal_shape[1], k)
    for Wi, Hi in ((Wc, Hc), (Ws, Hs), (Wf, Hf)):
        assert Wi.flags.c_contiguous and Hi.flags.c_contiguous
        assert Wi.dtype == Hi.dtype == dtype

    # The caller's W-side and H-side numerators, through each variant.
    def caller_products(M, Wi, Hi, fn):
        rows_w, rows_h = Wi.shape[0], Hi.shape[0]
        a = np.full((rows_w, k), np.nan, dtype)
        b = np.full((rows_h, k), np.nan, dtype)
        if fn == "xb":
            M.multiply(Hi, a, False, nt)
            M.multiply(Wi, b, True, nt)
        else:
            M.kl_numerator(Wi, Hi, a, False, nt)
            M.kl_numerator(Wi, Hi, b, True, nt)
        assert a.dtype == b.dtype == dtype
        if M.transposed:  # internal W is the caller's H^T: swap back
            a, b = b, a
        return a, b  # (m x k): numerator of W; (n x k): numerator of H^T

    Vd, Wd, Hd = f64(V, W, H)
    WH = Wd @ Hd
    R = Vd / np.maximum(WH, MC.tiny)
    refs = {"xb": (Vd @ Hd.T, Vd.T @ Wd), "kl": (R @ Hd.T, R.T @ Wd)}
    with blas_single_threaded():  # nt = 2 OpenMP threads, each calling BLAS
        for fn in ("xb", "kl"):
            for M, Wi, Hi in ((MC, Wc, Hc), (MF, Wf, Hf), (MS, Ws, Hs)):
                a, b = caller_products(M, Wi, Hi, fn)
                assert_close(a, refs[fn][0], dtype)
                assert_close(b, refs[fn][1], dtype)

        for beta in (2.0, 1.0):
            expected = ref_objective(V, W, H.T, beta, MC.tiny)
            scale = float(np.sum(Vd * Vd) + np.sum(WH * WH)) if beta == 2.0 else \
                float(Vd.sum() + WH.sum())
            for M, Wi, Hi in ((MC, Wc, Hc), (MF, Wf, Hf), (MS, Ws, Hs)):
                got = M.divergence(Wi, Hi, beta, nt)
                assert got == pytest.approx(expected, rel=rtol(dtype),
                                            abs=rtol(dtype) * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("magnitude", [1.0, 1e100])
def test_matrix_fortran_round_trip(rng, dtype, magnitude):
    if dtype == np.float32 and magnitude > 1e30:
        magnitude = 1e30
    m, n, k = 8, 6, 3
    V = np.asfortranarray(rand(rng, (m, n), np.float64) * magnitude).astype(dtype, order="F")
    V.setflags(write=False)
    V0 = V.copy(order="F")
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    for M in (Matrix(V), Matrix(np.ascontiguousarray(V)), Matrix(sp.csr_matrix(V))):
        assert M.internal_shape == ((n, m) if M.transposed else (m, n))
        if magnitude > 1:
            assert M.scale != 1.0
        Wi, Hi = M.to_internal(W, H)
        assert Wi.shape == (M.internal_shape[0], k) and Hi.shape == (M.internal_shape[1], k)
        W2, H2 = M.to_external(Wi, Hi)
        assert W2.dtype == H2.dtype == dtype
        assert W2.shape == W.shape and H2.shape == H.shape
        np.testing.assert_array_equal(W2, W)  # power-of-4 scaling makes this exact
        np.testing.assert_array_equal(H2, H)
        ext = M.external()
        ext = ext.toarray() if sp.issparse(ext) else np.asarray(ext)
        np.testing.assert_array_equal(ext * dtype(M.scale), V)
    MF = Matrix(V)
    assert MF.transposed
    if MF.scale == 1.0:  # Fortran V is used through its transpose, not copied
        assert np.shares_memory(MF.V, V)
    assert MF.V.flags.c_contiguous and MF.V.shape == (n, m)
    np.testing.assert_array_equal(V, V0)


def test_matrix_buffers_are_valid_workspaces(rng):
    """buffers(n_threads): (>= n_threads, L), L >= n (internal n), rows for the thread cap;
    made once, and again only for more threads than it has rows."""
    for m, n, order in ((5, 3, "C"), (4000, 3, "C"), (3, 5000, "C"), (2, 4, "C"),
                        (4000, 3, "F"), (300, 200, "F")):
        for dtype in DTYPES:
            M = Matrix(np.asarray(rand(rng, (m, n), dtype), order=order))
            n_int = M.V.shape[1]
            assert n_int == (m if order == "F" and m > 1 and n > 1 else n)
            for nt in (1, 2, 3):
                buf = M.buffers(nt)
                assert buf is M.buffers(nt)  # made once
                assert buf.dtype == M.dtype and buf.flags.c_contiguous
                assert buf.shape[0] == nt and buf.shape[1] >= n_int
                # A valid workspace for the kernels at that thread count (no ValueError).
                k = 2
                W, Ht = (np.ones((r, k), M.dtype) for r in M.V.shape)
                num = np.empty((n_int, k), M.dtype)
                with blas_single_threaded():
                    _dense.kl_numerator(M.V, W, Ht, True, num, buf, M.col_block, TINY, nt)
                    _dense.objective(M.V, W, Ht, buf, 2.0, TINY, nt)
            assert M.buffers(1) is M.buffers(3)  # fewer threads reuse the rows there are
            big = M.buffers(8)  # more threads than rows: new buffers, of the same length
            assert big.shape == (8, buf.shape[1]) and M.buffers(1) is big
            # another Python thread has buffers of its own
            other = []
            t = threading.Thread(target=lambda: other.append(M.buffers(1)))
            t.start()
            t.join()
            assert other[0] is not M.buffers(1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_buffer_length_does_not_depend_on_threads(rng, dtype):
    """L (hence the tiles, hence the results) depends on V alone, for any thread count."""
    for shape in ((5, 3), (40, 30), (2500, 40), (3, 5000), (1500, 2000)):
        M = Matrix(rand(rng, shape, dtype))
        widths_ = [M.buffers(nt).shape[1] for nt in (1, 2, 3, 4, 8, 64)]
        assert len(set(widths_)) == 1, (shape, widths_)
        assert widths_[0] == M.workspace_length()
        # A thread's row holds a fortieth of V within 256 KiB to 4 MiB, or one row of V
        L, item = widths_[0], M.dtype.itemsize
        assert L == M.V.shape[1] or (1 << 18) - item < L * item <= 1 << 22, (shape, L)
        assert L == M.V.shape[1] or L * item == max(M.V.nbytes // 40, 1 << 18), (shape, L)


def test_matrix_col_block():
    """A property: about an eighth of n, within [16, 256]."""
    assert isinstance(vars(Matrix)["col_block"], property)
    for n, expected in ((1, 16), (3, 16), (128, 16), (129, 17), (800, 100), (2048, 256),
                        (5000, 256)):
        M = Matrix(np.ones((2, n)))
        assert M.col_block == expected and isinstance(M.col_block, int), n


@pytest.mark.parametrize("dtype", DTYPES)
def test_matrix_results_do_not_depend_on_thread_count(rng, dtype):
    """Through Matrix (its own buffers and col_block) the dense KL numerators and the
    divergences are bit-identical for 1, 2 and 3 threads, with several tiles and blocks."""
    m, n, k = 2500, 40, 3
    V = rand(rng, (m, n), dtype, zeros=0.3)
    M = Matrix(V)
    L = M.buffers(1).shape[1]
    assert m > L // n and n > M.col_block  # several W-side tiles and H-side blocks
    W, H = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
    Wi, Hi = M.to_internal(W, H)
    results = []
    with blas_single_threaded():
        for nt in (1, 2, 3):
            a = np.full((m, k), np.nan, dtype)
            b = np.full((n, k), np.nan, dtype)
            M.kl_numerator(Wi, Hi, a, False, nt)
            M.kl_numerator(Wi, Hi, b, True, nt)
            results.append((a, b, M.divergence(Wi, Hi, 2.0, nt), M.divergence(Wi, Hi, 1.0, nt)))
    R = f64(V)[0] / np.maximum(f64(W)[0] @ f64(H)[0], M.tiny)
    assert_close(results[0][0], R @ f64(H)[0].T, dtype)
    assert_close(results[0][1], R.T @ f64(W)[0], dtype)
    for nt, res in zip((2, 3), results[1:]):
        np.testing.assert_array_equal(res[0], results[0][0], err_msg=str(nt))
        np.testing.assert_array_equal(res[1], results[0][1], err_msg=str(nt))
        assert res[2:] == results[0][2:], nt



def test_sparse_sums_do_not_depend_on_blas_threads(rng):
    """A CSR matrix's sum of squares (the Frobenius objective's constant) is the same bits
    whatever BLAS's thread count. BLAS's dot split a long vector among its threads (other
    bits on 2 threads than on 1), and left them spinning into the fit that followed."""
    from threadpoolctl import threadpool_limits
    X = sp.random(400, 300, density=0.2, random_state=3, format="csr") * 7.0
    assert X.nnz > 20000  # longer than BLAS's serial cutoff for a dot
    values = []
    for limit in (1, 2, None):
        with threadpool_limits(limit, user_api="blas"):
            M = Matrix(X)
        values.append((M.sq_norm, M.total))
    assert values[0] == values[1] == values[2]
    exact = float(np.sum(np.square(X.data.astype(np.longdouble))))
    assert values[0][0] == pytest.approx(exact, rel=1e-14)
    assert values[0][1] == float(X.data.sum())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("r,k", [(0, 3), (1, 1), (1, 2), (5, 7), (9000, 20), (20000, 3)])
def test_column_sums_are_numpys(rng, dtype, r, k):
    """column_sums gives the bits of NumPy's B.sum(axis=0, dtype=...) (KL MU's denominator in
    B's precision, coordinate descent's in double): row after row (the kernel, k > 1), or
    NumPy's own (k = 1, a Fortran-ordered B)."""
    from nmfkit.core.matrix import column_sums
    from nmfkit.kernels import steps
    B = (rng.random((r, k)) * 10.0 ** rng.uniform(-4, 4, (r, k))).astype(dtype)
    for out_dtype in {dtype, np.float64}:
        for layout in (B, np.asfortranarray(B)):
            got = column_sums(layout, out_dtype)
            assert got.dtype == out_dtype
            np.testing.assert_array_equal(got, layout.sum(axis=0, dtype=out_dtype))
    with pytest.raises(ValueError, match="k columns"):
        steps.column_sums(B, np.empty(k + 1))
    if dtype == np.float64:
        with pytest.raises(TypeError, match="float32"):
            steps.column_sums(B, np.empty(k, np.float32))
