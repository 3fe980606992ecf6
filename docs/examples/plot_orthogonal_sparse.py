"""
Orthogonal NMF as clustering, and sparse parts
==============================================

Two constraints change what NMF's factors mean.

``NMF(orthogonal="W")`` makes the columns of W orthogonal: since they are also nonnegative,
each sample has one nonzero entry in its row of W, so the factorization *is* a clustering,
with the rows of H as the clusters' centres (Ding et al. 2006; fitted by the monotone method
of Pompili et al. 2014). It is close to k-means on the rows scaled to unit length (spherical
k-means). This example compares it with k-means and with plain NMF on scikit-learn's
handwritten digits, by the adjusted Rand index against the true digits.

``NMF(sparseness_H=s)`` keeps every component at Hoyer's sparseness s (0: all entries
equal, 1: a single nonzero entry; Hoyer 2004). On the swimmer images, whose exact
factorizations are many, it steers NMF from a random start to the localized true parts.
"""

# %%
# Orthogonal NMF against k-means
# ------------------------------
# Each digit image (a row of 64 pixels) is scaled to unit length, as spherical k-means
# would: the clusters then group images by their shape, not by their ink.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

import nmfkit

digits = load_digits()
X = normalize(digits.data)
k = 10

orthogonal = nmfkit.NMF(k, orthogonal="W", n_init=5, random_state=0)
W_orthogonal = orthogonal.fit_transform(X)
print("rows of W with exactly one nonzero entry:",
      f"{((W_orthogonal > 0).sum(axis=1) == 1).mean():.0%}")
print(f"largest off-diagonal of the normalized W^T W: "
      f"{np.abs(np.triu(normalize(W_orthogonal.T) @ normalize(W_orthogonal.T).T, 1)).max():.1e}")

plain = nmfkit.NMF(k, n_init=5, random_state=0)
W_plain = plain.fit_transform(X)
kmeans = KMeans(k, n_init=10, random_state=0).fit(X)

labels = {"orthogonal NMF": W_orthogonal.argmax(axis=1),
          "plain NMF (argmax of W)": W_plain.argmax(axis=1),
          "k-means": kmeans.labels_}
scores = {name: adjusted_rand_score(digits.target, found) for name, found in labels.items()}
for name, score in scores.items():
    print(f"{name:24s} adjusted Rand index against the digits {score:.3f}")
agreement = adjusted_rand_score(kmeans.labels_, labels["orthogonal NMF"])
print(f"orthogonal NMF against k-means: {agreement:.3f}")

# %%
# The rows of H of the orthogonal fit are the clusters' centres, whole digits; plain NMF's
# are parts, which mix in each image, so the largest entry of a row of W is a poor cluster
# label.
fig = plt.figure(figsize=(12, 4.2), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[1, 2])
ax = left.subplots()
ax.bar(list(scores), list(scores.values()), color=["C0", "C1", "C2"])
ax.set_ylabel("adjusted Rand index")
ax.set_ylim(0, 1)
ax.tick_params(axis="x", labelrotation=15)
ax.set_title("Clusters against the true digits")
axes = right.subplots(1, 3)
for ax, (components, title) in zip(axes, ((orthogonal.components_, "orthogonal NMF: H"),
                                          (kmeans.cluster_centers_, "k-means: centres"),
                                          (plain.components_, "plain NMF: H"))):
    ax.imshow(nmfkit.parts_grid(components, (8, 8), n_cols=5, pad_value=0.25),
              cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()

# %%
# Sparse parts of the swimmer
# ---------------------------
# The swimmer images have rank 13 and 17 parts, and many exact nonnegative factorizations
# with 17 components. From a random start, plain NMF fits the images exactly with parts
# that mix limbs with pieces of the torso. Held at the sparseness 0.9 (a limb's true part
# is 0.95, the torso's 0.87), every component must be localized: each limb position comes
# out in a component of its own, with a faint trace of the torso left in it.
V, true_parts = nmfkit.swimmer()
unit_parts = normalize(true_parts)


def parts_found(model):
    """How many true parts have a component within cosine 0.9 of them."""
    return int(((unit_parts @ normalize(model.components_).T).max(axis=1) > 0.9).sum())


models = {}
for level in (None, 0.9):
    model = nmfkit.NMF(17, sparseness_H=level, init="random", tol=1e-5, max_iter=1000,
                       random_state=0).fit(V)
    models[level] = model
    print(f"sparseness_H={level}: sparseness of H {model.sparseness_['H']:.3f}, "
          f"relative error {model.reconstruction_err_ / np.linalg.norm(V):.1e}, "
          f"{parts_found(model)} of 17 true parts found")
print("the true parts' sparseness:",
      np.round(nmfkit.hoyer_sparseness(true_parts, axis=1)[[0, 1]], 3), "(torso, a limb)")

# %%
# ``model.sparseness_`` reports the Hoyer sparseness of W and H of every fit;
# :func:`nmfkit.hoyer_sparseness` computes it for any array.
fig, axes = plt.subplots(2, 1, figsize=(8, 5), layout="constrained")
for ax, (level, model) in zip(axes, models.items()):
    ax.imshow(nmfkit.parts_grid(model, (32, 32), n_cols=9, pad_value=0.25), cmap="gray_r",
              vmin=0, vmax=1)
    name = "no constraint" if level is None else f"sparseness_H={level}"
    ax.set_title(f"{name}: sparseness {model.sparseness_['H']:.2f}, "
                 f"{parts_found(model)} of 17 true parts")
    ax.set_axis_off()

plt.show()
