"""The worker-side store of W: each worker process keeps, in its own memory, the W_c of the
row chunks whose tasks ran there, per fit ("run").

W_c is kept outside dask's task graph so that the scheduler's graph does not grow with the
iteration count; the price is that dask cannot recompute a lost W_c, which is why the fit
keeps its own copies (mapreduce.ChunkedMap.checkpoint, and tasks.current_w to restore one).
"""

import threading

from .deps import distributed

__all__ = ["address", "drop_runs", "get", "lock", "put", "snapshot"]

# {(run, c): (t, W_c)}: t is the iteration W_c has reached, or "final" once it is the exact
# W_c for the final H (see tasks.task_polish).
_STATE = {}
_LOCKS = {}
_LOCKS_GUARD = threading.Lock()


def lock(run, c):
    """The lock of chunk c of fit run: its tasks update W_c one at a time (a cancelled task
    may still be running on its worker when the map is redone)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((run, c), threading.Lock())


def get(run, c):
    """(t, W_c) of chunk c of fit run, or None if this worker does not hold it."""
    return _STATE.get((run, c))


def put(run, c, t, W):
    """Keep W_c of chunk c of fit run, at iteration t (or "final")."""
    _STATE[(run, c)] = (t, W)


def snapshot(c, run):
    """A copy of W_c as (iteration, W_c), or None if this worker does not hold it (or holds
    only its final value): the task a checkpoint copies to another worker."""
    entry = _STATE.get((run, c))
    if entry is None or not isinstance(entry[0], int):
        return None
    return (entry[0], entry[1].copy())


def drop_runs(runs):
    """Forget the W chunks of these fits (run on every worker at the end of a fit)."""
    for key in [key for key in _STATE if key[0] in runs]:
        del _STATE[key]
    with _LOCKS_GUARD:
        for key in [key for key in _LOCKS if key[0] in runs]:
            del _LOCKS[key]


def address():
    """The address of the worker this task runs on (None outside a worker)."""
    try:
        return distributed.get_worker().address
    except ValueError:  # pragma: no cover - not in a worker (a local scheduler)
        return None
