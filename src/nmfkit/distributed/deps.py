"""dask and distributed, the optional dependencies of nmfkit.distributed, imported in this one
place so that a missing one gives one message with the command that installs them."""

try:
    import dask
    import dask.array as da
    import distributed
    from distributed import wait
except ImportError as exc:  # pragma: no cover - exercised only without dask
    raise ImportError("Fitting a dask array needs dask and distributed: "
                      "pip install 'nmfkit[dask]' (or: pip install 'dask[array]' distributed)."
                      ) from exc

__all__ = ["da", "dask", "distributed", "wait"]
