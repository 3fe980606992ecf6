"""NMF of a dask array on a dask.distributed cluster: the entry points the estimator calls for
dask input (this subpackage is imported only then), their input checks and warnings. The
algorithm is in algorithm.py; the fit is specified by a FitSpec (core.spec) and returns a
FitResult (core.result), which the estimator turns into its fitted attributes.
"""

import warnings

import numpy as np

from ..core.arrays import working_dtype
from ..core.matrix import external_divergence, external_error, extreme_scale
from ..core.result import FitResult
from ..losses import Frobenius, KullbackLeibler, loss_for
from . import algorithm
from .config import DataStats, WorkerConfig
from .deps import da, dask, distributed
from .tasks import block_stats, transform_block

__all__ = ["check_dask_array", "fit", "transform"]

# The losses whose statistics the cluster reduces (a k x k or k denominator per chunk).
_LOSSES = (Frobenius, KullbackLeibler)
# The starts the distributed fit can make (the NNDSVD family needs an SVD of V, not
# distributed yet).
_INITS = ("random", "custom")


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


def _check_loss(beta):
    if not isinstance(loss_for(beta), _LOSSES):
        raise ValueError(f"beta_loss={beta:g} is not supported on a dask array: use "
                         "'frobenius' or 'kullback-leibler' (other beta-divergences need the "
                         "in-process fit).")


def _check_init(init):
    """Refuse, before any work, a start the distributed fit cannot make."""
    if init.startswith("nndsvd"):
        raise ValueError(f"init={init!r} is not available for dask input yet; use "
                         "init='random' or 'custom'.")
    if init not in _INITS:
        raise ValueError(f"init={init!r} is not supported.")


def _solver(spec):
    """The W and H update on a cluster: extrapolation ('ehals', the in-process default) needs
    the objective at every iteration, an extra reduction per iteration on a cluster: plain
    HALS runs instead. KL runs the multiplicative updates: 'auto' picks them, an explicit
    solver='cd' (coordinate descent, in-process only) is refused."""
    spec = spec.multiplicative_kl()
    if spec.solver == "cd":
        raise ValueError("solver='cd' with beta_loss='kullback-leibler' (coordinate descent) is "
                         "not available for dask input; use solver='mu' or 'auto' (which "
                         "runs the multiplicative updates there).")
    return "hals" if spec.solver == "ehals" else spec.solver


def _worker_config(spec, stats, k, polish):
    """The static configuration of the worker tasks, for V with these statistics."""
    return WorkerConfig(beta=spec.beta, solver=_solver(spec), penalty=spec.penalty(stats),
                        floor=spec.floor_value(stats, k), tiny=stats.tiny, vmax=stats.vmax,
                        scale=stats.scale, start_value=float(stats.factor_scale(k)) or 1.0,
                        polish_iter=spec.polish_iter(), polish=polish,
                        dtype=stats.dtype.str)


def fit(spec, X, W=None, H=None):
    """The fit of the dask array X (chunked by rows) with the FitSpec spec, from W and H with
    init='custom'. Returns a FitResult whose W is a dask array with X's row chunks (its
    chunks computed, held on the workers) and H an ndarray."""
    _check_loss(spec.beta)
    X, dtype = check_dask_array(X)
    client = _get_client()
    shape = tuple(int(s) for s in X.shape)
    k = spec.rank(shape, W, H)
    init = spec.start(k, shape)
    _check_init(init)
    if init != "custom" and (W is not None or H is not None):
        warnings.warn("When init!='custom', provided W or H are ignored. Set  "
                      "init='custom' to use them as initialization.", RuntimeWarning,
                      stacklevel=3)
    data = algorithm.distribute(client, X, dtype)
    stats = data.stats
    cfg = _worker_config(spec, stats, k, polish=spec.tol > 0)
    res = algorithm.fit(data, cfg, k, init, spec.random_state_checked(), W, H,
                        n_init=spec.n_init, max_iter=spec.max_iter, tol=spec.tol,
                        check_every=spec.check_every, verbose=spec.verbose,
                        callback=spec.callback)
    if data.chunks.lost:
        warnings.warn(f"nmfkit: dask workers were lost during the fit; W of row chunks "
                      f"{sorted(data.chunks.lost)} was recovered (from its last checkpoint on "
                      "another worker, or else by solving for it with H fixed).",
                      RuntimeWarning, stacklevel=3)
    H_out = np.ascontiguousarray(res.Ht.T) * dtype.type(np.sqrt(stats.scale))
    W_out = da.concatenate([da.from_delayed(f, shape=(data.rows[c], k), dtype=dtype,
                                            meta=np.empty((0, 0), dtype=dtype))
                            for c, f in enumerate(res.w_chunks)], axis=0)
    return FitResult(W=W_out, H=H_out, n_iter=res.n_iter,
                     reconstruction_err=external_error(res.divergence, stats.scale, spec.beta),
                     loss_history=external_divergence(res.history, stats.scale, spec.beta),
                     loss_history_iter=np.asarray(res.history_iters),
                     converged=res.converged, init=init)


def transform(spec, components, X):
    """W for the dask array X with the components (k x n) fixed: a lazy dask array with X's
    row chunks, each solved for from a flat start to the solver's tolerance."""
    _check_loss(spec.beta)
    X, dtype = check_dask_array(X, components.shape[1])
    k = components.shape[0]
    blocks = dask.compute(*[dask.delayed(block_stats)(b) for b in X.to_delayed().ravel()])
    vmax = max(s[0] for s in blocks)
    if not np.isfinite(vmax):
        raise ValueError("X contains NaN or infinity; NMF needs finite values: remove or "
                         "impute them.")
    scale = extreme_scale(vmax, dtype)
    stats = DataStats(shape=tuple(int(s) for s in X.shape), dtype=dtype, scale=scale,
                      vmax=vmax / scale if vmax > 0 else 1.0,
                      total=sum(s[1] for s in blocks) / scale)
    cfg = _worker_config(spec, stats, k, polish=True)
    return X.map_blocks(transform_block, components, cfg, dtype=dtype,
                        chunks=(X.chunks[0], (k,)), meta=np.empty((0, 0), dtype=dtype))
