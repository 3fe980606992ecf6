"""
A fit on a Dask cluster
=======================

When V outgrows one machine, give ``fit``, ``fit_transform`` or ``transform`` a
`dask array <https://docs.dask.org/en/stable/array.html>`_ chunked by rows while a
``dask.distributed`` client is running; nothing else changes. Each worker keeps its row
chunks of V and the matching rows of W; H (k x n) lives on the client, and each iteration
maps nmfkit's compiled kernels over the chunks and sums their shares of the H update.

This example starts a ``LocalCluster`` of two workers (threads in this
process, to keep it light; on a real cluster, swap it for dask-jobqueue's ``SLURMCluster``,
dask-kubernetes' ``KubeCluster``, or the address of a running scheduler), fits scikit-learn's
digits held as a dask array in row chunks, and compares the result with the in-process fit.
It needs ``pip install "nmfkit[dask]"``.
"""

# %%
# The cluster and the data
# ------------------------
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits

import nmfkit

cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                       dashboard_address=None)
client = Client(cluster)
print(client)

X = load_digits().data                       # (1797, 64)
X_dask = da.from_array(X, chunks=(300, 64))  # 6 row chunks, spread over the workers
print(X_dask)

# %%
# The fit
# -------
# On a cluster, ``init`` is ``"random"`` (or ``"custom"``): for the same ``random_state``
# the start is the in-process fit's, and with ``solver="mu"`` so is every iteration. Each
# iteration is a round trip through the scheduler, which on data this small costs more than
# the arithmetic: ``tol=0`` runs exactly ``max_iter`` iterations, 100 here.
params = dict(n_components=16, init="random", solver="mu", max_iter=100, tol=0,
              random_state=0)
model = nmfkit.NMF(**params)
W_dask = model.fit_transform(X_dask)         # a dask array with X_dask's row chunks
print(type(W_dask).__name__, W_dask.chunks[0], "->", model.n_iter_, "iterations")
W = W_dask.compute()                         # fetch W from the workers
H = model.components_                        # a NumPy array, on the client

# %%
# The same fit in this process:
local = nmfkit.NMF(**params)
W_local = local.fit_transform(X)
difference = np.abs(W - W_local).max() / np.abs(W_local).max()
print(f"largest difference in W, relative to its largest entry: {difference:.1e}")
print(f"objectives: cluster {model.loss_history_[-1]:.6g}, "
      f"in-process {local.loss_history_[-1]:.6g}")

# %%
# The two histories lie on top of each other, and so do the parts.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained",
                         gridspec_kw={"width_ratios": [1.3, 1, 1]})
axes[0].plot(local.loss_history_iter_, local.loss_history_, lw=4, alpha=0.4,
             label="in-process")
axes[0].plot(model.loss_history_iter_, model.loss_history_, "k--", lw=1,
             label="on the cluster")
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration")
axes[0].set_ylabel("objective")
axes[0].legend()
axes[0].set_title("Objective")
for ax, components, title in ((axes[1], H, "Parts, cluster fit"),
                              (axes[2], local.components_, "Parts, in-process fit")):
    ax.imshow(nmfkit.parts_grid(components, (8, 8), n_cols=4, pad_value=0.25),
              cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()

# %%
# ``transform`` of a dask array is lazy: a map over its row chunks with ``components_``
# fixed, computed when asked.
W_new = model.transform(X_dask[:600])
print(W_new.chunks[0], W_new.compute().shape)

# %%
# Close the client and the cluster when done.
client.close()
cluster.close()

plt.show()
