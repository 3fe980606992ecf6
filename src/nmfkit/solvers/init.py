"""Starting points: random, NNDSVD and its two variants, SPA, custom.

The random start and the NNDSVD family follow scikit-learn's definitions (Boutsidis &
Gallopoulos 2008), so the same random_state gives the same random start as
sklearn.decomposition.NMF. The truncated SVD is a randomized SVD (Halko, Martinsson &
Tropp 2011) of our own.
"""

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from ..core.arrays import check_factor
from ..core.random import check_random_state

_NNDSVD_EPS = 1e-6
# Inits that take k singular pairs (NNDSVD) or k columns (SPA) of X: k <= min(m, n).
RANK_LIMITED_INITS = ("nndsvd", "nndsvda", "nndsvdar", "spa")


class RankDeficientError(ValueError):
    """SPA ran out of independent columns: V has rank `rank` < k."""

    def __init__(self, message, rank):
        super().__init__(message)
        self.rank = rank


def check_init_rank(init, k, shape, ks=None):
    """Refuse a rank the initialization cannot start from, before any work is done.

    NNDSVD builds one factor column from each of the k leading singular pairs and SPA picks
    k columns of X; a matrix has only min(n_samples, n_features) of either, so both need
    k <= min(shape) (scikit-learn's rule for NNDSVD, with its wording). With ks (the ranks
    of a survey), k is the largest of them and the message names ks.
    """
    if init not in RANK_LIMITED_INITS or k <= min(shape):
        return
    if ks is None:
        raise ValueError(f"init = '{init}' can only be used when n_components <= "
                         f"min(n_samples, n_features); got n_components={k} for X of shape "
                         f"{tuple(shape)}: choose n_components <= {min(shape)}, or "
                         "init='random'.")
    raise ValueError(f"init = '{init}' can only be used when every rank in ks is <= "
                     f"min(n_samples, n_features) = {min(shape)} (V has shape "
                     f"{tuple(shape)}); ks has {[r for r in ks if r > min(shape)]}: drop them "
                     "or use init='random'.")


def _normal(rng, size):
    return rng.standard_normal(size=size)


def _products(X):
    """(X @ Q, X.T @ Q) for a dense array or a sparse matrix X, in nmfkit's parallel kernels
    (BLAS is held to one thread during a fit, and scipy's sparse products are serial)."""
    from ..core.threads import effective_n_threads
    from ..kernels import dense, sparse
    nt = effective_n_threads()
    if sp.issparse(X):
        csr = sp.csr_matrix(X)
        csr_t = csr.T.tocsr()
        idx = np.int64 if max(csr.nnz, *csr.shape) >= 2**31 - 1 else np.int32
        a = (csr.indptr.astype(idx), csr.indices.astype(idx), csr.data)
        a_t = (csr_t.indptr.astype(idx), csr_t.indices.astype(idx), csr_t.data)

        def spmm(arrays, rows, Q):
            out = np.empty((rows, Q.shape[1]), dtype=Q.dtype)
            sparse.matmul(*arrays, np.ascontiguousarray(Q), out, nt)
            return out
        return (lambda Q: spmm(a, X.shape[0], Q)), (lambda Q: spmm(a_t, X.shape[1], Q))
    C, flipped = (X.T, True) if X.flags.f_contiguous and not X.flags.c_contiguous else (
        np.ascontiguousarray(X), False)

    def gemm(Q, trans):
        out = np.empty((C.shape[1] if trans else C.shape[0], Q.shape[1]), dtype=Q.dtype)
        dense.matmul(C, np.ascontiguousarray(Q), out, trans, nt)
        return out
    return (lambda Q: gemm(Q, flipped)), (lambda Q: gemm(Q, not flipped))


def _orthonormalize(Q, passes=2):
    """An orthonormal basis of Q's range by Cholesky QR: Q <- Q R^-1 with R^T R = Q^T Q, one
    Gram and one small GEMM per pass. Two passes (CholeskyQR2) are orthogonal to working
    precision; one pass is enough to renormalize a power iteration. Falls back to a
    Householder QR when the Gram is numerically singular."""
    from ..core.threads import effective_n_threads
    from ..kernels import dense
    for _ in range(passes):
        try:
            R = la.cholesky(Q.T @ Q, lower=False)
        except la.LinAlgError:
            return np.ascontiguousarray(la.qr(Q, mode="economic")[0])
        R_inv = la.solve_triangular(R, np.eye(R.shape[0], dtype=R.dtype), lower=False)
        out = np.empty(Q.shape, dtype=Q.dtype)
        dense.matmul(np.ascontiguousarray(Q), np.ascontiguousarray(R_inv), out, False,
                      effective_n_threads())
        Q = out
    return Q


def randomized_svd(X, k, rng, n_oversamples=10, n_iter=None):
    """Leading k singular triplets of a dense array or sparse matrix X: U, s, Vt.

    Halko, Martinsson & Tropp (2011), with scikit-learn's defaults (10 oversamples; 7 power
    iterations when k < 0.1 min(m, n), else 4). The subspace iteration runs on the smaller
    side of X (m or n rows): only those blocks are renormalized (one Cholesky QR pass per
    iteration, two at the end), and the random start is drawn there.
    """
    m, n = X.shape
    p = min(k + n_oversamples, m, n)
    if n_iter is None:
        n_iter = 7 if k < 0.1 * min(m, n) else 4
    prod, prod_t = _products(X)
    # A is X (m <= n) or X^T (m > n): a basis Q of A's range lives on the smaller side
    A, A_t = (prod, prod_t) if m <= n else (prod_t, prod)
    Q = _orthonormalize(_normal(rng, (min(m, n), p)).astype(X.dtype, copy=False), 1)
    for _ in range(n_iter):
        Q = _orthonormalize(A(A_t(Q)), 1)
    Q = _orthonormalize(Q)
    # A ~= Q C^T with C = A^T Q (the larger side), C = Qc R, and R^T = Ur s Vr^T: the SVD of
    # a p x p matrix, not of a p x (larger side) one (LAPACK takes ~0.3 s on 30 x 1e5)
    C = A_t(Q)
    Qc = _orthonormalize(C)
    Ur, s, Vrt = la.svd(Qc.T @ C, full_matrices=False)
    small, large = Q @ Vrt.T, Qc @ Ur  # svd(R) = Ur s Vrt, so R^T = Vrt^T s Ur^T
    U, Vt = (small, large.T) if m <= n else (large, small.T)
    U, s, Vt = U[:, :k], s[:k], Vt[:k]
    # Sign convention (as sklearn's svd_flip with u_based_decision): largest |U| entry > 0.
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), range(k)])
    signs[signs == 0] = 1
    return U * signs, s, Vt * signs[:, None]


def _nndsvd(X, k, variant, rng):
    """Boutsidis & Gallopoulos's NNDSVD: from each singular pair, the positive or the
    negative parts of its vectors, whichever has the larger norm product (all pairs at once)."""
    U, S, Vt = randomized_svd(X, k, rng)
    m, n = X.shape
    r = len(S)
    W = np.zeros((m, k), dtype=np.float64)
    H = np.zeros((k, n), dtype=np.float64)
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    x, y = U[:, 1:r], Vt[1:r].T
    # norms of the positive and negative parts, from the positive part and the whole
    xpn, ypn = (np.linalg.norm(np.maximum(v, 0), axis=0) for v in (x, y))
    xnn, ynn = (np.sqrt(np.maximum(np.einsum("ij,ij->j", v, v) - vp * vp, 0))
                for v, vp in ((x, xpn), (y, ypn)))
    mp, mn = xpn * ypn, xnn * ynn
    pos = mp > mn  # else the negative parts; a pair with both products 0 stays zero
    sigma = np.where(pos, mp, mn)
    sign = np.where(pos, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lbd = np.sqrt(S[1:r] * sigma)
        wu = np.where(sigma > 0, sign * lbd / np.where(pos, xpn, xnn), 0.0)
        hv = np.where(sigma > 0, sign * lbd / np.where(pos, ypn, ynn), 0.0)
    # lbd * max(+-x, 0) / norm = max(x * (+-lbd / norm), 0)
    np.maximum(np.multiply(x, wu, out=W[:, 1:r]), 0, out=W[:, 1:r])
    np.maximum(np.multiply(y, hv).T, 0, out=H[1:r, :])
    fill = X.mean() if variant == "nndsvda" else 0.0
    np.putmask(W, W < _NNDSVD_EPS, fill)
    np.putmask(H, H < _NNDSVD_EPS, fill)
    if variant == "nndsvdar":
        avg = X.mean()
        W[W == 0] = np.abs(avg * _normal(rng, (W == 0).sum()) / 100)
        H[H == 0] = np.abs(avg * _normal(rng, (H == 0).sum()) / 100)
    return W, H


def spa(V, k, normalize=True):
    """Choose k columns of V by the successive projection algorithm (SPA).

    If V is separable, V = W [I, H'] up to a permutation of its columns with the columns of
    H' summing to at most 1, SPA returns the columns that form W: exactly without noise,
    and robustly with small noise (Arora et al. 2012; Gillis & Vavasis 2014). It is the
    start ``init="spa"`` of `nmfkit.NMF`.

    Parameters
    ----------
    V : {array-like, sparse matrix} of shape (m, n)
        The nonnegative data.
    k : int
        The number of columns to choose, 1 <= k <= n.
    normalize : bool, default=True
        First scale each column to unit l1 norm, which makes any separable nonnegative V
        meet the assumption on H'.

    Returns
    -------
    ndarray of int of shape (k,)
        The indices of the chosen columns, in the order chosen.

    Raises
    ------
    ValueError
        If k exceeds the number of columns of V, or V has rank below k (every residual is
        zero before k columns are chosen).

    See Also
    --------
    nmfkit.NMF : ``init="spa"`` starts from the columns SPA picks.

    Notes
    -----
    Each step picks the column of largest residual norm, then projects every column onto
    the orthogonal complement of it. The residual is never formed: with the orthonormal
    basis U of the chosen columns, ||r_j||^2 = ||v_j||^2 - ||U^T v_j||^2, so the cost is
    O(k nnz(V) + k^2 (m + n)) and a sparse V stays sparse.

    References
    ----------
    .. [1] Gillis, N. & Vavasis, S. A. (2014). Fast and robust recursive algorithms for
       separable nonnegative matrix factorization. IEEE Transactions on Pattern Analysis
       and Machine Intelligence 36(4), 698-714.
    .. [2] Arora, S., Ge, R., Kannan, R. & Moitra, A. (2012). Computing a nonnegative
       matrix factorization -- provably. Proceedings of STOC 2012, 145-162.

    Examples
    --------
    Columns 0, 1 and 2 are the pure ones; the others are mixtures of them:

    >>> import numpy as np
    >>> from nmfkit import spa
    >>> rng = np.random.default_rng(0)
    >>> W = rng.random((5, 3))
    >>> H = np.hstack([np.eye(3), rng.dirichlet(np.ones(3), size=5).T])
    >>> sorted(spa(W @ H, 3).tolist())
    [0, 1, 2]
    """
    from ..core.arrays import check_dense, check_sparse
    from ..core.params import check_int
    k = check_int(k, "k")
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}.")
    V = check_sparse(V, "V") if sp.issparse(V) else check_dense(V, "V")
    m, n = V.shape
    if k > n:
        raise ValueError(f"k={k} exceeds the number of columns of V ({n}).")
    V = V.astype(np.float64)
    vmax = float(abs(V).max()) if V.shape[0] * V.shape[1] else 0.0
    if not normalize and vmax > 0 and not 1e-100 < vmax < 1e100:
        V = V / vmax  # the squared norms below would overflow or underflow: same choice
    if normalize:
        l1 = np.asarray(abs(V).sum(axis=0)).ravel()
        scale = np.divide(1.0, l1, out=np.zeros_like(l1), where=l1 > 0)
        V = V @ sp.diags(scale) if sp.issparse(V) else V * scale
    norms = np.asarray(V.multiply(V).sum(axis=0) if sp.issparse(V) else
                       np.einsum("ij,ij->j", V, V)).ravel()
    residual = norms.copy()
    U = np.zeros((m, k))
    UtV = np.zeros((k, n))
    chosen = []
    for i in range(k):
        masked = residual.copy()
        masked[chosen] = -np.inf
        j = int(np.argmax(masked))
        if not residual[j] > 1e-12 * max(norms.max(), 1e-300):
            raise RankDeficientError(f"V has rank {i} < k={k} (after {i} columns every "
                                     "residual is zero): choose a smaller k.", i)
        col = V[:, [j]].toarray().ravel() if sp.issparse(V) else V[:, j].copy()
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to working precision
            col -= U[:, :i] @ (U[:, :i].T @ col)
        u = col / np.linalg.norm(col)
        U[:, i] = u
        UtV[i] = np.asarray(V.T @ u).ravel()
        residual = np.maximum(norms - np.einsum("ij,ij->j", UtV[:i + 1], UtV[:i + 1]), 0.0)
        chosen.append(j)
    return np.asarray(chosen, dtype=np.intp)


def _spa_start(X, k):
    """W = the k columns SPA picks; H = nonnegative least squares fit of X by them."""
    try:
        cols = spa(X, k)
    except RankDeficientError as exc:
        raise ValueError(f"init='spa' needs X of rank >= n_components, but X has rank "
                         f"{exc.rank} < n_components={k}: choose n_components <= {exc.rank}, "
                         "or init='random'.") from None
    W = X[:, cols]
    W = W.toarray() if sp.issparse(W) else np.array(W)
    W = W.astype(np.float64)
    gram = W.T @ W
    WtX = np.asarray((X.T @ W).T if sp.issparse(X) else W.T @ X, dtype=np.float64)
    H = np.linalg.lstsq(gram, WtX, rcond=None)[0]
    np.maximum(H, 0.0, out=H)
    return W, H


def least_squares_start(X, H):
    """W = max(X H^T (H H^T)^+, small): a start for W when H is known (streaming)."""
    XHt = np.asarray(X @ H.T.astype(np.float64) if sp.issparse(X) else
                     X.astype(np.float64) @ H.T.astype(np.float64))
    W = np.linalg.lstsq(H.astype(np.float64) @ H.T.astype(np.float64), XHt.T, rcond=None)[0].T
    positive = W[W > 0]
    np.maximum(W, 1e-3 * positive.mean() if positive.size else 1.0, out=W)
    return np.ascontiguousarray(W, dtype=X.dtype)


def random_factor(rng, avg, shape, dtype):
    """One factor of scikit-learn's random start: |avg N(0, 1)| of the given shape, drawn
    from rng and cast to dtype; all ones when avg is not positive (all-zero data: any
    positive start is as good as another). Drawing a factor in row blocks, one call per
    block, continues the same stream: the same numbers."""
    F = (avg * _normal(rng, shape)).astype(dtype, copy=False)
    np.abs(F, out=F)
    if not avg > 0:
        F.fill(1.0)
    return F


def initialize(X, k, init, random_state, W=None, H=None):
    """Starting (W (m x k), H (k x n)) for the data X (ndarray or CSR) in X's dtype."""
    dtype = X.dtype
    m, n = X.shape
    check_init_rank(init, k, (m, n))
    if init == "custom":
        return check_factor(W, "W", (m, k), dtype), check_factor(H, "H", (k, n), dtype)
    rng = check_random_state(random_state)
    if init == "random":
        avg = np.sqrt(X.mean() / k)
        Hs = random_factor(rng, avg, (k, n), dtype)  # H first, as scikit-learn draws them
        Ws = random_factor(rng, avg, (m, k), dtype)
        return np.ascontiguousarray(Ws), np.ascontiguousarray(Hs)
    if sp.issparse(X) and X.nnz == 0 or not sp.issparse(X) and not X.any():
        return np.ones((m, k), dtype=dtype), np.ones((k, n), dtype=dtype)
    if init == "spa":
        W, H = _spa_start(X, k)
        return W.astype(dtype), H.astype(dtype)
    W, H = _nndsvd(X, k, init, rng)
    return W.astype(dtype), H.astype(dtype)
