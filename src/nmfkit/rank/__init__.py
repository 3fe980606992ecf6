"""Choosing the rank, clustering the samples, naming the features.

survey.py (rank_survey, RankSurvey) runs repeated factorizations per rank and summarizes
their clusterings with consensus.py (consensus matrix, average-linkage tree, cophenetic
correlation, dispersion), the stability of their components with stability.py, and the same
survey on randomized data with chance.py; crossval.py (rank_cv, RankCV) scores each rank on
held-out entries; ks.py reads the ranks to try ("2-8", "2,4,6", range(2, 9)); features.py
(feature_scores, extract_features: Kim & Park 2007) and clusters.py (assign_clusters,
silhouette_widths) name what each component stands for and which samples belong to it.
"""
