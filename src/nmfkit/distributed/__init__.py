"""NMF of a dask array on a dask.distributed cluster (imported only for dask input).

Layers, each knowing only those below it:
  front.py      the entry points fit(spec, X, W, H) -> FitResult and transform(spec, H, X):
                input checks, warnings
  algorithm.py  the distributed iteration: V by row chunks on the workers, the start, the
                alternating updates with their sums over rows reduced from the chunks
  tasks.py      what runs on a worker, next to its chunks of V
  config.py     the typed records: DataStats (V as a whole), WorkerConfig (what tasks get)
  store.py      the worker-side store of the W chunks
  mapreduce.py  a fault-tolerant map and tree reduction over chunks, NMF-agnostic
  deps.py       the optional dependencies, dask and distributed
"""
