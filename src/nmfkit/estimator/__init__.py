"""The scikit-learn compatible front: NMF, MiniBatchNMF, nmf(), non_negative_factorization()."""
