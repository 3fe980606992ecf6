"""Many starts of one matrix: one by one (as before) against side by side across threads.

    python benchmarks/many_starts.py [--repeat 2] [--runs 20] [--iter 500] [--quick]

Two workloads, each timed both ways in one run (best of --repeat) with the results checked
identical bit for bit:

- the ALL/AML-sized rank survey of issue 14: 38 samples x 5000 genes (a seeded matrix of
  Poisson counts, as benchmarks/rank_survey_vs_r.py makes them), k = 2..5, --runs runs per
  rank, exactly --iter Brunet KL multiplicative updates per run (tol=0), as
  benchmarks/rank_survey_vs_r.py runs it against R's NMF package;
- NMF(n_init=10) of a 100 x 100 matrix at k = 5 (KL and Frobenius MU, 200 iterations).

"One by one" sets nmfkit.solvers.many.SIDE_BY_SIDE = False: every start on all threads, one
after the other, which is what nmfkit did before. "Side by side" is the default policy
(nmfkit.solvers.many.starts_at_once). --quick: 5 runs and 100 iterations (a smoke test).
"""

import argparse
import os
import sys
import time

import numpy as np

import nmfkit
from nmfkit.solvers import many

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rank_survey_vs_r import planted  # noqa: E402  (the same data as the survey against R)

SHORT = {"kullback-leibler": "KL", "frobenius": "Frobenius"}


def timed(fn, repeat):
    """(best seconds of repeat calls, the last result)."""
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def both_ways(fn, repeat):
    """fn timed one by one and side by side: ((seconds, result) one by one, side by side)."""
    many.SIDE_BY_SIDE = False
    try:
        before = timed(fn, repeat)
    finally:
        many.SIDE_BY_SIDE = True
    return before, timed(fn, repeat)


def same_survey(a, b):
    """Whether two RankSurveys hold the same bits (measures, consensus, factors)."""
    fields = ("cophenetic", "dispersion", "rss", "evar", "objective", "stability",
              "factor_distance", "silhouette_samples", "silhouette_features")
    same = all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in fields)
    for k in a.ks:
        same &= np.array_equal(a.consensus[k], b.consensus[k])
        same &= all(np.array_equal(x, y) for x, y in zip(a.factors[k], b.factors[k]))
    return bool(same)


def report(label, before, after, same):
    print(f"{label:44}{before:>10.3f}{after:>10.3f}{before / after:>9.2f}x   "
          f"{'identical' if same else 'DIFFERENT'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--iter", type=int, default=500)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.runs, args.iter = 5, 100
    print(f"nmfkit {nmfkit.__version__}, {nmfkit.effective_n_threads()} OpenMP threads, "
          f"{os.cpu_count()} CPUs")
    print(f"{'':44}{'one by one':>10}{'side by':>10}{'ratio':>10}")
    print(f"{'':44}{'s':>10}{'side, s':>10}")

    V = planted(5000, 38, 3).T  # 38 samples x 5000 genes
    ks = [2, 3, 4, 5]

    def survey():
        return nmfkit.rank_survey(V, ks, n_runs=args.runs, beta_loss="kullback-leibler",
                                  solver="mu", init="random", max_iter=args.iter, tol=0,
                                  random_state=0)

    (t0, s0), (t1, s1) = both_ways(survey, args.repeat)
    report(f"rank_survey 38 x 5000, k 2-5, {args.runs} x {args.iter} KL", t0, t1,
           same_survey(s0, s1))

    small = planted(100, 100, 3, seed=1)
    for loss in ("kullback-leibler", "frobenius"):
        def fit(loss=loss):
            model = nmfkit.NMF(5, beta_loss=loss, solver="mu", init="random", n_init=10,
                               max_iter=200, tol=0, random_state=0)
            W = model.fit_transform(small)
            return W, model.components_

        (t0, f0), (t1, f1) = both_ways(fit, max(args.repeat, 5))
        report(f"NMF(5, n_init=10) 100 x 100, 200 {SHORT[loss]} MU", t0, t1,
               all(np.array_equal(x, y) for x, y in zip(f0, f1)))


if __name__ == "__main__":
    main()
