"""The nmfkit command line (also `python -m nmfkit`).

  nmfkit fit INPUT -k K [--loss L] [--init I] [--max-iter N] -o OUT.npz
  nmfkit rank INPUT --ks 2-8 [--runs N] [--plot OUT.png]
  nmfkit demo

INPUT is .npy, .npz (scipy.sparse.save_npz or one array), MatrixMarket .mtx or .csv/.tsv;
NaN entries of a dense INPUT (nan or NA in a CSV) are missing values, left out of the fit.
A file that cannot be used ends the command with exit status 1 and one line on stderr.
"""

import argparse
import sys
import time
import warnings

_LOSSES = {"frobenius": "frobenius", "fro": "frobenius", "kullback-leibler": "kullback-leibler",
           "kl": "kullback-leibler", "itakura-saito": "itakura-saito", "is": "itakura-saito"}
_INITS = ("random", "nndsvd", "nndsvda", "nndsvdar")
_SOLVERS = ("auto", "mu", "amu", "hals", "ehals", "cd")


class _Failure(Exception):
    """An error to report as one line on stderr, exit status 1."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _loss(text):
    if text.lower() in _LOSSES:
        return _LOSSES[text.lower()]
    try:
        beta = float(text)
    except ValueError:
        beta = float("nan")
    if not beta == beta or beta in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a loss; use frobenius (fro), kullback-leibler (kl), "
            "itakura-saito (is) or a beta such as 1.5")
    return {2.0: "frobenius", 1.0: "kullback-leibler", 0.0: "itakura-saito"}.get(beta, beta)


def _ks(text):
    from ._survey import parse_ks
    try:
        return parse_ks(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser():
    parser = argparse.ArgumentParser(
        prog="nmfkit", description="Nonnegative matrix factorization from the command line.",
        epilog="INPUT: .npy, .npz (scipy.sparse.save_npz, or one array), .mtx (MatrixMarket), "
               ".csv or .tsv (an optional header line and row-label column are skipped). "
               "Rows are samples, columns features.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="factorize the built-in swimmer images and report")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    def common(p):
        p.add_argument("input", metavar="INPUT", help="the data matrix file")
        p.add_argument("--loss", type=_loss, default="frobenius",
                       help="frobenius (default), kullback-leibler (kl), itakura-saito (is) "
                            "or a beta-divergence's beta, e.g. 1.5")
        p.add_argument("--solver", choices=_SOLVERS, default="auto",
                       help="default auto: ehals for frobenius, mu otherwise")
        p.add_argument("--max-iter", type=_positive_int, default=200, metavar="N",
                       help="iterations per run at most (default 200)")
        p.add_argument("--tol", type=_nonnegative_float, default=1e-4,
                       help="relative decrease that stops a run (default 1e-4)")
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        bar = p.add_mutually_exclusive_group()
        bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                         help="always show a progress bar on stderr (default: only on a "
                              "terminal, once the work takes over half a second)")
        bar.add_argument("--no-progress", dest="progress", action="store_false",
                         help="never show a progress bar")

    fit = sub.add_parser("fit", help="factorize INPUT ~= W H and save W and H",
                         description="Factorize INPUT (m x n) ~= W (m x k) H (k x n); write W "
                                     "and H to OUT.npz (keys 'W' and 'H') and print the "
                                     "final objective.")
    common(fit)
    fit.add_argument("-k", "--n-components", dest="k", type=_positive_int, required=True,
                     metavar="K", help="the rank k")
    fit.add_argument("--init", choices=_INITS, default=None,
                     help="default: nndsvda when k <= min(m, n), else random")
    fit.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                     help="starts; the best is kept (default 1)")
    fit.add_argument("-o", "--output", required=True, metavar="OUT.npz",
                     help="where to write W and H")

    rank = sub.add_parser("rank", help="survey ranks by consensus clustering (Brunet 2004)",
                          description="Run --runs factorizations per rank from random starts "
                                      "and print, per k, the cophenetic correlation and "
                                      "dispersion of the consensus over the rows of INPUT, "
                                      "the rss and explained variance of the best run.")
    common(rank)
    rank.add_argument("--ks", type=_ks, required=True, metavar="KS",
                      help="ranks: 2-8, 2,4,6 or 2-4,8")
    rank.add_argument("--runs", type=_positive_int, default=30, metavar="N",
                      help="runs per rank (default 30)")
    rank.add_argument("--plot", metavar="OUT.png",
                      help="also draw the survey curves to this file (needs matplotlib)")
    return parser


def _show_bar(args):
    if args.progress is not None:
        return args.progress, 0.0
    return sys.stderr.isatty(), 0.5


def _read(path):
    from ._io import InputError, read_matrix
    try:
        return read_matrix(path, allow_nan=True)
    except InputError as exc:
        raise _Failure(str(exc)) from None
    except MemoryError:
        raise _Failure(f"{path}: too large to load into memory.") from None


def _run_fit(args):
    import numpy as np

    from ._estimator import NMF, ConvergenceWarning
    from ._io import InputError, write_factors
    from ._progress import ProgressBar, fit_progress

    X = _read(args.input)
    m, n = X.shape
    show, delay = _show_bar(args)
    bar = ProgressBar(args.max_iter * args.n_init, "fit", delay=delay) if show else None
    model = NMF(args.k, beta_loss=args.loss, solver=args.solver, init=args.init,
                max_iter=args.max_iter, tol=args.tol, n_init=args.n_init, random_state=args.seed,
                callback=fit_progress(bar, args.n_init) if bar else None)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            W = model.fit_transform(X)
        except (ValueError, TypeError) as exc:
            raise _Failure(f"{args.input}: cannot factorize: {' '.join(str(exc).split())}") \
                from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    H = model.components_
    try:
        write_factors(args.output, W, H)
    except InputError as exc:
        raise _Failure(str(exc)) from None
    # The objective of the final W, H (after the closing W solve), from scikit-learn's
    # reconstruction_err_ = sqrt(2 * objective).
    err = model.reconstruction_err_
    objective = 0.5 * err * err
    if args.loss == "frobenius":
        norm = float(np.sqrt(X.multiply(X).sum())) if hasattr(X, "nnz") else float(
            np.sqrt(np.nansum(np.square(X, dtype=np.float64))))
        summary = (f"objective 0.5*||X - WH||_F^2 = {objective:.6g}; relative error "
                   f"||X - WH||_F / ||X||_F = {err / norm if norm > 0 else 0.0:.4g}")
    elif args.loss == "kullback-leibler":
        summary = f"objective KL(X | WH) = {objective:.6g}"
    else:
        summary = f"objective D_beta(X | WH) = {objective:.6g} ({args.loss})"
    n_missing = 0 if hasattr(X, "nnz") else int(np.isnan(X).sum()) if X.dtype.kind == "f" else 0
    print(f"input     {args.input}: {m} x {n}"
          + (f", sparse with {X.nnz} stored entries" if hasattr(X, "nnz") else "")
          + (f", {n_missing} missing (NaN) entries left out of the fit" if n_missing else ""))
    print(f"fit       k={args.k}, {args.loss}, solver {args.solver}, {model.n_iter_} "
          f"iterations" + (" (stopped at --max-iter)" if stopped else " (converged)")
          + f", {wall:.2f} s")
    print(summary)
    print(f"wrote     {args.output}: W {W.shape[0]} x {W.shape[1]}, H {H.shape[0]} x "
          f"{H.shape[1]}")
    return 0


def _run_rank(args):
    from ._progress import ProgressBar
    from ._survey import rank_survey

    if args.plot:  # fail before the survey, not after it
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise _Failure('--plot needs matplotlib: pip install "nmfkit[plot]" (or pip '
                           'install matplotlib).') from None
    X = _read(args.input)
    if X.shape[0] < 2:
        raise _Failure(f"{args.input}: {X.shape[0]} row; a rank survey clusters the rows and "
                       "needs at least 2.")
    show, delay = _show_bar(args)
    total = len(args.ks) * args.runs
    bar = ProgressBar(total, "rank", delay=delay) if show else None
    done = [0]

    def progress(k, run, objective):
        done[0] += 1
        if bar:
            bar.update(done[0], f"k={k} run {run + 1}/{args.runs}")

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            survey = rank_survey(X, args.ks, n_runs=args.runs, beta_loss=args.loss,
                                 solver=args.solver, max_iter=args.max_iter, tol=args.tol,
                                 random_state=args.seed, callback=progress)
        except (ValueError, TypeError) as exc:
            raise _Failure(f"{args.input}: cannot survey: {' '.join(str(exc).split())}") \
                from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    print(f"rank survey of {args.input} ({X.shape[0]} x {X.shape[1]}): {args.runs} runs per k, "
          f"{args.loss}, {wall:.2f} s")
    print(survey.table())
    for w in caught:
        print(f"note: {w.message}")
    if args.plot:
        from ._plots import plot_rank_survey
        try:
            plot_rank_survey(survey, args.plot)
        except (OSError, ValueError) as exc:
            raise _Failure(f"{args.plot}: cannot write the plot ({' '.join(str(exc).split())})"
                           ) from None
        print(f"wrote {args.plot}")
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from ._demo import run_demo
            return run_demo(seed=args.seed)
        if args.command == "fit":
            return _run_fit(args)
        if args.command == "rank":
            return _run_rank(args)
    except _Failure as exc:
        print(f"nmfkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nmfkit {args.command}: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
