"""Command line: ``python -m softmaxce {demo,version}``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m softmaxce",
        description="softmaxce: exact and fast softmax cross-entropy.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train logistic regression on the scikit-learn digits",
        description=(
            "Train multinomial logistic regression on scikit-learn's 8x8 digits "
            "with softmaxce computing the loss and its gradient, then print the "
            "train and test accuracy. Exits with status 1 if the test accuracy "
            "is below 0.95."
        ),
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=500,
        help="number of full-batch gradient steps (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the train/test split and initial weights (default: %(default)s)",
    )
    demo.add_argument(
        "--lr",
        type=_positive_float,
        default=0.5,
        help="learning rate of gradient descent (default: %(default)s)",
    )

    commands.add_parser(
        "version", help="print the package version and the loaded library's path"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in `argv` and return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "version":
        from . import __version__, _lib

        print(f"softmaxce {__version__} ({_lib.LIBRARY_PATH})")
        return 0

    from . import _demo

    return _demo.run(epochs=args.epochs, seed=args.seed, lr=args.lr)


if __name__ == "__main__":
    sys.exit(main())
