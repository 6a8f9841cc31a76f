"""Command line: ``neuromix demo`` and ``neuromix benchmark``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from neuromix.demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, progress=not args.no_progress)
    return 0


#: Options of each benchmark beyond --out, --quick, --epochs, --methods, --seeds.
_OWN_OPTIONS = {
    "polymnist": ("betas", "jobs"),
    "rats": ("datasets", "cebra_iterations", "precision"),
    "suite": ("datasets", "cebra_iterations"),
}


def _benchmark(args: argparse.Namespace) -> int:
    names = ("epochs", "methods", "seeds", *_OWN_OPTIONS[args.dataset])
    names = [name for name in names if name not in ("precision", "jobs")]  # not setting fields
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    progress = not args.no_progress
    if args.dataset == "suite":
        from neuromix.benchmarks.suite import run_suite

        overrides.pop("seeds", None)
        if args.seeds is not None:
            if len(args.seeds) != 1:
                raise SystemExit("neuromix benchmark suite: --seeds takes one seed")
            overrides["seed"] = args.seeds[0]
        if args.epochs is not None:
            overrides.pop("epochs")
            overrides["fit_params"] = {"epochs": args.epochs}
        setting = "quick" if args.setting == "quick" else "full"
        run_suite(args.out, setting=setting, progress=progress, report_only=args.report_only,
                  **overrides)  # fmt: skip
    elif args.dataset == "rats":
        from neuromix.benchmarks.alignment import run_benchmark
        from neuromix.benchmarks.alignment.settings import get_setting

        setting = "quick" if args.setting == "quick" else "full"
        if args.precision is not None:  # the neuromix fits' precision, arrays and recordings
            base = get_setting(setting)
            for owner in ("fit_params", "vae_params"):
                overrides[owner] = {**getattr(base, owner), "precision": args.precision}
        if args.report_only:
            overrides["report_only"] = True
        run_benchmark(args.out, setting=setting, progress=progress, **overrides)
    else:
        from neuromix.benchmarks.polymnist import run_benchmark

        jobs = args.jobs if args.jobs is not None else 1
        if args.report_only:
            overrides["report_only"] = True
        run_benchmark(args.out, setting=args.setting, progress=progress, jobs=jobs, **overrides)
    return 0


def _comma_list(convert, what: str):
    """An argparse type: ``"a,b,c"`` -> a tuple of ``convert`` of each item."""

    def parse(text: str) -> tuple:
        try:
            return tuple(convert(v.strip()) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {what} separated by commas, got {text!r}"
            ) from None

    return parse


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
    bench = sub.add_parser(
        "benchmark",
        help="the paper's image benchmark (polymnist); the shared space of the simulated "
        "rats against CEBRA and classical alignment (rats); the defaults on sixteen "
        "differently made datasets (suite)",
    )
    bench.add_argument("dataset", choices=["polymnist", "rats", "suite"])
    bench.add_argument("--out", required=True, help="output folder (resumable)")
    group = bench.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="setting", action="store_const", const="quick")
    group.add_argument(
        "--paper",
        dest="setting",
        action="store_const",
        const="paper",
        help="polymnist: the paper's full setting (a GPU is needed)",
    )
    group.add_argument(
        "--translated",
        dest="setting",
        action="store_const",
        const="cpu-translated",
        help="polymnist: the paper's translated digits at CPU compute (under-trained)",
    )
    bench.set_defaults(setting="cpu")
    bench.add_argument("--epochs", type=int, help="change the setting's epochs per fit")
    bench.add_argument(
        "--betas",
        type=_comma_list(float, "numbers"),
        help="polymnist: change the betas, e.g. 0.0625,0.5,4",
    )
    bench.add_argument(
        "--methods",
        type=_comma_list(str, "names"),
        help="change the methods, e.g. mmvm,avg (rats: mmvm-pairwise,cebra,srm,raw...)",
    )
    bench.add_argument(
        "--datasets",
        type=_comma_list(str, "names"),
        help="rats, suite: change the data, e.g. rats,multiview (suite: few-trials,rats-0)",
    )
    bench.add_argument(
        "--cebra-iterations", type=int, help="rats, suite: change CEBRA's training iterations"
    )
    bench.add_argument(
        "--seeds", type=_comma_list(int, "integers"), help="change the seeds, e.g. 0,1,2"
    )
    bench.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing; report the runs in --out (rats: naming the missing ones)",
    )
    bench.add_argument(
        "--precision",
        choices=["fp32", "bf16", "auto"],
        help="rats: the number format of the neuromix fits' networks (default fp32)",
    )
    bench.add_argument(
        "--jobs",
        type=int,
        help="polymnist: processes training fits side by side, sharing the threads "
        "(default 1; 2 uses two CPU cores best)",
    )
    bench.add_argument("--no-progress", action="store_true")
    bench.set_defaults(func=_benchmark)
    args = parser.parse_args(argv)
    if args.command == "benchmark":
        if args.dataset in ("rats", "suite") and args.setting in ("paper", "cpu-translated"):
            option = "--paper" if args.setting == "paper" else "--translated"
            bench.error(
                f"{option} is a polymnist setting; {args.dataset} has --quick and the default"
            )
        own = set(_OWN_OPTIONS[args.dataset])
        for dataset, names in _OWN_OPTIONS.items():
            for name in names:
                if name not in own and getattr(args, name) is not None:
                    option = "--" + name.replace("_", "-")
                    bench.error(f"{option} is an option of the {dataset} benchmark only")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
