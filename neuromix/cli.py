"""Command line: ``neuromix demo`` and ``neuromix benchmark``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from neuromix.demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, progress=not args.no_progress)
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from neuromix.benchmarks.polymnist import run_benchmark

    run_benchmark(args.out, setting=args.setting, progress=not args.no_progress)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuromix", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="simulate five rats, fit MMVM and baselines, write a report"
    )
    demo.add_argument(
        "--out", default="neuromix-demo", help="report folder (default: %(default)s)"
    )
    demo.add_argument("--quick", action="store_true", help="a smaller, faster setting")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser("benchmark", help="the paper's image benchmarks")
    bench.add_argument("dataset", choices=["polymnist"])
    bench.add_argument("--out", required=True, help="output folder (resumable)")
    group = bench.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="setting", action="store_const", const="quick")
    group.add_argument(
        "--paper",
        dest="setting",
        action="store_const",
        const="paper",
        help="the paper's full setting (a GPU is needed)",
    )
    bench.set_defaults(setting="cpu")
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(func=_benchmark)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
