"""The nmfkit command line (also `python -m nmfkit`).

  nmfkit fit INPUT -k K [--loss L] [--init I] [--max-iter N] -o OUT.npz|OUT.csv|OUT.tsv
  nmfkit rank INPUT --ks 2-8 [--runs N] [-o TABLE] [--clusters K FILE] [--plot OUT.png]
  nmfkit demo
  nmfkit --version

INPUT is .npy, .npz (scipy.sparse.save_npz or one array), MatrixMarket .mtx or a text table
(.csv/.tsv/.txt, read as nmfkit.cli.files.read_text says); missing entries of a dense INPUT
(NaN; in a text table NA, an empty field, ...) are left out of the fit. Every bad argument and
every file that cannot be used ends the command with exit status 1 and one line on stderr;
output paths are checked before the work starts.

The modules: parser (the arguments), fit and rank (one per command; steps holds what they
share), files (reading data files, writing results), progress (the progress bar), errors.
"""

import sys

from ..apps.demo import run_demo
from .errors import CommandError, UsageError, one_line
from .fit import run_fit
from .parser import build_parser
from .rank import run_rank

__all__ = ["main"]


def _run_demo(args):
    return run_demo(seed=args.seed)


# Each command's name, to the function that runs it with the parsed arguments and returns the
# exit status.
COMMANDS = {"demo": _run_demo, "fit": run_fit, "rank": run_rank}


def main(argv=None):
    """Run the command line; returns the exit status (0, 1 for any error, 130 on Ctrl-C)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"{exc.prog}: error: {one_line(exc)} (see {exc.prog} --help)", file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help and --version print and exit 0
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return COMMANDS[args.command](args)
    except CommandError as exc:
        print(f"nmfkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nmfkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
