"""The command line's grammar: the argparse parser of `nmfkit` and its commands, and the
types that check each argument's value (a bad one is a UsageError: one line, exit status 1)."""

import argparse

from .. import __version__
from ..core.params import LOSSES, SOLVERS
from ..rank.ks import parse_ks
from .errors import UsageError

__all__ = ["build_parser"]

# The loss names and their short forms, each to its name in the estimator.
LOSS_NAMES = {**{name: name for name in LOSSES},
              "fro": "frobenius", "kl": "kullback-leibler", "is": "itakura-saito"}
# The starts `nmfkit fit --init` offers.
INITS = ("random", "nndsvd", "nndsvda", "nndsvdar")
# The ways to name a separator in --sep, each to the separator.
SEPARATOR_NAMES = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "tab": "\t",
                   "\\t": "\t", "\t": "\t", "space": " ", "whitespace": " ", " ": " "}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1 (not a usage block and 2).

    Subcommand parsers are made of the same class (add_subparsers uses type(self)).
    """

    def error(self, message):
        raise UsageError(self.prog, message)


def positive_int(text):
    """An integer >= 1 (-k, --max-iter, --n-init, --runs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def seed(text):
    """A random seed: an integer in [0, 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def nonnegative_float(text):
    """A number >= 0 (--tol)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def loss(text):
    """A loss's name (or short form), or a finite beta: the name when beta is 2, 1 or 0."""
    if text.lower() in LOSS_NAMES:
        return LOSS_NAMES[text.lower()]
    try:
        beta = float(text)
    except ValueError:
        beta = float("nan")
    if not beta == beta or beta in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a loss; use frobenius (fro), kullback-leibler (kl), "
            "itakura-saito (is) or a beta such as 1.5")
    return {value: name for name, value in LOSSES.items()}.get(beta, beta)


def ranks(text):
    """Ranks to survey: '2-8', '2,4,6' or '2-4,8' (rank.ks.parse_ks)."""
    try:
        return parse_ks(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def separator(text):
    """A text table's field separator, by its character or name (case does not matter)."""
    if text in SEPARATOR_NAMES or text.lower() in SEPARATOR_NAMES:
        return SEPARATOR_NAMES.get(text, SEPARATOR_NAMES.get(text.lower()))
    raise argparse.ArgumentTypeError(f"{text!r} is not a separator; use ',', ';', tab or space")


def build_parser():
    """The parser of the whole command line: --version and the commands demo, fit and rank."""
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
    demo.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")

    fit = sub.add_parser(
        "fit", help="factorize INPUT ~= W H and save W and H",
        description="Factorize INPUT (m x n) ~= W (m x k) H (k x n), print the final "
                    "objective and write W and H: OUT.npz holds W, H, the row, column and "
                    "component labels, the objective, the iteration count, whether the fit "
                    "converged and the parameters; OUT.csv (or .tsv) writes two labelled "
                    "tables, OUT_W.csv and OUT_H.csv.")
    _add_input_and_fit_options(fit)
    fit.add_argument("-k", "--n-components", dest="k", type=positive_int, required=True,
                     metavar="K", help="the rank k")
    fit.add_argument("--init", choices=INITS, default=None,
                     help="default: nndsvda when k <= min(m, n), else random")
    fit.add_argument("--n-init", type=positive_int, default=1, metavar="N",
                     help="starts; the best is kept (default 1)")
    fit.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="OUT.npz (one archive) or OUT.csv / OUT.tsv (OUT_W and OUT_H)")
    constraint = fit.add_mutually_exclusive_group()
    constraint.add_argument("--orthogonal", choices=("W", "H"), default=None,
                            help="orthogonal NMF: W's columns (each row in one cluster) or H's "
                                 "rows (each column in one cluster); frobenius loss")
    constraint.add_argument("--sparseness", nargs=2, metavar=("FACTOR", "S"), default=None,
                            type=str, help="keep every column of W (FACTOR W) or row of H "
                                           "(FACTOR H) at Hoyer sparseness S in [0, 1]")
    fit.add_argument("--features", metavar="FILE",
                     help="write each column's Kim & Park score and the component it defines "
                          "(.csv, .tsv, .json or .npz)")
    fit.add_argument("--clusters", metavar="FILE",
                     help="write each row's cluster (its largest component) and silhouette "
                          "(.csv, .tsv, .json or .npz)")

    rank = sub.add_parser(
        "rank", help="survey ranks by consensus clustering (Brunet 2004)",
        description="Run --runs factorizations per rank from random starts and print, per "
                    "k, the cophenetic correlation and dispersion of the consensus over the "
                    "rows of INPUT, the rss, explained variance and objective of the best "
                    "run.")
    _add_input_and_fit_options(rank)
    rank.add_argument("--ks", type=ranks, required=True, metavar="KS",
                      help="ranks: 2-8, 2,4,6 or 2-4,8")
    rank.add_argument("--runs", type=positive_int, default=30, metavar="N",
                      help="runs per rank (default 30)")
    rank.add_argument("-o", "--output", metavar="TABLE",
                      help="also write the table (k and every measure) to TABLE.csv, .tsv, "
                           ".json or .npz")
    rank.add_argument("--clusters", nargs=2, action="append", metavar=("K", "FILE"),
                      default=[],
                      help="write each row's cluster at rank K (one of --ks) to FILE (.csv, "
                           ".tsv, .json or .npz): the consensus cluster and the best run's "
                           "largest factor; may be repeated")
    rank.add_argument("--features", nargs=2, action="append", metavar=("K", "FILE"),
                      default=[],
                      help="write each column's Kim & Park score and the component it defines "
                           "in the best run at rank K; may be repeated")
    rank.add_argument("--randomized", action="store_true",
                      help="also run the survey on a copy of INPUT with each column shuffled "
                           "(the rank against chance, Frigyesi & Hoglund 2008); doubles the "
                           "work")
    rank.add_argument("--plot", metavar="OUT.png",
                      help="also draw the survey curves to this file (needs matplotlib)")
    return parser


def _add_input_and_fit_options(p):
    """The arguments fit and rank share: INPUT and how to read it, the fit's settings, the
    progress bar."""
    p.add_argument("input", metavar="INPUT", help="the data matrix file")
    head = p.add_mutually_exclusive_group()
    head.add_argument("--header", dest="header", action="store_true", default=None,
                      help="text INPUT: the first line names the columns")
    head.add_argument("--no-header", dest="header", action="store_false",
                      help="text INPUT: the first line is data, not column names "
                           "(default: the first line is a header, even when it is all "
                           "numbers, unless every number in it is written with a decimal "
                           "point or an exponent, as np.savetxt writes data)")
    p.add_argument("--sep", type=separator, default=None,
                   help="text INPUT: the field separator: ',', ';', tab or space (runs of "
                        "whitespace); default: tab for .tsv, else read off the first line")
    p.add_argument("--loss", type=loss, default="frobenius",
                   help="frobenius (default), kullback-leibler (kl), itakura-saito (is) "
                        "or a beta-divergence's beta, e.g. 1.5")
    p.add_argument("--solver", choices=SOLVERS, default="auto",
                   help="default auto: ehals for frobenius, mu otherwise")
    p.add_argument("--max-iter", type=positive_int, default=200, metavar="N",
                   help="iterations per run at most (default 200)")
    p.add_argument("--tol", type=nonnegative_float, default=1e-4,
                   help="relative decrease that stops a run (default 1e-4; 0: run "
                        "--max-iter iterations, no convergence test)")
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar on stderr (default: only on a "
                          "terminal, once the work takes over half a second)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show a progress bar")

