"""Running the PolyMNIST benchmark: the data, the coherence classifiers, the pixel
reference, one fit and its evaluation, and :func:`run_benchmark` (resumable sweep,
then ``table.csv``, the figures and the report)."""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from neuromix._atomic import write_atomic
from neuromix.benchmarks.polymnist.report import write_report
from neuromix.benchmarks.polymnist.settings import get_setting
from neuromix.evaluation.images import ImageClassifier, evaluate_multimodal
from neuromix.evaluation.sweep import gather, missing_runs, record_setting, run_sweep

__all__ = ["run_benchmark"]


# --------------------------------------------------------------------------- one fit
#: Test tuples of the conditional-generation pictures saved per fit (Figure 6).
N_PICTURES = 8


def _fit_and_score(
    method, beta, seed, *, setting, data, classifiers, device, progress, out=None
) -> dict[str, float]:
    import torch

    from neuromix.estimators import MultimodalVAE

    X_train, y_train, X_test, y_test = data
    vae = MultimodalVAE(
        method=method,
        method_params=setting.method_params(method),
        beta=float(beta),
        **setting.vae_options(),
        validation_fraction=0.0,
        seed=int(seed),
        device=device,
        progress=progress,
    )
    start = time.perf_counter()
    vae.fit(X_train)
    fitted = time.perf_counter()
    # The probe's training latents: the first max_train tuples (the data come in a seeded
    # random order), so that no more training tuples than the probe uses are encoded.
    probe = slice(0, setting.max_train)
    metrics = evaluate_multimodal(
        vae,
        {m: images[probe] for m, images in X_train.items()},
        y_train[probe],
        X_test,
        y_test,
        classifiers,
        max_train=None,
        seed=int(seed),
    )
    if out is not None:
        _save_generations(vae, X_test, y_test, out, f"{method}-beta{beta:g}-seed{seed}", seed)
    last = vae.history_.iloc[-1]
    metrics.update(
        {
            "train_loss": float(last["loss"]),
            "train_recon": float(last["recon"]),
            "train_rate": float(last["rate"]),
            "fit_seconds": fitted - start,
            "eval_seconds": time.perf_counter() - fitted,
            "torch_threads": torch.get_num_threads(),
        }
    )
    return metrics


def _save_generations(vae, X_test, y_test, out: Path, key: str, seed: int) -> None:
    """Every modality generated from every other for the first test tuples (Figure 6).

    Written to ``out/generations/<key>.npz``: ``generated`` (source, target, example,
    channel, 28, 28) and ``sources`` (source, example, ...) as float16 in [0, 1],
    ``labels`` and ``modalities``. One latent draw per source and example (z ~ q_m).
    """
    names = list(X_test)
    sources = np.stack([np.asarray(X_test[m][:N_PICTURES]) for m in names])
    generated = np.stack(
        [
            np.stack(
                list(vae.generate({m: X_test[m][:N_PICTURES]}, target=names, seed=seed).values())
            )
            for m in names
        ]
    )
    folder = out / "generations"
    folder.mkdir(exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                generated=np.clip(generated, 0, 1).astype(np.float16),
                sources=sources.astype(np.float16),
                labels=np.asarray(y_test[:N_PICTURES]),
                modalities=np.array(names),
            )

    write_atomic(folder / f"{key}.npz", write, overwrite=True)


def _classifiers(out: Path, setting, X_test, y_test, *, device, progress):
    """Coherence classifiers per modality: trained once, kept in ``out/classifiers``."""
    from neuromix.datasets import translated_polymnist

    folder = out / "classifiers"
    summary_path = folder / "summary.json"
    names = [f"m{m}" for m in range(setting.n_modalities)]
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        classifiers = {m: ImageClassifier.load(folder / f"{m}.pt", device=device) for m in names}
        return classifiers, summary
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # Real images of the training digits, at positions and on patches of their own
    # (another data seed), many per digit: the classifier must not learn the VAE's
    # training tuples by heart, and it needs varied positions.
    X, y = translated_polymnist(
        "train",
        setting.n_modalities,
        seed=setting.data_seed + 1,
        n=setting.classifier_n,
        **setting.data_options(),
    )
    classifiers, accuracy = {}, {}
    for m in names:
        clf = ImageClassifier(
            epochs=setting.classifier_epochs,
            width=setting.classifier_width,
            seed=setting.data_seed,
            device=device,
            progress=progress,
        ).fit(X[m], y)
        clf.save(folder / f"{m}.pt")
        classifiers[m] = clf
        accuracy[m] = float(clf.score(X_test[m], y_test))
    summary = {
        "accuracy": accuracy,
        "mean_accuracy": float(np.mean(list(accuracy.values()))),
        "n_train_images": int(setting.classifier_n),
        "epochs": int(setting.classifier_epochs),
        "width": int(setting.classifier_width),
        "seconds": time.perf_counter() - start,
    }
    text = json.dumps(summary, indent=1)
    write_atomic(summary_path, lambda tmp: tmp.write_text(text), overwrite=True)
    return classifiers, summary


def _pixel_reference(out: Path, setting, X_train, y_train, X_test, y_test) -> dict:
    """The probe on the first ``latent_dim`` principal components of the pixels.

    What a linear read-out gets from the images without any VAE: the floor a learned
    latent should beat. Computed once, kept in ``out/pixel_reference.json``.
    """
    from sklearn.decomposition import PCA

    from neuromix.evaluation.images import latent_probes

    path = out / "pixel_reference.json"
    if path.exists():
        return json.loads(path.read_text())
    n = min(setting.max_train, len(y_train))
    z_train, z_test = {}, {}
    for m, images in X_train.items():
        flat = np.asarray(images[:n], dtype=np.float32).reshape(n, -1)
        pca = PCA(min(setting.latent_dim, *flat.shape), random_state=setting.data_seed)
        z_train[m] = pca.fit_transform(flat)
        z_test[m] = pca.transform(np.asarray(X_test[m], dtype=np.float32).reshape(len(y_test), -1))
    accuracy = latent_probes(z_train, y_train[:n], z_test, y_test, max_train=None, seed=0)
    reference = {
        "accuracy": {m: float(accuracy.sel(modality=m)) for m in X_train},
        "mean_accuracy": float(accuracy.mean()),
        "n_components": int(pca.n_components_),
    }
    text = json.dumps(reference, indent=1)
    write_atomic(path, lambda tmp: tmp.write_text(text), overwrite=True)
    return reference


def run_benchmark(
    out,
    setting="cpu",
    *,
    progress: bool = True,
    device: str = "auto",
    jobs: int = 1,
    report_only: bool = False,
    **overrides,
) -> pd.DataFrame:
    """Run (or resume) the PolyMNIST benchmark and write its report.

    Parameters
    ----------
    out : str or path-like
        Output folder. It records its setting in ``setting.json``; rerunning with the
        same setting resumes (finished fits are not redone), another setting is refused.
    setting : {"quick", "cpu", "paper"} or PolyMNISTSetting, default="cpu"
    progress : bool, default=True
        Progress bars over fits and epochs.
    device : str, default="auto"
        Torch device of every fit.
    jobs : int, default=1
        Processes that train fits side by side, each with an equal share of this
        process's torch threads (``torch.get_num_threads() // jobs``, at least 1). On a
        CPU, small convolutional nets use two one-thread processes better than one
        two-thread process. A process that finishes a fit takes the next missing one;
        the report is written when all are done.
    report_only : bool, default=False
        Train nothing: write the report on the fits already in ``out`` (it says how
        many of the grid's fits are done). The coherence classifiers must be there.
    **overrides
        Fields of :class:`PolyMNISTSetting` to change (e.g. ``epochs=1`` in tests).

    Returns
    -------
    pandas.DataFrame
        One row per fit: ``method``, ``beta``, ``seed``, the metrics of
        :func:`~neuromix.evaluation.images.evaluate_multimodal`, training loss and
        timing; also written to ``out/table.csv``.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    setting = get_setting(setting, **overrides)
    out = Path(out)
    if report_only and not (out / "classifiers" / "summary.json").exists():
        raise ValueError(f"report_only: {out} holds no run of a PolyMNIST benchmark")
    out.mkdir(parents=True, exist_ok=True)
    record_setting(out, setting.to_dict(), ignore=("name",))
    X_train, y_train, X_test, y_test = _data(setting)
    classifiers, clf_summary = _classifiers(
        out, setting, X_test, y_test, device=device, progress=progress
    )
    if report_only:
        table = gather(out, grid=setting.grid())
        if table.empty:
            raise ValueError(f"report_only: {out} holds no finished fit of this setting")
    else:
        if jobs > 1:  # the processes find the classifiers in `out`
            _run_in_processes(out, setting, jobs, device, progress)
        data = (X_train, y_train, X_test, y_test)
        table = _run_fits(out, setting, setting.grid(), data, classifiers, device, progress)
    write_atomic(out / "table.csv", partial(table.to_csv, index=False), overwrite=True)
    reference = _pixel_reference(out, setting, X_train, y_train, X_test, y_test)
    info = {
        "n_train": len(y_train),
        "n_test": len(y_test),
        "classifiers": clf_summary,
        "pixel_reference": reference,
    }
    write_report(out, setting, table, info)
    return table


def _data(setting):
    """Training and test tuples of a setting: ``X_train, y_train, X_test, y_test``."""
    from neuromix.datasets import translated_polymnist

    data = setting.data_options()
    X_train, y_train = translated_polymnist(
        "train", setting.n_modalities, seed=setting.data_seed, n=setting.n_train, **data
    )
    X_test, y_test = translated_polymnist(
        "test", setting.n_modalities, seed=setting.data_seed, n=setting.n_test, **data
    )
    return X_train, y_train, X_test, y_test


def _run_in_processes(out: Path, setting, jobs: int, device: str, progress: bool) -> None:
    """Train the missing fits of the grid in ``jobs`` processes.

    Each fit is one task of a process pool: a process that finishes a fit takes the next
    missing one, so the processes stay busy to the end whatever the fits cost (a share
    fixed in advance leaves one process idle while the other trains its slow MoPoE fits).
    Each process loads the data and the classifiers once (:func:`_start_worker`).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import torch
    from tqdm.auto import tqdm

    missing = missing_runs(setting.grid(), out)  # also refuses a stale run file
    if not missing:
        return
    threads = max(1, torch.get_num_threads() // jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        jobs,
        mp_context=context,
        initializer=_start_worker,
        initargs=(str(out), setting, device, threads),
    ) as pool:
        futures = [pool.submit(_run_one, config) for config in missing]
        try:
            done = as_completed(futures)
            for future in tqdm(done, total=len(futures), disable=not progress, unit="fit"):
                future.result()
        except BaseException:  # a failed fit or an interrupt: start no other fit
            for future in futures:
                future.cancel()
            raise


#: What each process of :func:`_run_in_processes` loads once: its data, classifiers, ...
_WORKER: dict = {}


def _start_worker(out: str, setting, device: str, threads: int) -> None:
    """Initialise one process of :func:`_run_in_processes` (its threads, data, classifiers)."""
    import torch
    from threadpoolctl import threadpool_limits

    # the probes' BLAS too (scikit-learn): else each process starts one thread per core
    threadpool_limits(threads)
    torch.set_num_threads(threads)
    data = _data(setting)
    classifiers, _ = _classifiers(Path(out), setting, *data[2:], device=device, progress=False)
    _WORKER.update(
        out=Path(out), setting=setting, data=data, classifiers=classifiers, device=device
    )


def _run_one(config: dict) -> None:
    """Fit and score one configuration in a process of :func:`_run_in_processes`."""
    w = _WORKER
    _run_fits(w["out"], w["setting"], [config], w["data"], w["classifiers"], w["device"], False)


def _run_fits(out: Path, setting, grid, data, classifiers, device: str, progress: bool):
    """Fit and score the configurations of ``grid`` not yet in ``out`` (:func:`run_sweep`);
    ``data`` is ``(X_train, y_train, X_test, y_test)``."""
    run_fn = partial(
        _fit_and_score,
        setting=setting,
        data=data,
        classifiers=classifiers,
        device=device,
        progress=progress,
        out=out,
    )
    return run_sweep(grid, run_fn, out, progress=progress)
