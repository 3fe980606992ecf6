"""Sparse NMF: Hoyer's sparseness measure, and fits that reach a chosen sparseness.

Hoyer (2004) measures the sparseness of a vector x of n entries by where the ratio of its
l1 and l2 norms lies between its extremes (sqrt(n) for a constant vector, 1 for a vector
with one nonzero entry):

    sparseness(x) = (sqrt(n) - ||x||_1 / ||x||_2) / (sqrt(n) - 1),   in [0, 1].

A vector of l2 norm l2 has sparseness s exactly when its l1 norm is
l2 (sqrt(n) - (sqrt(n) - 1) s). Hoyer's NMFsc holds every column of one internal factor A
(each column of the caller's W, or each row of the caller's H) at sparseness `target`, with
l2 norm 1, as Hoyer's paper does for H: each component's scale lives in the other factor B,
which loses nothing without a penalty on A and keeps the factors from drifting apart in
scale. A moves by projected gradient steps onto {a >= 0, ||a|| = 1, sparseness target},
halved until the objective does not increase and made 1.2 times larger after each step
taken; B by HALS sweeps (floored at `floor`). Neither increases the objective
1/2 ||V - W Ht^T||^2 + penalty. A penalty on A would be a constant and is refused.

For fixed H (solve_sparse_w) W's scale is free: the steps go to the Euclidean projection
onto the cone {a >= 0, sparseness target}, the unit-norm projection u of the step x scaled
by <u, x> (the nearest unit vector of the set to x maximizes <u, x>, whatever ||x||).

References
----------
Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints.
Journal of Machine Learning Research 5, 1457-1469.
"""

import numpy as np

from ..core.matrix import OTHER_SIDE, column_sums
from ..core.threads import blas_single_threaded, effective_n_threads, threads_for
from ..losses import Frobenius
from .polish import solve_w
from .progress import Progress, RunResult

__all__ = ["hoyer_projection", "hoyer_sparseness", "run_sparse", "solve_sparse_w"]

# Hoyer's step-size rule: a step that would increase the objective is halved (at most
# MAX_HALVINGS times, after which the factor stays where it is), a step taken makes the next
# one GROWTH times larger.
GROWTH = 1.2
MAX_HALVINGS = 40
# repeats of the constrained factor's step on one product stop once a step moves it by less
# than this fraction (squared) of the first repeat's move
REPEAT_STOP = 1e-2
# In the projection, a column whose distance to the centre of its free coordinates is below
# this fraction of the centre's norm is at the centre (x was constant there, up to rounding).
FLAT = 1e-12


def hoyer_sparseness(X, axis=0):
    """Measure Hoyer's sparseness of each column or row of a 2-D array, in [0, 1].

    Where the ratio of a vector's l1 and l2 norms lies between its extremes: 0 for a
    constant vector, 1 for a vector with a single nonzero entry. By convention a vector of
    length 1, or all zeros, has sparseness 1 (it has at most one nonzero entry).

    Parameters
    ----------
    X : array-like of shape (n_rows, n_columns)
        The vectors, of any sign (their absolute values are measured); not modified.
    axis : {0, 1}, default=0
        0: the sparseness of each column; 1: of each row.

    Returns
    -------
    ndarray of float64
        One value per column (axis=0) or row (axis=1), accumulated in double.

    Raises
    ------
    ValueError
        If X is not 2-D or `axis` is not 0 or 1.

    See Also
    --------
    nmfkit.NMF : Its ``sparseness_W`` and ``sparseness_H`` fit factors of a chosen
        Hoyer sparseness.

    Notes
    -----
    For a vector x of n entries,

    .. math:: \\mathrm{sparseness}(x) = \\frac{\\sqrt{n} - \\|x\\|_1 / \\|x\\|_2}
              {\\sqrt{n} - 1}.

    References
    ----------
    .. [1] Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness
       constraints. Journal of Machine Learning Research 5, 1457-1469.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import hoyer_sparseness
    >>> X = np.array([[1.0, 0.0, 2.0],
    ...               [1.0, 0.0, 1.0],
    ...               [1.0, 5.0, 0.0]])
    >>> hoyer_sparseness(X).round(3)
    array([0.   , 1.   , 0.533])
    >>> hoyer_sparseness(X, axis=1).round(3)
    array([0.533, 0.434, 0.759])
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got shape {X.shape}.")
    if axis not in (0, 1):
        raise ValueError(f"axis must be 0 (columns) or 1 (rows), got {axis!r}.")
    n = X.shape[axis]
    A = np.abs(X.astype(np.float64, copy=False))
    l1 = column_sums(A, np.float64) if axis == 0 else A.sum(axis=1)  # NumPy's bits, faster
    l2 = np.sqrt(np.einsum("ij,ij->j" if axis == 0 else "ij,ij->i", A, A))
    out = np.ones(l1.shape, dtype=np.float64)
    if n > 1:
        root = np.sqrt(n)
        nonzero = l2 > 0
        out[nonzero] = (root - l1[nonzero] / l2[nonzero]) / (root - 1.0)
    return np.clip(out, 0.0, 1.0)


def hoyer_projection(x, target):
    """Hoyer's projection: the nonnegative vector nearest to x (in l2) with the l2 norm of x
    and the l1 norm that gives it sparseness `target`.

    Parameters
    ----------
    x : array-like of shape (n,) or (n, k)
        One vector, or k vectors as the columns of a matrix (each projected on its own),
        finite, of any sign; not modified.
    target : float in [0, 1]
        The Hoyer sparseness of the result (see hoyer_sparseness).

    Returns
    -------
    ndarray of x's shape and floating dtype (float64 for other input), computed in double:
    nonnegative, each vector with sum ||x|| (sqrt(n) - (sqrt(n) - 1) target) and l2 norm
    ||x||. A zero vector stays zero. Where the nearest vector is not unique (x constant, a
    target above 0), one of them is returned, always the same.

    Notes
    -----
    Hoyer (2004), figure 1: project onto the hyperplane sum(s) = l1; from the centre m of
    its free coordinates go along s - m to the l2 sphere; if entries are negative, fix them
    at 0, shift the others back onto the hyperplane, repeat (at most n rounds). Here the
    shift is taken with the next direction: s - m minus its mean over the free coordinates.

    References
    ----------
    Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints.
    Journal of Machine Learning Research 5, 1457-1469.
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty vector or 2-D array, got shape {x.shape}.")
    target = float(target)
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target must be a real in [0, 1], got {target!r}.")
    X = x.astype(np.float64).reshape(x.shape[0], -1)
    if not np.isfinite(X).all():
        raise ValueError("x must be finite.")
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return project_columns(X, target).reshape(x.shape).astype(dtype, copy=False)


def project_columns(X, target, norm=None):
    """Hoyer's projection of each column of the finite 2-D double array X (see
    hoyer_projection) onto the columns of l2 norm `norm` (None: the column's own), as a new
    double array; X is not modified."""
    n, k = X.shape
    l2 = np.sqrt(np.einsum("ij,ij->j", X, X)) if norm is None else np.full(k, float(norm))
    root = np.sqrt(n)
    l1 = l2 * (root - (root - 1.0) * target)
    S = X + (l1 - X.sum(axis=0)) / n  # onto the hyperplane sum = l1
    zero = np.zeros(X.shape, dtype=bool)  # coordinates fixed at 0
    cols = np.arange(k)  # columns not finished
    for _ in range(n + 1):  # each round but the last fixes at least one more coordinate
        if cols.size == 0:
            break
        s, z = S[:, cols], zero[:, cols]
        n_free = np.maximum(n - z.sum(axis=0), 1)
        centre = np.where(z, 0.0, l1[cols] / n_free)
        d = np.where(z, 0.0, s - centre)
        d -= np.where(z, 0.0, d.sum(axis=0) / n_free)  # along the plane sum = l1
        a = np.einsum("ij,ij->j", d, d)
        c = np.einsum("ij,ij->j", centre, centre) - l2[cols] ** 2
        # s at the centre (up to rounding) but off the sphere: every direction along the
        # plane gives a nearest point (x was constant on these coordinates); take a ramp
        flat = (a <= FLAT * FLAT * (c + l2[cols] ** 2)) & (c < 0)
        for j in np.flatnonzero(flat):
            free = np.flatnonzero(~z[:, j])
            d[:, j] = 0.0
            d[free, j] = (free.size - 1) / 2.0 - np.arange(free.size)
            a[j] = d[:, j] @ d[:, j]
        b = np.einsum("ij,ij->j", centre, d)
        # alpha >= 0 with ||centre + alpha d|| = l2 (the root clipped at 0 against rounding)
        root_term = np.sqrt(np.maximum(b * b - a * c, 0.0))
        alpha = np.divide(root_term - b, a, out=np.zeros_like(a), where=a > 0)
        s = centre + alpha * d
        negative = s < 0
        done = ~negative.any(axis=0)
        z |= negative
        s[z] = 0.0  # the shift of the others back onto the plane is the next round's d -= ...
        S[:, cols], zero[:, cols] = s, z
        cols = cols[~done]
    return S


def _sum_of_products(a, b):
    """<a, b> of two arrays of the same shape, in double (a fixed-order contraction)."""
    return float(np.einsum("ij,ij->", a, b, dtype=np.float64))


class _ProjectedGradient:
    """Projected gradient steps of the constrained factor A against the fixed factor B, with
    Hoyer's step-size rule (the rate carries over from call to call).

    Column c steps by rate / (G_cc + l2) times the gradient (G = B^T B; the inverse
    curvature along the column, so steps do not depend on the components' scales), then is
    projected onto unit columns at sparseness target (cone=False) or onto the cone of all
    columns at that sparseness (cone=True; a step that leaves a column no nonzero projection
    is too long). f(A) = 1/2 ||V - A B^T||^2 + l1 sum(A) + l2/2 ||A||^2 is quadratic: with
    D = A_new - A and g = A G - V B + l1 + l2 A, f(A_new) - f(A) = <D, g> + 1/2 <D G, D>
    + l2/2 <D, D>, in double without the cancellation of ||V||^2. A step is taken when
    that is <= 0.
    """

    def __init__(self, target, l1, l2, cone):
        self.target, self.l1, self.l2, self.cone = target, l1, l2, cone
        self.rate = 1.0

    def project(self, X):
        """The projection of the columns of X (double), or None where the cone's is 0."""
        unit = project_columns(X, self.target, 1.0)
        if not self.cone:
            return unit
        scale = np.einsum("ij,ij->j", unit, X)
        return unit * scale if np.all(scale > 0) else None

    def step(self, A, num, gram):
        """One step of A (in place) from num = V B and the double Gram matrix gram = B^T B;
        returns ||A_new - A||^2 (0 when no step decreases the objective)."""
        A64 = A.astype(np.float64)
        grad = A64 @ gram
        grad -= num
        if self.l1:
            grad += self.l1
        if self.l2:
            grad += self.l2 * A64
        curvature = np.diag(gram) + self.l2
        unit = np.divide(1.0, curvature, out=np.ones_like(curvature), where=curvature > 0)
        for _ in range(MAX_HALVINGS):
            trial = self.project(A64 - (self.rate * unit) * grad)
            if trial is not None:
                trial = trial.astype(A.dtype, copy=False)
                D = trial - A64
                change = (_sum_of_products(D, grad) + 0.5 * _sum_of_products(D @ gram, D)
                          + 0.5 * self.l2 * _sum_of_products(D, D))
                if change <= 0.0:
                    A[...] = trial
                    self.rate *= GROWTH
                    return _sum_of_products(D, D)
            self.rate *= 0.5
        return 0.0

    def steps(self, A, num, gram, repeats):
        """Up to `repeats` steps on one pair of statistics, stopping once a step moves A by
        less than REPEAT_STOP (squared) of the first; returns the last squared move."""
        first = move = self.step(A, num, gram)
        for _ in range(repeats - 1):
            if move <= REPEAT_STOP * first:
                break
            move = self.step(A, num, gram)
        return move


def _double_gram(B):
    B64 = B.astype(np.float64)
    return B64.T @ B64


def run_sparse(M, W, Ht, *, side, target, max_iter, tol, penalty, floor, check_every=10,
               verbose=0, callback=None):
    """Hoyer's NMFsc from internal (W, Ht), in place: every column of the internal factor
    `side` at Hoyer sparseness `target`, with l2 norm 1.

    Parameters
    ----------
    M : Matrix
        The prepared data (Frobenius loss, fully observed).
    W, Ht : ndarray
        The internal factors (C-ordered, M's dtype), the start, updated in place; the
        columns of `side` are projected first, their norms moved to the other factor.
    side : {'w', 'h'}
        The internal factor whose columns are constrained, to sparseness `target`.
    max_iter, tol, check_every, verbose, callback
        As in solvers.alternating.run (Progress: the stopping rule, history and reports).
    penalty : Penalty
        l1 and l2 weights of both internal factors; those of `side` must be 0.
    floor : float
        Lower bound of the other factor's entries (the constrained one has exact zeros).

    Returns
    -------
    RunResult
        The penalized objective 1/2 ||V - W Ht^T||^2 + penalty, internal units, at the
        checked iterations: it never increases.

    Notes
    -----
    Each iteration updates the caller's W first, then H, each from one product with V;
    the steps of either repeat while cheap against the product (Gillis & Glineur 2012).

    References
    ----------
    Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints.
    Journal of Machine Learning Research 5, 1457-1469.
    """
    if penalty.l1[side] or penalty.l2[side]:
        F, G = ("W", "H") if side == M.w_side else ("H", "W")
        raise ValueError(f"sparseness_{F} keeps the vectors of {F} at unit norm, where a "
                         f"penalty is a constant: set alpha_{F}=0 (alpha_H defaults to "
                         f"alpha_W) and penalize {G} only.")
    with blas_single_threaded():
        loss = Frobenius()
        n_threads = effective_n_threads()
        factors = {"w": W, "h": Ht}
        k = W.shape[1]
        A64 = factors[side].astype(np.float64)  # the start: its norms moved to the other
        norms = np.sqrt(np.einsum("ij,ij->j", A64, A64))
        factors[OTHER_SIDE[side]] *= np.where(norms > 0, norms, 1.0).astype(M.dtype)
        factors[side][...] = project_columns(A64, target, 1.0)
        threads = {s: threads_for(loss.row_work(k) * factors[s].shape[0], n_threads)
                   for s in factors}
        grams = {s: loss.denominator(factors[s], threads[s], np.empty((k, k), dtype=M.dtype))
                 for s in factors}
        nums = {s: np.empty_like(factors[s]) for s in factors}
        repeats = {s: loss.inner_steps("hals", factors[s].shape[0],
                                       factors[OTHER_SIDE[s]].shape[0], k, M.nnz,
                                       M.kind == "dense") for s in factors}
        projected = _ProjectedGradient(target, 0.0, 0.0, cone=False)
        order = [M.w_side, OTHER_SIDE[M.w_side]]

        def update(s, fresh):
            if fresh:
                loss.numerator(M, W, Ht, s == "h", nums[s], n_threads)
            other = OTHER_SIDE[s]
            if s == side:
                projected.steps(factors[s], nums[s], _double_gram(factors[other]), repeats[s])
            else:
                loss.update(factors[s], nums[s], grams[other], penalty.l1[s], penalty.l2[s],
                            floor, M.tiny, threads[s], solver="hals", n_inner=repeats[s])
            loss.denominator(factors[s], threads[s], grams[s])

        def objective(s):  # from side s's numerator, formed against the other's current value
            return (loss.product_objective(M.sq_norm, factors[s], nums[s], grams[s],
                                           grams[OTHER_SIDE[s]]) + penalty.value(factors))

        loss.numerator(M, W, Ht, order[0] == "h", nums[order[0]], n_threads)
        progress = Progress(objective(order[0]), tol, verbose, callback)
        converged = False
        it = 0
        for it in range(1, max_iter + 1):
            for s in order:  # at iteration 1 the first numerator is already there
                update(s, fresh=not (it == 1 and s == order[0]))
            checked = it % check_every == 0 or it == max_iter
            if checked and progress.check(it, objective(order[-1])):
                converged = True
                break
        return RunResult(W, Ht, it, progress.history, progress.iters, converged)


def solve_sparse_w(M, W, Ht, *, target, beta, penalty, floor, max_iter, rtol=1e-7):
    """The caller's W for the fixed H with every column of W at Hoyer sparseness `target`,
    in place (solvers.polish.solve_w's signature plus target; beta must be 2). Returns the
    projected gradient steps taken.

    Not a convex problem: its end depends on its start, which is the W without the
    constraint (solve_w from the given W: convex, unique when H has full rank) projected
    onto the cone of columns at sparseness target, so transform(X) and the end of fit(X)
    end at the same W. Then projected gradient steps onto that cone (see run_sparse), until
    a step moves W by at most rtol ||W||, no step decreases the objective (the Frobenius
    loss plus W's penalty, never increasing), or max_iter steps.

    References
    ----------
    Hoyer, P. O. (2004). Non-negative matrix factorization with sparseness constraints.
    Journal of Machine Learning Research 5, 1457-1469.
    """
    if beta != 2.0:
        raise ValueError(f"sparse NMF minimizes the Frobenius loss only, got beta={beta:g}.")
    with blas_single_threaded():
        solve_w(M, W, Ht, beta=beta, penalty=penalty, floor=floor, max_iter=max_iter,
                rtol=rtol)
        s = M.w_side
        factors = {"w": W, "h": Ht}
        A = factors[s]
        projected = _ProjectedGradient(target, penalty.l1[s], penalty.l2[s], cone=True)
        A64 = A.astype(np.float64)
        unit = project_columns(A64, target, 1.0)
        scale = np.einsum("ij,ij->j", unit, A64)
        # a column with no nonzero projection (a zero column: a component this data does
        # not use) starts at the target, with a small scale
        small = max(floor, float(np.finfo(A.dtype).eps) * np.sqrt(M.vmax))
        A[...] = unit * np.where(scale > 0, scale, small)
        num = Frobenius.numerator(M, W, Ht, s == "h", np.empty_like(A), effective_n_threads())
        gram = _double_gram(factors[OTHER_SIDE[s]])
        steps = 0
        for steps in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
            if projected.step(A, num, gram) <= rtol * rtol * _sum_of_products(A, A):
                break
        return steps
