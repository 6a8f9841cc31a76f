"""Saving and loading fitted models without pickle.

A saved model is one zip file holding ``config.json`` (plain JSON: the class, its
parameters, the fitted subjects and shapes, the history and the package version) and
``weights.pt`` (torch tensors only, read back with ``torch.load(weights_only=True)``,
which refuses arbitrary pickled objects). Files are written to a temporary path and
moved into place (:mod:`neuromix._atomic`), so an interrupted save never leaves a
half-written model nor damages the file it replaces.

A training checkpoint (``fit(checkpoint=...)``, see
:mod:`neuromix.training.checkpoint`) has the same layout under another format name:
its ``config.json`` also holds the epoch reached and the optimiser's settings, its
``weights.pt`` also the optimiser's state tensors and the training generator's state.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import torch

from neuromix._atomic import write_atomic
from neuromix._version import __version__
from neuromix.io._json import plain

__all__ = [
    "CHECKPOINT_FORMAT_VERSION",
    "FORMAT_VERSION",
    "load",
    "read_checkpoint",
    "register_model_class",
    "save_checkpoint",
    "save_model",
    "write_atomic",
]

#: Version of the file layout; a file of another layout version is refused.
FORMAT_VERSION = 1
_MAGIC = "neuromix-model"
#: Version of the layout of training checkpoints.
CHECKPOINT_FORMAT_VERSION = 1
_CHECKPOINT_MAGIC = "neuromix-checkpoint"


def _configurable(value) -> bool:
    """A method or likelihood object: has a ``name`` and a ``config()`` (duck-typed, so
    that io imports no model code)."""
    return (
        not isinstance(value, type)
        and isinstance(getattr(value, "name", None), str)
        and callable(getattr(value, "config", None))
    )


def _jsonable_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if key == "method" and _configurable(value):
            value = value.name
            out["method_params"] = params["method"].config()
        elif _configurable(value):
            value = value.config()
        elif isinstance(value, dict):
            value = {k: (v.config() if _configurable(v) else v) for k, v in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, torch.device | os.PathLike):
            value = str(value)
        if key not in out:
            out[key] = value
    return out


def _write_zip(path, config: dict, tensors: dict, *, overwrite: bool) -> Path:
    """``config.json`` and ``weights.pt`` (tensors only) in one zip, written atomically."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in tensors.items()}, buffer)
    text = json.dumps(config, indent=1, default=plain)
    weights = buffer.getvalue()

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("config.json", text)
            zf.writestr("weights.pt", weights)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(
        path,
        write,
        overwrite=overwrite,
        what=f"the {config.get('class', 'model')} (config.json and weights.pt)",
        size=len(text.encode()) + len(weights),
        elsewhere="or save to another folder",
    )


def _read_zip(path: Path, what: str) -> tuple[dict, bytes]:
    """``config.json`` (parsed) and the raw ``weights.pt`` of a model or checkpoint zip."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise IsADirectoryError(f"{path}: not a file (a folder?); give a saved {what} file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {"config.json", "weights.pt"} <= names:
                raise ValueError(
                    f"{path}: not a neuromix {what} (config.json or weights.pt missing; is "
                    "the file truncated?)"
                )
            text = zf.read("config.json")
            raw = zf.read("weights.pt")
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise ValueError(
            f"{path}: not a neuromix {what} file, or a truncated one (not a complete zip "
            f"archive; {path.stat().st_size} bytes)"
        ) from None
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: config.json is not valid JSON ({err})") from None
    return config, raw


def _load_tensors(path: Path, raw: bytes) -> dict:
    try:
        tensors = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError (or others) for unsafe content
        raise ValueError(
            f"{path}: refused to load weights.pt: it holds objects other than tensors "
            f"({type(err).__name__}). neuromix never unpickles arbitrary objects."
        ) from None
    if not isinstance(tensors, dict) or not all(
        isinstance(v, torch.Tensor) for v in tensors.values()
    ):
        raise ValueError(f"{path}: weights.pt does not hold a mapping of names to tensors")
    return tensors


def save_model(model, path, *, overwrite: bool = False) -> Path:
    """Save a fitted estimator (anything with ``_get_state``) to ``path``."""
    config, tensors = model._get_state()
    config = {
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "neuromix_version": __version__,
        "class": type(model).__name__,
        **config,
    }
    config["params"] = _jsonable_params(config["params"])
    return _write_zip(path, config, tensors, overwrite=overwrite)


def save_checkpoint(path, config: dict, tensors: dict) -> Path:
    """Write a training checkpoint atomically, replacing the previous one.

    ``config`` is plain JSON (its ``params`` as an estimator's ``get_params()``),
    ``tensors`` a flat mapping name -> tensor.
    """
    config = {
        "format": _CHECKPOINT_MAGIC,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "neuromix_version": __version__,
        **config,
    }
    config["params"] = _jsonable_params(config["params"])
    return _write_zip(path, config, tensors, overwrite=True)


def read_checkpoint(path) -> tuple[dict, dict]:
    """The ``(config, tensors)`` of a training checkpoint (never unpickles objects)."""
    path = Path(path)
    config, raw = _read_zip(path, "checkpoint")
    if config.get("format") == _MAGIC:
        raise ValueError(
            f"{path}: a saved model, not a training checkpoint; load it with neuromix.load, "
            "or give fit another checkpoint path"
        )
    if config.get("format") != _CHECKPOINT_MAGIC:
        raise ValueError(f"{path}: not a neuromix checkpoint file")
    if config.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(
            f"{path}: checkpoint written by neuromix {config.get('neuromix_version')} in "
            f"format {config.get('format_version')}; this neuromix ({__version__}) resumes "
            f"format {CHECKPOINT_FORMAT_VERSION}. Resume with the version that wrote it, or "
            "start a new fit with another checkpoint path."
        )
    return config, _load_tensors(path, raw)


#: The classes :func:`load` rebuilds, by class name; filled by :func:`register_model_class`.
_MODEL_CLASSES: dict[str, type] = {}


def register_model_class(cls: type) -> type:
    """Class decorator: let :func:`load` rebuild saved instances of ``cls``.

    ``cls`` needs ``_get_state()`` (for :func:`save_model`) and a classmethod
    ``_from_state(config, tensors, device=...)``; files name it by ``cls.__name__``.
    The estimators register themselves where they are defined, so io imports none of
    them; ``import neuromix`` registers :class:`~neuromix.MultimodalVAE` and
    :class:`~neuromix.NeuralModel`.
    """
    if not isinstance(cls, type) or not callable(getattr(cls, "_from_state", None)):
        raise TypeError(f"register_model_class: expected a class with _from_state, got {cls!r}")
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def load(path, *, device: str = "auto"):
    """Load a model saved with ``save`` (never unpickles arbitrary objects).

    Parameters
    ----------
    path : str or path-like
    device : str, default="auto"
        Where to put the weights.

    Examples
    --------
    >>> import neuromix as nm, tempfile, os
    >>> X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    >>> vae = nm.MultimodalVAE(epochs=1, progress=False).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.nmx")
    >>> _ = vae.save(path)
    >>> nm.load(path).subjects_
    ('a', 'b', 'c')
    """
    path = Path(path)
    if device != "auto":
        try:
            torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device: {err}") from None
    config, raw = _read_zip(path, "model")
    if config.get("format") == _CHECKPOINT_MAGIC:
        raise ValueError(
            f"{path}: a training checkpoint, not a saved model; pass it as checkpoint= to fit "
            "(with the same parameters and data) to resume or finish that fit, then save"
        )
    if not isinstance(config, dict) or config.get("format") != _MAGIC:
        raise ValueError(f"{path}: not a neuromix model file")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        advice = (
            "The file is newer than this neuromix: upgrade neuromix to load it."
            if newer
            else "Load it with the version that wrote it and refit, or re-save."
        )
        raise ValueError(
            f"{path}: saved by neuromix {config.get('neuromix_version')} in file format "
            f"{version}; this neuromix ({__version__}) reads format {FORMAT_VERSION}. {advice}"
        )
    tensors = _load_tensors(path, raw)
    cls = _MODEL_CLASSES.get(config.get("class"))
    if cls is None:
        raise ValueError(f"{path}: unknown model class {config.get('class')!r}")
    try:
        return cls._from_state(config, tensors, device=device)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        what = f"missing entry {err}" if isinstance(err, KeyError) else " ".join(str(err).split())
        what = what if len(what) <= 300 else what[:300] + "..."
        raise ValueError(
            f"{path}: the model file is damaged or incomplete: config.json and weights.pt do "
            f"not describe a {cls.__name__} ({type(err).__name__}: {what})"
        ) from err
