"""NMF of a dask array on a dask.distributed cluster (imported only for dask input).

V (m x n) is a dask array chunked by rows; each row chunk V_c is prepared once on a worker
as a Matrix (the same object the in-process fit uses) and stays there. W stays partitioned
the same way: W_c lives in the memory of the worker that holds V_c. H (k x n, held as
Ht = H^T, n x k) lives on the client and is broadcast at each iteration. One iteration is
one map over the chunks plus a tree reduction:

    on each worker:  W_c <- step(W_c; V_c Ht, Ht^T Ht)          (nmfkit's compiled kernels)
                     emit V_c^T W_c (n x k) and W_c^T W_c (k x k)  (KL: (V_c / W_c Ht^T)^T W_c
                                                                    and the column sums of W_c)
    tree reduction:  sums of the partials, fan-in _FAN_IN
    on the client:   Ht <- step(Ht; sum V_c^T W_c, sum W_c^T W_c);  objective, stopping rule

With the same start this is the in-process iteration with its sums over rows split by
chunk, so both end at the same point to rounding. W_c is kept outside dask's task graph,
in a per-process store on its worker, so the scheduler's graph does not grow with the
iteration count. The price is that dask cannot recompute a lost W_c, so nmfkit keeps its
own: at every convergence check each W_c is copied to another worker (a dask future). When
a worker dies, the client notices (tasks pinned to a worker that is gone), reassigns its
chunks to live workers (dask itself recomputes V_c from V's graph), and there W_c is
restored from its copy, at most check_every iterations old (or, if that copy is gone too,
solved for exactly with H fixed). The fit then goes on; a RuntimeWarning says which chunks
were restored.
"""

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
import time
import uuid
import warnings

import numpy as np
import scipy.sparse as sp

from ..core.random import check_random_state
from ..solvers import init as init_mod
from ..core.exceptions import ConvergenceWarning
from ..estimator.nmf import _floor, _polish_iter, _resolve_k
from ..kernels import dense, steps
from ..core.matrix import Matrix, _extreme_scale
from ..solvers.alternating import Progress, _dot64, frobenius_steps, inner_steps, solve_w
from ..core.threads import blas_single_threaded, effective_n_threads, threads_for
from ..core.arrays import check_factor, working_dtype

try:
    import dask
    import dask.array as da
    import distributed
    from distributed import wait as _dask_wait
except ImportError as exc:  # pragma: no cover - exercised only without dask
    raise ImportError("Fitting a dask array needs dask and distributed: "
                      "pip install 'nmfkit[dask]' (or: pip install 'dask[array]' distributed)."
                      ) from exc

__all__ = ["fit_transform", "transform"]

_FAN_IN = 8            # partial results added per reduction task
_POLL_SECONDS = 0.5    # how often a waiting client checks that its workers are alive
_MAX_REDOS = 20        # a map redone more often than this (workers keep dying) gives up
_INITS = ("random", "custom", "nndsvd", "nndsvda", "nndsvdar")

# -- worker side ----------------------------------------------------------------------------
# W_c of each chunk, per fit ("run"): {(run, c): (t, W_c)} in the worker process's memory.
_STATE = {}
_LOCKS = {}
_LOCKS_GUARD = threading.Lock()


class _Chunk:
    """One row chunk of V prepared for the kernels, as dask stores it (its size is known to
    dask's memory manager; spilled to disk and read back like any other value)."""

    def __init__(self, M):
        self.M = M

    def __sizeof__(self):
        M = self.M
        arrays = [M.V] if M.kind == "dense" else [*M.X, *M.XT]
        return 256 + sum(a.nbytes for a in arrays)

    def __reduce__(self):
        state = dict(self.M.__dict__)
        state["_buf"] = {}  # workspace, re-made on first use
        return (_rebuild_chunk, (state,))


def _rebuild_chunk(state):
    M = Matrix.__new__(Matrix)
    M.__dict__.update(state)
    return _Chunk(M)


def _prepare(block, dtype, scale=None):
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
    return _Chunk(M)


def _chunk_stats(chunk):
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


def _lock(key):
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _address():
    try:
        return distributed.get_worker().address
    except ValueError:  # pragma: no cover - not in a worker (a local scheduler)
        return None


def _start_w(M, k, cfg):
    """A positive flat start for a W_c solved from scratch."""
    return np.full((M.shape[0], k), cfg["avg"], dtype=M.dtype)


def _current_w(M, c, run, t, Ht, cfg, backup=None, advance=True):
    """W_c at iteration t from this worker's store, and whether it had to be recovered.

    A store entry at t-1 is advanced by one iteration's W step (advance); one at t is this
    iteration's result, computed before (the map is being redone). None means W_c was lost
    with its worker: it is restored from its last checkpoint (backup: (iteration, W_c), a
    copy kept on another worker), which then stands in for the entry at t-1, or, without one,
    solved for exactly with H (Ht) fixed.
    """
    entry = _STATE.get((run, c))
    if entry is not None and entry[0] == t:
        return entry[1], False
    recovered = entry is None or entry[0] != t - 1
    if not recovered:
        W = entry[1]
    elif backup is not None and backup[1].shape == (M.shape[0], Ht.shape[1]):
        W = np.array(backup[1], dtype=M.dtype, order="C")
    else:
        W = _start_w(M, Ht.shape[1], cfg)
        solve_w(M, W, Ht, beta=cfg["beta"], penalty=cfg["penalty"], floor=cfg["floor"],
                max_iter=cfg["polish_iter"])
        advance = False
    if advance:
        _w_step(M, W, Ht, cfg)
    _STATE[(run, c)] = (t, W)
    return W, recovered


def _w_step(M, W, Ht, cfg):
    """One iteration's update of W_c in place, with nmfkit's kernels (see _solver._run)."""
    n_threads = effective_n_threads()
    k = W.shape[1]
    pen = cfg["penalty"]
    num = np.empty_like(W)
    if cfg["beta"] == 2.0:
        gram_h = cfg["pack"][1]
        M.xb(Ht, num, False, n_threads)
        # inner repeats stop early on this chunk's delta
        frobenius_steps(W, num, gram_h, pen.l1["w"], pen.l2["w"], cfg["floor"], M.tiny,
                        cfg["solver"], cfg["n_inner_w"],
                        threads_for(2.0 * k * k * W.shape[0], n_threads))
    else:
        M.kl_num(W, Ht, num, False, n_threads)
        steps.mu_div_step(W, num, cfg["pack"][1], pen.l1["w"], pen.l2["w"], cfg["floor"],
                           M.tiny, threads_for(4.0 * k * W.shape[0], n_threads))


def _w_sums(W):
    W64 = W.astype(np.float64, copy=False)
    return float(W64.sum()), float(np.einsum("ij,ij->", W64, W64))


def _with_matrix(chunk, cfg):
    M = chunk.M
    M.tiny = cfg["tiny"]
    M.vmax = cfg["vmax"]
    return M


def _task_iterate(chunk, c, run, t, cfg, backup=None):
    """Iteration t on chunk c: update W_c, return the partial sums the H update needs."""
    M = _with_matrix(chunk, cfg)
    Ht = cfg["pack"][0]
    n_threads = effective_n_threads()
    with _lock((run, c)), _blas_limited():
        W, recovered = _current_w(M, c, run, t, Ht, cfg, backup)
        P = np.empty_like(Ht)
        if cfg["beta"] == 2.0:
            M.xb(W, P, True, n_threads)
            G = dense.gram(W, np.empty((W.shape[1],) * 2, dtype=W.dtype))
        else:
            M.kl_num(W, Ht, P, True, n_threads)
            G = W.sum(axis=0)
        sums = _w_sums(W)
    return {"P": P, "G": G, "sumW": sums[0], "sumW2": sums[1],
            "meta": [(c, _address(), recovered)]}


def _task_divergence(chunk, c, run, t, cfg, backup=None):
    """D(V_c | W_c H) at iteration t (and W_c's sums, for the penalty)."""
    M = _with_matrix(chunk, cfg)
    Ht = cfg["pack"][0]
    with _lock((run, c)), _blas_limited():
        W, recovered = _current_w(M, c, run, t, Ht, cfg, backup, advance=False)
        div = M.divergence(W, Ht, cfg["beta"], effective_n_threads())
        sums = _w_sums(W)
    return {"div": div, "sumW": sums[0], "sumW2": sums[1],
            "meta": [(c, _address(), recovered)]}


def _task_install(chunk, c, run, W0, backup=None):
    """Store the start W_c (iteration 0) on this worker."""
    if W0 is not None:
        _STATE[(run, c)] = (0, np.array(W0, dtype=chunk.M.dtype, order="C"))
    return {"meta": [(c, _address(), False)]}


def _task_polish(chunk, c, run, t, cfg, backup=None):
    """The final exact W_c for the final H (what transform computes), and D(V_c | W_c H)."""
    M = _with_matrix(chunk, cfg)
    Ht = cfg["pack"][0]
    with _lock((run, c)), _blas_limited():
        entry = _STATE.get((run, c))
        if entry is not None and entry[0] == "final":
            W, recovered = entry[1], False
        else:
            W, recovered = _current_w(M, c, run, t, Ht, cfg, backup, advance=False)
            if cfg["polish"]:
                solve_w(M, W, Ht, beta=cfg["beta"], penalty=cfg["penalty"],
                        floor=cfg["floor"], max_iter=cfg["polish_iter"])
            _STATE[(run, c)] = ("final", W)
        div = M.divergence(W, Ht, cfg["beta"], effective_n_threads())
    return {"div": div, "meta": [(c, _address(), recovered)]}


def _task_output(chunk, c, run, cfg):
    """W_c in the caller's units. Runs where W_c is; if W_c is not there (a worker died after
    the fit, and dask recomputes this), it is solved for from the final H."""
    M = _with_matrix(chunk, cfg)
    entry = _STATE.get((run, c))
    if entry is not None and entry[0] == "final":
        W = entry[1]
    else:
        W = _start_w(M, cfg["pack"][0].shape[1], cfg)
        with _blas_limited():
            solve_w(M, W, cfg["pack"][0], beta=cfg["beta"], penalty=cfg["penalty"],
                    floor=cfg["floor"], max_iter=cfg["polish_iter"])
    return W * M.dtype.type(np.sqrt(cfg["scale"]))


def _task_snapshot(c, run):
    """A copy of W_c as (iteration, W_c), or None if this worker does not hold it."""
    entry = _STATE.get((run, c))
    if entry is None or not isinstance(entry[0], int):
        return None
    return (entry[0], entry[1].copy())


def _drop_runs(runs):
    """Forget the W chunks of these fits (run on every worker at the end of a fit)."""
    for key in [key for key in _STATE if key[0] in runs]:
        del _STATE[key]
    with _LOCKS_GUARD:
        for key in [key for key in _LOCKS if key[0] in runs]:
            del _LOCKS[key]


def _add(*parts):
    """Sum of partial results (dicts of arrays and floats; 'meta' lists concatenate)."""
    out = {}
    for key in parts[0]:
        if key == "meta":
            out[key] = list(itertools.chain.from_iterable(p[key] for p in parts))
        elif isinstance(parts[0][key], np.ndarray):
            acc = parts[0][key].copy()
            for p in parts[1:]:
                acc += p[key]
            out[key] = acc
        else:
            out[key] = sum(p[key] for p in parts)
    return out


# -- client side ----------------------------------------------------------------------------
class _WorkersLost(Exception):
    pass


# What a map meets when a worker dies under it: a future cancelled with its data (one or
# several: distributed's FutureCancelledError and FuturesCancelledError are both
# CancelledErrors), a task that killed workers, or a pinned worker gone (_WorkersLost).
_LOST = (_WorkersLost, concurrent.futures.CancelledError, distributed.scheduler.KilledWorker)


def _get_client():
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("X is a dask array, but no dask.distributed Client is running: start "
                         "one first, e.g. `from distributed import Client, LocalCluster; "
                         "client = Client(LocalCluster())` (or connect to your cluster's "
                         "scheduler), or pass X.compute() to fit in this process.") from None


def check_dask_array(X, n_features=None):
    """X as a 2-D dask array chunked by rows only; returns (X, working dtype)."""
    if not isinstance(X, da.Array):
        hint = (" Convert a dask DataFrame with X.to_dask_array(lengths=True)."
                if hasattr(X, "to_dask_array") else "")
        raise TypeError(f"X must be a dask.array.Array for a distributed fit, got "
                        f"{type(X).__module__}.{type(X).__name__}.{hint}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D with shape "
                         f"{X.shape}.")
    if any(np.isnan(s) for s in X.shape) or any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes (shape "
                         f"{X.shape}); call X.compute_chunk_sizes() first.")
    if len(X.chunks[1]) != 1:
        raise ValueError(f"X is chunked along its columns ({len(X.chunks[1])} column chunks "
                         f"of sizes {X.chunks[1][:4]}...): a distributed fit needs whole rows "
                         "in each chunk. Rechunk it by rows: X = X.rechunk({1: -1}).")
    if min(X.shape) < 1:
        raise ValueError(f"Found array with 0 sample(s) or feature(s) (shape={X.shape}) while "
                         "a minimum of 1 is required: X needs at least one row and one column.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but NMF is expecting {n_features} "
                         "features as input.")
    return X, working_dtype(X.dtype, "X")


class _Data:
    """V on the cluster: prepared row chunks (futures), where they are, and global numbers.

    Carries what the estimator's penalty and floor helpers read from a Matrix: shape, dtype,
    scale, vmax, transposed (always False: rows are W's rows).
    """

    transposed = False

    def __init__(self, client, X, dtype):
        self.client = client
        self.shape = tuple(int(s) for s in X.shape)
        self.dtype = dtype
        self.rows = [int(r) for r in X.chunks[0]]
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)]).astype(int)
        blocks = list(X.to_delayed().ravel())
        prepare = dask.delayed(_prepare, pure=True)
        self.chunks = client.compute([prepare(b, dtype.str) for b in blocks])
        stats = client.gather([client.submit(_chunk_stats, f, pure=False)
                               for f in self.chunks])
        vmax = max(s[1] for s in stats)
        self.scale = _extreme_scale(vmax, dtype)
        redo = [c for c, s in enumerate(stats) if s[5] != self.scale]
        if redo:  # extreme magnitudes somewhere: every chunk at the shared scale
            for c in redo:
                self.chunks[c] = client.compute(prepare(blocks[c], dtype.str, self.scale))
            _dask_wait([self.chunks[c] for c in redo])
        s = self.scale
        self.vmax = vmax / s if vmax > 0 else 1.0
        self.tiny = float(np.finfo(dtype).eps) * self.vmax * 1e-3
        self.sq_norm = sum(st[2] for st in stats) / (s * s)
        self.total = sum(st[3] for st in stats) / s
        self.nnz = sum(st[4] for st in stats)
        self.kind = "dense" if not sp.issparse(X._meta) else "csr"
        who = client.who_has(self.chunks)
        self.addr = [who[f.key][0] for f in self.chunks]
        self.lost = set()      # chunks whose W_c was restored after a worker died
        self.moved = set()     # chunks reassigned since the last completed map
        self.backups = {}      # chunk -> future of its last checkpoint (on another worker)

    @property
    def n_chunks(self):
        return len(self.chunks)

    # -- one map over the chunks, robust to workers that die ---------------------------------
    def map(self, fn, args, reduce=True, broadcast=None, per_chunk=None):
        """fn(chunk_c, c, *args) on the worker holding chunk c, for every chunk, tree-reduced.

        broadcast: an object scattered to every worker and passed as args' cfg["pack"].
        per_chunk: c -> extra trailing argument. If a worker dies meanwhile, its chunks go to
        live workers and the map is redone there (chunks done before are not redone: each
        worker keeps its results, see _current_w).
        """
        client = self.client
        for attempt in range(_MAX_REDOS + 1):
            submitted = []
            try:
                call_args = args
                if broadcast is not None:
                    # A task that returns H, rather than scatter(): dask can recompute it if
                    # the worker holding it dies, and no replication waits on a dead worker.
                    pack = client.submit(_identity, broadcast, pure=False)
                    submitted.append(pack)
                    cfg = dict(args[-1], pack=pack)
                    call_args = args[:-1] + (cfg,)
                futs = []
                for c in range(self.n_chunks):
                    extra = () if per_chunk is None else (per_chunk(c),)
                    backup = self.backups.get(c) if c in self.moved else None
                    if backup is not None and backup.status != "finished":
                        backup = None
                    futs.append(client.submit(fn, self.chunks[c], c, *call_args, *extra,
                                              backup=backup, workers=[self.addr[c]],
                                              allow_other_workers=False, pure=False))
                submitted += futs
                target = futs
                if reduce:  # a tree of _add tasks, _FAN_IN partial results each
                    level = futs
                    while True:
                        level = [client.submit(_add, *level[i:i + _FAN_IN], pure=False)
                                 for i in range(0, len(level), _FAN_IN)]
                        submitted += level
                        if len(level) == 1:
                            break
                    target = level[0]
                out = self._wait(target)
            except _LOST as exc:
                client.cancel(submitted)
                if attempt == _MAX_REDOS:
                    raise RuntimeError(f"nmfkit: workers kept dying; gave up after {attempt} "
                                       "redone maps.") from exc
                self._reassign()
                continue
            results = [out] if reduce else out
            self.moved.clear()
            for res in results:
                for c, addr, recovered in res["meta"]:
                    if addr is not None:
                        self.addr[c] = addr
                    if recovered:
                        self.lost.add(c)
            return out
        raise AssertionError("unreachable")  # pragma: no cover

    def checkpoint(self, run):
        """Copy every W_c to a worker other than its own, to restore it from if its worker
        dies. A checkpoint that fails (a worker died meanwhile) keeps the previous one."""
        client = self.client
        alive = sorted(self._alive())
        snaps, copies = [], {}
        for c in range(self.n_chunks):
            others = [a for a in alive if a != self.addr[c]]
            if not others:  # one worker: nowhere else to keep a copy
                return
            snap = client.submit(_task_snapshot, c, run, workers=[self.addr[c]],
                                 allow_other_workers=True, pure=False)
            snaps.append(snap)
            copies[c] = client.submit(_identity, snap, workers=[others[c % len(others)]],
                                      allow_other_workers=True, pure=False)
        try:
            self._wait(list(copies.values()), gather=False)
        except _WorkersLost:
            client.cancel(list(copies.values()) + snaps)
            return
        self.backups = copies

    def _alive(self):
        return set(self.client.scheduler_info(n_workers=-1)["workers"])

    def _wait(self, target, gather=True):
        """Result of target (a future or a list), checking meanwhile that our workers live."""
        while True:
            try:
                if isinstance(target, list):
                    _dask_wait(target, timeout=_POLL_SECONDS)
                    return self.client.gather(target) if gather else None
                return target.result(timeout=_POLL_SECONDS)
            except (TimeoutError, asyncio.TimeoutError, distributed.TimeoutError):
                if set(self.addr) - self._alive():
                    raise _WorkersLost() from None
            except UnboundLocalError:
                # distributed's sync() (2026.8) when the awaited future was cancelled, e.g.
                # by a worker restarted at its memory limit: asyncio.CancelledError is no
                # Exception, so sync() returns a result it never set. It is a cancellation:
                # the caller redoes the map, as for any cancelled future (_LOST).
                raise concurrent.futures.CancelledError() from None

    def _reassign(self):
        """Chunks of workers that are gone go to live ones (where their V_c now is, if
        dask has recomputed it already, else the live worker with the fewest chunks)."""
        deadline = time.monotonic() + 60
        alive = self._alive()
        while not alive:
            if time.monotonic() > deadline:
                raise RuntimeError("nmfkit: no dask worker left to continue the fit.")
            time.sleep(_POLL_SECONDS)
            alive = self._alive()
        who = self.client.who_has(self.chunks)
        for c, addr in enumerate(self.addr):
            if addr in alive:
                continue
            self.moved.add(c)
            holders = [a for a in who.get(self.chunks[c].key, ()) if a in alive]
            if holders:
                self.addr[c] = holders[0]
            else:
                load = {a: 0 for a in alive}
                for a in self.addr:
                    if a in load:
                        load[a] += 1
                self.addr[c] = min(sorted(load), key=load.get)


def _starting_point(data, k, init, rng, W, H, run, cfg):
    """Draw or compute the start, install W_c on the workers; returns Ht (n x k)."""
    m, n = data.shape
    dtype = data.dtype
    client = data.client
    if init == "random":
        # initialize() draws H (k x n) then W (m x k) from rng, row after row: drawing W
        # chunk after chunk continues the same stream, so the start is the same.
        avg = np.sqrt(data.total / (m * n) / k)
        H0 = np.abs((avg * rng.standard_normal(size=(k, n))).astype(dtype, copy=False))
        pieces = []
        for c in range(data.n_chunks):
            Wc = np.abs((avg * rng.standard_normal(size=(data.rows[c], k))).astype(
                dtype, copy=False))
            if not avg > 0:
                Wc.fill(1.0)
            pieces.append(client.scatter(Wc, workers=[data.addr[c]], hash=False))
        if not avg > 0:
            H0.fill(1.0)
    elif init == "custom":
        H0 = check_factor(H, "H", (k, n), dtype)
        if isinstance(W, da.Array):
            W = W.compute()
        W = check_factor(W, "W", (m, k), dtype)
        pieces = [client.scatter(W[data.offsets[c]:data.offsets[c + 1]],
                                 workers=[data.addr[c]], hash=False)
                  for c in range(data.n_chunks)]
    else:
        pieces, H0 = _nndsvd_start(data, k, init, rng, cfg)
    try:
        # A start piece lost with its worker is not installed: W_c is then recovered.
        data.map(_task_install, (run,), reduce=False,
                 per_chunk=lambda c: pieces[c] if pieces[c].status == "finished" else None)
    finally:
        del pieces
    return np.array(H0.T, dtype=dtype, order="C")


def _nndsvd_start(data, k, init, rng, cfg):  # replaced below when NNDSVD is supported
    raise ValueError(f"init={init!r} is not available for dask input yet; use init='random' "
                     "or 'custom'.")


def _run(data, run, Ht, *, beta, solver, max_iter, tol, penalty, floor, check_every, verbose,
         callback, cfg):
    """The iteration of _solver._run with its sums over rows split by chunk."""
    m, n = data.shape
    k = Ht.shape[1]
    n_threads = effective_n_threads()
    cfg = dict(cfg)
    cfg["n_inner_w"] = inner_steps(solver, m, n, k, data.nnz, data.kind == "dense")
    n_inner_h = inner_steps(solver, n, m, k, data.nnz, data.kind == "dense")
    h_threads = threads_for((2.0 * k * k if beta == 2.0 else 4.0 * k) * n, n_threads)

    def pack():
        if beta == 2.0:
            return (Ht, dense.gram(Ht, np.empty((k, k), dtype=Ht.dtype)))
        return (Ht, Ht.sum(axis=0))

    def penalized(value, sumW, sumW2):
        return (value + penalty.l1["w"] * sumW + 0.5 * penalty.l2["w"] * sumW2
                + penalty.value({"h": Ht}))

    res = data.map(_task_divergence, (run, 0, cfg), broadcast=pack())
    data.checkpoint(run)
    progress = Progress(penalized(res["div"], res["sumW"], res["sumW2"]), tol, verbose,
                        callback)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        res = data.map(_task_iterate, (run, it, cfg), broadcast=pack())
        if beta == 2.0:
            frobenius_steps(Ht, res["P"], res["G"], penalty.l1["h"], penalty.l2["h"], floor,
                            data.tiny, solver, n_inner_h, h_threads)
        else:
            steps.mu_div_step(Ht, res["P"], res["G"], penalty.l1["h"], penalty.l2["h"],
                               floor, data.tiny, h_threads)
        if it % check_every == 0 or it == max_iter:
            if beta == 2.0:
                # ||V||^2 - 2 <Ht, V^T W> + <Ht^T Ht, W^T W>, from the reduced products
                gram_h = dense.gram(Ht, np.empty((k, k), dtype=Ht.dtype))
                value = max(0.5 * (data.sq_norm - 2.0 * _dot64(Ht, res["P"])
                                   + _dot64(gram_h, res["G"])), 0.0)
                obj = penalized(value, res["sumW"], res["sumW2"])
            else:
                div = data.map(_task_divergence, (run, it, cfg), broadcast=pack())
                obj = penalized(div["div"], div["sumW"], div["sumW2"])
            data.checkpoint(run)
            if progress.check(it, obj):
                converged = True
                break
    return {"Ht": Ht, "n_iter": it, "history": progress.history,
            "history_iters": progress.iters,
            "converged": converged, "run": run}


def _check_loss(opts):
    if opts["beta"] not in (1.0, 2.0):
        raise ValueError(f"beta_loss={opts['beta']:g} is not supported on a dask array: use "
                         "'frobenius' or 'kullback-leibler' (other beta-divergences need the "
                         "in-process fit).")


def fit_transform(est, X, W=None, H=None):
    """NMF.fit_transform for a dask array X; returns W as a dask array with X's row chunks."""
    opts = est._options()
    if est.callback is not None and not callable(est.callback):
        raise TypeError(f"callback must be callable, got {est.callback!r}.")
    _check_loss(opts)
    X, dtype = check_dask_array(X)
    client = _get_client()
    shape = tuple(int(s) for s in X.shape)
    k = _resolve_k(est.n_components, shape, W, H, est.init)
    init = est.init if est.init is not None else init_mod.default_init(k, shape)
    if init not in _INITS:  # pragma: no cover - _options already checked
        raise ValueError(f"init={init!r} is not supported.")
    if init != "custom" and (W is not None or H is not None):
        warnings.warn("When init!='custom', provided W or H are ignored. Set  "
                      "init='custom' to use them as initialization.", RuntimeWarning,
                      stacklevel=3)
    data = _Data(client, X, dtype)
    beta = opts["beta"]
    penalty = est._penalty(data, beta)
    floor = _floor(data, k, est.floor)
    # extrapolation ('ehals', the in-process default) needs the objective at every
    # iteration, an extra reduction per iteration on a cluster: plain HALS runs instead
    solver = "hals" if opts["solver"] == "ehals" else opts["solver"]
    cfg = {"beta": beta, "solver": solver, "penalty": penalty, "floor": floor,
           "tiny": data.tiny, "vmax": data.vmax, "scale": data.scale,
           "avg": float(np.sqrt(data.total / (shape[0] * shape[1]) / k)) or 1.0,
           "polish_iter": _polish_iter(opts), "polish": opts["tol"] > 0}
    rng = check_random_state(est.random_state)
    runs = []
    best = None
    try:
        for r in range(opts["n_init"]):
            run_init = init if r == 0 or init in ("random", "nndsvdar") else "random"
            run = uuid.uuid4().hex
            runs.append(run)
            Ht = _starting_point(data, k, run_init, rng, W, H, run, cfg)
            with blas_single_threaded():  # the client's H updates
                res = _run(data, run, Ht, beta=beta, solver=solver,
                           max_iter=opts["max_iter"], tol=opts["tol"], penalty=penalty,
                           floor=floor, check_every=opts["check_every"],
                           verbose=opts["verbose"], callback=est.callback, cfg=cfg)
            if best is None or res["history"][-1] < best["history"][-1]:
                if best is not None:
                    _drop(client, [best["run"]])
                best = res
            else:
                _drop(client, [run])
        run, Ht = best["run"], best["Ht"]
        # The exact W for the final H (tol > 0), as the in-process fit ends, then W out.
        final = data.map(_task_polish, (run, best["n_iter"], cfg), broadcast=(Ht,))
        out_cfg = dict(cfg, pack=client.submit(_identity, (Ht,), pure=False))
        outputs = _outputs(data, run, out_cfg)
    finally:
        _drop(client, runs)
    if data.lost:
        warnings.warn(f"nmfkit: dask workers were lost during the fit; W of row chunks "
                      f"{sorted(data.lost)} was recovered (from its last checkpoint on another "
                      "worker, or else by solving for it with H fixed).",
                      RuntimeWarning, stacklevel=3)
    if not best["converged"] and opts["tol"] > 0:
        warnings.warn(f"Maximum number of iterations {opts['max_iter']} reached. Increase "
                      "it to improve convergence.", ConvergenceWarning, stacklevel=3)
    s = np.sqrt(data.scale)
    H_out = np.ascontiguousarray(Ht.T) * dtype.type(s)
    W_out = da.concatenate([da.from_delayed(f, shape=(data.rows[c], k), dtype=dtype,
                                            meta=np.empty((0, 0), dtype=dtype))
                            for c, f in enumerate(outputs)], axis=0)
    est._record_features(X, shape[1])
    est.components_ = H_out
    est.n_components_ = k
    est.n_iter_ = best["n_iter"]
    est.reconstruction_err_ = Matrix.external_error(data, final["div"], beta)
    est.loss_history_ = Matrix.external_divergence(data, best["history"], beta)
    est.loss_history_iter_ = np.asarray(best["history_iters"])
    est._init_used = init
    return W_out


def _outputs(data, run, out_cfg):
    """W_c out of every worker's store, as futures. A worker that dies meanwhile (its nanny
    restarts it when it runs out of memory, say) loses its chunks' state: those are
    submitted again where their V_c now is, and solved for there from the final H."""
    client = data.client

    def submit(c):
        return client.submit(_task_output, data.chunks[c], c, run, out_cfg,
                             workers=[data.addr[c]], allow_other_workers=True, pure=False)
    outputs = [submit(c) for c in range(data.n_chunks)]
    for _ in range(_MAX_REDOS + 1):
        try:
            data._wait(outputs, gather=False)
            for f in outputs:
                if f.status == "error":
                    f.result()  # a genuine error in the task: raise it
            if all(f.status == "finished" for f in outputs):
                return outputs
        except _LOST:
            pass
        data._reassign()
        for c, f in enumerate(outputs):
            if f.status != "finished":
                data.lost.add(c)
                outputs[c] = submit(c)
    raise RuntimeError(f"nmfkit: workers kept dying; gave up after {_MAX_REDOS} attempts to "
                       "collect W.")


def _drop(client, runs):
    """Forget these fits' W chunks on every worker (workers that are gone are skipped)."""
    try:
        client.run(_drop_runs, runs, on_error="ignore")
    except Exception:  # pragma: no cover - cleaning up after a failure must not mask it
        pass


def _identity(x):
    return x


# -- transform --------------------------------------------------------------------------------
def _block_stats(block):
    if sp.issparse(block):
        data = block.data
        return (float(data.max()) if data.size else 0.0, float(data.sum(dtype=np.float64)),
                block.shape[0] * block.shape[1])
    block = np.asarray(block)
    return float(block.max()), float(block.sum(dtype=np.float64)), block.size


def _transform_block(block, H, cfg):
    chunk = _prepare(block, cfg["dtype"], cfg["scale"])
    M = _with_matrix(chunk, cfg)
    Ht = np.array(H.T, dtype=M.dtype, order="C") / M.dtype.type(np.sqrt(cfg["scale"]))
    W = _start_w(M, Ht.shape[1], cfg)
    with _blas_limited():
        solve_w(M, W, Ht, beta=cfg["beta"], penalty=cfg["penalty"], floor=cfg["floor"],
                max_iter=cfg["polish_iter"])
    return W * M.dtype.type(np.sqrt(cfg["scale"]))


class _Stats:
    transposed = False


def transform(est, X):
    """NMF.transform for a dask array: W (lazy dask array with X's row chunks), each row
    chunk solved for with components_ fixed, from a flat start, to the solver's tolerance."""
    est._check_fitted()
    opts = est._options()
    _check_loss(opts)
    X, dtype = check_dask_array(X, est.components_.shape[1])
    k = est.components_.shape[0]
    stats = dask.compute(*[dask.delayed(_block_stats)(b) for b in X.to_delayed().ravel()])
    vmax = max(s[0] for s in stats)
    if not np.isfinite(vmax):
        raise ValueError("X contains NaN or infinity; NMF needs finite values: remove or "
                         "impute them.")
    M = _Stats()
    M.shape, M.dtype = tuple(int(s) for s in X.shape), dtype
    M.scale = _extreme_scale(vmax, dtype)
    M.vmax = vmax / M.scale if vmax > 0 else 1.0
    mean = sum(s[1] for s in stats) / (M.shape[0] * M.shape[1]) / M.scale
    cfg = {"beta": opts["beta"], "penalty": est._penalty(M, opts["beta"]),
           "floor": _floor(M, k, est.floor), "tiny": float(np.finfo(dtype).eps) * M.vmax * 1e-3,
           "vmax": M.vmax, "scale": M.scale, "dtype": dtype.str,
           "avg": float(np.sqrt(mean / k)) or 1.0, "polish_iter": _polish_iter(opts)}
    return X.map_blocks(_transform_block, est.components_, cfg, dtype=dtype,
                        chunks=(X.chunks[0], (k,)), meta=np.empty((0, 0), dtype=dtype))
