"""Streaming NMF: one batch of rows updates the components (NMF.partial_fit, MiniBatchNMF).

Each batch X_b (rows are samples) is handled in two phases.

1. The batch's own fit. From the current components H, the batch is factorized on its own
   with the solver of a full fit (extrapolated HALS for the Frobenius loss of fully
   observed data, multiplicative updates otherwise) until its objective settles. NMF is
   far from unique, most of all when the factors are dense: the components can move along
   a valley of near-equal error (H -> Q H, W -> W Q^-1, as far as both stay nonnegative).
   An update of H from statistics of the earlier batches' W (Mairal et al. 2010) is one
   block of a block-coordinate descent, pinned by those W, and crosses the valley as
   slowly as the alternating updates of a full fit do: that is why the update without
   phase 1 ended at 2.6-3.7x the full fit's error after five passes on such data (and
   keeping exact per-batch statistics, with no staleness at all, was no faster). A batch
   on its own crosses it quickly, and successive batches, each started from the previous
   one's components, narrow the components down to those that suit all of them
   (alternating projections onto each batch's solutions).
2. The memory of the earlier batches, weighted down by `rho` per batch (forget_factor), so
   that the components do not follow the last batch alone.
   - Frobenius loss, fully observed data: the sufficient statistics of the quadratic loss
     in H, A = sum X_j^T W_j (n x k) and B = sum W_j^T W_j (k x k). Each W_j was solved
     for the components of its time, which phase 1 has since moved: before the batch is
     added the statistics are carried to its components (remix), the old loadings
     becoming W_j P with the k x k matrix P that best reconstructs the earlier batches
     with the new components (least squares, from A and B alone), so A -> A P and
     B -> P^T B P. H then minimizes 1/2 tr(H B H^T) - tr(H A) + penalties by HALS sweeps
     over the remixed statistics plus the batch's own.
   - Other losses and missing values have no finite sufficient statistics (the
     multiplicative update's numerator and denominator, accumulated as in Lefevre, Bach &
     Fevotte 2011 and scikit-learn's MiniBatchNMF, are majorizers anchored at their
     batch's H that go stale as H moves: measured, they slowed the stream down, remixed
     or not). What is kept is the previous components, and the part of the batch's own
     components outside their span is shrunk by the batch's share of the rows seen,
     eta = m_b / (rho rows_before + m_b) (average_span): the span of the components is
     averaged over the batches, their position within it follows the batch's fit.

A batch of fewer than 3 rows per component cannot place the components (its own fit
matches it whatever it does to the other rows): its rows are held until there are that
many, and then fitted as one batch (gather_rows). The memory is kept in float64, in the
units of the first batch (the caller's, unless the data's magnitude is extreme and the
batch is scaled internally like any fit); it is O(n k) whatever the rows seen.
"""

import numpy as np
import scipy.sparse as sp

from ..core.matrix import OTHER_SIDE, Matrix
from ..core.threads import blas_single_threaded, effective_n_threads
from ..losses import loss_for
from .alternating import run
from .polish import solve_w

_FREE_ITER = 200        # iterations of a batch's own fit (phase 1), at most
_ROWS_PER_COMPONENT = 3  # rows are held until a batch has this many per component
_FREE_TOL = 1e-4        # its stopping rule (scikit-learn's, relative to its start)
_FREE_CHECK = 5         # iterations between its objective checks
_H_SWEEPS = 50          # HALS sweeps of the H update over the statistics, at most
_W_RTOL = 1e-6          # relative precision of each batch's W solve


class StreamState:
    """What the stream keeps between batches: the statistics (A, B; Frobenius) or the
    previous components (H, n x k; other losses), the rows they weigh, the random state of
    the first batch's start, the batches seen, the rows held (gather_rows), and the last
    fitted batch's rows (last_rows) and cost (batch_cost: its penalized objective per row
    for the components it arrived with and its W solved for them, in the memory's units
    (see stream_step), in which a divergence scales as units ** beta)."""

    def __init__(self, n_features, k, rng):
        self.A = None
        self.B = None
        self.H = None
        self.rows = 0.0      # rows seen, weighted as the statistics are
        self.rng = rng
        self.n_steps = 0
        self.held = []       # rows of small batches not fitted yet (gather_rows)
        self.scale = None    # the units of the memory (stream_step)
        self.batch_cost = None
        self.last_rows = 0   # the rows of the last fitted batch


def remix(A, B, Ht):
    """The statistics (A, B) carried to the components Ht (n x k): the earlier loadings
    W_j -> W_j P with P = argmin_P sum_j ||X_j - W_j P Ht^T||^2 = B^-1 A^T Ht (Ht^T Ht)^-1,
    computed by least squares (B or Ht^T Ht may be singular: a component unused so far).
    Returns (A P, P^T B P), or (A, B) when P is not finite."""
    R = A.T @ Ht                                              # sum_j W_j^T X_j Ht
    P = np.linalg.lstsq(B, R, rcond=None)[0]
    P = np.linalg.lstsq(Ht.T @ Ht, P.T, rcond=None)[0].T      # Ht^T Ht is symmetric
    if not np.all(np.isfinite(P)):
        return A, B
    return A @ P, P.T @ B @ P


def average_span(H_prev, Ht, eta, floor):
    """The batch's components Ht (n x k) with their part outside the span of H_prev's
    columns shrunk by eta: (1 - eta) Pi Ht + eta Ht, Pi the least-squares projection onto
    that span, floored (the projection may dip below 0)."""
    Pi_Ht = H_prev @ np.linalg.lstsq(H_prev, Ht, rcond=None)[0]
    if not np.all(np.isfinite(Pi_Ht)):
        return Ht
    return np.maximum((1.0 - eta) * Pi_Ht + eta * Ht, floor)


def _held_rows(M):
    """The rows of the batch M in the caller's units, to be held: a dense array (NaN where
    unobserved), or a CSR matrix when every entry is observed."""
    V = M.external()
    if M.kind == "csr" and M.masked:
        dense = np.full(M.shape, np.nan, dtype=M.dtype)
        coo = V.tocoo()                  # the observed entries, explicit zeros included
        dense[coo.row, coo.col] = coo.data
        V = dense
    return V * V.dtype.type(M.scale) if M.scale != 1.0 else V.copy()


def gather_rows(state, M, k):
    """The batch to fit now: M itself when it has at least _ROWS_PER_COMPONENT * k rows and
    nothing is held; otherwise M's rows join the held ones, and the held rows are returned
    as one batch (a Matrix) once they are that many, None until then. Counts the batch in
    state.n_steps.

    A batch of few rows per component cannot place k components: its own fit matches it
    (nearly) exactly whatever it does to the other rows, and measured on batches of 1 to
    20 rows for k = 6, updating from each such batch ended at 1.2 to 70 times the full
    fit's error. Held rows are at most 3 k - 1, like the statistics O(n k) in memory."""
    state.n_steps += 1
    need = _ROWS_PER_COMPONENT * k
    if not state.held and M.shape[0] >= need:
        return M
    state.held.append(_held_rows(M))
    if sum(V.shape[0] for V in state.held) < need:
        return None
    if all(sp.issparse(V) for V in state.held):
        V = sp.vstack(state.held, format="csr")
    else:
        V = np.vstack([V.toarray() if sp.issparse(V) else V for V in state.held])
    state.held = []
    return Matrix(V)


def _scaled(value, unit, power):
    """value * unit ** power, exactly, for a unit that is a power of 4 and a power that is
    a multiple of 1/2: inf or 0 rather than an exception or NaN at the extremes."""
    exponent = int(round(np.log2(unit) * power))
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(np.float64(value), exponent))


def stream_step(M, H_ext, W0, state, *, beta, rho, penalty_for, w_floor, w_penalty,
                max_iter, solver):
    """One batch: its own fit, then the update of H from the memory (see the module
    docstring). Returns (H_new (k x n), W_b), in the caller's units.

    M: the batch (a Matrix); H_ext: the current components (k x n); W0: a start for W_b in
    the caller's units; penalty_for(rows): the Penalty of a problem with that many rows
    (its H weights are used, in the caller's units); w_penalty, w_floor: the batch's own
    penalty and floor (internal units); solver: the full fit's solver for phase 1, resolved
    as FitSpec.solver is ('ehals' for the Frobenius loss of fully observed data under
    'auto', 'mu' otherwise).

    The memory is kept in the units of the first batch's internal scaling (state.scale:
    the caller's units unless the data's magnitude is extreme), so that it neither
    overflows nor mixes batches of different scalings.
    """
    n_threads = effective_n_threads()
    Wi, Hti = M.to_internal(W0, H_ext)
    factors = {"w": Wi, "h": Hti}
    s_w = M.w_side
    s_h = OTHER_SIDE[s_w]
    if state.scale is None:
        state.scale = M.scale
    ratio = M.scale / state.scale         # this batch's units in the memory's (a power of 4)
    root = float(np.sqrt(ratio))
    loss = loss_for(beta, M.masked)
    fro = loss.has_product_objective  # finite sufficient statistics of the batches
    with blas_single_threaded():
        n, k = factors[s_h].shape
        m_b = M.shape[0]
        rows = rho * state.rows + m_b
        # W for the components the batch arrived with: the batch's cost, and the start of its
        # own fit (a multiplicative fit started from a rough W spends its iterations on W)
        solve_w(M, Wi, Hti, beta=beta, penalty=w_penalty, floor=w_floor,
                max_iter=max_iter, rtol=_W_RTOL)
        res = run(M, Wi, Hti, beta=beta, solver=solver, max_iter=_FREE_ITER, tol=_FREE_TOL,
                  penalty=w_penalty, floor=w_floor, check_every=_FREE_CHECK)
        state.batch_cost = _scaled(res.history[0] / m_b, ratio, beta)
        state.last_rows = m_b
        Ht = np.array(factors[s_h], dtype=np.float64) * root     # memory units
        floor = w_floor * root
        if fro:
            pen = penalty_for(rows)           # caller's units -> the memory's (as FitSpec.penalty)
            l1 = _scaled(pen.l1["h"], state.scale, -1.5)
            l2 = _scaled(pen.l2["h"], state.scale, -1.0)
            A, B = state.A, state.B
            if B is not None and rho > 0:
                A, B = remix(A, B, Ht)
            solve_w(M, Wi, Hti, beta=beta, penalty=w_penalty, floor=w_floor,
                    max_iter=max_iter, rtol=_W_RTOL)
            Wb = factors[s_w]
            num = np.empty((n, k), dtype=M.dtype)
            loss.numerator(M, Wi, Hti, s_h == "h", num, n_threads)  # X_b^T W_b
            gram = Wb.T.astype(np.float64) @ Wb.astype(np.float64)
            A_b = num.astype(np.float64) * _scaled(1.0, ratio, 1.5)
            B_b = gram * ratio
            if B is not None and rho > 0:
                A_b, B_b = rho * A + A_b, rho * B + B_b
            for _ in range(_H_SWEEPS):
                delta = loss.update(Ht, A_b, B_b, l1, l2, floor, 0.0, 1, solver="hals")
                if delta <= 1e-12 * float(np.einsum("ij,ij->", Ht, Ht)):
                    break
            factors[s_h][...] = Ht / root
            state.A, state.B = A_b, B_b
        else:
            if state.H is not None and rho > 0:
                Ht = average_span(state.H, Ht, m_b / rows, floor)
                factors[s_h][...] = Ht / root
            state.H = Ht
        state.rows = rows
    W_b, H_new = M.to_external(Wi, Hti)
    return H_new, W_b
