"""Data, one run per (dataset, method), and the resumable suite."""

from __future__ import annotations

import time

import numpy as np

from neuromix.benchmarks._settings import run_setting
from neuromix.benchmarks.alignment.baselines import (
    SubjectData,
    cebra_latents,
    pca_procrustes,
    shared_response_model,
)
from neuromix.benchmarks.alignment.runners import cebra_available
from neuromix.benchmarks.alignment.scoring import score
from neuromix.benchmarks.suite.datasets import SuiteDataset, get_dataset, make_dataset
from neuromix.benchmarks.suite.reference import minimal_mmvm
from neuromix.benchmarks.suite.settings import (
    PREVIOUS_DEFAULTS,
    REFERENCES,
    SELECTION_FIELDS,
    VAE_METHODS,
    SuiteSetting,
    get_setting,
)

__all__ = ["prepare_data", "run_one", "run_suite"]


def prepare_data(name: str | SuiteDataset, setting: SuiteSetting) -> dict:
    """The data of one dataset: what every method of it is fitted on and scored with.

    ``name`` is a dataset of the suite, or a :class:`~.datasets.SuiteDataset` made
    elsewhere (:func:`~.datasets.draw_task`'s draws).

    Recordings (tasks and rats) are windowed and split as :func:`neuromix.fit` does with
    the dataset's parameters and the setting's seed (the windows of a one-epoch fit: the
    split and windows depend on those only); the multiview data get a held-out fraction
    (stratified by class) of :func:`neuromix.fit`'s default ``test_size``.

    Returns
    -------
    dict with ``data`` (subject -> SubjectData), ``latent_dim`` (the neuromix default,
    given to the peers), ``kind``, and ``recordings`` plus ``fit_params`` or ``views``.
    """
    from neuromix import estimators as nm

    dataset = name if isinstance(name, SuiteDataset) else get_dataset(name)
    raw, params = make_dataset(dataset, setting.data_params.get(dataset.name))
    if dataset.kind == "multiview":
        from sklearn.model_selection import train_test_split

        labels = params["labels"]
        n = len(labels)
        _, held = train_test_split(
            np.arange(n), test_size=nm.NeuralModel().test_size, stratify=labels,
            random_state=setting.seed,
        )  # fmt: skip
        test = np.zeros(n, dtype=bool)
        test[held] = True
        data = {
            s: SubjectData(
                X=x, labels=labels, trials=np.arange(n), window=np.zeros(n, int), test=test
            )
            for s, x in raw.items()
        }
        latent_dim = nm.MultimodalVAE().latent_dim
        return {"data": data, "latent_dim": latent_dim, "kind": "arrays", "views": raw}
    model = nm.fit(
        raw, method="independent", seed=setting.seed, epochs=1, progress=False,
        validation_size=0.0, patience=None, beta=1.0, **params,
    )  # fmt: skip
    windows = model.windows()
    dim = model.subject_dim
    data = {}
    for s in model.subjects_:
        w = windows.sel({dim: s}).dropna("feature", how="all")  # the padding of windows()
        data[s] = SubjectData(
            X=np.ascontiguousarray(w.values),
            labels=w[model.label].values,
            trials=w["trial"].values,
            window=w["window"].values.astype(int),
            test=w["split"].values == "test",
        )
    return {
        "data": data,
        "latent_dim": int(model.latent_dim),
        "kind": "recordings",
        "recordings": raw,
        "fit_params": params,
    }


def _neuromix(method: str, setting: SuiteSetting, prepared: dict):
    """Fit neuromix (its defaults, or the previous defaults); latents of every row, and
    the scores-to-be of each beta a ``beta="auto"`` fit trained (its candidates)."""
    from neuromix import estimators as nm

    kind = prepared["kind"]
    if method == "mmvm-previous":  # the setting changes only its epochs (quick setting)
        kwargs = {"method": "mmvm", **PREVIOUS_DEFAULTS[kind]}
        if "epochs" in setting.fit_params:
            kwargs["epochs"] = setting.fit_params["epochs"]
    else:
        kwargs = {**VAE_METHODS[method], **setting.fit_params}
    data = prepared["data"]
    start = time.perf_counter()
    if kind == "arrays":
        model = nm.MultimodalVAE(seed=setting.seed, progress=False, **kwargs)
        first = next(iter(data.values()))  # the views share their rows and labels
        model.fit({s: d.X[~d.test] for s, d in data.items()}, first.labels[~first.test])
        seconds = time.perf_counter() - start
        vae = model

        def latents():
            return model.transform({s: d.X for s, d in data.items()})
    else:
        model = nm.fit(
            prepared["recordings"], seed=setting.seed, progress=False,
            **prepared["fit_params"], **kwargs,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        vae = model.vae_

        def latents():
            lat = model.latents()
            out = {}
            for s, d in data.items():
                part = lat.sel({model.subject_dim: s})
                same = np.array_equal(part["trial"].values, d.trials) and np.array_equal(
                    part["split"].values == "test", d.test
                )
                if not same:
                    raise RuntimeError(f"{method}, {s}: the latents' rows differ from the data's")
                out[s] = part.values
            return out

    info = {
        "fit_seconds": seconds,
        "beta": float(vae.beta_),
        "best_epoch": vae.best_epoch_,
        "epochs_trained": len(vae.history_),
        "link": getattr(vae, "link_", None),
    }
    candidates = []
    if vae.beta_selection_ is not None:
        selection = vae.beta_selection_
        chosen = vae.module_
        for k, module in enumerate(vae._candidates):
            vae.module_ = module
            candidates.append(
                {
                    "beta": float(selection["beta"].values[k]),
                    "score": float(selection["score"].values[k]),
                    "best_epoch": int(selection["best_epoch"].values[k]),
                    **(
                        {"link": str(selection["kept_link"].values[k])}
                        if "kept_link" in selection
                        else {}
                    ),
                    "latents": latents(),
                }
            )
        vae.module_ = chosen
        info["criterion"] = selection.attrs["criterion"]
        info["selection"] = _plain(selection.to_dict())
    return latents(), info, candidates


def _plain(value):
    """JSON-able nested lists and dicts of a Dataset's ``to_dict()`` (NaN as None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _brief(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("within", "transfer", "worst_pair", "worst_margin", "chance")}


def run_one(dataset: str, method: str, *, setting: SuiteSetting, prepared: dict) -> dict:
    """Fit one method on one dataset and score it: within, transfer, worst ordered pair
    and chance, as :func:`neuromix.benchmarks.alignment.scoring.score` gives them."""
    data, k = prepared["data"], prepared["latent_dim"]
    within_only, candidates = False, []
    start = time.perf_counter()
    if method in VAE_METHODS or method == "mmvm-previous":
        latents, info, candidates = _neuromix(method, setting, prepared)
    elif method in REFERENCES:
        latents, info = minimal_mmvm(
            data, k, beta=REFERENCES[method], epochs=setting.reference_epochs, seed=setting.seed,
            likelihood="gaussian" if prepared["kind"] == "arrays" else "poisson",
        )  # fmt: skip
    elif method == "cebra":
        latents, info = cebra_latents(
            data, k, seed=setting.seed, model_architecture="offset1-model",
            batch_size=setting.cebra_batch_size, learning_rate=3e-4,
            max_iterations=setting.cebra_iterations, temperature=1.0, distance="cosine",
            num_hidden_units=32,
        )  # fmt: skip
    elif method in ("procrustes", "srm"):
        fit = pca_procrustes if method == "procrustes" else shared_response_model
        latents, info = fit(data, k)
        info["fit_seconds"] = time.perf_counter() - start
    elif method == "raw":
        latents = {s: d.X for s, d in data.items()}
        info, within_only = {"fit_seconds": np.nan}, True
    else:
        raise ValueError(f"unknown method {method!r}")
    metrics = score(
        latents, data, seed=setting.seed, within_only=within_only, n_boot=setting.n_boot,
        n_shuffles=0,
    )  # fmt: skip
    metrics.update(info)
    if candidates:
        metrics["candidates"] = [
            {
                **{n: c[n] for n in ("beta", "score", "best_epoch")},
                **_brief(score(c["latents"], data, seed=setting.seed, n_boot=1, n_shuffles=0)),
            }
            for c in candidates
        ]
    metrics["n_subjects"] = len(data)
    return metrics


def run_suite(
    out, setting="full", *, progress: bool = True, report_only: bool = False, **overrides
):
    """Run (or resume) the datasets suite and write its report.

    Parameters
    ----------
    out : str or path-like
        Output folder: ``runs/<key>.json`` per (dataset, method), written as each
        finishes (a rerun skips them), then ``table.csv``, the figures and the report
        ``suite.md``.
    setting : {"full", "quick"} or SuiteSetting
    progress : bool
    report_only : bool, default=False
        Train nothing: write the report of the runs already in ``out``.
    **overrides
        Fields of :class:`~.settings.SuiteSetting` (``datasets``, ``methods``...).

    Returns
    -------
    pandas.DataFrame
        One row per finished run of the setting.
    """
    from neuromix.benchmarks.suite.report import write_report

    setting = get_setting(setting, **overrides)
    return run_setting(
        out,
        setting,
        key=("dataset",),
        prepare=lambda dataset: prepare_data(dataset, setting),
        run=lambda dataset, method, prepared: run_one(
            dataset, method, setting=setting, prepared=prepared
        ),
        write_report=write_report,
        selection_fields=SELECTION_FIELDS,
        cebra_check=cebra_available,
        progress=progress,
        report_only=report_only,
    )
