"""Choosing the rank: consensus-clustering surveys and cross-validation.

survey.py (rank_survey, RankSurvey) runs repeated factorizations per rank and summarizes
their clusterings with consensus.py (consensus matrix, average-linkage tree, cophenetic
correlation, dispersion); crossval.py (rank_cv, RankCV) scores each rank on held-out
entries; ks.py reads the ranks to try ("2-8", "2,4,6", range(2, 9)).
"""
