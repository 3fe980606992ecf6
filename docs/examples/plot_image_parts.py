"""
Parts of images, and NMF against PCA
====================================

With one flattened image per row of V, the rows of ``components_`` are images too. Because
NMF only adds nonnegative parts with nonnegative weights, those parts tend to be pieces of
the objects, localized and additive (Lee & Seung 1999). PCA's components are orthogonal
directions of largest variance: whole-image patterns of positive and negative pixels that
reconstruct an image by cancelling one another.

This example factorizes the swimmer images (:func:`nmfkit.swimmer`, Donoho & Stodden 2003:
a torso and four limbs in four positions each, 17 known parts), then scikit-learn's
8 x 8 handwritten digits (``sklearn.datasets.load_digits``, shipped with scikit-learn), and
draws NMF's parts beside PCA's components on the same data.
"""

# %%
# The swimmer: 17 parts to find
# -----------------------------
# ``swimmer()`` returns the 256 images (one per row, 32 x 32 pixels) and the 17 true parts.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

import nmfkit

V, true_parts = nmfkit.swimmer()
print(V.shape, "images x pixels;", true_parts.shape[0], "true parts")

shown = np.random.default_rng(0).choice(len(V), size=16, replace=False)
fig, ax = plt.subplots(figsize=(8, 2.4), layout="constrained")
ax.imshow(nmfkit.parts_grid(V[shown], (32, 32), n_cols=8, pad_value=0.25), cmap="gray_r",
          vmin=0, vmax=1)
ax.set_axis_off()
ax.set_title("16 of the 256 swimmer images")

# %%
# NMF with 17 components
# ----------------------
# Restarts (``n_init``) keep the best of several starts: NMF has local minima, and on the
# swimmer a start can get stuck with limbs merged in one part. Two starts here;
# ``nmfkit demo`` runs the same fit with four.
model = nmfkit.NMF(17, solver="amu", init="nndsvdar", n_init=2, max_iter=1000, tol=1e-5,
                   random_state=0).fit(V)
print(f"relative error {model.reconstruction_err_ / np.linalg.norm(V):.2e}")

# Each true part is recovered when a component is (nearly) proportional to it.
H = model.components_ / np.linalg.norm(model.components_, axis=1, keepdims=True)
P = true_parts / np.linalg.norm(true_parts, axis=1, keepdims=True)
best_cosine = (P @ H.T).max(axis=1)
print(f"{(best_cosine > 0.99).sum()} of 17 parts recovered (cosine > 0.99)")

# %%
# :func:`nmfkit.plot_parts` draws the components as a grid of images (with
# :func:`nmfkit.parts_grid`), each scaled to its own maximum: the torso and the 16 limb
# positions, each on its own.
# The nmfkit plotting functions draw into the Axes they are given (``ax=``) or make a
# figure of their own, outside pyplot; the gallery shows pyplot's figures, so here it gets one.
fig, ax = plt.subplots(figsize=(8, 2.6), layout="constrained")
_ = nmfkit.plot_parts(model, (32, 32), ax=ax, n_cols=9, title="NMF parts of the swimmer")

# %%
# PCA on the same images
# ----------------------
# PCA centres the data, so its components describe deviations from the mean image. The
# swimmer images have rank 13 (the torso, and three of each limb's four positions: the
# four sum to the same image), so after centring 12 components reconstruct them exactly,
# where NMF needs 17 parts. Drawn in a diverging colormap centred on zero (red positive,
# blue negative), PCA's components are not parts: each contrasts several limb positions
# at once, positive against negative, and only their signed sum with the mean gives a
# swimmer.
pca = PCA(12, random_state=0).fit(V)
print(f"PCA with 12 components: relative error "
      f"{np.linalg.norm(V - pca.inverse_transform(pca.transform(V))) / np.linalg.norm(V):.1e}")


def signed_grid(components, shape, n_cols):
    """Tile the components into one image, each scaled to its own largest magnitude."""
    scaled = components / np.abs(components).max(axis=1, keepdims=True)
    return nmfkit.parts_grid(scaled, shape, n_cols=n_cols, normalize=False, pad_value=np.nan)


fig, axes = plt.subplots(2, 1, figsize=(8, 5), layout="constrained")
axes[0].imshow(nmfkit.parts_grid(model, (32, 32), n_cols=9, pad_value=0.25), cmap="gray_r",
               vmin=0, vmax=1)
axes[0].set_title("NMF: 17 additive parts (all >= 0)")
pca_rows = np.vstack([pca.mean_, pca.components_])
image = axes[1].imshow(signed_grid(pca_rows, (32, 32), 9), cmap="RdBu_r", vmin=-1, vmax=1)
axes[1].set_title("PCA: the mean, then its 12 components (red > 0, blue < 0)")
for ax in axes:
    ax.set_axis_off()
fig.colorbar(image, ax=axes[1], shrink=0.8, label="scaled value")

# %%
# The handwritten digits
# ----------------------
# scikit-learn ships 1797 images of 8 x 8 pixels (16 grey levels) of the digits 0 to 9.
# Sixteen NMF parts are strokes and blobs (pieces of digits); sixteen PCA components are
# whole-digit contrasts of positive and negative pixels.
digits = load_digits()
X = digits.data                        # (1797, 64), values 0 .. 16
digits_nmf = nmfkit.NMF(16, init="nndsvda", max_iter=1000, random_state=0).fit(X)
digits_pca = PCA(16, random_state=0).fit(X)

fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")
axes[0].imshow(nmfkit.parts_grid(digits_nmf, (8, 8), n_cols=4, pad_value=0.25),
               cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("NMF: 16 parts of the digits")
image = axes[1].imshow(signed_grid(digits_pca.components_, (8, 8), 4), cmap="RdBu_r",
                       vmin=-1, vmax=1)
axes[1].set_title("PCA: 16 components")
for ax in axes:
    ax.set_axis_off()
fig.colorbar(image, ax=axes[1], shrink=0.8, label="scaled value")

# %%
# How the parts add up
# --------------------
# One digit, rebuilt from its NMF weights: the image is the sum of the 16 parts weighted by
# its row of W, every term nonnegative (the five largest terms are drawn, at the digit's
# scale). Below it the sparsity of the two codes: most of a
# digit's NMF weights are (near) zero, while all its PCA scores are used, with both signs.
W = digits_nmf.transform(X)
i = 0
order = np.argsort(W[i])[::-1][:5]
fig, axes = plt.subplots(1, 7, figsize=(11, 2.2), layout="constrained")
axes[0].imshow(X[i].reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"digit {digits.target[i]}")
for ax, q in zip(axes[1:6], order):
    ax.imshow((W[i, q] * digits_nmf.components_[q]).reshape(8, 8), cmap="gray_r",
              vmin=0, vmax=X[i].max())
    ax.set_title(f"+ {W[i, q]:.2f} x part {q}", fontsize=9)
axes[6].imshow((W[i] @ digits_nmf.components_).reshape(8, 8), cmap="gray_r")
axes[6].set_title("sum of all 16", fontsize=9)
for ax in axes:
    ax.set_axis_off()

small_nmf = (W < 0.01 * W.max(axis=1, keepdims=True)).mean()
print(f"share of NMF weights below 1% of the row's largest: {small_nmf:.0%}")
print(f"share of PCA scores that are negative: {(digits_pca.transform(X) < 0).mean():.0%}")

plt.show()

# sphinx_gallery_thumbnail_number = 3
