"""nmfkit.kernels.sparse (CSR products, KL numerator, stored-entry sums) against NumPy.
Conventions and helpers: _kernel_cases.py."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit.kernels import sparse as _sparse

from _kernel_cases import (
    CHUNK,
    DTYPES,
    INDEX_DTYPES,
    NT,
    SHAPE_IDS,
    TINY,
    assert_close,
    csr_args,
    csr_with_empty_rows,
    f64,
    rand,
    readonly,
    ref_kl_num,
    ref_stored_terms,
    rtol,
    small_wh_problem,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


SPARSE_SHAPES = [(12, 9, 3), (1, 6, 2), (6, 1, 2), (5, 4, 1), (3, 4, 6), (1, 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_matmul(rng, dtype, index_dtype, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    B = readonly(rand(rng, (n, k), dtype))
    out = np.full((m, k), np.nan, dtype=dtype)
    _sparse.matmul(*csr_args(X), B, out, NT)
    assert out.dtype == dtype
    assert_close(out, X.toarray().astype(np.float64) @ f64(B)[0], dtype)
    empty = np.diff(X.indptr) == 0
    assert np.all(out[empty] == 0)  # empty rows are written, as zeros


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_kl_numerator(rng, dtype, index_dtype, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    A, B = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    num = np.full((m, k), np.nan, dtype=dtype)
    _sparse.kl_numerator(*csr_args(X), A, B, num, TINY, NT)
    assert num.dtype == dtype
    assert_close(num, ref_kl_num(X.toarray(), A, B, False, TINY), dtype)
    # The transpose as CSR with the factors swapped gives the other side's numerator.
    XT = sp.csr_matrix(X.T)
    XT.indptr, XT.indices = XT.indptr.astype(index_dtype), XT.indices.astype(index_dtype)
    numT = np.full((n, k), np.nan, dtype=dtype)
    _sparse.kl_numerator(*csr_args(XT), B, A, numT, TINY, NT)
    assert_close(numT, ref_kl_num(X.toarray(), A, B, True, TINY), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_kl_numerator_clamps_small_wh(rng, dtype, index_dtype):
    V, W, Ht = small_wh_problem(rng, dtype)
    X = sp.csr_matrix(V)
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    num = np.empty(W.shape, dtype=dtype)
    _sparse.kl_numerator(*csr_args(X), W, Ht, num, TINY, NT)
    assert np.all(np.isfinite(num))
    assert_close(num, ref_kl_num(V, W, Ht, False, TINY), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
@pytest.mark.parametrize("m,n,k", SPARSE_SHAPES, ids=SHAPE_IDS)
def test_sparse_stored_terms(rng, dtype, index_dtype, beta, m, n, k):
    X = csr_with_empty_rows(rng, m, n, dtype, index_dtype)
    A, B = readonly(rand(rng, (m, k), dtype), rand(rng, (n, k), dtype))
    got = _sparse.stored_terms(*csr_args(X), A, B, beta, TINY, NT)
    assert isinstance(got, float)
    expected = ref_stored_terms(X, A, B, beta, TINY)
    scale = ref_stored_terms(abs(X), A, B, 2.0, TINY) + float(np.abs(X.data).sum())
    assert got == pytest.approx(expected, rel=rtol(dtype), abs=rtol(dtype) * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_stored_terms_small_wh(rng, dtype, index_dtype):
    V, W, Ht = small_wh_problem(rng, dtype)
    X = sp.csr_matrix(V)
    X.indptr, X.indices = X.indptr.astype(index_dtype), X.indices.astype(index_dtype)
    got = _sparse.stored_terms(*csr_args(X), W, Ht, 1.0, TINY, NT)
    assert np.isfinite(got)
    assert got == pytest.approx(ref_stored_terms(X, W, Ht, 1.0, TINY), rel=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_sparse_no_stored_entries(dtype, index_dtype):
    m, n, k = 4, 3, 2
    indptr = readonly(np.zeros(m + 1, dtype=index_dtype))
    indices = readonly(np.zeros(0, dtype=index_dtype))
    data = readonly(np.zeros(0, dtype=dtype))
    A, B = readonly(np.ones((m, k), dtype), np.ones((n, k), dtype))
    out = np.full((m, k), np.nan, dtype=dtype)
    _sparse.matmul(indptr, indices, data, B, out, NT)
    np.testing.assert_array_equal(out, 0)
    out[:] = np.nan
    _sparse.kl_numerator(indptr, indices, data, A, B, out, TINY, NT)
    np.testing.assert_array_equal(out, 0)
    for beta in (2.0, 1.0):
        assert _sparse.stored_terms(indptr, indices, data, A, B, beta, TINY, NT) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_int32_int64_agree_exactly(rng, dtype):
    X32 = csr_with_empty_rows(rng, 15, 11, dtype, np.int32)
    X64 = X32.copy()
    X64.indptr, X64.indices = X32.indptr.astype(np.int64), X32.indices.astype(np.int64)
    A, B = readonly(rand(rng, (15, 4), dtype), rand(rng, (11, 4), dtype))
    o32, o64 = np.empty((15, 4), dtype), np.empty((15, 4), dtype)
    _sparse.matmul(*csr_args(X32), B, o32, NT)
    _sparse.matmul(*csr_args(X64), B, o64, NT)
    np.testing.assert_array_equal(o32, o64)
    _sparse.kl_numerator(*csr_args(X32), A, B, o32, TINY, NT)
    _sparse.kl_numerator(*csr_args(X64), A, B, o64, TINY, NT)
    np.testing.assert_array_equal(o32, o64)
    for beta in (2.0, 1.0):
        assert (_sparse.stored_terms(*csr_args(X32), A, B, beta, TINY, 1)
                == _sparse.stored_terms(*csr_args(X64), A, B, beta, TINY, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [2.0, 1.0])
def test_sparse_stored_terms_is_sum_of_chunks(rng, dtype, beta):
    """Exactly the chunks' sums (each a call on CHUNK rows alone) added in chunk order."""
    r, c, k = 3 * CHUNK + 11, 9, 3
    X = csr_with_empty_rows(rng, r, c, dtype, np.int32)
    A, B = readonly(rand(rng, (r, k), dtype), rand(rng, (c, k), dtype))
    total = 0.0
    for r0 in range(0, r, CHUNK):
        Xc = X[r0:r0 + CHUNK]
        Xc.indptr, Xc.indices = Xc.indptr.astype(np.int32), Xc.indices.astype(np.int32)
        total += _sparse.stored_terms(*csr_args(Xc), readonly(A[r0:r0 + CHUNK]), B, beta,
                                      TINY, NT)
    assert _sparse.stored_terms(*csr_args(X), A, B, beta, TINY, NT) == total

