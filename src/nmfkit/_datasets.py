"""Datasets generated in-package (no download)."""
