"""Saving and loading a fitted :class:`~neuromix.estimators.MultimodalVAE` (see
:func:`neuromix.load`): a plain JSON config and the module's tensors, no pickle.

A mixin of the estimator, split from :mod:`neuromix.estimators.vae` for size.
"""

from __future__ import annotations

import pandas as pd

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
        }
        tensors = {f"module.{k}": v for k, v in self.module_.state_dict().items()}
        return config, tensors

    @classmethod
    def _from_state(cls, config, tensors, device="auto"):
        params = dict(config["params"])
        params["hidden"] = tuple(params["hidden"])
        params["device"] = device
        est = cls(**params)
        est._build(config["subjects"], {s: tuple(v) for s, v in config["shapes"].items()})
        prefix = "module."
        est.module_.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
        est.module_.eval()
        est.history_ = pd.DataFrame(config["history"])
        est.n_samples_ = config["n_samples"]
        return est
