"""Training the configurations of a sweep as ensembles: the step of :func:`neuromix.sweep`
that runs in this process or in a Dask task (:mod:`neuromix.estimators._sweep_store`)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from neuromix._validation import check_batch_size
from neuromix.estimators.neural import NeuralModel
from neuromix.models.architectures import MLP_ARCHITECTURES
from neuromix.training.ensemble import Member, train_ensemble
from neuromix.training.loop import training_generator

__all__ = ["ENSEMBLE_KEYS", "fit_configs"]

#: Parameters that configurations must share to be trained in one ensemble (they set
#: the networks' shapes, or the optimiser and the epochs); the others (beta, seed,
#: method_params, rate_scale, reweight, clip_grad, the data options of recordings...)
#: may differ between the models of one ensemble. Configurations are further grouped
#: by their data shapes and numbers of training batches per epoch.
ENSEMBLE_KEYS = (
    "latent_dim",
    "hidden",
    "likelihood",
    "architecture",
    "conv_width",
    "lr",
    "epochs",
    "batch_size",
    "device",
    "precision",
)


def _prepare(cls, data, params: dict):
    """A separate fit's model and samplers (built, untrained); MLP subjects only."""
    model = cls(**params)
    if cls is NeuralModel:
        vae, sampler, validation = model._samplers(data)
    else:
        vae = model
        sampler, validation = model._samplers(data)
    others = {s: a for s, a in vae.architectures_.items() if a not in MLP_ARCHITECTURES}
    if others:
        s, a = next(iter(others.items()))
        raise ValueError(
            f"architecture: sweep trains MLP subjects only (all of a model's networks as one "
            f"grouped matmul); subject {s!r} has architecture {a!r}. Pass architecture='mlp' "
            "or fit these models separately"
        )
    check_batch_size(int(vae.batch_size), len(sampler))
    return model, vae, sampler, validation


def _selects(vae) -> bool:
    """Whether a configuration chooses beta or stops early (not one fixed schedule)."""
    return vae._betas() is not None or vae.patience is not None


def _ensemble_key(vae, sampler) -> str:
    shared = [repr(vae.get_params(deep=False)[name]) for name in ENSEMBLE_KEYS]
    n_batches = math.ceil(len(sampler) / int(vae.batch_size))
    return repr((shared, sorted(vae.shapes_.items()), n_batches))


def _metrics(model, vae, evaluate: bool, recordings: bool) -> dict:
    history = vae.history_
    row = {
        "loss": float(history["loss"].iloc[-1]),
        "val_loss": float(history["val_loss"].iloc[-1]) if "val_loss" in history else np.nan,
    }
    if recordings:
        row["accuracy"] = row["transfer"] = np.nan
        if evaluate:
            dec = model.decode()
            row["accuracy"] = float(dec["accuracy"].mean())
            off = ~np.eye(dec["transfer"].shape[0], dtype=bool)
            row["transfer"] = float(dec["transfer"].values[off].mean()) if off.any() else np.nan
    return row


def fit_configs(cls, data, configs, names, *, progress=True, evaluate=True, label=""):
    """Fit these estimator configurations, as ensembles of same-shaped models.

    Returns the fitted models (in the order of ``configs``) and one row of metrics each
    (:data:`_DESCRIPTIONS`). ``ensemble`` numbers the ensembles from 0, or with a
    ``label``, names them ``"<label><number>"``.
    """
    recordings = cls is NeuralModel
    prepared = [_prepare(cls, data, config) for config in configs]
    groups: dict[str, list[int]] = {}
    ensemble_of, seconds = {}, {}
    for i, (model, vae, sampler, _) in enumerate(prepared):
        if _selects(vae):
            # beta="auto" (or a list) and early stopping are a fit's own ensemble and
            # stopping rule: such a configuration is fitted as fit() fits it
            start = time.perf_counter()
            model.set_params(progress=bool(progress) and model.progress)
            model.fit(data)
            seconds[i] = time.perf_counter() - start
            ensemble_of[i] = f"{label}separate{i}" if label else f"separate{i}"
            continue
        groups.setdefault(_ensemble_key(vae, sampler), []).append(i)
    for g, indices in enumerate(groups.values()):
        vaes = [prepared[i][1] for i in indices]
        members = [
            Member(
                module=vae.module_,
                sampler=prepared[i][2],
                generator=training_generator(vae.seed),
                beta=float(vae.beta),
                validation=prepared[i][3],
                clip_grad=None if vae.clip_grad is None else float(vae.clip_grad),
                name=names[i],
                subjects=vae.subjects_,
            )
            for i, vae in zip(indices, vaes, strict=True)
        ]
        first = vaes[0]
        histories, wall = train_ensemble(
            members,
            epochs=int(first.epochs),
            batch_size=int(first.batch_size),
            lr=float(first.lr),
            progress=progress,
            description=f"ensemble {g + 1}/{len(groups)} ({len(indices)} models)",
        )
        for i, vae, history in zip(indices, vaes, histories, strict=True):
            vae.history_ = pd.DataFrame(history)
            vae.beta_, vae.beta_selection_, vae.best_epoch_ = float(vae.beta), None, None
            vae.link_ = vae._fixed_link()  # a fixed schedule trains the built link
            vae.n_samples_ = len(prepared[i][2])
            ensemble_of[i], seconds[i] = (f"{label}{g}" if label else g), wall / len(indices)
    rows = []
    for i, (model, vae, _, _) in enumerate(prepared):
        vae = model.vae_ if recordings else model
        row = _metrics(model, vae, evaluate, recordings)
        rows.append({**row, "fit_seconds": seconds[i], "ensemble": ensemble_of[i]})
    return [p[0] for p in prepared], rows
