"""NMF of a dask array on a dask.distributed cluster (imported only for dask input)."""
