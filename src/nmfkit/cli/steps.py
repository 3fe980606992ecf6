"""The steps `nmfkit fit` and `nmfkit rank` share: check the text options and the output
paths before any work, read the input, choose the progress bar, report the input and record
the parameters. A problem raises CommandError with its one-line message."""

import os
import sys

import numpy as np

from .. import __version__
from . import files
from .errors import CommandError
from .files import TEXT_FORMATS, InputError, OutputError
from .progress import ProgressBar

__all__ = ["check_text_options", "claim_outputs", "read_input", "progress_bar",
           "describe_input", "run_params"]


def check_text_options(args):
    """--no-header and --sep are for text input; elsewhere they would be silently ignored."""
    if not args.input.lower().endswith(TEXT_FORMATS):
        used = [name for name, on in (("--header", args.header is True),
                                      ("--no-header", args.header is False),
                                      ("--sep", args.sep is not None)) if on]
        if used:
            raise CommandError(f"{' and '.join(used)} appl{'y' if len(used) > 1 else 'ies'} "
                               f"to text input ({', '.join(TEXT_FORMATS)}) only; {args.input} "
                               "is not a text table.")


def claim_outputs(path, what, args, taken):
    """The files that output path stands for (files.output_files; what is "factors" or
    "table"), checked now: before the input is read. None of them may be the input or a file
    already in taken, the set of real paths claimed by the other outputs; they join it."""
    try:
        paths = files.output_files(path, what)
    except OutputError as exc:
        raise CommandError(str(exc)) from None
    for p in paths:
        real = os.path.realpath(p)
        if os.path.exists(args.input) and real == os.path.realpath(args.input):
            raise CommandError(f"{p}: is the input file; writing there would overwrite the "
                               "data. Choose another output name.")
        if real in taken:
            raise CommandError(f"{p}: named for two outputs; give each its own file.")
        taken.add(real)
    return paths


def read_input(args):
    """The DataFile of args.input (missing entries of a dense matrix allowed, as NaN)."""
    try:
        return files.read_matrix(args.input, allow_nan=True, header=args.header, sep=args.sep)
    except InputError as exc:
        raise CommandError(str(exc)) from None
    except MemoryError:
        raise CommandError(f"{args.input}: too large to load into memory.") from None


def progress_bar(args, total, label):
    """A ProgressBar of total steps on stderr, or None: --progress shows it at once,
    --no-progress never; by default it is shown on a terminal once the work takes over
    half a second."""
    if args.progress is not None:
        show, delay = args.progress, 0.0
    else:
        show, delay = sys.stderr.isatty(), 0.5
    return ProgressBar(total, label, delay=delay) if show else None


def describe_input(args, data):
    """Print the input line (shape, sparsity, how a text file was read, missing entries) and
    the reader's notes."""
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


def run_params(args, **extra):
    """The parameters of the run, as the outputs record them: the input and the fit's
    settings (with how a text input was read), then extra, then the nmfkit version."""
    params = {"input": args.input, "loss": args.loss, "solver": args.solver,
              "max_iter": args.max_iter, "tol": args.tol, "seed": args.seed}
    if args.input.lower().endswith(TEXT_FORMATS):
        params.update(header=args.header, sep=args.sep)
    params.update(extra)
    params["nmfkit_version"] = __version__
    return params
