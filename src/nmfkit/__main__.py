"""The nmfkit command line: `nmfkit demo` (also `python -m nmfkit demo`)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nmfkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="factorize the built-in swimmer images and report")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo
        return run_demo(seed=args.seed)
    return 1


if __name__ == "__main__":
    sys.exit(main())
