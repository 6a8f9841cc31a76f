"""Command line: ``neuromix fit`` (NWB files in; model, latents and an HTML report out),
``neuromix report``, ``neuromix demo`` and ``neuromix benchmark``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

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


class _Stages:
    """One line per stage on stderr (``neuromix fit: <stage>``), timed."""

    def __init__(self, command: str):
        self.command, self.start = command, time.perf_counter()

    def __call__(self, text: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"neuromix {self.command} [{elapsed:6.0f} s]: {text}", file=sys.stderr, flush=True)


def _json_or_number(what: str, *, word: str | None = None):
    """An argparse type: a number (or ``word``), or a JSON object (per-subject values)."""

    def parse(text: str):
        if word is not None and text == word:
            return text
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return _json_object(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    return parse


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"expected a JSON object, got {text!r} ({error})"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _beta(text: str):
    if text == "auto":
        return text
    values = _comma_list(float, "numbers")(text)
    return values[0] if len(values) == 1 else list(values)


def _patience(text: str):
    if text == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


#: ``neuromix fit`` options: those of :func:`neuromix.fit` a user sets, with their
#: argparse type and help (the default is neuromix.fit's, shown by --help).
_FIT_OPTIONS = {
    "subject_dim": (str, "name of the subject dimension of every result, e.g. rat"),
    "label": (str, "trial label: the condition that pairs trials across subjects, and "
              "the one decoded"),
    "method": (str, "mmvm, or a baseline: independent, avg, poe, moe, mopoe"),
    "where": (_json_object, "keep only matching trials, JSON: "
              "'{\"correct\": true, \"odor\": [\"A\", \"B\"]}'"),
    "start": (_json_or_number("'auto', seconds, or JSON subject -> seconds", word="auto"),
              "window range start, s after trial onset: a number, 'auto' (each subject's "
              "response onset on its training trials), or JSON '{\"R1\": 0.25, ...}'"),
    "stop": (_json_or_number("seconds or JSON subject -> seconds"),
             "window range stop, s after onset (default: start + 250 ms)"),
    "bin_size": (float, "bin width, s"),
    "window": (float, "window length, s"),
    "step": (float, "step between windows, s"),
    "pairing": (str, "resample (every trial, pairs redrawn each epoch) or min"),
    "missing": (str, "a condition some subjects lack: raise, or drop it"),
    "test_size": (float, "fraction of each subject's trials held out"),
    "validation_size": (float, "fraction of training trials for early stopping and beta"),
    "latent_dim": (int, "dimension of the shared latent space"),
    "beta": (_beta, "weight of the rate term: 'auto' (chosen from the data), a number, "
             "or numbers to choose among, e.g. 1,4,16"),
    "likelihood": (str, "observation model of the counts: poisson or gaussian"),
    "link": (str, "Poisson link: 'auto' (chosen from the data), softplus or exp"),
    "hidden": (_comma_list(int, "integers"), "hidden widths of each encoder and decoder, "
               "e.g. 256,256"),
    "epochs": (int, "largest number of epochs"),
    "batch_size": (int, "windows per batch"),
    "lr": (float, "learning rate (Adam)"),
    "patience": (_patience, "epochs without improvement before stopping, or 'none'"),
    "min_epochs": (int, "epochs before early stopping may stop"),
    "criterion": (str, "validation criterion: decode, cross or elbo"),
    "n_init": (int, "initialisations per beta of the grid"),
    "seed": (int, "seed of the split, the pairing and the networks"),
    "device": (str, "auto, cpu or cuda"),
    "precision": (str, "fp32, bf16 or auto"),
}  # fmt: skip


def _fit(args: argparse.Namespace) -> int:
    import neuromix as nm
    from neuromix.estimators.neural import NeuralModel

    stage = _Stages("fit")
    out = Path(args.out)
    # options not given are not in args (argparse.SUPPRESS): neuromix.fit's defaults
    params = {name: getattr(args, name) for name in _FIT_OPTIONS if hasattr(args, name)}
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    if args.method_params is not None:
        params["method_params"] = args.method_params
    model = NeuralModel(**params, progress=sys.stderr.isatty() and not args.no_progress)
    model._check_params_early()  # every option, before reading a file
    model_path, report_path = out / "model.nmx", out / "report.html"
    if not args.overwrite:
        for path in (model_path, report_path):
            if path.exists():
                raise SystemExit(
                    f"neuromix fit: {path} exists; pass --overwrite to replace it, or "
                    "choose another --out"
                )
    if args.checkpoint:
        model.set_params(checkpoint=str(out / "checkpoint.nmx"))
    stage(f"reading {len(args.files)} NWB file{'s' * (len(args.files) > 1)}")
    recordings = nm.read_nwb(args.files)
    stage(
        f"fitting {model.method} on {len(recordings)} {model.subject_dim}s "
        f"({', '.join(recordings)})"
    )
    out.mkdir(parents=True, exist_ok=True)
    model.fit(recordings)
    link = "" if model.link_ is None else f", link {model.link_}"
    stage(
        f"fitted: beta {model.beta_:g}{link}, {len(model.history_)} epochs "
        f"(best {model.best_epoch_})"
    )
    model.save(model_path, overwrite=args.overwrite)
    stage(f"saved {model_path}")
    if args.in_place:
        written = model.to_nwb(overwrite=args.overwrite)
        stage(
            f"latents written into the files themselves: {', '.join(map(str, written.values()))}"
        )
    else:
        written = model.to_nwb(out_dir=out, overwrite=args.overwrite)
        stage(f"latents written into copies of the files in {out}")
    model.report(report_path, overwrite=args.overwrite, progress=lambda s: stage(f"report: {s}"))
    stage(f"report: {report_path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    import neuromix as nm

    stage = _Stages("report")
    folder = Path(args.run)
    path = folder / "model.nmx" if folder.is_dir() else folder
    if not path.exists():
        raise SystemExit(
            f"neuromix report: no model at {path} (give the folder `neuromix fit --out` "
            "wrote, or a .nmx file)"
        )
    out = Path(args.out) if args.out else path.with_name("report.html")
    if out.exists() and not args.overwrite:
        raise SystemExit(f"neuromix report: {out} exists; pass --overwrite to replace it")
    stage(f"loading {path}")
    model = nm.load(path)
    model.report(out, overwrite=args.overwrite, progress=lambda s: stage(f"report: {s}"))
    stage(f"report: {out}")
    return 0


def _add_fit_parser(sub) -> None:
    fit = sub.add_parser(
        "fit",
        help="fit a shared latent space to NWB files (one subject per file); save the "
        "model, write the latents into copies of the files and an HTML report",
        description="Read one NWB file per subject (subject ids from the files), fit "
        "neuromix.fit, and write into --out: model.nmx (neuromix.load), a copy of each "
        "file with its latents, and report.html. Every option is neuromix.fit's; the "
        "defaults are its defaults. Example: neuromix fit rat1.nwb rat2.nwb rat3.nwb "
        "--subject-dim rat --label odor --start auto --out run/",
    )
    fit.add_argument("files", nargs="+", help="NWB files, one per subject")
    fit.add_argument("--out", default="neuromix-run", help="output folder (default: %(default)s)")
    from neuromix.estimators.neural import NeuralModel

    defaults = NeuralModel().get_params()
    for name, (kind, text) in _FIT_OPTIONS.items():
        default = defaults[name]
        shown = "none" if default is None else default
        fit.add_argument(
            "--" + name.replace("_", "-"), type=kind, default=argparse.SUPPRESS,
            help=f"{text} (default: {shown})",
        )  # fmt: skip
    fit.add_argument(
        "--method-params", type=_json_object, help="options of the method, JSON object"
    )
    fit.add_argument(
        "--in-place",
        action="store_true",
        help="write the latents into the NWB files themselves (atomically) instead of "
        "copies in --out",
    )
    fit.add_argument(
        "--checkpoint",
        action="store_true",
        help="keep the training state in --out/checkpoint.nmx and resume from it (a "
        "fixed --beta only)",
    )
    fit.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    fit.add_argument("--no-progress", action="store_true", help="no progress bars")
    fit.set_defaults(func=_fit)
    report = sub.add_parser(
        "report",
        help="rebuild the HTML report of a saved model",
        description="Write report.html beside a model saved by `neuromix fit` (or any "
        ".nmx file of neuromix.fit).",
    )
    report.add_argument("run", help="the folder `neuromix fit --out` wrote, or a .nmx file")
    report.add_argument("--out", help="the report file (default: report.html beside it)")
    report.add_argument("--overwrite", action="store_true")
    report.set_defaults(func=_report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neuromix", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_fit_parser(sub)
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
    if args.command in ("fit", "report"):
        try:
            return args.func(args)
        except (ValueError, TypeError, FileNotFoundError, FileExistsError) as error:
            print(f"neuromix {args.command}: error: {error}", file=sys.stderr)
            return 2
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
