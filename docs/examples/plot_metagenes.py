"""
Metagenes and sample clusters from expression data
==================================================

In gene expression analysis (Brunet et al. 2004) NMF factorizes a samples x genes matrix of
expression levels. Each component is a *metagene*: a nonnegative weight per gene in
``components_`` (H), a program of genes expressed together; each sample's row of W says how
much of each program it expresses, and its largest entry assigns it to a cluster. The
rank k, the number of programs, is chosen with a *rank survey*: many factorizations from
random starts per k, and a look at how consistently they cluster the samples.

**The data here are generated**: no gene expression data set ships inside a Python package
(they are downloaded from archives such as GEO), and this gallery downloads nothing. The
generator plants what a real study hopes to find: 60 samples from 3 subtypes, each subtype
expressing its own program of 40 genes on top of a background shared by all 300 genes, with
Poisson counting noise, as in RNA-seq counts. The workflow is that of a real data set.
"""

# %%
# The data: 3 subtypes, 3 gene programs
# -------------------------------------
import matplotlib.pyplot as plt
import numpy as np

import nmfkit

rng = np.random.default_rng(0)
n_genes, program_size = 300, 40
subtype = np.repeat(["subtype A", "subtype B", "subtype C"], [25, 20, 15])
n_samples = subtype.size
batch = rng.choice(["batch 1", "batch 2"], size=n_samples)   # an annotation with no effect

baseline = rng.lognormal(mean=1.0, sigma=0.8, size=n_genes)   # each gene's background level
programs = np.zeros((3, n_genes))
for p in range(3):
    genes = slice(p * program_size, (p + 1) * program_size)
    programs[p, genes] = rng.lognormal(mean=2.5, sigma=0.5, size=program_size)
# each sample expresses its subtype's program strongly and the others a little
activity = rng.uniform(0.0, 0.15, size=(n_samples, 3))
for p, name in enumerate(["subtype A", "subtype B", "subtype C"]):
    activity[subtype == name, p] = rng.uniform(0.7, 1.3, size=(subtype == name).sum())
mean = baseline + activity @ programs
order = rng.permutation(n_samples)            # samples in no particular order
V = rng.poisson(mean[order]).astype(float)
subtype, batch = subtype[order], batch[order]
print(V.shape, "samples x genes")

# %%
# The rank survey
# ---------------
# :func:`nmfkit.rank_survey` runs ``n_runs`` factorizations per rank from random starts
# (here with the KL loss, as Brunet et al.), builds each rank's consensus matrix (how often
# two samples fall in the same cluster) and its measures. With ``randomized=True`` it also
# surveys a copy of V with each gene's column shuffled across the samples, which destroys
# the programs but keeps each gene's distribution: a rank is worth choosing where the data's
# curves stand apart from the randomized data's (Frigyesi & Hoglund 2008). The randomized
# data have no low-rank structure, so some of their runs use up ``max_iter``: the warning
# below says how many.
survey = nmfkit.rank_survey(V, range(2, 6), n_runs=8, beta_loss="kullback-leibler",
                            max_iter=200, random_state=0, randomized=True)
print(survey)

# %%
# :func:`nmfkit.plot_rank_survey` draws every measure against k, the randomized survey
# dashed. The cophenetic correlation and the dispersion are 1 when every run clusters the
# samples alike; the residual sum of squares (rss) stops falling fast after the planted
# k = 3, and the component stability is highest there.
# The nmfkit plotting functions draw into the figure they are given (``fig=``) or make one
# of their own, outside pyplot; the gallery shows pyplot's figures, so each gets one.
survey_plot = nmfkit.plot_rank_survey(
    survey, fig=plt.figure(figsize=(13, 6), layout="constrained"))

# %%
# The consensus map
# -----------------
# :func:`nmfkit.plot_consensus` draws the consensus matrix of one rank, its samples in the
# order of its average-linkage tree: blocks on the diagonal are clusters that every run
# found. ``labels=`` adds the known annotations as tracks: the clusters line up with the
# subtypes, not with the batches.
k = 3
consensus_map = nmfkit.plot_consensus(
    survey, k=k, labels={"subtype": subtype, "batch": batch},
    fig=plt.figure(figsize=(7.5, 6.2), layout="constrained"))

# %%
# At k = 5 the consensus is no longer clean: the runs split the subtypes in different ways.
consensus_map = nmfkit.plot_consensus(
    survey, k=5, labels={"subtype": subtype},
    fig=plt.figure(figsize=(7.5, 6), layout="constrained"))

# %%
# The factors
# -----------
# :func:`nmfkit.plot_factors` draws the best run's W (each sample's mixture of the
# metagenes) and H (each gene's share in each metagene), components in one order, samples
# and genes grouped by their dominant component.
factor_maps = nmfkit.plot_factors(
    survey, k=k, labels={"subtype": subtype},
    fig=plt.figure(figsize=(9, 6), layout="constrained"))

# %%
# Clusters and marker genes
# -------------------------
# :func:`nmfkit.assign_clusters` gives each sample the component where its row of W is
# largest, with its silhouette width (how much nearer it is to its own cluster than to
# the next). :func:`nmfkit.extract_features` picks each metagene's defining genes, here by
# Kim & Park's score (the default ``method="kim"``): genes specific to one metagene.
W, H = survey.factors[k]
clusters, silhouette = nmfkit.assign_clusters(W)
for c in range(k):
    members = subtype[clusters == c]
    names, counts = np.unique(members, return_counts=True)
    print(f"cluster {c}: {len(members)} samples, mean silhouette "
          f"{silhouette[clusters == c].mean():.2f},", dict(zip(names.tolist(), counts.tolist())))

markers = nmfkit.extract_features(H)
for q, genes in enumerate(markers):
    planted = np.bincount(genes // program_size, minlength=n_genes // program_size)[:3]
    print(f"metagene {q}: {len(genes)} marker genes; from programs 0, 1, 2:", planted)

# %%
# The same with a fitted estimator: :class:`nmfkit.NMF` at the chosen rank, the marker
# genes with their labels in a data frame (needs pandas).
gene_names = np.array([f"gene{j:03d}" for j in range(n_genes)])
model = nmfkit.NMF(k, beta_loss="kullback-leibler", init="nndsvda", max_iter=500,
                   random_state=0).fit(V)
table = nmfkit.extract_features(model, labels=gene_names)
print(table.groupby("component").head(3))

plt.show()

# sphinx_gallery_thumbnail_number = 2
