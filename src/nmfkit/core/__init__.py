"""The small shared core: checks of parameters and data, the data matrix as the kernels see
it (Matrix), thread counts, random states, exceptions."""
