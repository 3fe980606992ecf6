"""The nmfkit command line (also `python -m nmfkit`).

  nmfkit fit INPUT -k K [--loss L] [--init I] [--max-iter N] -o OUT.npz|OUT.csv|OUT.tsv
  nmfkit rank INPUT --ks 2-8 [--runs N] [-o TABLE] [--clusters K FILE] [--plot OUT.png]
  nmfkit demo
  nmfkit --version

INPUT is .npy, .npz (scipy.sparse.save_npz or one array), MatrixMarket .mtx or a text table
(.csv/.tsv/.txt, read as nmfkit._io.read_text says); missing entries of a dense INPUT (NaN;
in a text table NA, an empty field, ...) are left out of the fit. Every bad argument and every
file that cannot be used ends the command with exit status 1 and one line on stderr; output
paths are checked before the work starts.
"""

import argparse
import os
import sys
import time
import warnings

_LOSSES = {"frobenius": "frobenius", "fro": "frobenius", "kullback-leibler": "kullback-leibler",
           "kl": "kullback-leibler", "itakura-saito": "itakura-saito", "is": "itakura-saito"}
_INITS = ("random", "nndsvd", "nndsvda", "nndsvdar")
_SOLVERS = ("auto", "mu", "amu", "hals", "ehals", "cd")
_SEPS = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "tab": "\t", "\\t": "\t",
         "\t": "\t", "space": " ", "whitespace": " ", " ": " "}


class _Failure(Exception):
    """An error to report as one line on stderr, exit status 1."""


class _UsageError(Exception):
    """A bad command line (argparse's error), reported as one line, exit status 1."""

    def __init__(self, prog, message):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1 (not a usage block and 2).

    Subcommand parsers are made of the same class (add_subparsers uses type(self)).
    """

    def error(self, message):
        raise _UsageError(self.prog, message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
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
    from ..rank.survey import parse_ks
    try:
        return parse_ks(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _sep(text):
    if text in _SEPS or text.lower() in _SEPS:
        return _SEPS.get(text, _SEPS.get(text.lower()))
    raise argparse.ArgumentTypeError(f"{text!r} is not a separator; use ',', ';', tab or space")


def _parser():
    from .. import __version__
    parser = _Parser(
        prog="nmfkit", description="Nonnegative matrix factorization from the command line.",
        epilog="INPUT: .npy, .npz (scipy.sparse.save_npz, or one array), .mtx (MatrixMarket), "
               ".csv, .tsv or .txt (a header line, then rows; a first column of row labels "
               "when its header cell is empty or its cells are not numbers). Rows are "
               "samples, columns features. The README's 'Command line' section has the "
               "rules.")
    parser.add_argument("--version", action="version", version=f"nmfkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="factorize the built-in swimmer images and report")
    demo.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")

    def common(p):
        p.add_argument("input", metavar="INPUT", help="the data matrix file")
        head = p.add_mutually_exclusive_group()
        head.add_argument("--header", dest="header", action="store_true", default=None,
                          help="text INPUT: the first line names the columns")
        head.add_argument("--no-header", dest="header", action="store_false",
                          help="text INPUT: the first line is data, not column names "
                               "(default: the first line is a header, even when it is all "
                               "numbers, unless every number in it is written with a decimal "
                               "point or an exponent, as np.savetxt writes data)")
        p.add_argument("--sep", type=_sep, default=None,
                       help="text INPUT: the field separator: ',', ';', tab or space (runs of "
                            "whitespace); default: tab for .tsv, else read off the first line")
        p.add_argument("--loss", type=_loss, default="frobenius",
                       help="frobenius (default), kullback-leibler (kl), itakura-saito (is) "
                            "or a beta-divergence's beta, e.g. 1.5")
        p.add_argument("--solver", choices=_SOLVERS, default="auto",
                       help="default auto: ehals for frobenius, mu otherwise")
        p.add_argument("--max-iter", type=_positive_int, default=200, metavar="N",
                       help="iterations per run at most (default 200)")
        p.add_argument("--tol", type=_nonnegative_float, default=1e-4,
                       help="relative decrease that stops a run (default 1e-4; 0: run "
                            "--max-iter iterations, no convergence test)")
        p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
        bar = p.add_mutually_exclusive_group()
        bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                         help="always show a progress bar on stderr (default: only on a "
                              "terminal, once the work takes over half a second)")
        bar.add_argument("--no-progress", dest="progress", action="store_false",
                         help="never show a progress bar")

    fit = sub.add_parser(
        "fit", help="factorize INPUT ~= W H and save W and H",
        description="Factorize INPUT (m x n) ~= W (m x k) H (k x n), print the final "
                    "objective and write W and H: OUT.npz holds W, H, the row, column and "
                    "component labels, the objective, the iteration count, whether the fit "
                    "converged and the parameters; OUT.csv (or .tsv) writes two labelled "
                    "tables, OUT_W.csv and OUT_H.csv.")
    common(fit)
    fit.add_argument("-k", "--n-components", dest="k", type=_positive_int, required=True,
                     metavar="K", help="the rank k")
    fit.add_argument("--init", choices=_INITS, default=None,
                     help="default: nndsvda when k <= min(m, n), else random")
    fit.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                     help="starts; the best is kept (default 1)")
    fit.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="OUT.npz (one archive) or OUT.csv / OUT.tsv (OUT_W and OUT_H)")

    rank = sub.add_parser(
        "rank", help="survey ranks by consensus clustering (Brunet 2004)",
        description="Run --runs factorizations per rank from random starts and print, per "
                    "k, the cophenetic correlation and dispersion of the consensus over the "
                    "rows of INPUT, the rss, explained variance and objective of the best "
                    "run.")
    common(rank)
    rank.add_argument("--ks", type=_ks, required=True, metavar="KS",
                      help="ranks: 2-8, 2,4,6 or 2-4,8")
    rank.add_argument("--runs", type=_positive_int, default=30, metavar="N",
                      help="runs per rank (default 30)")
    rank.add_argument("-o", "--output", metavar="TABLE",
                      help="also write the table (k and every measure) to TABLE.csv, .tsv, "
                           ".json or .npz")
    rank.add_argument("--clusters", nargs=2, action="append", metavar=("K", "FILE"),
                      default=[],
                      help="write each row's cluster at rank K (one of --ks) to FILE (.csv, "
                           ".tsv, .json or .npz): the consensus cluster and the best run's "
                           "largest factor; may be repeated")
    rank.add_argument("--plot", metavar="OUT.png",
                      help="also draw the survey curves to this file (needs matplotlib)")
    return parser


def _show_bar(args):
    if args.progress is not None:
        return args.progress, 0.0
    return sys.stderr.isatty(), 0.5


def _one_line(exc):
    return " ".join(str(exc).split())


def _check_text_options(args):
    """--no-header and --sep are for text input; elsewhere they would be silently ignored."""
    from .files import TEXT_FORMATS
    if not args.input.lower().endswith(TEXT_FORMATS):
        used = [name for name, on in (("--header", args.header is True),
                                      ("--no-header", args.header is False),
                                      ("--sep", args.sep is not None)) if on]
        if used:
            raise _Failure(f"{' and '.join(used)} appl{'y' if len(used) > 1 else 'ies'} to "
                           f"text input ({', '.join(TEXT_FORMATS)}) only; {args.input} is not "
                           "a text table.")


def _outputs(path, what, args, taken):
    """The files that output path stands for, checked now: before the input is read."""
    from .files import OutputError, output_files
    try:
        paths = output_files(path, what)
    except OutputError as exc:
        raise _Failure(str(exc)) from None
    for p in paths:
        real = os.path.realpath(p)
        if os.path.exists(args.input) and real == os.path.realpath(args.input):
            raise _Failure(f"{p}: is the input file; writing there would overwrite the data. "
                           "Choose another output name.")
        if real in taken:
            raise _Failure(f"{p}: named for two outputs; give each its own file.")
        taken.add(real)
    return paths


def _read(args):
    from .files import InputError, read_matrix
    try:
        return read_matrix(args.input, allow_nan=True, header=args.header, sep=args.sep)
    except InputError as exc:
        raise _Failure(str(exc)) from None
    except MemoryError:
        raise _Failure(f"{args.input}: too large to load into memory.") from None


def _describe_input(args, data):
    import numpy as np
    X = data.X
    m, n = X.shape
    sparse = hasattr(X, "nnz")
    n_missing = 0 if sparse or X.dtype.kind != "f" else int(np.isnan(X).sum())
    line = (f"input     {args.input}: {m} x {n}"
            + (f", sparse with {X.nnz} stored entries" if sparse else "")
            + (f" ({data.description})" if data.description else "")
            + (f", {n_missing} missing (NaN) entr{'y' if n_missing == 1 else 'ies'} left out "
               "of the fit" if n_missing else ""))
    print(line)
    for note in data.notes:
        print(f"note: {note}")


def _params(args, **extra):
    from .. import __version__
    params = {"input": args.input, "loss": args.loss, "solver": args.solver,
              "max_iter": args.max_iter, "tol": args.tol, "seed": args.seed}
    if args.input.lower().endswith((".csv", ".tsv", ".txt")):
        params.update(header=args.header, sep=args.sep)
    params.update(extra)
    params["nmfkit_version"] = __version__
    return params


def _run_fit(args):
    import numpy as np

    from ..estimator.nmf import NMF

    from ..core.exceptions import ConvergenceWarning
    from .files import OutputError, write_factors
    from .progress import ProgressBar, fit_progress

    _check_text_options(args)
    outputs = _outputs(args.output, "factors", args, set())
    data = _read(args)
    X = data.X
    m, n = X.shape
    show, delay = _show_bar(args)
    bar = ProgressBar(args.max_iter * args.n_init, "fit", delay=delay) if show else None
    model = NMF(args.k, beta_loss=args.loss, solver=args.solver, init=args.init,
                max_iter=args.max_iter, tol=args.tol, n_init=args.n_init, random_state=args.seed,
                callback=fit_progress(bar, args.n_init) if bar else None)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            W = model.fit_transform(X)
        except (ValueError, TypeError) as exc:
            raise _Failure(f"{args.input}: cannot factorize with -k {args.k}: "
                           f"{_one_line(exc)}") from None
        except MemoryError as exc:
            raise _Failure(f"{args.input}: -k {args.k} on a {m} x {n} matrix needs more memory "
                           f"than there is ({_one_line(exc)}).") from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # warnings for the user (not DeprecationWarning: Python hides those by default too)
    notes = [w for w in caught if issubclass(w.category, UserWarning)
             and not issubclass(w.category, ConvergenceWarning)]
    H = model.components_
    # The objective of the final W, H (after the closing W solve), from scikit-learn's
    # reconstruction_err_ = sqrt(2 * objective).
    err = model.reconstruction_err_
    objective = 0.5 * err * err
    converged = args.tol > 0 and not stopped
    if args.tol == 0:
        status = f"ran {model.n_iter_} iterations (--tol 0: no convergence test)"
    elif stopped:
        status = (f"stopped at --max-iter {args.max_iter} before the relative decrease fell "
                  f"below --tol {args.tol:g}")
    else:
        status = f"converged after {model.n_iter_} iterations (--tol {args.tol:g})"
    params = _params(args, k=args.k, init=getattr(model, "_init_used", args.init),
                     n_init=args.n_init)
    try:
        write_factors(args.output, W, H, row_labels=data.row_labels,
                      column_labels=data.column_labels, objective=objective,
                      n_iter=model.n_iter_, converged=converged, params=params)
    except OutputError as exc:
        raise _Failure(str(exc)) from None
    if args.loss == "frobenius":
        norm = float(np.sqrt(X.multiply(X).sum())) if hasattr(X, "nnz") else float(
            np.sqrt(np.nansum(np.square(X, dtype=np.float64))))
        summary = (f"objective 0.5*||X - WH||_F^2 = {objective:.6g}; relative error "
                   f"||X - WH||_F / ||X||_F = {err / norm if norm > 0 else 0.0:.4g}")
    elif args.loss == "kullback-leibler":
        summary = f"objective KL(X | WH) = {objective:.6g}"
    else:
        summary = f"objective D_beta(X | WH) = {objective:.6g} ({args.loss})"
    _describe_input(args, data)
    print(f"fit       k={args.k}, {args.loss}, solver {args.solver}, {status}, {wall:.2f} s")
    for w in notes:
        print(f"note: {_one_line(w.message)}")
    print(summary)
    if len(outputs) == 1:
        print(f"wrote     {outputs[0]}: W {W.shape[0]} x {W.shape[1]}, H {H.shape[0]} x "
              f"{H.shape[1]}, labels, objective, n_iter, converged, params")
    else:
        rows = "the row labels" if data.row_labels is not None else "row numbers from 0"
        cols = ("the column labels" if data.column_labels is not None
                else "column numbers from 0")
        comps = f"nmf0..nmf{args.k - 1}"
        print(f"wrote     {outputs[0]}: W {W.shape[0]} x {W.shape[1]} (rows: {rows}; columns: "
              f"{comps})")
        print(f"wrote     {outputs[1]}: H {H.shape[0]} x {H.shape[1]} (rows: {comps}; columns: "
              f"{cols})")
    return 0


def _consensus_clusters(C, k):
    """Each row's cluster when the average-linkage tree of 1 - C is cut into k groups,
    numbered 1, 2, ... in the order the rows first appear."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    D = np.clip(1.0 - np.asarray(C, dtype=np.float64), 0.0, 1.0)
    np.fill_diagonal(D, 0.0)
    raw = fcluster(linkage(squareform(D, checks=False), method="average"), k, "maxclust")
    _, first = np.unique(raw, return_index=True)
    order = {raw[i]: rank + 1 for rank, i in enumerate(sorted(first))}
    return np.array([order[c] for c in raw])


def _check_plot(path, args, taken):
    try:
        import matplotlib  # noqa: F401 - first, so that a missing matplotlib is caught here
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise _Failure('--plot needs matplotlib: pip install "nmfkit[plot]" (or pip '
                       'install matplotlib).') from None
    from .files import OutputError, check_writable
    kinds = FigureCanvasBase.get_supported_filetypes()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in kinds:
        raise _Failure(f"{path}: --plot needs a picture file name ending in one of "
                       f"{', '.join('.' + e for e in sorted(kinds))}.")
    try:
        check_writable(path)
    except OutputError as exc:
        raise _Failure(str(exc)) from None
    real = os.path.realpath(path)
    if real in taken or (os.path.exists(args.input) and real == os.path.realpath(args.input)):
        raise _Failure(f"{path}: already the input or another output; give --plot its own "
                       "file.")
    taken.add(real)


def _run_rank(args):
    import numpy as np

    from .files import OutputError, write_table
    from .progress import ProgressBar
    from ..rank.survey import rank_survey

    _check_text_options(args)
    taken = set()
    table = _outputs(args.output, "table", args, taken)[0] if args.output else None
    clusters = []
    for k_text, path in args.clusters:
        try:
            k = int(k_text)
        except ValueError:
            raise _Failure(f"--clusters {k_text} {path}: {k_text!r} is not a rank; give one of "
                           f"--ks ({', '.join(map(str, args.ks))}).") from None
        if k not in args.ks:
            raise _Failure(f"--clusters {k_text} {path}: rank {k} is not surveyed; give one of "
                           f"--ks ({', '.join(map(str, args.ks))}).")
        clusters.append((k, _outputs(path, "table", args, taken)[0]))
    if args.plot:  # fail before the survey, not after it
        _check_plot(args.plot, args, taken)
    data = _read(args)
    X = data.X
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
            raise _Failure(f"{args.input}: cannot survey: {_one_line(exc)}") from None
        except MemoryError as exc:
            raise _Failure(f"{args.input}: the survey needs more memory than there is "
                           f"({_one_line(exc)}).") from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    _describe_input(args, data)
    print(f"rank survey of {args.input} ({X.shape[0]} x {X.shape[1]}): {args.runs} runs per k, "
          f"{args.loss}, {wall:.2f} s")
    print(survey.table())
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"note: {_one_line(w.message)}")
    params = _params(args, ks=list(args.ks), runs=args.runs, init="random")
    try:
        if table:
            write_table(table, {"k": survey.ks, "cophenetic": survey.cophenetic,
                                "dispersion": survey.dispersion, "rss": survey.rss,
                                "evar": survey.evar, "objective": survey.objective},
                        params=params)
            print(f"wrote {table}: k, cophenetic, dispersion, rss, evar, objective")
        for k, path in clusters:
            W = survey.factors[k][0]
            labels = (data.row_labels if data.row_labels is not None
                      else np.arange(X.shape[0]).astype(str))
            write_table(path, {"cluster": _consensus_clusters(survey.consensus[k], k),
                               "factor": np.array([f"nmf{j}" for j in np.argmax(W, axis=1)])},
                        row_labels=labels, params=dict(params, k=k))
            print(f"wrote {path}: the cluster of each of the {X.shape[0]} rows at k={k}")
    except OutputError as exc:
        raise _Failure(str(exc)) from None
    if args.plot:
        from ..apps.plots import plot_rank_survey
        try:
            plot_rank_survey(survey, args.plot)
        except (OSError, ValueError) as exc:
            raise _Failure(f"{args.plot}: cannot write the plot ({_one_line(exc)})") from None
        print(f"wrote {args.plot}")
    return 0


def main(argv=None):
    """Run the command line; returns the exit status (0, 1 for any error, 130 on Ctrl-C)."""
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"{exc.prog}: error: {_one_line(exc)} (see {exc.prog} --help)", file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help and --version print and exit 0
        return exc.code if isinstance(exc.code, int) else 0
    try:
        if args.command == "demo":
            from ..apps.demo import run_demo
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
