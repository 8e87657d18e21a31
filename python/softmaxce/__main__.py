"""Command line: ``python -m softmaxce {demo,bench,version}``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


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

    _add_bench_parser(commands)

    commands.add_parser(
        "version", help="print the package version and the loaded library's path"
    )
    return parser


def _add_bench_parser(commands: argparse._SubParsersAction) -> None:
    from ._bench import CONTENDERS, DEFAULT_SHAPES

    bench = commands.add_parser(
        "bench",
        help="time fused cross-entropy forward+backward against other libraries",
        description=(
            "Time the mean cross-entropy of int64 labels and its gradient with "
            "respect to the logits, for softmaxce and every installed contender, "
            "at each thread count. Each contender runs in its own subprocess. "
            "Prints the median, min and max time per call, the throughput, each "
            "contender's time divided by softmaxce's, and softmaxce's time "
            "divided by that of copying the logits (np.copyto)."
        ),
    )
    bench.add_argument(
        "--shapes",
        metavar="LIST",
        help=(
            "comma-separated DTYPE:NxC problems, DTYPE f32 or f64 "
            f"(default: {','.join(DEFAULT_SHAPES)})"
        ),
    )
    bench.add_argument(
        "--threads",
        metavar="LIST",
        help="comma-separated thread counts (default: 1 and the number of CPUs)",
    )
    bench.add_argument(
        "--contenders",
        metavar="LIST",
        help=(
            f"comma-separated subset of {','.join(CONTENDERS)} "
            "(default: all that are installed)"
        ),
    )
    bench.add_argument(
        "--repeats",
        type=_positive_int,
        help=(
            "minimum timed repeats per measurement; cheap ones repeat until "
            "about 30 x min-time has passed, up to 100 repeats (default: 10, or "
            "3 with --quick)"
        ),
    )
    bench.add_argument(
        "--min-time",
        type=_positive_float,
        metavar="SECONDS",
        help=(
            "shortest duration of one timed repeat; small problems are called "
            "repeatedly to reach it (default: 0.05, or 0.01 with --quick)"
        ),
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="fewer and shorter repeats, for a rough result",
    )
    bench.add_argument(
        "--json", type=Path, metavar="PATH", help="also write the results as JSON"
    )
    bench.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="also plot throughput against C to a PNG file (needs matplotlib)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in `argv` and return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "version":
        from . import __version__, _lib

        print(f"softmaxce {__version__} ({_lib.LIBRARY_PATH})")
        return 0

    if args.command == "bench":
        from . import _bench

        try:
            options = _bench.make_options(
                args.shapes,
                args.threads,
                args.contenders,
                args.repeats,
                args.min_time,
                args.quick,
            )
        except ValueError as exc:
            print(f"python -m softmaxce bench: error: {exc}", file=sys.stderr)
            return 2
        return _bench.run(options, args.json, args.plot)

    from . import _demo

    return _demo.run(epochs=args.epochs, seed=args.seed, lr=args.lr)


if __name__ == "__main__":
    sys.exit(main())
