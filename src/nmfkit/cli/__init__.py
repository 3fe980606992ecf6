"""The command line: `nmfkit fit`, `nmfkit rank`, `nmfkit demo` (and reading and writing
their files)."""

from .main import main

__all__ = ["main"]
