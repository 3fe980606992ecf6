"""V prepared once for the kernels, with the products and objectives every solver needs.

Internally the problem is always V ~= W Ht^T with W (m x k) and Ht (n x k) C-contiguous, so
both factor updates are row-parallel. A Fortran-ordered dense V is used through its
C-ordered transpose (the roles of W and H swap; nothing is copied). A sparse V is held as
canonical CSR together with the CSR of its transpose (twice nnz, never m x n).
"""

import numpy as np
import scipy.sparse as sp

from ._kernels import _dense, _sparse
from ._threads import threads_for
from ._validation import check_dense, check_sparse

# Dense KL work is tiled; a thread's tile holds between these many bytes (see buffers).
_TILE_MIN_BYTES = 1 << 18
_TILE_MAX_BYTES = 1 << 22


def _extreme_scale(vmax, dtype):
    """A power of 4 that brings vmax near 1 when its magnitude risks over/underflow, else 1."""
    limit = 40 if dtype == np.float32 else 200
    if vmax <= 0 or abs(np.log2(vmax)) < limit:
        return 1.0
    return 4.0 ** round(np.log2(vmax) / 2)


class Matrix:
    """The data matrix V as the kernels see it.

    Attributes: kind ('dense' or 'csr'), shape (m, n) as given, dtype, transposed (dense
    only: the internal matrix is V^T), scale (internal = V / scale, a power of 4, 1 unless V
    has extreme magnitudes), sq_norm, total, vmax (of the internal matrix, in double).
    """

    def __init__(self, X, name="X"):
        self.scale = 1.0
        if sp.issparse(X):
            csr = check_sparse(X, name)
            self.kind, self.transposed = "csr", False
            self.shape, self.dtype = csr.shape, csr.dtype
            vmax = float(csr.data.max()) if csr.nnz else 0.0
            self.scale = _extreme_scale(vmax, self.dtype)
            if self.scale != 1.0:
                csr.data /= self.dtype.type(self.scale)
            idx = np.int32 if max(csr.nnz, *csr.shape) < 2**31 - 1 else np.int64
            csr.indptr = csr.indptr.astype(idx, copy=False)
            csr.indices = csr.indices.astype(idx, copy=False)
            csc = csr.tocsc()
            self.X = (csr.indptr, csr.indices, csr.data)
            self.XT = (csc.indptr.astype(idx, copy=False), csc.indices.astype(idx, copy=False),
                       csc.data)
            data = csr.data.astype(np.float64)
            self.sq_norm, self.total = float(data @ data), float(data.sum())
            self.nnz = csr.nnz
        else:
            arr = check_dense(X, name)
            self.kind = "dense"
            self.shape, self.dtype = arr.shape, arr.dtype
            vmax = float(arr.max())
            self.scale = _extreme_scale(vmax, self.dtype)
            if self.scale != 1.0:
                arr = arr / self.dtype.type(self.scale)
            self.transposed = not arr.flags.c_contiguous and arr.flags.f_contiguous
            if self.transposed:
                self.V = arr.T
            else:
                self.V = np.ascontiguousarray(arr)
            self.sq_norm = float(np.einsum("ij,ij->", self.V, self.V, dtype=np.float64))
            self.total = float(self.V.sum(dtype=np.float64))
            self.nnz = self.V.size
        self.vmax = vmax / self.scale if vmax > 0 else 1.0
        eps = float(np.finfo(self.dtype).eps)
        # Below this, a product W H is read as this (never divided by 0).
        self.tiny = eps * self.vmax * 1e-3
        self._buf = None

    # -- orientation -------------------------------------------------------------------
    @property
    def internal_shape(self):
        m, n = self.shape
        return (n, m) if self.transposed else (m, n)

    def to_internal(self, W, H, scaled=False):
        """(W (m x k), H (k x n)) to internal C-ordered copies (Wi, Hti).

        scaled: W and H are already in the internal scaling (as initialize() on
        external() returns them); otherwise they are divided by sqrt(scale).
        """
        W = np.array(W, dtype=self.dtype, order="C")
        Ht = np.array(H.T, dtype=self.dtype, order="C")
        if not scaled and self.scale != 1.0:
            s = self.dtype.type(np.sqrt(self.scale))
            W /= s
            Ht /= s
        return (Ht, W) if self.transposed else (W, Ht)

    def to_external(self, Wi, Hti):
        """Internal factors back to the caller's W (m x k) and H (k x n), unscaled."""
        if self.transposed:
            Wi, Hti = Hti, Wi
        s = self.dtype.type(np.sqrt(self.scale))
        W = np.ascontiguousarray(Wi) * s
        H = np.ascontiguousarray(Hti.T) * s
        return W, H

    def external(self):
        """V (internal scaling) as a NumPy array or CSR matrix in the caller's orientation."""
        if self.kind == "csr":
            return sp.csr_matrix(self.X[::-1], shape=self.shape, copy=False)
        return self.V.T if self.transposed else self.V

    def buffers(self, n_threads):
        """Workspace of the dense KL kernels: one row of L elements per thread.

        L is a fortieth of V (between 256 KiB and 4 MiB, at least one row of V), so two
        threads use a twentieth; it depends on V alone up to many threads (the kernels' tiles
        follow L, so results then do not depend on the thread count), and shrinks beyond so
        that all threads together stay within a tenth of V (or 1 MiB).
        """
        if self._buf is None or self._buf.shape[0] != n_threads:
            n, item = self.V.shape[1], self.dtype.itemsize
            per_thread = min(max(self.V.nbytes / 40, _TILE_MIN_BYTES), _TILE_MAX_BYTES)
            cap = max(self.V.nbytes / 10, 1 << 20) / n_threads
            L = max(n, int(min(per_thread, cap) // item))
            self._buf = np.empty((n_threads, L), dtype=self.dtype)
        return self._buf

    @property
    def col_block(self):
        """Columns per task of the H-side dense KL numerator: about an eighth of n."""
        n = self.V.shape[1]
        return int(max(16, min(256, -(-n // 8))))

    # -- products ------------------------------------------------------------------------
    def xb(self, B, out, h_side, n_threads):
        """out = V B (h_side false, B = Ht) or V^T B (h_side true, B = W): Frobenius numerators."""
        n_threads = threads_for(2.0 * self.nnz * B.shape[1], n_threads)
        if self.kind == "dense":
            _dense.matmul(self.V, B, out, h_side, n_threads)
        else:
            indptr, indices, data = self.XT if h_side else self.X
            _sparse.matmul(indptr, indices, data, B, out, n_threads)
        return out

    def kl_num(self, W, Ht, out, h_side, n_threads):
        """KL numerators: (V / WH) Ht (h_side false) or (V / WH)^T W (h_side true)."""
        n_threads = threads_for(4.0 * self.nnz * W.shape[1], n_threads)
        if self.kind == "dense":
            _dense.kl_numerator(self.V, W, Ht, h_side, out, self.buffers(n_threads),
                                self.col_block, self.tiny, n_threads)
        elif h_side:
            _sparse.kl_numerator(*self.XT, Ht, W, out, self.tiny, n_threads)
        else:
            _sparse.kl_numerator(*self.X, W, Ht, out, self.tiny, n_threads)
        return out

    # -- objective -----------------------------------------------------------------------
    def divergence(self, W, Ht, beta, n_threads):
        """D_beta(V | W Ht^T) of the internal problem, accumulated in double."""
        n_threads = threads_for(2.0 * self.nnz * W.shape[1], n_threads)
        if self.kind == "dense":
            return _dense.objective(self.V, W, Ht, self.buffers(n_threads), beta, self.tiny,
                                    n_threads)
        stored = _sparse.stored_terms(*self.X, W, Ht, beta, self.tiny, n_threads)
        W64, H64 = W.astype(np.float64), Ht.astype(np.float64)
        if beta == 2.0:
            cross = float(np.sum((W64.T @ W64) * (H64.T @ H64)))
            return max(0.5 * (self.sq_norm - 2.0 * stored + cross), 0.0)
        return stored - self.total + float(W64.sum(axis=0) @ H64.sum(axis=0))

    def external_divergence(self, values, beta):
        """Internal divergences in the caller's units (Frobenius scales as s^2, KL as s).

        With extreme data this can overflow to inf; external_error does not.
        """
        with np.errstate(over="ignore"):
            return np.asarray(values, dtype=np.float64) * np.float64(self.scale) ** (
                2 if beta == 2.0 else 1)

    def external_error(self, value, beta):
        """scikit-learn's reconstruction_err_, sqrt(2 D), in the caller's units."""
        return float(np.sqrt(2.0 * max(value, 0.0)) * np.sqrt(self.scale) ** (
            2 if beta == 2.0 else 1))
