"""The compiled kernels (Cython, OpenMP): dense, sparse and the factor update steps."""
