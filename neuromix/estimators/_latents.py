"""Latents of a fitted :class:`~neuromix.estimators.NeuralModel`: windows, encoding and
their assembly into xarray (the ``sample`` MultiIndex and the trial coords).

A mixin of the estimator, split from :mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuromix.data.binning import bin_trials
from neuromix.data.pairing import select_trials
from neuromix.data.recording import Recording
from neuromix.estimators._inputs import _trial_table

__all__: list[str] = []


class _LatentsMixin:
    """Latents, raw windows and transform of new recordings, as xarray."""

    def _check_fitted(self):
        if not hasattr(self, "vae_"):
            raise RuntimeError("this NeuralModel is not fitted yet; call fit first")

    @property
    def history_(self) -> pd.DataFrame:
        self._check_fitted()
        return self.vae_.history_

    @property
    def beta_(self) -> float:
        """The beta of the fitted model (with ``beta="auto"`` or a list: the chosen one)."""
        self._check_fitted()
        return self.vae_.beta_

    @property
    def link_(self) -> str | None:
        """The Poisson link of the fitted model (with ``link="auto"``: the chosen one); None
        when no subject's likelihood takes the ``link`` parameter."""
        self._check_fitted()
        return getattr(self.vae_, "link_", None)

    @property
    def beta_selection_(self):
        """How beta was chosen (an xarray Dataset over the grid), or None for a fixed beta;
        drawn by :meth:`plot_beta_selection`."""
        self._check_fitted()
        return self.vae_.beta_selection_

    @property
    def best_epoch_(self) -> int | None:
        """The epoch whose weights early stopping kept (None without early stopping)."""
        self._check_fitted()
        return self.vae_.best_epoch_

    def _all_windows(self, m: int, tensor: torch.Tensor | None = None) -> torch.Tensor:
        """Every window of every trial of subject m, ``(trial * window, unit * lag)``."""
        t = self._tensors[m] if tensor is None else tensor
        view = t.unfold(2, self._lag, self._step)[:, :, : self.n_windows_]  # (tr, u, w, lag)
        return view.permute(0, 2, 1, 3).reshape(t.shape[0] * self.n_windows_, -1).float()

    def _encode(self, m: int, windows: torch.Tensor):
        """Posterior means and variances of subject m's windows, through the one public
        encode path, :meth:`MultimodalVAE.posterior`."""
        s = self.subjects_[m]
        return self.vae_.posterior({s: windows.cpu().numpy()})[s]

    def _window_coords(self, s: str, counts: xr.DataArray, split: np.ndarray | None):
        n_trials = counts.sizes["trial"]
        w = self.n_windows_
        trial_ids = np.repeat(counts["trial"].values, w)
        window = np.tile(np.arange(w), n_trials)
        coords = {
            self.subject_dim: np.full(n_trials * w, s, dtype=object),
            "trial": trial_ids,
            "window": window,
        }
        extra = {"time": ("sample", np.round(self.starts_[s] + window * self.step, 9))}
        if split is not None:
            extra["split"] = ("sample", np.repeat(np.where(split, "test", "train"), w))
        for name, coord in counts.coords.items():
            if coord.dims == ("trial",) and name != "trial":
                extra[name] = ("sample", np.repeat(coord.values, w))
        return coords, extra

    def _assemble(self, parts, *, sample, n_draws, seed, attrs):
        """Concatenate per-subject latents into one DataArray with a MultiIndex."""
        frames, extras, values = [], [], []
        rng = np.random.default_rng(self.seed if seed is None else seed)
        for coords, extra, (mu, var) in parts:
            frames.append(pd.DataFrame(coords))
            extras.append(extra)
            if sample:
                eps = rng.standard_normal((n_draws, *mu.shape)).astype(mu.dtype)
                values.append(mu + np.sqrt(var) * eps)
            else:
                values.append(mu)
        index = pd.MultiIndex.from_frame(pd.concat(frames, ignore_index=True))
        coords = xr.Coordinates.from_pandas_multiindex(index, "sample")
        data = np.concatenate(values, axis=-2)
        dims = ("draw", "sample", "latent") if sample else ("sample", "latent")
        da = xr.DataArray(data, dims=dims, coords=coords, name="latent", attrs=attrs)
        names = set().union(*(e.keys() for e in extras))
        for name in sorted(names):
            pieces = []
            for e, (_, _, (mu, _)) in zip(extras, parts, strict=True):
                if name in e:
                    pieces.append(np.asarray(e[name][1], dtype=object))
                else:
                    pieces.append(np.full(mu.shape[0], None, dtype=object))
            column = np.concatenate(pieces)
            try:
                column = pd.Series(column).infer_objects().to_numpy()
            except (TypeError, ValueError):  # pragma: no cover - mixed labels stay objects
                pass
            da = da.assign_coords({name: ("sample", column)})
        return da.assign_coords(latent=np.arange(data.shape[-1]))

    def latents(self, *, sample: bool = False, n_draws: int = 1, seed: int | None = None):
        """Latents of every window of every kept trial of every subject.

        Parameters
        ----------
        sample : bool, default=False
            Draw from each window's posterior instead of giving its mean.
        n_draws : int, default=1
            Draws per window when ``sample``.
        seed : int, optional
            Seed of the draws (default: the model's seed).

        Returns
        -------
        xarray.DataArray
            Dims ``("sample", "latent")`` (``("draw", "sample", "latent")`` when
            sampling); ``sample`` is a MultiIndex of (``subject_dim``, ``trial``,
            ``window``), so ``.sel(rat="Mitt")`` and ``.unstack("sample")`` work; coords
            ``time`` (window start relative to onset, s), ``split`` ("train"/"test") and
            every trial label, so ``.groupby("odor")`` works.
        """
        self._check_fitted()
        _check_sampling(sample, n_draws, seed)
        parts = []
        for m, s in enumerate(self.subjects_):
            coords, extra = self._window_coords(s, self.counts_[s], self.test_[s])
            parts.append((coords, extra, self._encode(m, self._all_windows(m))))
        attrs = {
            "method": self.method,
            "subject_dim": self.subject_dim,
            "beta": self.vae_.beta_,
            "description": "posterior " + ("samples" if sample else "means") + " per window",
        }
        return self._assemble(parts, sample=sample, n_draws=n_draws, seed=seed, attrs=attrs)

    def windows(self) -> xr.DataArray:
        """The raw windows the encoders read, row for row as :meth:`latents`.

        Returns
        -------
        xarray.DataArray
            Dims ``("sample", "feature")``, with the ``sample`` MultiIndex and coords of
            :meth:`latents` (``split``, ``time``, the labels); ``feature`` is
            ``unit * lag + lag_bin`` of a window of ``window / bin_size`` bins. A subject
            with fewer features than the widest one is padded with NaN, so that
            ``.sel(rat="Mitt").dropna("feature", how="all")`` gives its own windows.
        """
        self._check_fitted()
        widths = [self._all_windows(m).shape[1] for m in range(len(self.subjects_))]
        parts = []
        for m, s in enumerate(self.subjects_):
            coords, extra = self._window_coords(s, self.counts_[s], self.test_[s])
            rows = self._all_windows(m).cpu().numpy()
            padded = np.full((rows.shape[0], max(widths)), np.nan, dtype=rows.dtype)
            padded[:, : rows.shape[1]] = rows
            parts.append((coords, extra, (padded, None)))
        attrs = {"subject_dim": self.subject_dim, "description": "raw windows, unit * lag"}
        da = self._assemble(parts, sample=False, n_draws=1, seed=None, attrs=attrs)
        return da.rename({"latent": "feature"}).rename("windows")

    def transform(self, recordings, *, sample: bool = False, n_draws: int = 1, seed=None):
        """Latents of new recordings of fitted subjects (e.g. another session).

        The recordings are binned and windowed as at fit (same ranges, no split); their
        units must carry the same ids, in the same order, as at fit. ``sample``,
        ``n_draws`` and ``seed`` as in :meth:`latents`.
        """
        self._check_fitted()
        _check_sampling(sample, n_draws, seed)
        data = self._normalise(recordings)
        for s in data:  # every subject before any is binned
            if s not in self.subjects_:
                raise ValueError(
                    f"subject {s!r} was not present at fit; fitted subjects: "
                    f"{', '.join(map(repr, self.subjects_))}"
                )
        parts = []
        for s, rec in data.items():
            m = self.subjects_.index(s)
            units = rec.unit_ids if isinstance(rec, Recording) else rec["unit"].values
            fitted_units = self.counts_[s]["unit"].values
            if len(units) != len(fitted_units) or np.any(np.asarray(units) != fitted_units):
                raise ValueError(
                    f"subject {s!r}: unit ids differ from those at fit ({len(units)} units "
                    f"given, {len(fitted_units)} at fit); the encoder reads units by position, "
                    "so the same units in the same order are needed"
                )
            table = _trial_table(s, rec)
            if self.where:
                table = select_trials(table, self.where, subject=s)
            if isinstance(rec, Recording):
                rec = dataclasses.replace(rec, trials=rec.trials.loc[table.index])
            else:
                rec = rec.sel(trial=table.index.to_numpy())
            counts = bin_trials(
                rec, start=self.starts_[s], stop=self.stops_[s], bin_size=self.bin_size
            )
            tensor = torch.as_tensor(np.ascontiguousarray(counts.values), device=self.vae_.device_)
            coords, extra = self._window_coords(s, counts, None)
            parts.append((coords, extra, self._encode(m, self._all_windows(m, tensor))))
        return self._assemble(
            parts,
            sample=sample,
            n_draws=n_draws,
            seed=seed,
            attrs={"method": self.method, "subject_dim": self.subject_dim},
        )

    def _split_latents(self, label, latents=None):
        lat = self.latents() if latents is None else latents
        dim = self.subject_dim
        out = {"train": {}, "test": {}}
        labels = lat[label].values
        split = lat["split"].values
        subj = lat[dim].values
        trials = lat["trial"].values
        for s in self.subjects_:
            for part in ("train", "test"):
                sel = (subj == s) & (split == part)
                out[part][s] = (lat.values[sel], labels[sel], trials[sel])
        return out

    def _check_label(self, label) -> None:
        """ValueError unless ``label`` is a trial label with two values or more among the
        training trials of every subject (what a classifier needs)."""
        for s in self.subjects_:
            c = self.counts_[s]
            names = [n for n, v in c.coords.items() if v.dims == ("trial",) and n != "trial"]
            if not isinstance(label, str) or label not in names:
                raise ValueError(
                    f"subject {s!r}: label {label!r} is not a trial label of the fitted data "
                    f"(labels: {', '.join(map(str, names))})"
                )
            values = pd.unique(c[label].values[~self.test_[s]])
            if len(values) < 2:
                raise ValueError(
                    f"subject {s!r}: label {label!r} takes one value ({values[0]!r}) in the "
                    "training trials; a classifier needs two or more"
                )


def _check_sampling(sample, n_draws, seed) -> None:
    """The draw arguments of :meth:`NeuralModel.latents` and ``transform``."""
    if not isinstance(sample, bool | np.bool_):
        raise TypeError(f"sample: expected True or False, got {sample!r}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer):
        raise TypeError(f"n_draws: expected an integer >= 1, got {n_draws!r}")
    if n_draws < 1:
        raise ValueError(f"n_draws: expected an integer >= 1, got {n_draws!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed: expected None or an integer >= 0, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed: expected None or an integer >= 0, got {seed!r}")
