"""The distributed NMF iteration: V on the cluster by row chunks, its start, the alternating
iteration with its sums over rows split by chunk, and the final W.

V (m x n) is a dask array chunked by rows; each row chunk V_c is prepared once on a worker
as a Matrix (the same object the in-process fit uses) and stays there. W stays partitioned
the same way: W_c lives in the memory of the worker that holds V_c (store.py). H (k x n,
held as Ht = H^T, n x k) lives on the client and is broadcast at each iteration. One
iteration is one map over the chunks plus a tree reduction (mapreduce.py):

    on each worker:  W_c <- update(W_c; numerator of V_c, denominator of Ht)
                     emit V_c's part of H's numerator (n x k) and W_c's denominator
                     (Frobenius: V_c^T W_c and W_c^T W_c; KL: (V_c / W_c Ht^T)^T W_c and the
                     column sums of W_c)
    tree reduction:  sums of the partials (both statistics are sums over V's rows)
    on the client:   Ht <- update(Ht; the sums);  objective, stopping rule

The statistics and updates are the loss object's (nmfkit.losses), as in-process.

With the same start this is the in-process iteration with its sums over rows split by
chunk, so both end at the same point to rounding. Since dask cannot recompute a W_c kept
outside its graph, at every convergence check each W_c is copied to another worker. When a
worker dies, its chunks go to live workers (dask recomputes V_c from V's graph), and there
W_c is restored from its copy, at most check_every iterations old (or, if that copy is gone
too, solved for exactly with H fixed). The fit then goes on; the front warns which chunks
were restored.
"""

import contextlib
import dataclasses
import uuid

import numpy as np
import scipy.sparse as sp

from ..core.arrays import check_factor
from ..core.matrix import extreme_scale
from ..core.params import RANDOM_INITS
from ..core.threads import blas_single_threaded, effective_n_threads, threads_for
from ..solvers.init import random_factor
from ..solvers.progress import Progress
from . import store
from .config import DataStats
from .deps import da, dask, wait
from .mapreduce import ChunkedMap
from .tasks import (
    chunk_stats,
    prepare,
    task_divergence,
    task_install,
    task_iterate,
    task_output,
    task_polish,
)

__all__ = ["ClusterData", "ClusterFit", "distribute", "fit"]


@dataclasses.dataclass
class ClusterData:
    """V on the cluster: the map over its prepared row chunks, V's statistics (DataStats),
    and what the iteration needs besides: ||V||^2 and the stored entries (internal units),
    'dense' or 'csr', the rows of each chunk."""

    chunks: ChunkedMap
    stats: DataStats
    sq_norm: float
    nnz: int
    kind: str
    rows: list

    @property
    def offsets(self):
        """Row offset of each chunk, and m at the end."""
        return np.concatenate([[0], np.cumsum(self.rows)]).astype(int)


def distribute(client, X, dtype):
    """V (the dask array X, chunked by rows) prepared on the cluster, chunk by chunk, in the
    working dtype; every chunk at the scale of V as a whole."""
    shape = tuple(int(s) for s in X.shape)
    rows = [int(r) for r in X.chunks[0]]
    blocks = list(X.to_delayed().ravel())
    prep = dask.delayed(prepare, pure=True)
    chunks = client.compute([prep(b, dtype.str) for b in blocks])
    stats = client.gather([client.submit(chunk_stats, f, pure=False) for f in chunks])
    vmax = max(s[1] for s in stats)
    scale = extreme_scale(vmax, dtype)
    redo = [c for c, s in enumerate(stats) if s[5] != scale]
    if redo:  # extreme magnitudes somewhere: every chunk at the shared scale
        for c in redo:
            chunks[c] = client.compute(prep(blocks[c], dtype.str, scale))
        wait([chunks[c] for c in redo])
    stats_v = DataStats(shape=shape, dtype=dtype, scale=scale,
                        vmax=vmax / scale if vmax > 0 else 1.0,
                        total=sum(st[3] for st in stats) / scale)
    return ClusterData(chunks=ChunkedMap(client, chunks), stats=stats_v,
                       sq_norm=sum(st[2] for st in stats) / (scale * scale),
                       nnz=sum(st[4] for st in stats),
                       kind="dense" if not sp.issparse(X._meta) else "csr", rows=rows)


def _random_start(stats, rows, k, rng):
    """scikit-learn's random start as solvers.init draws it: yields H (k x n), then W chunk
    by chunk (rows: the rows of each chunk).

    solvers.init.initialize draws H then W (m x k) row after row from rng: drawing W chunk
    after chunk continues the same stream, so the start is the same numbers. initialize is
    not called because V is not on the client (the mean comes from the chunks' sums) and
    each W_c is to go to its own worker as it is drawn, never all W at once."""
    avg = stats.factor_scale(k)
    yield random_factor(rng, avg, (k, stats.shape[1]), stats.dtype)
    for r in rows:
        yield random_factor(rng, avg, (r, k), stats.dtype)


def _starting_point(data, k, init, rng, W, H, run):
    """Draw ('random') or take ('custom') the start, install W_c on the workers; returns Ht
    (n x k). The front refuses other inits up front."""
    m, n = data.stats.shape
    dtype = data.stats.dtype
    cmap = data.chunks
    client = cmap.client
    if init == "random":
        draws = _random_start(data.stats, data.rows, k, rng)
        H0 = next(draws)
        pieces = [client.scatter(Wc, workers=[cmap.addr[c]], hash=False)
                  for c, Wc in enumerate(draws)]
    else:  # "custom"
        H0 = check_factor(H, "H", (k, n), dtype)
        if isinstance(W, da.Array):
            W = W.compute()
        W = check_factor(W, "W", (m, k), dtype)
        offsets = data.offsets
        pieces = [client.scatter(W[offsets[c]:offsets[c + 1]], workers=[cmap.addr[c]],
                                 hash=False)
                  for c in range(cmap.n_chunks)]
    try:
        # A start piece lost with its worker is not installed: W_c is then recovered.
        cmap.map(task_install, (run,), reduce=False,
                 per_chunk=lambda c: pieces[c] if pieces[c].status == "finished" else None)
    finally:
        pieces.clear()  # the workers may drop their copies of the start
    return np.array(H0.T, dtype=dtype, order="C")


def _iterate(data, run, Ht, cfg, *, max_iter, tol, check_every, verbose, callback):
    """The in-process alternating iteration (solvers.alternating) with its sums over rows
    split by chunk, from W_c installed on the workers and Ht (updated in place)."""
    m, n = data.stats.shape
    k = Ht.shape[1]
    loss = cfg.loss
    solver, penalty, floor = cfg.solver, cfg.penalty, cfg.floor
    tiny = data.stats.tiny
    cmap = data.chunks
    n_threads = effective_n_threads()
    n_inner_h = 1
    if loss.has_product_objective:  # cheap repeats of the update on one pair of statistics
        dense_data = data.kind == "dense"
        cfg = dataclasses.replace(
            cfg, n_inner_w=loss.inner_steps(solver, m, n, k, data.nnz, dense_data))
        n_inner_h = loss.inner_steps(solver, n, m, k, data.nnz, dense_data)
    h_threads = threads_for(loss.row_work(k) * n, n_threads)

    def pack():
        return (Ht, loss.denominator(Ht))

    def penalized(value, sumW, sumW2):
        return (value + penalty.l1["w"] * sumW + 0.5 * penalty.l2["w"] * sumW2
                + penalty.value({"h": Ht}))

    res = cmap.map(task_divergence, (run, 0, cfg), broadcast=pack())
    cmap.checkpoint(store.snapshot, run)
    progress = Progress(penalized(res["div"], res["sumW"], res["sumW2"]), tol, verbose,
                        callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        res = cmap.map(task_iterate, (run, it, cfg), broadcast=pack())
        loss.update(Ht, res["P"], res["G"], penalty.l1["h"], penalty.l2["h"], floor, tiny,
                    h_threads, solver=solver, n_inner=n_inner_h)
        if it % check_every == 0 or it == max_iter:
            if loss.has_product_objective:
                # from the reduced statistics: no pass over V
                value = loss.product_objective(data.sq_norm, Ht, res["P"],
                                               loss.denominator(Ht), res["G"])
                obj = penalized(value, res["sumW"], res["sumW2"])
            else:
                div = cmap.map(task_divergence, (run, it, cfg), broadcast=pack())
                obj = penalized(div["div"], div["sumW"], div["sumW2"])
            cmap.checkpoint(store.snapshot, run)
            if progress.check(it, obj):
                converged = True
                break
    return _Run(run=run, Ht=Ht, n_iter=it, history=progress.history,
                history_iters=progress.iters, converged=converged)


@dataclasses.dataclass(frozen=True)
class _Run:
    """One run's end: its id (the key of its W chunks), Ht, and its record."""
    run: str
    Ht: np.ndarray
    n_iter: int
    history: list
    history_iters: list
    converged: bool


@dataclasses.dataclass(frozen=True)
class ClusterFit:
    """The best run, finished: Ht (n x k, internal units), its record, the divergence of the
    final factors (internal units), and W's chunks (futures, caller's units, in row order)."""
    Ht: np.ndarray
    n_iter: int
    history: list
    history_iters: list
    converged: bool
    divergence: float
    w_chunks: list


def fit(data, cfg, k, init, rng, W, H, *, n_init, max_iter, tol, check_every, verbose,
        callback):
    """n_init runs from seeded starts (the first from init, the others random, as the
    in-process fit), the best finished by the exact W solve (cfg.polish) and collected."""
    cmap = data.chunks
    runs = []
    best = None
    try:
        for r in range(n_init):
            run_init = init if r == 0 or init in RANDOM_INITS else "random"
            run = uuid.uuid4().hex
            runs.append(run)
            Ht = _starting_point(data, k, run_init, rng, W, H, run)
            with blas_single_threaded():  # the client's H updates
                res = _iterate(data, run, Ht, cfg, max_iter=max_iter, tol=tol,
                               check_every=check_every, verbose=verbose, callback=callback)
            if best is None or res.history[-1] < best.history[-1]:
                if best is not None:
                    _drop(cmap.client, [best.run])
                best = res
            else:
                _drop(cmap.client, [run])
        run, Ht = best.run, best.Ht
        # The exact W for the final H (tol > 0), as the in-process fit ends, then W out.
        final = cmap.map(task_polish, (run, best.n_iter, cfg), broadcast=(Ht,))
        w_chunks = cmap.collect(task_output, (run, cfg, cmap.broadcast((Ht,))), what="W")
    finally:
        _drop(cmap.client, runs)
    return ClusterFit(Ht=Ht, n_iter=best.n_iter, history=best.history,
                      history_iters=best.history_iters, converged=best.converged,
                      divergence=final["div"], w_chunks=w_chunks)


def _drop(client, runs):
    """Forget these fits' W chunks on every worker (workers that are gone are skipped)."""
    # cleaning up after a failure must not mask it
    with contextlib.suppress(Exception):
        client.run(store.drop_runs, runs, on_error="ignore")
