"""V prepared once for the kernels, with the products and objectives every solver needs.

Internally the problem is always V ~= W Ht^T with W (m x k) and Ht (n x k) C-contiguous, so
both factor updates are row-parallel. A Fortran-ordered dense V is used through its
C-ordered transpose (the roles of W and H swap; nothing is copied). A sparse V is held as
canonical CSR together with the CSR of its transpose (twice nnz, never m x n).

Missing values: a dense V keeps NaN at its unobserved entries (a mask given with a dense
V makes one copy with NaN where the mask is False). A sparse V with a mask is held as the
CSR of its observed entries, explicit zeros included, so every sum runs over the observed
pattern only.
"""

import threading

import numpy as np
import scipy.sparse as sp

from ..kernels import cd, dense, sparse, steps
from .arrays import check_dense, check_mask, check_sparse, from_frame
from .threads import effective_n_threads, threads_for

# The two internal sides: 'w' is the factor along the internal matrix's rows, 'h' the other.
OTHER_SIDE = {"w": "h", "h": "w"}

# Dense KL work is tiled; a thread's tile holds between these many bytes (see buffers).
_TILE_MIN_BYTES = 1 << 18
_TILE_MAX_BYTES = 1 << 22
# The dense H-side coordinate descent walks a block of V's columns and its products, about
# this many bytes of each, down V's rows at every Newton step: a block that stays in cache.
_CD_BLOCK_BYTES = 1 << 17
# A sparse matrix's stored values are summed (squared) as rows of this many (_sum_of_squares).
_SUM_ROW = 1024


def tiny_for(dtype, vmax):
    """Below this, an entry of W H is read as this (never divided by 0): a thousandth of the
    dtype's epsilon relative to the largest entry of V (internal units)."""
    return float(np.finfo(dtype).eps) * vmax * 1e-3


def extreme_scale(vmax, dtype):
    """A power of 4 that brings vmax near 1 when its magnitude risks over/underflow, else 1."""
    limit = 40 if dtype == np.float32 else 200
    if vmax <= 0 or abs(np.log2(vmax)) < limit:
        return 1.0
    return 4.0 ** round(np.log2(vmax) / 2)


def external_divergence(values, scale, beta):
    """Divergences of data divided by scale, in the data's units: D_beta scales as
    scale^beta. With extreme data this can overflow to inf; external_error does not."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64) * np.float64(scale) ** beta


def external_error(value, scale, beta):
    """scikit-learn's reconstruction_err_, sqrt(2 D), of a divergence of data divided by
    scale, in the data's units."""
    return float(np.sqrt(2.0 * max(value, 0.0)) * np.sqrt(scale) ** beta)


class _Workspaces(threading.local):
    """The tiled kernels' workspaces of one Matrix, a set per Python thread: starts that run
    side by side on one Matrix (nmfkit.solvers.many) each write their own."""

    def __init__(self):
        self.rows = {}


def column_sums(B, dtype):
    """B.sum(axis=0, dtype=dtype) of a factor B (r x k), to the bit: by a kernel for a
    C-ordered float array with k > 1 (NumPy's axis-0 sum costs it about 20 ns per row),
    else by NumPy (which sums a single column pairwise)."""
    out = np.empty(B.shape[1], dtype=dtype)
    if (isinstance(B, np.ndarray) and B.ndim == 2 and B.shape[1] > 1 and B.flags.c_contiguous
            and B.dtype in (np.float32, np.float64)):
        steps.column_sums(B, out)
    else:
        out[...] = B.sum(axis=0, dtype=dtype)
    return out


def _sum_of_squares(values):
    """The sum of the squares of a 1-D float array, in double, by rows of _SUM_ROW entries
    (dense.sums; the rest as one row): the same bits on any thread count. BLAS's dot is
    neither (it splits a long vector among its threads), and a multithreaded BLAS call leaves
    its threads spinning for a while, taking CPUs from the fit that follows."""
    n_full = values.shape[0] - values.shape[0] % _SUM_ROW
    head = dense.sums(values[:n_full].reshape(-1, _SUM_ROW), effective_n_threads())[1]
    return float(head + dense.sums(values[n_full:].reshape(1, -1), 1)[1])


class Matrix:
    """The data matrix V as the kernels see it.

    Attributes: kind ('dense' or 'csr'), shape (m, n) as given, dtype, transposed (dense
    only: the internal matrix is V^T), scale (internal = V / scale, a power of 4, 1 unless V
    has extreme magnitudes), sq_norm, total, vmax (of the internal matrix, in double).
    """

    def __init__(self, X, name="X", mask=None):
        self.scale = 1.0
        self.masked = False
        X = from_frame(X, name)  # a DataFrame: its values, missing values as NaN
        if sp.issparse(X):
            csr = check_sparse(X, name)
            if mask is not None:
                csr = self._observed(csr, check_mask(mask, csr.shape))
            self.kind, self.transposed = "csr", False
            self.shape, self.dtype = csr.shape, csr.dtype
            vmax = float(csr.data.max()) if csr.nnz else 0.0
            self.scale = extreme_scale(vmax, self.dtype)
            if self.scale != 1.0:
                csr.data /= self.dtype.type(self.scale)
            idx = np.int32 if max(csr.nnz, *csr.shape) < 2**31 - 1 else np.int64
            csr.indptr = csr.indptr.astype(idx, copy=False)
            csr.indices = csr.indices.astype(idx, copy=False)
            csc = csr.tocsc()
            self.X = (csr.indptr, csr.indices, csr.data)
            self.XT = (csc.indptr.astype(idx, copy=False), csc.indices.astype(idx, copy=False),
                       csc.data)
            self.total = float(csr.data.astype(np.float64).sum())
            self.sq_norm = _sum_of_squares(csr.data)
            self.nnz = csr.nnz
            self.n_observed = csr.nnz if self.masked else csr.shape[0] * csr.shape[1]
        else:
            arr = check_dense(X, name, allow_nan=True)
            if mask is not None:
                mask = check_mask(mask, arr.shape)
                if sp.issparse(mask):
                    mask = mask.toarray()
                arr = np.where(mask, arr, arr.dtype.type(np.nan))
                if np.isnan(arr).all():
                    raise ValueError("mask leaves no observed entry of X; NMF needs some data.")
            amax = arr.max()
            self.masked = bool(np.isnan(amax))  # NaN propagates: no temporary
            self.kind = "dense"
            self.shape, self.dtype = arr.shape, arr.dtype
            vmax = float(np.nanmax(arr) if self.masked else amax)
            self.scale = extreme_scale(vmax, self.dtype)
            if self.scale != 1.0:
                arr = arr / self.dtype.type(self.scale)
            self.transposed = not arr.flags.c_contiguous and arr.flags.f_contiguous
            if self.transposed:
                self.V = arr.T
            else:
                self.V = np.ascontiguousarray(arr)
            if self.masked:
                self.sq_norm = float(np.nansum(np.square(self.V, dtype=np.float64)))
                self.total = float(np.nansum(self.V, dtype=np.float64))
                self.n_observed = int(self.V.size - np.isnan(self.V).sum())
            else:  # one pass, no temporaries of V's size
                self.total, self.sq_norm = dense.sums(self.V, effective_n_threads())
                self.n_observed = self.V.size
            self.nnz = self.V.size
        self.vmax = vmax / self.scale if vmax > 0 else 1.0
        self.tiny = tiny_for(self.dtype, self.vmax)
        self._buf = {}  # values computed once (zero_rows)
        self._workspaces = _Workspaces()
        # the kernels' specialization, named explicitly where V is passed as None
        self._ctype = "float" if self.dtype == np.float32 else "double"

    def _observed(self, csr, mask):
        """The CSR of V's observed entries, explicit zeros included (self.masked)."""
        if not sp.issparse(mask):
            mask = sp.csr_matrix(mask)
            mask.data = np.ones(mask.nnz, dtype=bool)
        if mask.nnz == 0:
            raise ValueError("mask has no observed entry (no True value); NMF needs some data.")
        mask.sort_indices()
        rows = np.repeat(np.arange(mask.shape[0]), np.diff(mask.indptr))
        values = np.asarray(csr[rows, mask.indices], dtype=csr.dtype).ravel()
        self.masked = True
        return sp.csr_matrix((values, mask.indices.copy(), mask.indptr.copy()),
                             shape=csr.shape)

    def zero_rows(self):
        """Boolean mask of the caller's rows whose observed entries are all 0 (a row with no
        observed entry at all is not among them); computed once."""
        if "zero_rows" not in self._buf:
            if self.kind == "csr":
                indptr, _, data = self.X
                rows = np.repeat(np.arange(self.shape[0]), np.diff(indptr))
                stored = np.diff(indptr) > 0
                nonzero = np.bincount(rows[data != 0], minlength=self.shape[0]) > 0
                zero = ~nonzero & (stored if self.masked else True)
            else:  # fmax skips NaN: an all-NaN row gives NaN, which is not 0
                zero = np.fmax.reduce(self.V, axis=0 if self.transposed else 1) == 0
            self._buf["zero_rows"] = np.asarray(zero, dtype=bool)
        return self._buf["zero_rows"]

    def has_zero(self):
        """Whether an observed entry of V is 0 (where beta <= 0 is undefined)."""
        if self.kind == "dense":
            return bool((self.V == 0).any())
        return self.n_observed > self.nnz or bool((self.X[2] == 0).any())

    def filled(self):
        """V in the caller's orientation for the initialization, with the missing entries
        filled in: by the observed mean of their column (dense), or the observed entries
        divided by the observed fraction (sparse: an unbiased estimate of V for the SVD)."""
        V = self.external()
        if not self.masked:
            return V
        if self.kind == "csr":
            return V * V.dtype.type(self.shape[0] * self.shape[1] / self.n_observed)
        observed = ~np.isnan(V)
        counts = observed.sum(axis=0)
        sums = np.where(observed, V, 0).sum(axis=0, dtype=np.float64)
        means = np.divide(sums, counts, out=np.full(V.shape[1], sums.sum() / counts.sum()),
                          where=counts > 0)
        return np.where(np.isnan(V), means[None, :].astype(V.dtype), V)

    # -- orientation -------------------------------------------------------------------
    @property
    def w_side(self):
        """The internal side holding the caller's W: 'h' when V is used through its
        transpose, 'w' otherwise."""
        return "h" if self.transposed else "w"

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

    def __getstate__(self):
        """Pickled without its workspaces and cached values (re-made on first use)."""
        state = dict(self.__dict__)
        del state["_workspaces"]
        state["_buf"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._workspaces = _Workspaces()

    def workspace_length(self):
        """L, the length of a thread's row of the tiled kernels' workspace (see buffers).

        L is a fortieth of V (between 256 KiB and 4 MiB, at least one row of V), whatever
        the thread count: the kernels' tiles follow L, so the dense KL and general-beta
        results are the same on any number of threads. Up to 4 threads the workspace stays
        within a tenth of V (or 1 MiB); t threads hold t fortieths. A sparse V is sized as if
        dense.
        """
        m, n = self.internal_shape
        item = self.dtype.itemsize
        nbytes = m * n * item
        per_thread = min(max(nbytes / 40, _TILE_MIN_BYTES), _TILE_MAX_BYTES)
        return max(n, int(per_thread // item))

    def buffers(self, n_threads, which=0):
        """Workspace of the tiled dense kernels: at least n_threads rows, kept for the
        calling Python thread (starts of one matrix may run side by side). `which` tells
        apart the two buffers of beta_products.

        It grows when a call asks for more threads than it has rows, and is kept when a
        call asks for fewer (the count of a call follows the machine's load); its rows'
        length does not depend on the thread count (workspace_length).
        """
        rows = self._workspaces.rows
        buf = rows.get(which)
        if buf is None or buf.shape[0] < n_threads:
            buf = rows[which] = np.empty((n_threads, self.workspace_length()),
                                         dtype=self.dtype)
        return buf

    @property
    def col_block(self):
        """Columns per task of the H-side dense KL numerator: about an eighth of n."""
        n = self.internal_shape[1]
        return int(max(16, min(256, -(-n // 8))))

    # -- products ------------------------------------------------------------------------
    def product_work(self, k):
        """The flops of one product of V with a factor of rank k (multiply): the work the
        solvers weigh the machine's load against (core.threads.LoadFollower)."""
        return 2.0 * self.nnz * k

    def multiply(self, B, out, h_side, n_threads):
        """out = V B (h_side false, B = Ht) or V^T B (h_side true, B = W): Frobenius numerators."""
        n_threads = threads_for(self.product_work(B.shape[1]), n_threads)
        if self.kind == "dense":
            dense.matmul(self.V, B, out, h_side, n_threads)
        else:
            indptr, indices, data = self.XT if h_side else self.X
            sparse.matmul(indptr, indices, data, B, out, n_threads)
        return out

    def kl_numerator(self, W, Ht, out, h_side, n_threads):
        """KL numerators: (V / WH) Ht (h_side false) or (V / WH)^T W (h_side true)."""
        n_threads = threads_for(4.0 * self.nnz * W.shape[1], n_threads)
        if self.kind == "dense":
            dense.kl_numerator(self.V, W, Ht, h_side, out, self.buffers(n_threads),
                                self.col_block, self.tiny, n_threads)
        elif h_side:
            sparse.kl_numerator(*self.XT, Ht, W, out, self.tiny, n_threads)
        else:
            sparse.kl_numerator(*self.X, W, Ht, out, self.tiny, n_threads)
        return out

    def beta_products(self, W, Ht, num, den, h_side, beta, n_threads):
        """num, den of the general multiplicative update of W (h_side false) or Ht:
        num = (V o WH^(beta-2)) B, den = WH^(beta-1) B over the observed entries."""
        n_threads = threads_for(4.0 * self.n_observed * W.shape[1], n_threads)
        if self.kind == "dense":
            dense.beta_products(self.V, W, Ht, h_side, num, den, self.buffers(n_threads),
                                 self.buffers(n_threads, 1), self.col_block, beta, self.tiny,
                                 n_threads)
            return
        X, A, B = (self.XT, Ht, W) if h_side else (self.X, W, Ht)
        if self.masked:
            sparse.beta_numerator(*X, A, B, num, den, beta, self.tiny, n_threads)
            return
        # Every entry is observed: the zeros of V enter den (not num), exactly, through
        # tiles of WH that are never stored whole.
        sparse.beta_numerator(*X, A, B, num, None, beta, self.tiny, n_threads)
        dense.beta_products[self._ctype](None, W, Ht, h_side, None, den,
                                         self.buffers(n_threads), self.buffers(n_threads, 1),
                                         self.col_block, beta, self.tiny, n_threads)

    def kl_cd(self, W, Ht, h_side, l1, l2, floor, max_inner, inner_rtol, n_threads):
        """One KL coordinate-descent pass over W (h_side false) or Ht (true), in place
        (kernels/cd.pyx); returns the squared change. Fully observed data only."""
        A, B = (Ht, W) if h_side else (W, Ht)
        k = A.shape[1]
        colsum = column_sums(B, np.float64)
        n_threads = threads_for(6.0 * max_inner * self.nnz * k, n_threads)
        args = (l1, l2, floor, self.tiny, max_inner, inner_rtol)
        if self.kind == "csr":
            return cd.kl_cd_csr(*(self.XT if h_side else self.X), A, B, colsum, *args,
                                n_threads)
        if not h_side:
            return cd.kl_cd_dense_rows(self.V, W, np.ascontiguousarray(Ht.T), colsum, *args,
                                       n_threads)
        # V's columns in blocks held in cache: the block width does not change the results
        m, n = self.internal_shape
        width = int(min(64, max(4, _CD_BLOCK_BYTES // max(1, m * self.dtype.itemsize))))
        return cd.kl_cd_dense_columns(self.V, Ht, W, colsum, *args, min(width, -(-n // 8)),
                                      n_threads)

    # -- objective -----------------------------------------------------------------------
    def divergence(self, W, Ht, beta, n_threads):
        """D_beta(V | W Ht^T) of the internal problem, accumulated in double."""
        n_threads = threads_for(2.0 * self.nnz * W.shape[1], n_threads)
        if self.kind == "dense":
            return dense.objective(self.V, W, Ht, self.buffers(n_threads), beta, self.tiny,
                                    n_threads)
        if self.masked:
            return sparse.beta_stored(*self.X, W, Ht, beta, self.tiny, True, n_threads)
        if beta not in (1.0, 2.0):
            zeros = dense.objective[self._ctype](None, W, Ht, self.buffers(n_threads), beta,
                                                 self.tiny, n_threads)
            return zeros + sparse.beta_stored(*self.X, W, Ht, beta, self.tiny, False,
                                               n_threads)
        stored = sparse.stored_terms(*self.X, W, Ht, beta, self.tiny, n_threads)
        if beta == 2.0:
            W64, H64 = W.astype(np.float64, copy=False), Ht.astype(np.float64, copy=False)
            cross = float(np.sum((W64.T @ W64) * (H64.T @ H64)))
            return max(0.5 * (self.sq_norm - 2.0 * stored + cross), 0.0)
        total_wh = column_sums(W, np.float64) @ column_sums(Ht, np.float64)  # sum of W Ht^T
        return stored - self.total + float(total_wh)

    def external_divergence(self, values, beta):
        """Internal divergences in the caller's units (see external_divergence)."""
        return external_divergence(values, self.scale, beta)

    def external_error(self, value, beta):
        """scikit-learn's reconstruction_err_ in the caller's units (see external_error)."""
        return external_error(value, self.scale, beta)

