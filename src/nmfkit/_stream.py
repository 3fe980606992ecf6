"""Streaming NMF: one batch of rows updates the components (NMF.partial_fit).

For each batch X_b (rows are samples), W_b is solved with the components H fixed, then H is
updated from statistics accumulated over the batches seen, older batches weighted down by
`rho` per batch (forget_factor):
- Frobenius, fully observed: the sufficient statistics of the quadratic loss in H,
  A = sum rho^t X_b^T W_b (n x k) and B = sum rho^t W_b^T W_b (k x k), and H minimizes
  1/2 tr(H B H^T) - tr(H A) + penalties by HALS sweeps (Mairal et al. 2010): the exact
  minimizer of the loss over every batch seen, with each batch's W held at its solve.
- Other losses and missing values: the multiplicative update's numerator and denominator
  accumulated the same way (Lefevre, Bach & Fevotte 2011, as scikit-learn's MiniBatchNMF):
  A = sum rho^t H o num_b, B = sum rho^t den_b, H = A / B, iterated _H_STEPS times on the
  batch. Those statistics are majorizers anchored at the H of their batch, and they go
  stale as H moves: forget_factor='auto' drops them (rho = 0) for these losses.
Statistics are kept in the caller's units (a batch of extreme magnitude is scaled
internally like any fit) and in float64.
"""

import numpy as np

from ._kernels import _dense, _steps
from ._solver import solve_w
from ._threads import blas_single_threaded, effective_n_threads
from ._validation import beta_gamma

_H_SWEEPS = 20          # HALS sweeps of the H update per batch (Frobenius)
_W_RTOL = 1e-6          # relative precision of each batch's W solve
_ALTERNATIONS = 3       # W solve / H update rounds per batch
_H_STEPS = 3            # multiplicative H steps per round (losses other than Frobenius)


class StreamState:
    """What partial_fit keeps between batches."""

    def __init__(self, n_features, k, rng):
        self.A = np.zeros((n_features, k))
        self.B = None
        self.rows = 0.0      # rows seen, weighted as the statistics are
        self.rng = rng
        self.n_steps = 0


def stream_step(M, H_ext, W0, state, *, beta, rho, penalty_for, floor_ext, w_floor,
                w_penalty, max_iter):
    """One batch: solve W_b, then update and return H (k x n, caller's units).

    M: the batch (a Matrix); H_ext: the current components (k x n); W0: a start for W_b in
    the caller's units; penalty_for(rows): the Penalty of a problem with that many rows
    (its H weights are used, in the caller's units). Returns (H_new, W_b).
    """
    n_threads = effective_n_threads()
    Wi, Hti = M.to_internal(W0, H_ext)
    factors = {"w": Wi, "h": Hti}
    s_w = "h" if M.transposed else "w"
    s_h = "w" if s_w == "h" else "h"
    with blas_single_threaded():
        n, k = factors[s_h].shape
        num = np.empty((n, k), dtype=M.dtype)
        s = M.scale
        rows = rho * state.rows + M.shape[0]
        pen = penalty_for(rows)
        fro = beta == 2.0 and not M.masked
        gamma = beta_gamma(beta)
        for _ in range(_ALTERNATIONS):
            solve_w(M, Wi, Hti, beta=beta, penalty=w_penalty, floor=w_floor,
                    max_iter=max_iter, rtol=_W_RTOL)
            Wb = factors[s_w]                # m_b x k, internal
            Ht = np.array(factors[s_h], dtype=np.float64) * np.sqrt(s)
            if fro:
                M.xb(Wb, num, s_h == "h", n_threads)
                gram = Wb.T.astype(np.float64) @ Wb.astype(np.float64)
                A = rho * state.A + num.astype(np.float64) * s ** 1.5
                B = gram * s if state.B is None else rho * state.B + gram * s
                for _ in range(_H_SWEEPS):
                    delta = _steps.hals_step(Ht, A, B, pen.l1["h"], pen.l2["h"], floor_ext,
                                             1)
                    if delta <= 1e-12 * float(np.einsum("ij,ij->", Ht, Ht)):
                        break
            else:
                # the MM update of H for (rho x the earlier batches' surrogate) + this
                # batch's divergence, iterated: each step forms this batch's products anew
                unit = s ** (beta - 0.5)
                for _ in range(_H_STEPS):
                    if M.general(beta):
                        den = np.empty_like(num)
                        M.beta_products(Wi, Hti, num, den, s_h == "h", beta, n_threads)
                    else:  # KL, fully observed: den is the column sums of W_b
                        M.kl_num(Wi, Hti, num, s_h == "h", n_threads)
                        den = np.broadcast_to(Wb.sum(axis=0, dtype=np.float64), num.shape)
                    Hg = Ht ** (1.0 / gamma) if gamma != 1.0 else Ht
                    A = rho * state.A + Hg * num.astype(np.float64) * unit
                    den_b = den.astype(np.float64) * unit
                    B = den_b if state.B is None else rho * state.B + den_b
                    ratio_den = B + pen.l1["h"] + pen.l2["h"] * Hg
                    Ht = np.divide(A, ratio_den, out=np.zeros_like(A), where=ratio_den > 0)
                    if gamma != 1.0:
                        Ht **= gamma
                    np.maximum(Ht, floor_ext, out=Ht)
                    factors[s_h][...] = Ht / np.sqrt(s)
            factors[s_h][...] = Ht / np.sqrt(s)
        state.A, state.B, state.rows = A, B, rows
    state.n_steps += 1
    W_b, H_new = M.to_external(Wi, Hti)
    return H_new, W_b
