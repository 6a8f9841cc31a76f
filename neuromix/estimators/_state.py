"""Saving and loading a fitted :class:`~neuromix.estimators.NeuralModel` (see
:func:`neuromix.load`): plain JSON config and tensors, no pickle.

A mixin of the estimator, split from :mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuromix.estimators.vae import MultimodalVAE

__all__: list[str] = []


class _StateMixin:
    """The state of a fitted model for :mod:`neuromix.io.persistence`."""

    def save(self, path, *, overwrite: bool = False):
        """Save weights, binned counts and a plain JSON config (no pickle).

        See :func:`neuromix.load`.
        """
        from neuromix.io.persistence import save_model

        return save_model(self, path, overwrite=overwrite)

    def _get_state(self):
        self._check_fitted()
        vae_config, vae_tensors = self.vae_._get_state()
        subjects = {}
        tensors = {f"vae.{k}": v for k, v in vae_tensors.items()}
        for m, s in enumerate(self.subjects_):
            c = self.counts_[s]
            labels = {
                name: _jsonable(coord.values)
                for name, coord in c.coords.items()
                if coord.dims == ("trial",) and name != "trial"
            }
            subjects[s] = {
                "trial": _jsonable(c["trial"].values),
                "unit": _jsonable(c["unit"].values),
                "time": _jsonable(c["time"].values),
                "labels": labels,
                "attrs": {k: _jsonable(v) for k, v in c.attrs.items()},
                "test": self.test_[s].tolist(),
                "validation": self.validation_[s].tolist(),
                "start": self.starts_[s],
                "stop": self.stops_[s],
                "dtype": str(c.dtype),
            }
            tensors[f"counts.{m}"] = torch.as_tensor(np.ascontiguousarray(c.values))
        config = {
            "params": self.get_params(deep=False),
            "subjects": subjects,
            "order": list(self.subjects_),
            "pairs": {k: v.to_dict("list") for k, v in self.pairs_.items()},
            "sources": self.sources_,
            "vae": vae_config,
            "n_windows": self.n_windows_,
        }
        return config, tensors

    @classmethod
    def _from_state(cls, config, tensors, device="auto"):
        params = dict(config["params"])
        params["device"] = device
        if "hidden" in params:
            params["hidden"] = tuple(params["hidden"])
        model = cls(**params)
        vae_tensors = {k[4:]: v for k, v in tensors.items() if k.startswith("vae.")}
        model.vae_ = MultimodalVAE._from_state(config["vae"], vae_tensors, device=device)
        model.subjects_ = tuple(config["order"])
        model.counts_, model.test_, model.starts_, model.stops_ = {}, {}, {}, {}
        model.validation_ = {}
        for m, s in enumerate(model.subjects_):
            info = config["subjects"][s]
            coords = {"trial": info["trial"], "unit": info["unit"], "time": info["time"]}
            coords.update({k: ("trial", v) for k, v in info["labels"].items()})
            model.counts_[s] = xr.DataArray(
                tensors[f"counts.{m}"].numpy().astype(info["dtype"]),
                dims=("trial", "unit", "time"),
                coords=coords,
                attrs=info["attrs"],
            )
            model.test_[s] = np.array(info["test"], dtype=bool)
            # files of neuromix 0.1 have no validation trials
            model.validation_[s] = np.array(
                info.get("validation", [False] * len(info["test"])), dtype=bool
            )
            model.starts_[s], model.stops_[s] = info["start"], info["stop"]
        model.pairs_ = {k: pd.DataFrame(v) for k, v in config["pairs"].items()}
        model.sources_ = dict(config["sources"])
        model.n_windows_ = config["n_windows"]
        model._lag = round(model.window / model.bin_size)
        model._step = round(model.step / model.bin_size)
        model._tensors = [model._counts_tensor(s) for s in model.subjects_]
        return model


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
