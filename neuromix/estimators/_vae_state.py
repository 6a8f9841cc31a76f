"""Saving and loading a fitted :class:`~neuromix.estimators.MultimodalVAE` (see
:func:`neuromix.load`): a plain JSON config and the module's tensors, no pickle.

A mixin of the estimator, split from :mod:`neuromix.estimators.vae` for size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from neuromix.models.likelihoods import get_likelihood

__all__: list[str] = []


class _VAEStateMixin:
    """The state of a fitted MultimodalVAE for :mod:`neuromix.io.persistence`."""

    def save(self, path, *, overwrite=False):
        """Save weights and a plain JSON config (no pickled objects); see :func:`neuromix.load`.

        The file is written to a temporary path and moved into place; an existing file
        is only replaced with ``overwrite=True``.
        """
        from neuromix.io.persistence import save_model

        return save_model(self, path, overwrite=overwrite)

    def _get_state(self):
        self._check_fitted()
        config = {
            "params": self.get_params(deep=False),
            "subjects": list(self.subjects_),
            "shapes": {s: list(v) for s, v in self.shapes_.items()},
            "history": self.history_.to_dict("records"),
            "n_samples": int(self.n_samples_),
            "beta": float(self.beta_),
            "best_epoch": self.best_epoch_,
            # the likelihoods trained (link="auto" chose a Poisson link)
            "likelihoods": {s: lik.config() for s, lik in self.likelihoods_.items()},
            "link": getattr(self, "link_", None),
            "beta_selection": (
                None if self.beta_selection_ is None else _plain(self.beta_selection_.to_dict())
            ),
            # a model that gained subjects (add_modality): the subjects whose networks
            # were built together, their reconstruction weights, the additions' curves
            "groups": [list(g) for g in self.groups_],
            "recon_weights": [float(w) for w in self._recon_weights],
            "additions": {
                s: {
                    "history": a["history"].to_dict("records"),
                    **{k: _plain(v) for k, v in a.items() if k != "history"},
                }
                for s, a in self.additions_.items()
            },
        }
        tensors = {f"module.{k}": v for k, v in self.module_.state_dict().items()}
        return config, tensors

    @classmethod
    def _from_state(cls, config, tensors, device="auto"):
        params = dict(config["params"])
        params["hidden"] = tuple(params["hidden"])
        params["device"] = device
        est = cls(**params)
        est._build(
            config["subjects"],
            {s: tuple(v) for s, v in config["shapes"].items()},
            groups=config.get("groups"),
        )
        if "recon_weights" in config:  # older files: recomputed by _build
            est._recon_weights = list(config["recon_weights"])
            est.module_.recon_weights = list(config["recon_weights"])
        prefix = "module."
        est.module_.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
        est.module_.eval()
        est.history_ = pd.DataFrame(config["history"])
        est.n_samples_ = config["n_samples"]
        # files of neuromix 0.1 (before beta selection and early stopping) have neither
        est.beta_ = float(config.get("beta", params["beta"]))
        est.best_epoch_ = config.get("best_epoch")
        if "likelihoods" in config:  # older files: the likelihoods of the parameters
            est.likelihoods_ = {s: get_likelihood(c) for s, c in config["likelihoods"].items()}
            est.module_.likelihoods = [est.likelihoods_[s] for s in est.subjects_]
        est.link_ = config.get("link")
        selection = config.get("beta_selection")
        est.beta_selection_ = None if selection is None else xr.Dataset.from_dict(selection)
        est.additions_ = {
            s: {**a, "history": pd.DataFrame(a["history"])}
            for s, a in config.get("additions", {}).items()
        }
        return est


def _plain(value):
    """JSON-able copy of nested dicts and lists of numpy values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
