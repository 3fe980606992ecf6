"""How a command fails: one line on stderr and exit status 1 (main() reports both errors)."""

__all__ = ["CommandError", "UsageError", "one_line"]


class CommandError(Exception):
    """An error to report as one line on stderr, exit status 1."""


class UsageError(Exception):
    """A bad command line (argparse's error), reported as one line, exit status 1."""

    def __init__(self, prog, message):
        super().__init__(message)
        self.prog = prog


def one_line(message):
    """message (an exception, a warning or text) as one line: runs of whitespace, line ends
    included, become one space."""
    return " ".join(str(message).split())
