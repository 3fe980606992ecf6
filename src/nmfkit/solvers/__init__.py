"""The in-process solvers: starting points, the alternating iteration, extrapolated HALS,
the exact W solve, the streaming update."""
