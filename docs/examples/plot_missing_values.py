"""
Missing values and choosing the rank by cross-validation
========================================================

NMF can fit a matrix with entries missing: the objective, and the multiplicative updates
that minimize it, sum over the observed entries only (a weighted NMF), and ``W @ H`` then
predicts the missing ones. nmfkit takes the missing entries as NaN in a dense array, or as
a ``mask=`` (True where observed) in ``fit``, ``fit_transform``, ``transform`` and
``partial_fit``.

The same mechanism chooses the rank: :func:`nmfkit.rank_cv` hides a random share of the
entries, fits each rank on the rest and scores the hidden ones. The error on the hidden
entries falls while a larger k adds structure, and rises again once k fits the noise.

The data are a matrix of known rank 5 from :func:`nmfkit.make_low_rank` with noise added,
so that the answer is known.
"""

# %%
# A rank-5 matrix with noise, a third of it hidden
# ------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

import nmfkit

rng = np.random.default_rng(0)
noise_sd = 0.2
clean = nmfkit.make_low_rank(100, 80, 5, random_state=0)
V = np.maximum(clean + rng.normal(0.0, noise_sd, clean.shape), 0.0)
print(f"V: {V.shape}, values {V.min():.2f} to {V.max():.2f}, noise sd {noise_sd}")

hidden = rng.random(V.shape) < 0.3
X = V.copy()
X[hidden] = np.nan
print(f"{hidden.mean():.0%} of the entries hidden (NaN)")

# %%
# The fit on the observed entries
# -------------------------------
# With NaN in X, ``solver="auto"`` picks the multiplicative updates, which weight each entry
# by whether it is observed. ``fit_transform(V, mask=~hidden)`` fits the same model
# without writing NaN into a copy.
model = nmfkit.NMF(5, max_iter=500, random_state=0)
W = model.fit_transform(X)
prediction = (W @ model.components_)[hidden]

column_means = np.nanmean(X, axis=0)
baseline = np.broadcast_to(column_means, V.shape)[hidden]
rmse = np.sqrt(np.mean((prediction - V[hidden]) ** 2))
rmse_means = np.sqrt(np.mean((baseline - V[hidden]) ** 2))
rmse_clean = np.sqrt(np.mean((prediction - clean[hidden]) ** 2))
print(f"hidden entries: RMSE {rmse:.3f} (column means: {rmse_means:.3f}); "
      f"against the noiseless matrix {rmse_clean:.3f}")

# %%
# Each hidden entry against its prediction. The spread around the diagonal is about the
# noise's standard deviation: the prediction recovers the low-rank structure, not the
# noise, which nothing can predict.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
axes[0].scatter(V[hidden], prediction, s=2, alpha=0.3, label=f"NMF (RMSE {rmse:.3f})")
axes[0].scatter(V[hidden], baseline, s=2, alpha=0.3,
                label=f"column means (RMSE {rmse_means:.3f})")
lims = [0, V.max()]
axes[0].plot(lims, lims, color="black", lw=1)
axes[0].set_xlabel("true value of a hidden entry")
axes[0].set_ylabel("predicted value")
axes[0].legend(markerscale=5)
axes[0].set_title("Hidden entries predicted")

shown = (slice(0, 40), slice(0, 40))
axes[1].imshow(np.where(hidden, np.nan, V)[shown], cmap="viridis", vmin=0, vmax=V.max())
axes[1].set_title("What the fit saw (40 x 40 corner; white: hidden)")
axes[1].set_axis_off()

# %%
# Choosing the rank by cross-validation
# -------------------------------------
# :func:`nmfkit.rank_cv` hides ``holdout`` of the entries (on top of those already
# missing) ``n_repeats`` times, fits every k on the rest from the same start and reports
# the mean error per entry on the hidden (test) and the observed (train) entries.
cv = nmfkit.rank_cv(V, range(1, 10), holdout=0.3, n_repeats=2, max_iter=300,
                    random_state=0)
print(cv)
print("best k:", cv.best_k)

# %%
# The training error keeps falling with k: more components always fit the observed entries
# better. The test error falls to the planted rank 5 and then rises, since the extra
# components fit the noise of the observed entries, which does not carry over to the
# hidden ones.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(cv.ks, cv.test_error, "o-", label="hidden entries (test)")
ax.plot(cv.ks, cv.train_error, "s--", label="observed entries (train)")
for errors in cv.test_errors:
    ax.plot(cv.ks, errors, color="C0", alpha=0.3, lw=1)
ax.axvline(cv.best_k, color="grey", lw=1, ls=":")
ax.axhline(noise_sd ** 2, color="black", lw=1, ls=":", label="noise variance")
ax.set_yscale("log")
ax.set_xlabel("rank k")
ax.set_ylabel("mean squared error per entry")
ax.set_title(f"rank_cv: best k = {cv.best_k}")
ax.legend()

plt.show()
