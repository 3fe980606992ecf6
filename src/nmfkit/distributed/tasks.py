"""The worker side of the distributed fit: V's row chunks prepared for the kernels, and the
tasks that run where a chunk is (one iteration's W_c update and partial statistics, the
divergence, the final W_c, W_c out, and transform's W of one block).

Each chunk's W_c lives in this worker's store (store.py) between tasks. The tasks take the
fit's static WorkerConfig (cfg) and the per-iteration broadcast `pack`: (Ht,), or (Ht, the
loss's denominator of Ht) for the W update, Ht = H^T (n x k) in the internal units. The
arithmetic is the loss object's (cfg.loss): the same calls as the in-process iteration.
"""

import contextlib

import numpy as np
import scipy.sparse as sp

from ..core.matrix import Matrix
from ..core.threads import blas_single_threaded, effective_n_threads, threads_for
from ..solvers.polish import solve_w
from . import store

__all__ = ["Chunk", "block_stats", "chunk_stats", "prepare", "task_divergence",
           "task_install", "task_iterate", "task_output", "task_polish", "transform_block"]


class Chunk:
    """One row chunk of V prepared for the kernels, as dask stores it (its size is known to
    dask's memory manager; spilled to disk and read back like any other value)."""

    def __init__(self, M):
        self.M = M

    def __sizeof__(self):
        M = self.M
        arrays = [M.V] if M.kind == "dense" else [*M.X, *M.XT]
        return 256 + sum(a.nbytes for a in arrays)

    def __reduce__(self):
        return (Chunk, (self.M,))  # M pickles without its workspaces (Matrix.__getstate__)


def prepare(block, dtype, scale=None):
    """V_c as a Matrix in the working dtype; scale: divide by this shared power of 4 (None:
    the chunk's own, as Matrix picks it; the client checks they agree)."""
    dtype = np.dtype(dtype)
    if sp.issparse(block):
        if block.dtype != dtype:
            block = block.astype(dtype)
    else:
        block = np.asarray(block)
        if block.dtype.kind in "fiub":  # anything else: Matrix says what is wrong
            block = block.astype(dtype, copy=False)
        block = np.ascontiguousarray(block)  # row chunks: never used through a transpose
    if scale is not None and scale != 1.0:
        block = block / dtype.type(scale)
    M = Matrix(block, name="X")
    if M.masked:
        raise ValueError("X contains NaN; on a dask array NMF needs finite values (missing "
                         "values need the in-process fit): remove or impute them.")
    if scale is not None and M.scale != 1.0:
        # This chunk alone has extreme magnitudes: back to the shared scale (a power of 4,
        # so the product is exact).
        f = dtype.type(M.scale)
        if M.kind == "dense":
            M.V *= f
        else:
            M.X[2][...] *= f
            M.XT[2][...] *= f
        M.sq_norm *= M.scale ** 2
        M.total *= M.scale
        M.scale = 1.0
    if scale is not None:
        M.scale = scale
    return Chunk(M)


def chunk_stats(chunk):
    """(rows, largest entry, sum of squares, sum, stored entries, scale), in V's units."""
    M = chunk.M
    s = M.scale
    vmax = M.vmax * s if M.total > 0 else 0.0
    return (M.shape[0], vmax, M.sq_norm * s * s, M.total * s, M.nnz, s)


_BLAS_SINGLE = None


def _blas_limited():
    """blas_single_threaded() unless BLAS already runs on one thread in this process (dask's
    nanny sets OPENBLAS_NUM_THREADS=1 and the like for its workers): threadpoolctl's scan of
    the loaded libraries costs milliseconds, a lot for a task of a few."""
    global _BLAS_SINGLE
    if _BLAS_SINGLE is None:
        from threadpoolctl import threadpool_info
        _BLAS_SINGLE = all(lib.get("num_threads") == 1 for lib in threadpool_info()
                           if lib.get("user_api") == "blas")
    return contextlib.nullcontext() if _BLAS_SINGLE else blas_single_threaded()


def _flat_start(M, k, cfg):
    """A positive flat start for a W_c solved from scratch."""
    return np.full((M.shape[0], k), cfg.start_value, dtype=M.dtype)


def _solve_w(M, W, Ht, cfg):
    """The exact W_c for Ht fixed, from W (in place)."""
    solve_w(M, W, Ht, beta=cfg.beta, penalty=cfg.penalty, floor=cfg.floor,
            max_iter=cfg.polish_iter)


def _with_matrix(chunk, cfg):
    """The chunk's Matrix, with V's global tiny and vmax (not the chunk's own)."""
    M = chunk.M
    M.tiny = cfg.tiny
    M.vmax = cfg.vmax
    return M


def _current_w(M, c, run, t, cfg, pack, backup=None, advance=True):
    """W_c at iteration t from this worker's store, and whether it had to be recovered.

    A store entry at t-1 is advanced by one iteration's W step (advance); one at t is this
    iteration's result, computed before (the map is being redone). None means W_c was lost
    with its worker: it is restored from its last checkpoint (backup: (iteration, W_c), a
    copy kept on another worker), which then stands in for the entry at t-1, or, without one,
    solved for exactly with H (Ht) fixed.
    """
    Ht = pack[0]
    entry = store.get(run, c)
    if entry is not None and entry[0] == t:
        return entry[1], False
    recovered = entry is None or entry[0] != t - 1
    if not recovered:
        W = entry[1]
    elif backup is not None and backup[1].shape == (M.shape[0], Ht.shape[1]):
        W = np.array(backup[1], dtype=M.dtype, order="C")
    else:
        W = _flat_start(M, Ht.shape[1], cfg)
        _solve_w(M, W, Ht, cfg)
        advance = False
    if advance:
        _w_step(M, W, cfg, pack)
    store.put(run, c, t, W)
    return W, recovered


def _w_step(M, W, cfg, pack):
    """One iteration's update of W_c in place, from V_c's numerator and H's denominator (the
    broadcast); Frobenius' inner repeats stop early on this chunk's change."""
    Ht, den_h = pack
    loss = cfg.loss
    n_threads = effective_n_threads()
    pen = cfg.penalty
    num = np.empty_like(W)
    loss.numerator(M, W, Ht, False, num, n_threads)
    loss.update(W, num, den_h, pen.l1["w"], pen.l2["w"], cfg.floor, M.tiny,
                threads_for(loss.row_work(W.shape[1]) * W.shape[0], n_threads),
                solver=cfg.solver, n_inner=cfg.n_inner_w)


def _w_sums(W):
    """sum(W_c) and ||W_c||^2 in double: W's part of the penalty."""
    W64 = W.astype(np.float64, copy=False)
    return float(W64.sum()), float(np.einsum("ij,ij->", W64, W64))


def task_iterate(chunk, c, run, t, cfg, pack, backup=None):
    """Iteration t on chunk c: update W_c, return the partial sums the H update needs: V_c's
    part of H's numerator (P, n x k) and W_c's denominator (G), and W_c's sums."""
    M = _with_matrix(chunk, cfg)
    loss = cfg.loss
    Ht = pack[0]
    with store.lock(run, c), _blas_limited():
        W, recovered = _current_w(M, c, run, t, cfg, pack, backup)
        P = np.empty_like(Ht)
        loss.numerator(M, W, Ht, True, P, effective_n_threads())
        G = loss.denominator(W)
        sums = _w_sums(W)
    return {"P": P, "G": G, "sumW": sums[0], "sumW2": sums[1],
            "meta": [(c, store.address(), recovered)]}


def task_divergence(chunk, c, run, t, cfg, pack, backup=None):
    """D(V_c | W_c H) at iteration t (and W_c's sums, for the penalty)."""
    M = _with_matrix(chunk, cfg)
    Ht = pack[0]
    with store.lock(run, c), _blas_limited():
        W, recovered = _current_w(M, c, run, t, cfg, pack, backup, advance=False)
        div = cfg.loss.divergence(M, W, Ht, effective_n_threads())
        sums = _w_sums(W)
    return {"div": div, "sumW": sums[0], "sumW2": sums[1],
            "meta": [(c, store.address(), recovered)]}


def task_install(chunk, c, run, W0, backup=None):
    """Store the start W_c (iteration 0) on this worker (W0 None: it was lost, and is then
    recovered by the first task that needs it)."""
    if W0 is not None:
        store.put(run, c, 0, np.array(W0, dtype=chunk.M.dtype, order="C"))
    return {"meta": [(c, store.address(), False)]}


def task_polish(chunk, c, run, t, cfg, pack, backup=None):
    """The final exact W_c for the final H (what transform computes), and D(V_c | W_c H)."""
    M = _with_matrix(chunk, cfg)
    Ht = pack[0]
    with store.lock(run, c), _blas_limited():
        entry = store.get(run, c)
        if entry is not None and entry[0] == "final":
            W, recovered = entry[1], False
        else:
            W, recovered = _current_w(M, c, run, t, cfg, pack, backup, advance=False)
            if cfg.polish:
                _solve_w(M, W, Ht, cfg)
            store.put(run, c, "final", W)
        div = cfg.loss.divergence(M, W, Ht, effective_n_threads())
    return {"div": div, "meta": [(c, store.address(), recovered)]}


def task_output(chunk, c, run, cfg, pack):
    """W_c in the caller's units. Runs where W_c is; if W_c is not there (a worker died after
    the fit, and dask recomputes this), it is solved for from the final H."""
    M = _with_matrix(chunk, cfg)
    entry = store.get(run, c)
    if entry is not None and entry[0] == "final":
        W = entry[1]
    else:
        W = _flat_start(M, pack[0].shape[1], cfg)
        with _blas_limited():
            _solve_w(M, W, pack[0], cfg)
    return W * M.dtype.type(np.sqrt(cfg.scale))


# -- transform --------------------------------------------------------------------------------
def block_stats(block):
    """(largest entry, sum, entries) of one block of X, in X's units."""
    if sp.issparse(block):
        data = block.data
        return (float(data.max()) if data.size else 0.0, float(data.sum(dtype=np.float64)),
                block.shape[0] * block.shape[1])
    block = np.asarray(block)
    return float(block.max()), float(block.sum(dtype=np.float64)), block.size


def transform_block(block, H, cfg):
    """W of one row block of X for the components H (k x n) fixed, in the caller's units."""
    chunk = prepare(block, cfg.dtype, cfg.scale)
    M = _with_matrix(chunk, cfg)
    Ht = np.array(H.T, dtype=M.dtype, order="C") / M.dtype.type(np.sqrt(cfg.scale))
    W = _flat_start(M, Ht.shape[1], cfg)
    with _blas_limited():
        _solve_w(M, W, Ht, cfg)
    return W * M.dtype.type(np.sqrt(cfg.scale))
