"""Choosing the rank: consensus-clustering surveys and cross-validation."""
