"""The errors of reading a data file and writing a result: one line each, fit for a terminal."""

__all__ = ["InputError", "OutputError", "exception_text"]


class InputError(ValueError):
    """A data file that cannot be used; the message is one line, fit for a terminal."""


class OutputError(ValueError):
    """An output path that cannot be written; the message is one line, fit for a terminal."""


def exception_text(exc):
    """exc's message on one line (its type's name when it has none), to quote in an error."""
    return " ".join(str(exc).split()) or type(exc).__name__
