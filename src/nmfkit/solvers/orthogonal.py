"""Orthogonal NMF: one factor with orthogonal columns, fitted by the EM-like algorithm.

A nonnegative factor F (rows x k) has orthogonal columns exactly when their supports are
disjoint: each row of F has at most one nonzero entry. Its row i then says that the i-th row
(or column) v_i of V is a multiple of one column g_c of the other factor G, which is k-means
with a scaled, direction-only centroid (Ding, Li, Peng & Park 2006). Internally both factors
are (rows x k) with V ~= W Ht^T, so side 'w' (F = W, v_i the rows of V) and side 'h'
(F = Ht, v_i the columns of V) are the same problem on V and V^T.

The EM-like algorithm of Pompili, Gillis, Absil & Glineur (2014) alternates two exact
minimizations of the penalized objective

    1/2 ||V - F G^T||^2 + l1_F sum(F) + l2_F / 2 ||F||^2 + l1_G sum(G) + l2_G / 2 ||G||^2,

so the objective never increases and every iterate is exactly orthogonal:

(a) Assignment, F given G. The objective splits over the rows of F. Row i with its one
    nonzero a >= 0 in column c contributes, with p = v_i . g_c and n_c = ||g_c||^2,

        1/2 ||v_i||^2 - a (p - l1_F) + a^2 / 2 (n_c + l2_F),

    a parabola in a minimized at a = max(p - l1_F, 0) / (n_c + l2_F), where it equals
    1/2 ||v_i||^2 - max(p - l1_F, 0)^2 / (2 (n_c + l2_F)). The best component is therefore
    the c maximizing max(p - l1_F, 0)^2 / (n_c + l2_F) (without penalties
    (v_i . g_c)^2 / ||g_c||^2), the first such c on a tie. This is the exact minimizer over
    all nonnegative F with one nonzero per row, since every c is tried.
(b) G given F. F^T F is diagonal (d_c = sum of the squares of column c of F), so the
    objective splits over the entries of G: entry (j, c) is a parabola with curvature
    d_c + l2_G and minimum at (V^T F - l1_G)_jc / (d_c + l2_G); its minimizer over
    G >= floor is that value clipped at the floor. Without penalties and floor this is the
    least-squares G = V^T F (F^T F)^{-1}, nonnegative by itself since V, F >= 0. A column
    with d_c + l2_G = 0 (an empty cluster, no l2) does not enter the objective: it is set to
    the floor, a minimizer too.

Pompili et al. also describe, instead of (b), the leading singular pair of each cluster's
rows (nonnegative by Perron-Frobenius), which minimizes over G and F's values at once for
the current supports. It is monotone too, but needs an SVD per cluster and has no closed
form with the floor and the penalties; (b) is exact with both, costs one product with V, and
the next assignment re-optimizes F's values anyway.

Empty clusters. When the assignment leaves a component with no row, the row with the largest
contribution to the objective (first on a tie) seeds it: the column of G becomes that row of
V (clipped at the floor) and the assignment is redone. It is done only when it provably
lowers the objective (the seeding row's own gain exceeds the penalty added by the new
column: without penalties or floor, whenever that row is not fitted exactly), at most k
times per iteration, stopping at the first that would not: the objective still never
increases.

The floor: F's zeros are exact (they are what makes F orthogonal) and its nonzeros come from
a global choice, which cannot lock at zero as a coordinate step can, so the floor does not
apply to F; G is kept >= floor.

References
----------
Ding, C., Li, T., Peng, W. & Park, H. (2006). Orthogonal nonnegative matrix
t-factorizations for clustering. Proceedings of the 12th ACM SIGKDD, 126-135.

Pompili, F., Gillis, N., Absil, P.-A. & Glineur, F. (2014). Two algorithms for orthogonal
nonnegative matrix factorization with application to clustering. Neurocomputing 141, 15-25.
"""

import numpy as np

from ..core.matrix import OTHER_SIDE
from ..core.threads import blas_single_threaded, effective_n_threads
from .progress import Progress, RunResult

__all__ = ["assign", "run_orthogonal", "solve_orthogonal_w"]


def assign(P, G, l1, l2, F):
    """Step (a): F (rows x k) <- the best nonnegative F with one nonzero per row for the
    fixed G, in place, from P = the product of V (or V^T) with G (rows x k).

    Returns (labels, gains): each row's component and the decrease of its objective term
    from 1/2 ||v_i||^2, max(p - l1, 0)^2 / (2 (||g_c||^2 + l2)), in double. Rows with
    nothing to gain (a zero row of V) get an all-zero row of F.
    """
    norms = np.einsum("ij,ij->j", G, G, dtype=np.float64) + l2
    excess = np.maximum(P.astype(np.float64) - l1, 0.0)
    score = np.divide(excess * excess, norms, out=np.zeros_like(excess), where=norms > 0)
    labels = np.argmax(score, axis=1)
    rows = np.arange(F.shape[0])
    best = norms[labels]
    value = np.divide(excess[rows, labels], best, out=np.zeros(F.shape[0]), where=best > 0)
    F.fill(0)
    F[rows, labels] = value
    return labels, 0.5 * score[rows, labels]


def update_other(Q, F, l1, l2, floor, G):
    """Step (b): G (rows x k) <- its exact minimizer over G >= floor for the fixed
    orthogonal F, in place, from Q = the product of V^T (or V) with F."""
    curvature = np.einsum("ij,ij->j", F, F, dtype=np.float64) + l2
    exact = np.divide(Q.astype(np.float64) - l1, curvature,
                      out=np.full(Q.shape, -np.inf), where=curvature > 0)
    np.maximum(exact, floor, out=exact)
    G[...] = exact


def _objective(M, F, G, P, labels, penalty, side):
    """1/2 ||V - F G^T||^2 + the penalty, in double, from P (V's product with G) and the
    assignment: with F^T F diagonal, <F^T F, G^T G> = sum_c ||f_c||^2 ||g_c||^2."""
    rows = np.arange(F.shape[0])
    values = F[rows, labels].astype(np.float64)
    cross = float(values @ P[rows, labels].astype(np.float64))
    grams = (np.einsum("ij,ij->j", F, F, dtype=np.float64)
             @ np.einsum("ij,ij->j", G, G, dtype=np.float64))
    return (max(0.5 * M.sq_norm - cross + 0.5 * float(grams), 0.0)
            + penalty.value({side: F, OTHER_SIDE[side]: G}))


def _data_row(M, side, i):
    """Row i of V (side 'w') or column i of V (side 'h'), internal units, as a dense vector."""
    if M.kind == "dense":
        return np.array(M.V[i] if side == "w" else M.V[:, i])
    indptr, indices, data = M.X if side == "w" else M.XT
    out = np.zeros(M.internal_shape[1 if side == "w" else 0], dtype=M.dtype)
    out[indices[indptr[i]:indptr[i + 1]]] = data[indptr[i]:indptr[i + 1]]
    return out


def _squared_row_norms(M, side):
    """||v_i||^2 of every row (side 'w') or column (side 'h') of V, in double."""
    if M.kind == "dense":
        return np.einsum("ij,ij->j" if side == "h" else "ij,ij->i", M.V, M.V,
                         dtype=np.float64)
    indptr, _, data = M.X if side == "w" else M.XT
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.bincount(rows, weights=np.square(data, dtype=np.float64),
                       minlength=len(indptr) - 1)


class _Assignment:
    """Step (a) with its product P and the reseeding of empty clusters."""

    def __init__(self, M, F, G, side, penalty, floor, n_threads):
        self.M, self.F, self.G, self.side = M, F, G, side
        self.penalty, self.floor, self.n_threads = penalty, floor, n_threads
        self.l1, self.l2 = penalty.l1[side], penalty.l2[side]
        self.P = np.empty_like(F)
        self.row_sq = None  # formed at the first empty cluster
        self.labels = None

    def __call__(self):
        """Form P from the current G, assign, reseed empty clusters; returns the objective."""
        M, F, G = self.M, self.F, self.G
        M.multiply(G, self.P, self.side == "h", self.n_threads)
        self.labels, gains = assign(self.P, G, self.l1, self.l2, F)
        for _ in range(F.shape[1]):
            used = np.zeros(F.shape[1], dtype=bool)
            used[self.labels[F[np.arange(F.shape[0]), self.labels] > 0]] = True
            if used.all() or not self._reseed(int(np.argmin(used)), gains):
                break
            M.multiply(G, self.P, self.side == "h", self.n_threads)
            self.labels, gains = assign(self.P, G, self.l1, self.l2, F)
        return _objective(M, F, G, self.P, self.labels, self.penalty, self.side)

    def _reseed(self, c, gains):
        """Column c of G (no row uses it) <- the row of V with the largest objective term,
        if that lowers the objective; returns whether it did."""
        if self.row_sq is None:
            self.row_sq = _squared_row_norms(self.M, self.side)
        i = int(np.argmax(0.5 * self.row_sq - gains))
        row = _data_row(self.M, self.side, i).astype(np.float64)
        seed = np.maximum(row, self.floor).astype(self.G.dtype)
        p = float(row @ seed)
        norm = float(seed.astype(np.float64) @ seed) + self.l2
        gain = max(p - self.l1, 0.0) ** 2 / (2.0 * norm) - gains[i] if norm > 0 else 0.0
        other = OTHER_SIDE[self.side]
        added = (self.penalty.value({other: seed[:, None]})
                 - self.penalty.value({other: self.G[:, c:c + 1]}))
        if not gain > added:
            return False
        self.G[:, c] = seed
        return True


def run_orthogonal(M, W, Ht, **options):
    """One orthogonal NMF run from the internal factors, in place (BLAS on one thread).

    Parameters
    ----------
    M : core.matrix.Matrix
        The prepared data, dense or CSR, float32 or float64, without missing values.
    W, Ht : ndarray
        The internal start (m x k and n x k, C-ordered, M's dtype), updated in place.
    side : {'w', 'h'}
        The internal factor whose columns are kept orthogonal.
    max_iter, tol, check_every, verbose, callback
        As for solvers.alternating.run: iterations, scikit-learn's stopping rule checked
        every check_every iterations (solvers.progress.Progress).
    penalty : core.penalty.Penalty
        l1 and l2 weights on each internal side; both sides' are supported exactly.
    floor : float
        The lower bound of the other factor's entries (not of the orthogonal factor's).

    Returns
    -------
    solvers.progress.RunResult
        The factors, the iterations done, the history of the objective (the Frobenius loss
        1/2 ||V - W Ht^T||^2 in internal units plus the penalty, never increasing up to
        rounding) and whether the stopping rule was met.

    Notes
    -----
    The start is made feasible first: its orthogonal factor is replaced by the assignment
    for the start's other factor, and the objective of that pair is the history's first
    entry (the start itself is not orthogonal: its objective can be lower than any
    orthogonal pair's). Each iteration then solves for the other factor (b) and reassigns
    (a), so the run ends on an assignment: the factor is exactly orthogonal.

    References
    ----------
    Pompili, F., Gillis, N., Absil, P.-A. & Glineur, F. (2014). Two algorithms for
    orthogonal nonnegative matrix factorization with application to clustering.
    Neurocomputing 141, 15-25.
    """
    with blas_single_threaded():
        return _run_orthogonal(M, W, Ht, **options)


def _run_orthogonal(M, W, Ht, *, side, max_iter, tol, penalty, floor, check_every=10,
                    verbose=0, callback=None):
    """run_orthogonal's iteration (see there)."""
    if M.masked:
        raise ValueError("orthogonal NMF needs fully observed data (no missing values).")
    factors = {"w": W, "h": Ht}
    F, G = factors[side], factors[OTHER_SIDE[side]]
    other = OTHER_SIDE[side]
    n_threads = effective_n_threads()
    assignment = _Assignment(M, F, G, side, penalty, floor, n_threads)
    Q = np.empty_like(G)
    progress = Progress(assignment(), tol, verbose, callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        M.multiply(F, Q, side == "w", n_threads)
        update_other(Q, F, penalty.l1[other], penalty.l2[other], floor, G)
        obj = assignment()
        if (it % check_every == 0 or it == max_iter) and progress.check(it, obj):
            converged = True
            break
    return RunResult(W, Ht, it, progress.history, progress.iters, converged)


def solve_orthogonal_w(M, W, Ht, *, beta, penalty, floor, max_iter, rtol=1e-7):
    """The caller's W for the fixed H with orthogonal columns, in place: the assignment
    step (a), exact in one pass (each row of V to its best component, scaled optimally).

    Parameters
    ----------
    M, W, Ht
        The prepared data and the internal factors; the one on side M.w_side is written.
    penalty : core.penalty.Penalty
        Its l1 and l2 weights on M.w_side enter the assignment.
    beta, floor, max_iter, rtol
        solvers.polish.solve_w's arguments, whose signature this shares; they do not apply
        (beta is 2; the orthogonal factor has no floor; the step is exact).

    Returns
    -------
    int
        The sweeps done: 1.
    """
    if M.masked:
        raise ValueError("orthogonal NMF needs fully observed data (no missing values).")
    with blas_single_threaded():
        side = M.w_side
        factors = {"w": W, "h": Ht}
        F, G = factors[side], factors[OTHER_SIDE[side]]
        P = M.multiply(G, np.empty_like(F), side == "h", effective_n_threads())
        assign(P, G, penalty.l1[side], penalty.l2[side], F)
    return 1
