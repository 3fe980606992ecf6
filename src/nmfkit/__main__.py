"""`python -m nmfkit`: the command line (nmfkit.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
