"""``neuromix.sweep``: configurations of one method trained together as ensembles.

Every configuration of the grid is built exactly as a separate fit builds it (its own
seed: initial weights, validation split or trial split, pairings, shuffling and latent
draws), and configurations whose networks have the same shapes are trained as one
:class:`~neuromix.training.ensemble.Ensemble`, their MLPs as one grouped matmul per
layer. Each fitted model then equals a separate fit with the same parameters up to
float rounding, and is an ordinary :class:`~neuromix.MultimodalVAE` or
:class:`~neuromix.NeuralModel` (``save``, :func:`neuromix.load`, every method).
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from neuromix.data.recording import Recording
from neuromix.estimators._sweep_fit import fit_configs
from neuromix.estimators._sweep_store import run_stored
from neuromix.estimators.neural import NeuralModel
from neuromix.estimators.vae import MultimodalVAE

__all__ = ["SweepResult", "sweep"]

_NOT_SWEPT = {
    "method": "method must be one method per sweep; call sweep once per method",
    "checkpoint": (
        "checkpoint is not supported by sweep (an ensemble keeps no per-model checkpoint); "
        "fit a model separately to checkpoint it"
    ),
}


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns: the metrics as one Dataset, and the fitted models.

    Attributes
    ----------
    dataset : xarray.Dataset
        One value per model on the swept dims (see :func:`sweep`).
    models : dict
        The fitted models, keyed by the tuple of their coordinates along ``dims``
        (``result.models[(0.5, 1)]`` for ``dims == ("beta", "seed")``).
    dims : tuple of str
        The swept parameters, in the order given.
    """

    dataset: xr.Dataset
    models: dict
    dims: tuple

    def model(self, **coords):
        """The fitted model at these coordinates, e.g. ``result.model(beta=0.5, seed=1)``."""
        if set(coords) != set(self.dims):
            raise ValueError(f"give one value for each swept dim {list(self.dims)}, got {coords}")
        key = tuple(_coord_value(coords[d]) for d in self.dims)
        if key not in self.models:
            raise KeyError(f"no model at {coords}; the swept values: {self._values()}")
        return self.models[key]

    def items(self):
        """``(coords dict, model)`` pairs, in the grid's order."""
        for key, model in self.models.items():
            yield dict(zip(self.dims, key, strict=True)), model

    def _values(self) -> dict:
        return {d: self.dataset[d].values.tolist() for d in self.dims}

    def __len__(self) -> int:
        return len(self.models)

    def __repr__(self) -> str:
        groups = len(np.unique(self.dataset["ensemble"].values))
        head = (
            f"SweepResult: {len(self)} {self.dataset.attrs['estimator']} models "
            f"(method {self.dataset.attrs['method']!r}) over {list(self.dims)}, trained as "
            f"{groups} ensemble{'s' if groups > 1 else ''}; .dataset, .models, .model(...)"
        )
        return f"{head}\n{self.dataset!r}"

    def _repr_html_(self) -> str:
        return f"<p>{self.__repr__().splitlines()[0]}</p>{self.dataset._repr_html_()}"


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, str | numbers.Number | np.generic)


def _coord_value(value):
    """A swept value as the Dataset's coordinate (and the models' key) holds it."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if _is_scalar(value) else repr(value)


def _axis(name: str, values) -> list:
    values = list(values.tolist() if isinstance(values, np.ndarray) else values)
    if not values:
        raise ValueError(f"{name}: the list of values to sweep is empty")
    if name == "hidden" and any(isinstance(v, numbers.Number) for v in values):
        raise ValueError(
            f"hidden: a list is swept, one value per element; got {values}. To fix the "
            f"widths, pass a tuple (hidden={tuple(values)}); to sweep them, a list of tuples"
        )
    keys = [_coord_value(v) for v in values]
    dupes = sorted({repr(k) for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"{name}: values to sweep appear more than once: {', '.join(dupes)}")
    return values


def _split_params(cls, params: dict) -> tuple[dict, dict]:
    """Fixed parameters and swept axes (name -> values), with the checks of names."""
    names = set(cls._get_param_names())
    fixed, axes = {}, {}
    for name, value in params.items():
        if name in _NOT_SWEPT and (name != "checkpoint" or value is not None):
            raise ValueError(_NOT_SWEPT[name])
        if name not in names:
            raise ValueError(
                f"{name} is not a parameter of {cls.__name__} (parameters: "
                f"{', '.join(sorted(names - {'method', 'progress'}))})"
            )
        if name == "method_params" and isinstance(value, Mapping):
            options = dict(value)
            for option, values in value.items():
                if isinstance(values, list | np.ndarray):
                    if option in names:
                        raise ValueError(
                            f"method_params: option {option!r} has the name of a parameter "
                            f"of {cls.__name__}; sweep it as a list of method_params dicts"
                        )
                    axes[option] = ("method_params", _axis(f"method_params[{option!r}]", values))
                    del options[option]
            fixed[name] = options
        elif isinstance(value, list | np.ndarray):
            axes[name] = (name, _axis(name, value))
        else:
            fixed[name] = value
    if not axes:
        raise ValueError(
            "nothing to sweep: pass a list of values for at least one parameter, e.g. "
            "beta=[0.5, 1.0] (a list is a swept axis; tuples, dicts and scalars are fixed)"
        )
    return fixed, axes


def _configs(method, fixed: dict, axes: dict) -> list[dict]:
    """The estimator parameters of every grid point, the last axis varying fastest."""
    configs = []
    for combo in itertools.product(*(values for _, values in axes.values())):
        params = {"method": method, **fixed}
        options = dict(fixed.get("method_params") or {})
        for (name, (target, _)), value in zip(axes.items(), combo, strict=True):
            if target != name:  # an option of method_params
                options[name] = value
                params["method_params"] = options
            else:
                params[name] = value
        configs.append(params)
    return configs


def _is_recordings(data) -> bool:
    if isinstance(data, xr.DataArray | xr.DataTree):
        return True
    return isinstance(data, Mapping) and any(
        isinstance(v, Recording | xr.DataArray) for v in data.values()
    )


_DESCRIPTIONS = {
    "loss": "training loss of the last epoch",
    "val_loss": "held-out loss of the last epoch (validation split, or held-out trials)",
    "accuracy": "mean over subjects of decode()'s within-subject accuracy (held-out trials)",
    "transfer": "mean off-diagonal of decode()'s transfer matrix (train on one subject, "
    "test on another)",
    "fit_seconds": "training time of the model's ensemble divided by its number of models",
    "ensemble": "which ensemble trained the model (models trained together share it)",
}


def _dataset(axes, rows, estimator, method, fixed) -> xr.Dataset:
    dims = tuple(axes)
    shape = tuple(len(values) for _, values in axes.values())
    coords = {name: [_coord_value(v) for v in values] for name, (_, values) in axes.items()}
    data = {}
    for var in rows[0]:
        values = np.array([row[var] for row in rows]).reshape(shape)
        data[var] = xr.Variable(dims, values, attrs={"description": _DESCRIPTIONS[var]})
    return xr.Dataset(
        data,
        coords=coords,
        attrs={
            "estimator": estimator,
            "method": str(method),
            "fixed": repr(fixed),
            "description": "one model per grid point, each equal (up to float rounding) to "
            "a separate fit with the same parameters",
        },
    )


def sweep(
    data,
    *,
    method="mmvm",
    progress: bool = True,
    evaluate: bool = True,
    engine: str = "local",
    out=None,
    address: str | None = None,
    n_workers: int | None = None,
    **params,
):
    """Fit one method over a grid of parameters, configurations trained together.

    Each list-valued parameter is a swept axis; the grid is every combination. All models
    whose networks have the same shapes (same ``latent_dim``, ``hidden``, data shapes...;
    see :data:`~neuromix.estimators._sweep_fit.ENSEMBLE_KEYS`) are trained at once in this
    process as one ensemble: the per-subject MLP layers of all of them run as one grouped
    matmul (:mod:`neuromix.training.ensemble`), while each keeps its own seed, data split,
    data order, latent draws, beta, method options and gradient clipping. A sweep over
    ``latent_dim=[2, 4]`` is two ensembles, one after the other.

    Each model equals, up to float rounding, the separate fit with the same parameters:
    ``MultimodalVAE(method=method, **config).fit(data)`` for arrays,
    ``neuromix.fit(data, method=method, **config)`` for recordings.

    Parameters
    ----------
    data : mapping of str to array, or recordings
        Paired arrays (subject -> ``(n_samples, ...)``), fitted with
        :class:`~neuromix.MultimodalVAE`; or recordings (subject ->
        :class:`~neuromix.data.Recording` or binned counts as xarray, a DataTree, a
        DataArray), fitted with :class:`~neuromix.NeuralModel`.
    method : str, default="mmvm"
        The method of every model (one per sweep; a list is an error).
    progress : bool, default=True
        A progress bar per ensemble (also stored as each model's ``progress``).
    evaluate : bool, default=True
        Recordings: decode the label with each fitted model (:meth:`NeuralModel.decode`)
        for the ``accuracy`` and ``transfer`` variables (NaN when False).
    engine : {"local", "dask"}, default="local"
        ``"local"``: every ensemble in this process. ``"dask"``: groups of
        configurations become tasks on a Dask cluster (``pip install neuromix[dask]``),
        each task training its group as ensembles; see ``address`` and ``n_workers``.
    out : path-like, optional
        A folder that keeps each finished model (``models/<key>.nmx``) and its metrics
        (``runs/<key>.json``), both written atomically as soon as its task ends; a rerun
        with the same folder trains only what is missing. Needed by ``engine="dask"``.
    address : str, optional
        ``engine="dask"``: the scheduler of a running cluster (``"tcp://host:8786"``;
        a SLURM or PBS cluster of dask-jobqueue, or a Kubernetes one); by default a
        :class:`distributed.LocalCluster` of ``n_workers`` processes with one thread each.
    n_workers : int, optional
        ``engine="dask"`` without ``address``: local worker processes (default: the CPU
        count). Each ensemble group is split into about this many tasks.
    **params
        Parameters of the estimator. A ``list`` (or 1-D numpy array) is a swept axis, one
        model per element; anything else (scalars, tuples such as ``hidden=(256, 256)``,
        dicts) is one value for all models. ``method_params`` may hold lists too:
        ``method_params={"alpha": [0.0, 0.5]}`` sweeps the option ``alpha`` (a dim named
        ``alpha``). ``checkpoint`` is not supported; every model's architecture must be
        ``"mlp"``.

    Returns
    -------
    SweepResult
        ``result.dataset``: an :class:`xarray.Dataset` whose dims are the swept
        parameters (coordinates: their values; values that are not scalars, such as
        ``hidden`` tuples, as their repr strings) with variables ``loss`` (last epoch's
        training loss), ``val_loss`` (last epoch's held-out loss: the validation split of
        ``validation_fraction`` for arrays, the held-out trials for recordings; NaN
        without one), ``fit_seconds`` (the ensemble's training time divided equally among
        its models), ``ensemble`` (which ensemble trained the model) and, for recordings,
        ``accuracy`` (mean within-subject decoding accuracy) and ``transfer`` (mean
        off-diagonal cross-subject transfer) of :meth:`NeuralModel.decode`.
        ``result.models``: the fitted models keyed by their coordinates,
        ``result.model(beta=..., seed=...)`` one of them (with ``out``, read back from
        the folder).

    Raises
    ------
    ValueError
        An empty or repeated list, nothing swept, a name that is not a parameter of the
        estimator, ``method`` given as a list, ``checkpoint``, a subject whose
        architecture is not an MLP, or any invalid parameter value (named, before any
        training).
    TrainingDivergedError
        A model's loss or gradient is not finite: the message starts with the model's
        configuration (also the error's ``model`` attribute); no model is returned.

    Notes
    -----
    An ensemble holds all its models' weights, gradients and Adam states at once (about
    0.2 GB per model of the paper's rat configuration). Ctrl-C stops the sweep and
    returns nothing. The grid's models are built, and their inputs checked, before any
    training starts.

    Examples
    --------
    >>> import neuromix as nm
    >>> X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
    >>> result = nm.sweep(X, beta=[0.5, 1.0], seed=[0, 1], epochs=2, progress=False)
    >>> result.dataset.val_loss.dims, len(result.models)
    (('beta', 'seed'), 4)
    >>> vae = result.model(beta=0.5, seed=1)  # equals MultimodalVAE(beta=0.5, seed=1, epochs=2)
    >>> vae.transform({"a": X["a"]})["a"].shape
    (200, 2)
    """
    if isinstance(method, list | tuple | np.ndarray):
        raise ValueError(_NOT_SWEPT["method"] + f" (got {method!r})")
    if progress not in (True, False):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    if engine not in ("local", "dask"):
        raise ValueError(f"engine must be 'local' or 'dask', got {engine!r}")
    if engine == "dask" and out is None:
        raise ValueError(
            'engine="dask" needs out=<folder>: the workers write each model and its metrics '
            "there (a rerun skips what is finished)"
        )
    recordings = _is_recordings(data)
    cls = NeuralModel if recordings else MultimodalVAE
    fixed, axes = _split_params(cls, params)
    configs = _configs(method, {**fixed, "progress": progress}, axes)
    keys = [
        tuple(
            _coord_value(c[n] if t == n else c["method_params"][n]) for n, (t, _) in axes.items()
        )
        for c in configs
    ]
    names = [", ".join(f"{n}={v}" for n, v in zip(axes, key, strict=True)) for key in keys]
    if out is None:
        models, rows = fit_configs(cls, data, configs, names, progress=progress, evaluate=evaluate)
    else:
        models, rows = run_stored(
            cls,
            data,
            configs,
            [dict(zip(axes, key, strict=True)) for key in keys],
            names,
            out=out,
            engine=engine,
            address=address,
            n_workers=n_workers,
            progress=progress,
            evaluate=evaluate,
        )
    dataset = _dataset(axes, rows, cls.__name__, method, fixed)
    models = dict(zip(keys, models, strict=True))
    return SweepResult(dataset=dataset, models=models, dims=tuple(axes))
