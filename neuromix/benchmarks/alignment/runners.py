"""Data, one run per (dataset, seed, method), and the resumable benchmark."""

from __future__ import annotations

import importlib
import inspect
import json
import time

import numpy as np

from neuromix.benchmarks._settings import run_setting
from neuromix.benchmarks.alignment.baselines import (
    SubjectData,
    cebra_latents,
    pca_procrustes,
    shared_response_model,
)
from neuromix.benchmarks.alignment.scoring import score
from neuromix.benchmarks.alignment.settings import (
    AGGREGATED,
    SELECTION_FIELDS,
    VAE_METHODS,
    AlignmentSetting,
    get_setting,
)

__all__ = ["cebra_available", "prepare_data", "run_benchmark", "run_one"]

_NOT_SETTINGS = ("device", "progress", "checkpoint", "checkpoint_every")


def cebra_available() -> str | None:
    """None when ``import cebra`` works, else why it does not."""
    try:
        importlib.import_module("cebra")
    except Exception as error:  # ImportError, or a broken install
        return f"{type(error).__name__}: {error}"
    return None


def _accepts(cls, name: str) -> bool:
    return name in inspect.signature(cls).parameters


def _plain_params(estimator) -> dict:
    params = estimator.get_params(deep=False)
    return json.loads(
        json.dumps({k: v for k, v in params.items() if k not in _NOT_SETTINGS}, default=str)
    )


def _vae_kwargs(name: str, cls) -> dict:
    """method, method_params (merged into the default's) and, for the aggregation
    methods, the paper's ``rate_scale="subjects"`` when the estimator has it."""
    method, extra = VAE_METHODS[name]
    kwargs = {"method": method}
    if extra:
        default = cls().get_params().get("method_params") or {}
        kwargs["method_params"] = {**default, **extra}
    if method in AGGREGATED and _accepts(cls, "rate_scale"):
        kwargs["rate_scale"] = "subjects"
    return kwargs


def _fit_params(setting: AlignmentSetting, base: dict) -> dict:
    params = dict(base)
    if setting.epochs is not None:
        params["epochs"] = setting.epochs
    return params


# --------------------------------------------------------------------------- data
def prepare_data(dataset: str, seed: int, setting: AlignmentSetting) -> dict:
    """The data of one (dataset, seed): what every method of it is fitted on.

    ``"rats"``: the simulated recordings, and their windows and train/test split as
    :func:`neuromix.fit` makes them (:meth:`~neuromix.NeuralModel.windows` of a
    one-epoch fit with the same seed and windowing parameters: the split and windows
    depend on those only). ``"multiview"``: the views, with a held-out fraction of the
    samples (stratified by class) shared by every view.

    Returns
    -------
    dict with ``data`` (subject -> SubjectData), ``latent_dim`` (the neuromix latent
    size, given to the peers) and ``recordings`` (rats) or ``views`` (multiview).
    """
    from neuromix import datasets as nm_datasets
    from neuromix import estimators as nm

    if dataset == "rats":
        rec = nm_datasets.simulate_odor_sequence(seed=seed, **setting.rats)
        params = {**_fit_params(setting, setting.fit_params), "epochs": 1}
        params.pop("method_params", None)
        model = nm.fit(
            rec, subject_dim="rat", method="independent", seed=seed, progress=False, **params
        )
        windows = model.windows()
        data = {}
        for s in model.subjects_:
            w = windows.sel(rat=s).dropna("feature", how="all")  # the padding of windows()
            data[s] = SubjectData(
                X=np.ascontiguousarray(w.values),
                labels=w[model.label].values,
                trials=w["trial"].values,
                window=w["window"].values.astype(int),
                test=w["split"].values == "test",
            )
        return {"data": data, "latent_dim": int(model.latent_dim), "recordings": rec}
    if dataset == "multiview":
        from sklearn.model_selection import train_test_split

        views, truth = nm_datasets.make_multiview(seed=seed, **setting.multiview)
        labels = np.asarray(truth["labels"])
        n = len(labels)
        size = setting.multiview_test_size
        size = nm.NeuralModel().test_size if size is None else size
        _, held = train_test_split(
            np.arange(n), test_size=size, stratify=labels, random_state=seed
        )
        test = np.zeros(n, dtype=bool)
        test[held] = True
        data = {
            s: SubjectData(
                X=x, labels=labels, trials=np.arange(n), window=np.zeros(n, int), test=test
            )
            for s, x in views.items()
        }
        latent_dim = nm.MultimodalVAE(**setting.vae_params).latent_dim
        return {"data": data, "latent_dim": int(latent_dim), "views": views}
    raise ValueError(f"unknown dataset {dataset!r}")


# --------------------------------------------------------------------------- one run
def _neuromix_rats(name, seed, setting, prepared):
    from neuromix import estimators as nm

    kwargs = {**_fit_params(setting, setting.fit_params), **_vae_kwargs(name, nm.NeuralModel)}
    start = time.perf_counter()
    model = nm.fit(prepared["recordings"], subject_dim="rat", seed=seed, progress=False, **kwargs)
    seconds = time.perf_counter() - start
    lat = model.latents()
    latents = {}
    for s, d in prepared["data"].items():
        part = lat.sel(rat=s)
        same = (
            np.array_equal(part["trial"].values, d.trials)
            and np.array_equal(part["window"].values, d.window)
            and np.array_equal(part["split"].values == "test", d.test)
        )
        if not same:
            raise RuntimeError(
                f"{name}, rat {s}: the latents' trials or split differ from the "
                "windows the peers get"
            )
        latents[s] = part.values
    info = {"params": _plain_params(model), "fit_seconds": seconds}
    # cross-subject prediction: the mean over ordered pairs of rats, in bits per spike
    # and as a fraction of the target's PSTH ceiling (the matrix is kept too)
    prediction = model.cross_prediction(n_boot=0)
    info["bits_per_spike"] = prediction.attrs["mean_bits_per_spike"]
    info["bps_fraction"] = prediction.attrs["mean_fraction"]
    info["bits_per_spike_matrix"] = prediction.bits_per_spike.values.tolist()
    history = model.history_
    if len(history) and "loss" in history:
        info["final_loss"] = float(history["loss"].iloc[-1])
    return latents, info


def _neuromix_multiview(name, seed, setting, prepared):
    from neuromix import estimators as nm

    params = {**_fit_params(setting, setting.vae_params), **_vae_kwargs(name, nm.MultimodalVAE)}
    vae = nm.MultimodalVAE(seed=seed, progress=False, **params)
    data = prepared["data"]
    start = time.perf_counter()
    vae.fit({s: d.X[~d.test] for s, d in data.items()})
    seconds = time.perf_counter() - start
    latents = vae.transform({s: d.X for s, d in data.items()})
    return latents, {"params": _plain_params(vae), "fit_seconds": seconds}


def _cebra_options(setting: AlignmentSetting) -> dict:
    return {
        "model_architecture": setting.cebra_architecture,
        "batch_size": setting.cebra_batch_size,
        "learning_rate": setting.cebra_lr,
        "max_iterations": setting.cebra_iterations,
        "temperature": setting.cebra_temperature,
        "distance": setting.cebra_distance,
        "num_hidden_units": setting.cebra_hidden,
    }


def run_one(dataset: str, seed: int, method: str, *, setting, prepared) -> dict:
    """Fit one method on one (dataset, seed) and score it (see :func:`.scoring.score`)."""
    data, k = prepared["data"], prepared["latent_dim"]
    within_only = False
    if method in VAE_METHODS:
        runner = _neuromix_rats if dataset == "rats" else _neuromix_multiview
        latents, info = runner(method, seed, setting, prepared)
    elif method == "cebra":
        latents, info = cebra_latents(data, k, seed=seed, **_cebra_options(setting))
    elif method in ("procrustes", "srm"):
        fit = pca_procrustes if method == "procrustes" else shared_response_model
        start = time.perf_counter()
        latents, info = fit(data, k)
        info["fit_seconds"] = time.perf_counter() - start
    elif method == "raw":
        latents = {s: d.X for s, d in data.items()}
        info, within_only = {"fit_seconds": np.nan}, True
    else:
        raise ValueError(f"unknown method {method!r}")
    start = time.perf_counter()
    metrics = score(
        latents,
        data,
        seed=seed,
        within_only=within_only,
        n_boot=setting.n_boot,
        n_shuffles=setting.n_shuffles,
    )
    metrics["score_seconds"] = time.perf_counter() - start
    metrics["latent_dim"] = int(next(iter(latents.values())).shape[1])
    metrics.update(info)
    return metrics


# --------------------------------------------------------------------------- benchmark
def run_benchmark(
    out, setting="full", *, progress: bool = True, report_only: bool = False, **overrides
):
    """Run (or resume) the alignment benchmark and write its report.

    Parameters
    ----------
    out : str or path-like
        Output folder: ``runs/<key>.json`` per (dataset, seed, method), written as each
        finishes (a rerun skips them), then ``table.csv``, ``summary.csv``,
        ``transfer_rats.png``, ``summary.png`` and the report ``alignment.md``.
    setting : {"full", "quick"} or AlignmentSetting
    progress : bool
        Progress bar over the runs.
    report_only : bool, default=False
        Run nothing: write the report of the runs already in ``out``, naming in it the
        runs of the setting that are missing.
    **overrides
        Fields of :class:`~.settings.AlignmentSetting` (``methods``, ``seeds``,
        ``epochs``, ``datasets``, ``cebra_iterations``...).

    Returns
    -------
    pandas.DataFrame
        One row per finished run of the setting.
    """
    from neuromix.benchmarks.alignment.report import write_report

    setting = get_setting(setting, **overrides)
    return run_setting(
        out,
        setting,
        key=("dataset", "seed"),
        prepare=lambda dataset, seed: prepare_data(dataset, seed, setting),
        run=lambda dataset, seed, method, prepared: run_one(
            dataset, seed, method, setting=setting, prepared=prepared
        ),
        write_report=write_report,
        selection_fields=SELECTION_FIELDS,
        cebra_check=cebra_available,
        progress=progress,
        report_only=report_only,
    )
