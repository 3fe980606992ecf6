"""A map over the chunks of a dataset held on a dask.distributed cluster, with a tree
reduction of its results, that goes on when workers die. It knows nothing of NMF.

The data is a list of futures, one per chunk, each on one worker. A map runs a task on the
worker of each chunk:

    fn(chunk_c, c, *args[, shared][, per_chunk(c)], backup=...) -> a dict of partial results

whose values are arrays or numbers (added up by the reduction, FAN_IN per task) and whose
'meta' entry lists (c, address of the worker it ran on, whether the task had to restore the
chunk's state): lists that the reduction concatenates. Tasks may keep state of their own on
their worker (see store.py); `checkpoint` copies it to another worker, and a task of a chunk
that moved gets its last copy as `backup`.

When a worker dies under a map (the client checks that its workers are alive while it
waits), its chunks go to live workers (dask recomputes a chunk's data from its graph) and the
map is redone; a task whose result is already there returns it again (the store keeps it).
After MAX_REDOS redone maps it gives up.
"""

import asyncio
import concurrent.futures
import itertools
import time

import numpy as np

from .deps import distributed, wait

__all__ = ["FAN_IN", "LOST", "MAX_REDOS", "ChunkedMap", "WorkersLost", "add", "identity"]

FAN_IN = 8             # partial results added per reduction task
POLL_SECONDS = 0.5     # how often a waiting client checks that its workers are alive
MAX_REDOS = 20         # a map redone more often than this (workers keep dying) gives up


def add(*parts):
    """Sum of partial results (dicts of arrays and numbers; 'meta' lists concatenate)."""
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


def identity(x):
    """x itself: run as a task, it puts x on a worker as a result dask can recompute."""
    return x


class WorkersLost(Exception):
    """A worker that a chunk is pinned to is gone."""


# What a map meets when a worker dies under it: a future cancelled with its data (one or
# several: distributed's FutureCancelledError and FuturesCancelledError are both
# CancelledErrors), a task that killed workers, or a pinned worker gone (WorkersLost).
LOST = (WorkersLost, concurrent.futures.CancelledError, distributed.scheduler.KilledWorker)


class ChunkedMap:
    """Chunks of data on a cluster (futures), the worker each is on, and the maps over them.

    lost: the chunks whose task state was restored after a worker died (from 'meta').
    """

    def __init__(self, client, chunks):
        self.client = client
        self.chunks = chunks
        who = client.who_has(chunks)
        self.addr = [who[f.key][0] for f in chunks]
        self.lost = set()      # chunks whose state was restored after a worker died
        self.moved = set()     # chunks reassigned since the last completed map
        self.backups = {}      # chunk -> future of its last checkpoint (on another worker)

    @property
    def n_chunks(self):
        return len(self.chunks)

    def broadcast(self, obj):
        """obj on the cluster, as the result of a task rather than scatter(): dask can
        recompute it if the worker holding it dies, and no replication waits on a dead
        worker."""
        return self.client.submit(identity, obj, pure=False)

    def map(self, fn, args, reduce=True, broadcast=None, per_chunk=None):
        """fn(chunk_c, c, *args) on the worker holding chunk c, for every chunk, tree-reduced
        (reduce=False: the list of the results).

        broadcast: an object sent once to the cluster and passed to every task after args.
        per_chunk: c -> an extra last argument. If a worker dies meanwhile, its chunks go to
        live workers and the map is redone there (chunks done before are not redone: each
        worker keeps its results).
        """
        client = self.client
        for attempt in range(MAX_REDOS + 1):
            submitted = []
            try:
                call_args = args
                if broadcast is not None:
                    shared = self.broadcast(broadcast)
                    submitted.append(shared)
                    call_args = (*args, shared)
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
                if reduce:  # a tree of add tasks, FAN_IN partial results each
                    level = futs
                    while True:
                        level = [client.submit(add, *level[i:i + FAN_IN], pure=False)
                                 for i in range(0, len(level), FAN_IN)]
                        submitted += level
                        if len(level) == 1:
                            break
                    target = level[0]
                out = self._wait(target)
            except LOST as exc:
                client.cancel(submitted)
                if attempt == MAX_REDOS:
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

    def checkpoint(self, snapshot, *args):
        """Copy every chunk's task state, snapshot(c, *args) run on its worker, to a worker
        other than its own, to restore it from if its worker dies. A checkpoint that fails
        (a worker died meanwhile) keeps the previous one."""
        client = self.client
        alive = sorted(self._alive())
        snaps, copies = [], {}
        for c in range(self.n_chunks):
            others = [a for a in alive if a != self.addr[c]]
            if not others:  # one worker: nowhere else to keep a copy
                return
            snap = client.submit(snapshot, c, *args, workers=[self.addr[c]],
                                 allow_other_workers=True, pure=False)
            snaps.append(snap)
            copies[c] = client.submit(identity, snap, workers=[others[c % len(others)]],
                                      allow_other_workers=True, pure=False)
        try:
            self._wait(list(copies.values()), gather=False)
        except WorkersLost:
            client.cancel(list(copies.values()) + snaps)
            return
        self.backups = copies

    def collect(self, fn, args, what):
        """fn(chunk_c, c, *args) for every chunk, preferably where the chunk is, as futures
        left on the cluster. A worker that dies meanwhile (its nanny restarts it when it runs
        out of memory, say) loses its chunks' state: those tasks are submitted again where
        their chunk now is (and the chunks counted as lost). what: what is collected, for the
        message when workers keep dying."""
        client = self.client

        def submit(c):
            return client.submit(fn, self.chunks[c], c, *args, workers=[self.addr[c]],
                                 allow_other_workers=True, pure=False)
        outputs = [submit(c) for c in range(self.n_chunks)]
        for _ in range(MAX_REDOS + 1):
            try:
                self._wait(outputs, gather=False)
                for f in outputs:
                    if f.status == "error":
                        f.result()  # a genuine error in the task: raise it
                if all(f.status == "finished" for f in outputs):
                    return outputs
            except LOST:
                pass
            self._reassign()
            for c, f in enumerate(outputs):
                if f.status != "finished":
                    self.lost.add(c)
                    outputs[c] = submit(c)
        raise RuntimeError(f"nmfkit: workers kept dying; gave up after {MAX_REDOS} attempts "
                           f"to collect {what}.")

    def _alive(self):
        return set(self.client.scheduler_info(n_workers=-1)["workers"])

    def _wait(self, target, gather=True):
        """Result of target (a future or a list), checking meanwhile that our workers live."""
        while True:
            try:
                if isinstance(target, list):
                    wait(target, timeout=POLL_SECONDS)
                    return self.client.gather(target) if gather else None
                return target.result(timeout=POLL_SECONDS)
            except (TimeoutError, asyncio.TimeoutError, distributed.TimeoutError):
                if set(self.addr) - self._alive():
                    raise WorkersLost() from None
            except UnboundLocalError:
                # distributed's sync() (2026.8) when the awaited future was cancelled, e.g.
                # by a worker restarted at its memory limit: asyncio.CancelledError is no
                # Exception, so sync() returns a result it never set. It is a cancellation:
                # the caller redoes the map, as for any cancelled future (LOST).
                raise concurrent.futures.CancelledError() from None

    def _reassign(self):
        """Chunks of workers that are gone go to live ones (where their data now is, if
        dask has recomputed it already, else the live worker with the fewest chunks)."""
        deadline = time.monotonic() + 60
        alive = self._alive()
        while not alive:
            if time.monotonic() > deadline:
                raise RuntimeError("nmfkit: no dask worker left to continue the fit.")
            time.sleep(POLL_SECONDS)
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
