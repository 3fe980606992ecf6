"""nmfkit.rank_survey against the R package NMF (Gaujoux & Seoighe 2010) on the same survey.

    python benchmarks/rank_survey_vs_r.py [--features 1000] [--samples 60] [--ks 2-6]
                                          [--runs 10] [--iter 500] [--repeat 2]

Needs Rscript with the NMF package (Debian: apt-get install r-cran-nmf). Both sides run the
same survey: the same matrix (features x samples for R, which clusters columns; its transpose
for nmfkit, which clusters rows), Brunet's algorithm (KL multiplicative updates; nmfkit
beta_loss='kullback-leibler', solver='mu'), random starts, the same number of runs per rank
and exactly --iter iterations per run (R: .stop = nmf.stop.iteration(iter); nmfkit: max_iter
= iter, tol = 0), so the two do the same arithmetic. R runs sequentially ('-p') and with its
default parallel backend over all cores ('p'); nmfkit on one OpenMP thread and on all. Each
time is the best of --repeat; the last column compares each with R on as many processes
(nmfkit on one thread with R sequential, on all threads with R's parallel backend, which
uses all cores). The issue's ALL/AML-sized survey is `--features 5000 --samples 38 --ks 2-5
--runs 20 --iter 500`. The metrics of both are printed side by side: they should tell the
same story (they come from different random starts, so they differ in detail).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import nmfkit
from nmfkit.rank.ks import parse_ks

R_SCRIPT = r"""
suppressMessages(library(NMF))
args <- commandArgs(trailingOnly = TRUE)
V <- as.matrix(read.csv(args[1], header = FALSE))
ks <- as.integer(strsplit(args[2], ",")[[1]])
nrun <- as.integer(args[3]); iter <- as.integer(args[4]); repeats <- as.integer(args[5])
for (opt in c("-p", "p")) {
  best <- Inf
  for (r in seq_len(repeats)) {
    set.seed(r)
    t <- system.time(res <- nmf(V, ks, method = "brunet", nrun = nrun, seed = "random",
                                .stop = nmf.stop.iteration(iter), .options = opt))["elapsed"]
    best <- min(best, t)
  }
  m <- res$measures
  cat(sprintf(paste0('{"options": "%s", "seconds": %.4f, "cophenetic": [%s], ',
                     '"dispersion": [%s], "rss": [%s], "evar": [%s]}\n'),
              opt, best, paste(m$cophenetic, collapse = ","), paste(m$dispersion, collapse = ","),
              paste(m$rss, collapse = ","), paste(m$evar, collapse = ",")))
}
cat(sprintf('{"version": "%s", "cores": %d}\n', as.character(packageVersion("NMF")),
            parallel::detectCores()))
"""


def planted(features, samples, k, seed=0):
    """Expression-like data: samples in k groups, each group over-expressing its own genes."""
    rng = np.random.default_rng(seed)
    groups = np.arange(samples) % k
    H = np.eye(k)[groups].T * 2.0 + rng.random((k, samples)) * 0.5  # k x samples
    W = rng.random((features, k)) ** 3  # genes x k
    return rng.poisson(20 * W @ H).astype(np.float64) + 0.0  # counts, features x samples


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", type=int, default=1000)
    p.add_argument("--samples", type=int, default=60)
    p.add_argument("--ks", default="2-6")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--iter", type=int, default=500)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    if shutil.which("Rscript") is None:
        sys.exit("Rscript not found: install R and the NMF package (apt-get install r-cran-nmf).")
    ks = parse_ks(args.ks)
    V = planted(args.features, args.samples, 3)
    V[V.sum(axis=1) == 0, 0] = 1.0  # R's NMF refuses all-zero rows
    print(f"data: {args.features} features x {args.samples} samples (3 planted groups), "
          f"ks {list(ks)}, {args.runs} runs per k, {args.iter} KL-MU iterations per run")
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = os.path.join(tmp, "V.csv"), os.path.join(tmp, "survey.R")
        np.savetxt(csv, V, delimiter=",", fmt="%.17g")
        with open(script, "w") as f:
            f.write(R_SCRIPT)
        cmd = ["Rscript", script, csv, ",".join(map(str, ks)), str(args.runs), str(args.iter),
               str(args.repeat)]
        print("R:      " + " ".join(cmd[:2]) + " ... (nmf(V, ks, method='brunet', nrun, "
              "seed='random', .stop=nmf.stop.iteration(iter), .options='-p' / 'p'))")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    info = rows.pop()
    r_seq, r_par = rows

    from threadpoolctl import threadpool_limits
    times = {}
    for n_threads in sorted({1, nmfkit.effective_n_threads()}):
        best = np.inf
        with threadpool_limits(n_threads, user_api="openmp"):
            for r in range(args.repeat):
                start = time.perf_counter()
                survey = nmfkit.rank_survey(V.T, ks, n_runs=args.runs,
                                            beta_loss="kullback-leibler", solver="mu",
                                            init="random", max_iter=args.iter, tol=0,
                                            random_state=r)
                best = min(best, time.perf_counter() - start)
        times[n_threads] = best
    print(f"nmfkit: rank_survey(V.T, {list(ks)}, n_runs={args.runs}, "
          f"beta_loss='kullback-leibler', solver='mu', max_iter={args.iter}, tol=0)")
    print(f"R NMF {info['version']} ({info['cores']} cores)\n")
    print(f"{'':28}{'seconds':>9}{'R sequential / this':>21}"
          f"{'R with as many processes / this':>33}")
    for n_threads, t in times.items():
        label = f"nmfkit, {n_threads} OpenMP thread{'s' if n_threads > 1 else ''}"
        same = r_seq if n_threads == 1 else r_par  # R's parallel backend: all cores
        print(f"{label:28}{t:>9.2f}{r_seq['seconds'] / t:>20.1f}x"
              f"{same['seconds'] / t:>32.1f}x")
    print(f"{'R NMF sequential (-p)':28}{r_seq['seconds']:>9.2f}{1.0:>20.1f}x")
    print(f"{'R NMF parallel (p)':28}{r_par['seconds']:>9.2f}"
          f"{r_seq['seconds'] / r_par['seconds']:>20.1f}x")
    print("\nmetrics (nmfkit | R sequential):")
    print(f"{'k':>3} {'cophenetic':>19} {'dispersion':>19} {'evar':>19}")
    for i, k in enumerate(ks):
        print(f"{k:>3} {survey.cophenetic[i]:>9.4f} {r_seq['cophenetic'][i]:>9.4f} "
              f"{survey.dispersion[i]:>9.4f} {r_seq['dispersion'][i]:>9.4f} "
              f"{survey.evar[i]:>9.4f} {r_seq['evar'][i]:>9.4f}")


if __name__ == "__main__":
    main()
