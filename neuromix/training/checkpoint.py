"""Training checkpoints: everything a killed fit needs to go on exactly where it stopped.

A checkpoint is one zip file written atomically (:func:`neuromix.io.persistence.
save_checkpoint`: a temporary file moved into place, so a kill never leaves a
half-written one) holding

``config.json`` (plain JSON)
    the format name and version, the neuromix and torch versions, the estimator's
    class and parameters, the fitted subjects, their sample shapes, the numbers of
    training and validation samples, ``epoch`` (the number of completed epochs, which
    is also the next epoch to train), the ``history`` of those epochs, and the
    optimiser's ``param_groups`` and the names of its per-parameter state;
``weights.pt`` (tensors only, read with ``torch.load(weights_only=True)``)
    ``module.<name>``: the module's state_dict; ``optimizer.<i>.<name>``: the
    optimiser state of parameter i (Adam's ``step``, ``exp_avg``, ``exp_avg_sq``);
    ``generator``: the state of the torch generator that shuffles the batches and
    draws the latent samples; ``best.<name>``: with early stopping, the weights of the
    best epoch so far.

The resampled pairings of :class:`~neuromix.NeuralModel` are a function of (seed,
epoch) only, and the validation split of :class:`~neuromix.MultimodalVAE` of the seed,
so the epoch number restores them. On the CPU, a fit resumed from a checkpoint ends with
the same weights, bit for bit, as one that was never interrupted.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from neuromix.io._json import plain
from neuromix.io.persistence import _jsonable_params, read_checkpoint
from neuromix.io.persistence import save_checkpoint as _save

__all__ = ["TrainingState", "capture", "identity", "restore", "write"]

#: Parameters that may differ between the fit that wrote a checkpoint and the one that
#: resumes it: they do not change what is trained.
FREE_PARAMS = frozenset({"epochs", "progress", "device", "checkpoint", "checkpoint_every"})


@dataclass
class TrainingState:
    """A copy of the training state at the end of an epoch (tensors cloned)."""

    epoch: int
    module: dict[str, Tensor]
    optimizer: dict
    generator: Tensor
    history: list[dict] = field(default_factory=list)
    best: dict[str, Tensor] | None = None


def capture(module, optimizer, generator, history, stopping=None) -> TrainingState:
    """Clone the module's and the optimiser's state, and the generator's, now; with an
    :class:`~neuromix.training.early_stopping.EarlyStopping` of the model, also its best
    weights so far (kept, not cloned: they are replaced, never changed in place)."""
    opt = optimizer.state_dict()
    state = {
        i: {k: v.detach().clone() if isinstance(v, Tensor) else v for k, v in s.items()}
        for i, s in opt["state"].items()
    }
    return TrainingState(
        epoch=len(history),
        module={k: v.detach().clone() for k, v in module.state_dict().items()},
        optimizer={"state": state, "param_groups": copy.deepcopy(opt["param_groups"])},
        generator=generator.get_state(),
        history=list(history),
        best=None if stopping is None else stopping.state(0),
    )


def identity(owner, subjects, shapes, n_samples: int, n_validation: int) -> dict:
    """What a checkpoint must match to be resumed: class, parameters, subjects, data size."""
    return {
        "class": type(owner).__name__,
        "params": owner.get_params(deep=False),
        "subjects": list(subjects),
        "shapes": {s: list(shapes[s]) for s in subjects},
        "n_samples": int(n_samples),
        "n_validation": int(n_validation),
    }


def _plain(value):
    return json.loads(json.dumps(value, default=plain))


def write(path, state: TrainingState, ident: dict) -> Path:
    """Write ``state`` to the checkpoint ``path`` (atomically, replacing it)."""
    tensors = {f"module.{k}": v for k, v in state.module.items()}
    names, values = {}, {}
    for i, s in state.optimizer["state"].items():
        names[str(i)] = sorted(k for k, v in s.items() if isinstance(v, Tensor))
        values[str(i)] = {k: v for k, v in s.items() if not isinstance(v, Tensor)}
        tensors.update({f"optimizer.{i}.{k}": s[k] for k in names[str(i)]})
    tensors["generator"] = state.generator
    if state.best is not None:
        tensors.update({f"best.{k}": v for k, v in state.best.items()})
    config = {
        **ident,
        "torch_version": torch.__version__,
        "epoch": state.epoch,
        "history": state.history,
        "optimizer": {
            "param_groups": _plain(state.optimizer["param_groups"]),
            "tensors": names,
            "values": values,
        },
    }
    return _save(path, config, tensors)


def _differences(saved: dict, ident: dict) -> list[str]:
    diffs = []
    if saved.get("class") != ident["class"]:
        diffs.append(f"written by a {saved.get('class')}, resumed by a {ident['class']}")
    mine = _plain(_jsonable_params(ident["params"]))
    theirs = saved.get("params", {})
    for key in sorted(set(mine) | set(theirs)):
        if key not in FREE_PARAMS and mine.get(key) != theirs.get(key):
            diffs.append(f"{key} is {theirs.get(key)!r} in the checkpoint, {mine.get(key)!r} here")
    if saved.get("subjects") != ident["subjects"]:
        diffs.append(
            f"subjects are {saved.get('subjects')} in the checkpoint, {ident['subjects']} here"
        )
    else:
        for s in ident["subjects"]:
            if saved["shapes"].get(s) != ident["shapes"][s]:
                diffs.append(
                    f"subject {s!r} has samples of shape {tuple(saved['shapes'].get(s) or ())} "
                    f"in the checkpoint, {tuple(ident['shapes'][s])} here"
                )
    for key, what in (("n_samples", "training"), ("n_validation", "validation")):
        if saved.get(key) != ident[key]:
            diffs.append(f"{saved.get(key)} {what} samples in the checkpoint, {ident[key]} here")
    return diffs


def restore(
    path, ident: dict, module, optimizer, generator, *, epochs: int, with_best: bool = False
):
    """Load the checkpoint ``path`` into ``module``, ``optimizer`` and ``generator``.

    Checks first that it was written by a fit with the same class, parameters (but
    those in :data:`FREE_PARAMS`), subjects, sample shapes and sample counts, and that
    it has not gone past ``epochs``; raises ValueError naming every difference. Returns
    the history of the completed epochs (their number is the epoch to train next), and
    with ``with_best`` also the best weights an early-stopped fit had kept (or None).
    """
    config, tensors = read_checkpoint(path)
    diffs = _differences(config, ident)
    if diffs:
        raise ValueError(
            f"{path}: this checkpoint does not match the fit: {'; '.join(diffs)}. Resume "
            "with the parameters and data it was written with, or give another checkpoint "
            "path (or delete this one) to start a new fit."
        )
    reached = int(config["epoch"])
    if reached > epochs:
        raise ValueError(
            f"{path}: the checkpoint has completed {reached} epochs, more than epochs={epochs}; "
            f"pass epochs >= {reached} to resume it"
        )
    prefix = "module."
    module.load_state_dict(
        {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    )
    opt = config["optimizer"]
    state = {
        int(i): {
            **{k: tensors[f"optimizer.{i}.{k}"] for k in names},
            **opt["values"].get(i, {}),
        }
        for i, names in opt["tensors"].items()
    }
    # the live param_groups (they hold the same settings, checked above through the
    # parameters) keep the optimiser's device-specific flags (fused, foreach)
    optimizer.load_state_dict(
        {"state": state, "param_groups": optimizer.state_dict()["param_groups"]}
    )
    generator.set_state(tensors["generator"])
    history = list(config["history"])
    if not with_best:
        return history
    prefix = "best."
    best = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    return history, best or None
