"""``neuromix.fit``: recordings of several subjects in, a shared latent space out.

The path (DESIGN.md section 2): per subject, select trials, bin at ``bin_size`` on a
grid aligned to each trial's onset over ``[start, stop)``, cut windows of ``window``
seconds every ``step`` seconds, split train/test *by trial*, pair trials across
subjects by condition (``label``) within each split, and train a
:class:`~neuromix.MultimodalVAE` on the paired windows, cut on the fly from the binned
counts. The fitted :class:`NeuralModel` gives latents as xarray, decoding, alignment,
coherence, plots and NWB export.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.base import BaseEstimator

from neuromix._validation import Check, Interval, Options, check_params
from neuromix.data.binning import _positive_bins, _seconds, bin_trials
from neuromix.data.ingest import _check_trials, collect_recordings
from neuromix.data.pairing import (
    _keep_shared_conditions,
    pair_trials,
    select_trials,
    split_trials,
)
from neuromix.data.recording import Recording
from neuromix.data.windows import n_windows as count_windows
from neuromix.evaluation.alignment import centroid_distances
from neuromix.evaluation.decoding import chance_level, decode_labels, window_classifier
from neuromix.evaluation.onset import _training_onsets
from neuromix.io.persistence import register_model_class
from neuromix.models.likelihoods import get_likelihood
from neuromix.models.registry import available, get_method
from neuromix.models.vae import RATE_SCALES
from neuromix.training.estimator import MultimodalVAE
from neuromix.training.samplers import WindowSampler

__all__ = ["NeuralModel", "fit"]

_WINDOWS_PER_TRIAL = 16  # the paper's 16 windows of 100 ms every 10 ms


def _scalar_or_mapping(value) -> bool:
    return value is None or (
        isinstance(value, int | float | Mapping) and not isinstance(value, bool)
    )


def _is_auto(value) -> bool:
    return isinstance(value, str) and value == "auto"


def _start_spec(value) -> bool:
    return _is_auto(value) or _scalar_or_mapping(value)


@register_model_class
class NeuralModel(BaseEstimator):
    """A multimodal VAE fitted to windows of several subjects' recordings.

    Each subject keeps its own encoder and decoder; the ``method`` decides how their
    latents share information. Build it with :func:`neuromix.fit` or
    ``NeuralModel(...).fit(recordings)``.

    Parameters
    ----------
    subject_dim : str, default="subject"
        Name of the subject dimension in every result (e.g. ``"rat"``).
    method : str, default="mmvm"
        One of :func:`neuromix.models.available`.
    label : str, default="odor"
        Trial label that defines the condition by which trials are paired across
        subjects, and that :meth:`decode` decodes by default.
    where : mapping, optional
        Keep only trials whose labels match, e.g. ``{"correct": True,
        "odor": ["A", "B", "C", "D"]}`` (see :func:`neuromix.data.select_trials`).
    start, stop : float or mapping subject -> float, optional
        Window range in seconds relative to trial onset; windows lie fully inside
        ``[start, stop)``. Default ``start``: the recording's
        ``metadata["window_start"]`` (set by the simulator to the paper's +250/+500 ms),
        else 0. Default ``stop``: ``start`` + 250 ms (the paper's 16 windows).
        ``start="auto"`` (or ``"auto"`` for some subjects of a mapping) starts each
        subject's windows at its response onset, estimated on its training trials by
        :func:`neuromix.response_onset` (same ``label``, ``where``, ``missing``,
        ``test_size``, ``seed`` and ``bin_size``): for NWB or array input, which says
        when trials start but not when the neurons respond. The onsets are in
        ``starts_``; a subject without a response found is an error.
    bin_size, window, step : float, default=0.01, 0.1, 0.01
        Bin width, window length and window step, in seconds.
    pairing : {"resample", "min"}, default="resample"
        ``"resample"``: every training trial is used and the pairing is drawn anew each
        epoch, which also keeps the networks from memorising fixed pairs (on the
        simulated rats it roughly halves the gap between training and held-out loss).
        ``"min"``: per condition the smallest trial count over subjects, i-th trials
        paired (the paper's rule).
    missing : {"raise", "drop"}, default="raise"
        A condition present in some subjects but not all: raise, or drop it.
    test_size : float, default=0.2
        Fraction of each subject's trials held out (stratified by ``label``).
    latent_dim : int, default=2
    beta : float, default=10.0
        Weight of the rate term against a reconstruction log-likelihood summed over the
        ~1000 neurons x lags of a window. Paired windows share only the condition and
        the window index, so the rate is what pulls subjects together: on the simulated
        rats beta = 1 keeps private trial detail and does not align the subjects,
        beta = 5 aligns them in some fits and leaves pairs in mirror image in others,
        beta = 10-20 aligns them, beta = 80 collapses the latents to the prior.
    rate_scale : {"one", "subjects"}, default="one"
        What beta multiplies for the aggregation methods (AVG, PoE, MoE, MoPoE): one KL
        of their joint posterior, or that KL counted once per subject as in the
        authors' code (``"subjects"``: M x KL for M subjects). Independent VAEs and MMVM
        are the same under both. See :class:`neuromix.MultimodalVAE`.
    likelihood : str, default="poisson"
        Observation model of the binned counts (``"poisson"``, or the paper's
        ``"gaussian"`` squared error).
    method_params : dict, optional
        Options of the method (see :class:`neuromix.MultimodalVAE`).
    hidden : tuple, default=(256, 256)
        Hidden widths of each subject's encoder and decoder MLPs: ints are absolute,
        floats multiples of the subject's input size (``(1.0, 1.0)`` is the paper's
        architecture, as wide as the ~500-1000 inputs). On the simulated rats the
        paper's width let subjects settle into mirror-image latents before the MMVM
        rate could align them (held-out cross-rat transfer 0.47, worst pair 0.06,
        against 0.64 and 0.56 at width 256, 3 simulator seeds: docs/results/alignment.md),
        at 2-3x the training time.
    reweight : None, "size" or mapping, default=None
        Weights of the subjects' reconstruction terms, as in
        :class:`neuromix.MultimodalVAE`.
    epochs, batch_size, lr, seed, device, progress, clip_grad
        Training settings, as in :class:`neuromix.MultimodalVAE`.
    checkpoint, checkpoint_every
        Keep the training state in a file every ``checkpoint_every`` epochs and resume
        from it when it exists, as in :class:`neuromix.MultimodalVAE`. The checkpoint
        records this model's parameters and is refused by a fit whose parameters
        (but ``epochs``, ``progress``, ``device`` and these two), subjects, window
        sizes or numbers of windows differ. With ``pairing="resample"`` the pairing of
        an epoch depends only on (seed, epoch), so a resumed fit draws the same
        pairings as an uninterrupted one. Training stops with an error at the first
        non-finite loss or gradient, and a Ctrl-C keeps the last completed epoch, as
        for :class:`neuromix.MultimodalVAE`.

    Attributes
    ----------
    subjects_ : tuple of str
    counts_ : dict of str to xarray.DataArray
        Binned counts ``(trial, unit, time)`` of the kept trials of each subject, with
        every trial label as a coord.
    test_ : dict of str to numpy.ndarray of bool
        Held-out trials of each subject (along ``counts_[s].trial``).
    starts_, stops_ : dict of str to float
        Window range of each subject, s after trial onset (with ``start="auto"``, the
        estimated response onsets and onset + 250 ms).
    pairs_ : dict
        ``"train"`` and ``"test"`` pairings (:func:`neuromix.data.pair_trials`; with
        ``pairing="resample"``, ``"train"`` is the first epoch's draw).
    sources_ : dict of str to str or None
        The NWB file each subject was read from (``None`` for in-memory data).
    vae_ : MultimodalVAE
        The fitted array-level model.
    history_ : pandas.DataFrame
        Training curves (the validation columns are the held-out trials).
    """

    _parameter_constraints = {
        "subject_dim": Check(lambda v: isinstance(v, str) and v != "", "a non-empty string"),
        "method": Options(available),
        "label": Check(lambda v: isinstance(v, str), "a trial label name"),
        "where": [Options((None,)), Check(lambda v: isinstance(v, Mapping), "a mapping")],
        "start": Check(
            _start_spec, "None, 'auto', a number or a mapping subject -> number or 'auto'"
        ),
        "stop": Check(_scalar_or_mapping, "None, a number or a mapping subject -> number"),
        "bin_size": Interval(float, 0.0, low_open=True),
        "window": Interval(float, 0.0, low_open=True),
        "step": Interval(float, 0.0, low_open=True),
        "pairing": Options(("min", "resample")),
        "missing": Options(("raise", "drop")),
        "test_size": Interval(float, 0.0, 0.9, low_open=True),
        "rate_scale": Options(RATE_SCALES),
    }

    def __init__(
        self,
        *,
        subject_dim="subject",
        method="mmvm",
        label="odor",
        where=None,
        start=None,
        stop=None,
        bin_size=0.01,
        window=0.1,
        step=0.01,
        pairing="resample",
        missing="raise",
        test_size=0.2,
        latent_dim=2,
        beta=10.0,
        rate_scale="one",
        likelihood="poisson",
        method_params=None,
        hidden=(256, 256),
        reweight=None,
        epochs=100,
        batch_size=128,
        lr=1e-3,
        seed=0,
        device="auto",
        progress=True,
        clip_grad=None,
        checkpoint=None,
        checkpoint_every=1,
    ):
        self.subject_dim = subject_dim
        self.method = method
        self.label = label
        self.where = where
        self.start = start
        self.stop = stop
        self.bin_size = bin_size
        self.window = window
        self.step = step
        self.pairing = pairing
        self.missing = missing
        self.test_size = test_size
        self.latent_dim = latent_dim
        self.beta = beta
        self.rate_scale = rate_scale
        self.likelihood = likelihood
        self.method_params = method_params
        self.hidden = hidden
        self.reweight = reweight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.device = device
        self.progress = progress
        self.clip_grad = clip_grad
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    # ------------------------------------------------------------------ input
    def _normalise(self, recordings) -> dict[str, Recording | xr.DataArray]:
        """Mapping subject -> Recording or binned DataArray, from every accepted input."""
        return collect_recordings(recordings, subject_dim=self.subject_dim)

    def _per_subject(self, value, subjects, name, default, auto=None):
        if isinstance(value, Mapping):
            missing = [s for s in subjects if s not in value]
            if missing:
                raise ValueError(f"{name}: no value for subject {missing[0]!r}")
            unknown = [k for k in value if k not in subjects]
            if unknown:
                raise ValueError(
                    f"{name}: subject {unknown[0]!r} is not in the recordings "
                    f"({', '.join(map(repr, subjects))})"
                )
            values = {s: value[s] for s in subjects}
        else:
            values = dict.fromkeys(subjects, value)
        wanted = [s for s in subjects if _is_auto(values[s])]
        if wanted and auto is not None:
            values.update(auto(wanted))
        if isinstance(value, Mapping):
            return {s: _seconds(values[s], name, s) for s in subjects}
        return {
            s: _seconds(default(s) if values[s] is None else values[s], name, s) for s in subjects
        }

    def _auto_starts(self, data, trials, test, subjects) -> dict[str, float]:
        """``start="auto"``: the response onsets of ``subjects`` on their training trials."""
        found = _training_onsets(
            {s: data[s] for s in subjects},
            trials,
            test,
            label=self.label,
            subject_dim=self.subject_dim,
            bin_size=self.bin_size,
            seed=self.seed,
        )
        onsets = dict(zip(subjects, found["onset"].values.tolist(), strict=True))
        for s, onset in onsets.items():
            if np.isnan(onset):
                raise ValueError(
                    f"subject {s!r}: start='auto': no response depending on "
                    f"{self.label!r} was found on the training trials (see "
                    "neuromix.response_onset); pass start= for this subject"
                )
        return onsets

    def _check_params_early(self):
        """Every parameter, those of the array-level model included, before any work."""
        check_params(self.get_params(deep=False), self._parameter_constraints)
        vae = self._make_vae()
        check_params(vae.get_params(deep=False), vae._parameter_constraints)
        get_method(self.method, **(self.method_params or {}))
        return vae

    def _check_ranges(self, data, trials, starts, stops):
        """Windows per subject, checked before binning: ``window`` and ``step`` whole
        numbers of bins, ``[start, stop)`` inside every kept trial, and the same number
        of windows for every subject (windows are paired by index)."""
        for name in ("window", "step"):
            _positive_bins(getattr(self, name), self.bin_size, name)
        windows = {}
        for s in data:
            try:
                windows[s] = count_windows(
                    starts[s], stops[s], self.window, self.step, bin_size=self.bin_size
                )
            except ValueError as error:
                raise ValueError(f"subject {s!r}: {error}") from None
            if not isinstance(data[s], Recording):
                continue  # binned data: bin_trials checks the range against its time axis
            table = trials[s]
            length = (table["stop_time"] - table["start_time"]).to_numpy(dtype=float)
            short = length < stops[s] - 1e-9
            if short.any():
                ids = table.index[short].tolist()
                default = (
                    " (stop defaults to start + window + 15 steps)" if self.stop is None else ""
                )
                raise ValueError(
                    f"subject {s!r}: stop: windows run to {stops[s]!r} s after onset{default}, "
                    f"past the end of trials {ids[:5]} (the shortest lasts "
                    f"{float(length.min())!r} s); lower start, stop or window"
                )
        if len(set(windows.values())) > 1:
            listing = ", ".join(f"{s!r}: {n}" for s, n in windows.items())
            raise ValueError(
                f"start/stop: subjects get different numbers of windows ({listing}); windows "
                "are paired by index, so every subject's range must hold the same number"
            )
        return windows

    # ------------------------------------------------------------------ fitting
    def fit(self, recordings, y=None):
        """Bin, window, split, pair and train.

        Parameters
        ----------
        recordings : mapping, xarray.DataTree or xarray.DataArray
            A mapping subject -> :class:`~neuromix.data.Recording` (what
            :func:`neuromix.read_nwb`, :func:`neuromix.from_arrays` and
            :func:`neuromix.datasets.simulate_odor_sequence` give) or subject -> binned
            counts ``(trial, unit, time)``; a DataTree with one node per subject
            holding such counts; or one DataArray with a ``subject_dim`` dimension.

        Returns
        -------
        self
        """
        vae = self._check_params_early()
        data = self._normalise(recordings)
        subjects = list(data)
        for spec in vae._per_subject(self.likelihood, subjects, "likelihood"):
            get_likelihood(spec)
        joint = self.method != "independent"
        if joint and len(subjects) < 2:
            raise ValueError(
                f"method {self.method!r} is a joint method and needs at least two subjects; "
                f"got {len(subjects)} ({', '.join(map(repr, subjects))}); use "
                "method='independent' for one subject"
            )
        trials = {s: _trial_table(s, d) for s, d in data.items()}
        for s, table in trials.items():
            if len(table) == 0:
                raise ValueError(f"subject {s!r}: trials: the recording has no trials")
            if self.label not in table.columns:
                raise ValueError(
                    f"subject {s!r}: label {self.label!r} is missing from the trial table "
                    f"(columns: {', '.join(map(str, table.columns))})"
                )
        if self.where:
            trials = {s: select_trials(t, self.where, subject=s) for s, t in trials.items()}
            for s, t in trials.items():
                if len(t) == 0:
                    raise ValueError(f"subject {s!r}: trials: no trial matches where={self.where}")
        trials = self._check_conditions(trials)
        test = {
            s: split_trials(
                trials[s], test_size=self.test_size, stratify=self.label, seed=self.seed, subject=s
            )
            for s in subjects
        }
        starts = self._per_subject(
            self.start,
            subjects,
            "start",
            lambda s: _metadata(data[s]).get("window_start", 0.0),
            auto=lambda wanted: self._auto_starts(data, trials, test, wanted),
        )
        stops = self._per_subject(
            self.stop,
            subjects,
            "stop",
            lambda s: starts[s] + self.window + (_WINDOWS_PER_TRIAL - 1) * self.step,
        )
        windows = self._check_ranges(data, trials, starts, stops)
        counts = {}
        for s in subjects:
            kept = trials[s].index
            source = data[s]
            if isinstance(source, Recording):
                source = dataclasses.replace(source, trials=source.trials.loc[kept])
            else:
                source = source.sel(trial=kept.to_numpy())
            counts[s] = bin_trials(source, start=starts[s], stop=stops[s], bin_size=self.bin_size)
        self.subjects_ = tuple(subjects)
        self.sources_ = {s: _source_file(data[s]) for s in subjects}
        self.counts_ = counts
        self.test_ = test
        self.starts_, self.stops_ = starts, stops
        self.n_windows_ = next(iter(windows.values()))
        self._lag = round(self.window / self.bin_size)
        self._step = round(self.step / self.bin_size)
        self.pairs_ = {
            "train": self._pair(False, rng=self._pairing_rng(0)),
            "test": self._pair(True, rng=None, rule="min"),
        }
        shapes = {s: (counts[s].sizes["unit"] * self._lag,) for s in subjects}
        vae._build(subjects, shapes)
        self.vae_ = vae
        self._tensors = [self._counts_tensor(s) for s in subjects]
        if self.pairing == "resample":

            def pairs_for_epoch(epoch):
                return self._positions(self._pair(False, rng=self._pairing_rng(epoch)))

            train_pairs = pairs_for_epoch
        else:
            train_pairs = self._positions(self.pairs_["train"])
        sampler = self._sampler(train_pairs)
        validation = (
            self._sampler(self._positions(self.pairs_["test"]))
            if len(self.pairs_["test"])
            else None
        )
        vae._fit_sampler(sampler, validation, owner=self)
        return self

    def _make_vae(self) -> MultimodalVAE:
        return MultimodalVAE(
            method=self.method,
            method_params=self.method_params,
            latent_dim=self.latent_dim,
            beta=self.beta,
            rate_scale=self.rate_scale,
            likelihood=self.likelihood,
            architecture="mlp",
            hidden=self.hidden,
            reweight=self.reweight,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            validation_fraction=0.0,
            seed=self.seed,
            device=self.device,
            progress=self.progress,
            clip_grad=self.clip_grad,
            checkpoint=self.checkpoint,
            checkpoint_every=self.checkpoint_every,
        )

    def _check_conditions(self, trials):
        return _keep_shared_conditions(trials, self.label, self.missing)

    def _pairing_rng(self, epoch: int) -> np.random.Generator:
        """The resampling rule's generator of an epoch: a function of (seed, epoch) only,
        so a pairing never depends on how often pairings were drawn before."""
        return np.random.default_rng([int(self.seed), 7, int(epoch)])

    def _pair(self, held_out: bool, *, rng, rule=None) -> pd.DataFrame:
        conditions = {}
        for s in self.subjects_:
            c = self.counts_[s]
            keep = self.test_[s] if held_out else ~self.test_[s]
            conditions[s] = pd.Series(c[self.label].values[keep], index=c["trial"].values[keep])
        if len(conditions) == 1:  # one subject (independent VAE): every trial is a tuple
            ((s, series),) = conditions.items()
            return pd.DataFrame({s: series.index, "condition": series.to_numpy()})
        return pair_trials(conditions, rule=rule or self.pairing, rng=rng, missing="drop")

    def _positions(self, pairs: pd.DataFrame) -> np.ndarray:
        cols = []
        for s in self.subjects_:
            index = pd.Index(self.counts_[s]["trial"].values)
            cols.append(index.get_indexer(pairs[s].to_numpy()))
        return np.stack(cols, axis=1) if cols else np.zeros((0, 0), dtype=np.int64)

    def _counts_tensor(self, s) -> torch.Tensor:
        return torch.as_tensor(
            np.ascontiguousarray(self.counts_[s].values), device=self.vae_.device_
        )

    def _sampler(self, pairs) -> WindowSampler:
        return WindowSampler(
            self._tensors,
            pairs,
            n_windows=self.n_windows_,
            lag_bins=self._lag,
            step_bins=self._step,
        )

    # ------------------------------------------------------------------ results
    def _check_fitted(self):
        if not hasattr(self, "vae_"):
            raise RuntimeError("this NeuralModel is not fitted yet; call fit first")

    @property
    def history_(self) -> pd.DataFrame:
        self._check_fitted()
        return self.vae_.history_

    def _all_windows(self, m: int, tensor: torch.Tensor | None = None) -> torch.Tensor:
        """Every window of every trial of subject m, ``(trial * window, unit * lag)``."""
        t = self._tensors[m] if tensor is None else tensor
        view = t.unfold(2, self._lag, self._step)[:, :, : self.n_windows_]  # (tr, u, w, lag)
        return view.permute(0, 2, 1, 3).reshape(t.shape[0] * self.n_windows_, -1).float()

    @torch.no_grad()
    def _encode(self, m: int, windows: torch.Tensor, chunk: int = 8192):
        module = self.vae_.module_
        module.eval()
        mus, logvars = [], []
        for i in range(0, windows.shape[0], chunk):
            inputs = [None] * len(self.subjects_)
            inputs[m] = windows[i : i + chunk]
            mu, logvar, given = module.encode(inputs)
            self.vae_._check_encoded(mu, logvar, given)
            mus.append(mu[:, m])
            logvars.append(logvar[:, m])
        return torch.cat(mus).cpu().numpy(), torch.cat(logvars).cpu().numpy()

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

    def _assemble(self, parts, *, sample, n_samples, seed, attrs):
        """Concatenate per-subject latents into one DataArray with a MultiIndex."""
        frames, extras, values = [], [], []
        rng = np.random.default_rng(self.seed if seed is None else seed)
        for coords, extra, (mu, logvar) in parts:
            frames.append(pd.DataFrame(coords))
            extras.append(extra)
            if sample:
                eps = rng.standard_normal((n_samples, *mu.shape)).astype(mu.dtype)
                values.append(mu + np.exp(0.5 * logvar) * eps)
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

    def latents(self, *, sample: bool = False, n_samples: int = 1, seed: int | None = None):
        """Latents of every window of every kept trial of every subject.

        Parameters
        ----------
        sample : bool, default=False
            Draw from each window's posterior instead of giving its mean.
        n_samples : int, default=1
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
        _check_sampling(sample, n_samples, seed)
        parts = []
        for m, s in enumerate(self.subjects_):
            coords, extra = self._window_coords(s, self.counts_[s], self.test_[s])
            parts.append((coords, extra, self._encode(m, self._all_windows(m))))
        attrs = {
            "method": self.method,
            "subject_dim": self.subject_dim,
            "beta": self.beta,
            "description": "posterior " + ("samples" if sample else "means") + " per window",
        }
        return self._assemble(parts, sample=sample, n_samples=n_samples, seed=seed, attrs=attrs)

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
        da = self._assemble(parts, sample=False, n_samples=1, seed=None, attrs=attrs)
        return da.rename({"latent": "feature"}).rename("windows")

    def transform(self, recordings, *, sample: bool = False, n_samples: int = 1, seed=None):
        """Latents of new recordings of fitted subjects (e.g. another session).

        The recordings are binned and windowed as at fit (same ranges, no split); their
        units must carry the same ids, in the same order, as at fit.
        """
        self._check_fitted()
        _check_sampling(sample, n_samples, seed)
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
            n_samples=n_samples,
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

    def decode(self, label: str | None = None, *, classifier=None) -> xr.Dataset:
        """Decode a trial label from the latents of held-out trials.

        Per subject, a classifier (default: standardised logistic regression) is trained
        on the latents of the windows of its training trials and scored on its held-out
        trials; ``transfer`` trains on one subject and tests on another. Accuracies are
        per window; their 95% intervals (``accuracy_ci``, ``transfer_ci``) resample
        held-out *trials*, since the windows of a trial are not independent. Beside
        each accuracy: ``chance`` (the majority-class rate of the held-out labels) and
        ``shuffled`` (the same classifier trained on labels permuted between training
        trials, every window of a trial keeping one label).

        Returns
        -------
        xarray.Dataset
            See :func:`neuromix.evaluation.decode_labels`.
        """
        self._check_fitted()
        label = self.label if label is None else label
        self._check_label(label)
        if classifier is not None and not all(
            hasattr(classifier, a) for a in ("fit", "predict", "get_params")
        ):
            raise TypeError(
                "classifier: expected a scikit-learn classifier (with fit, predict and "
                f"get_params), got {type(classifier).__name__}"
            )
        parts = self._split_latents(label)
        ds = decode_labels(
            parts["train"],
            parts["test"],
            subject_dim=self.subject_dim,
            classifier=classifier,
            seed=self.seed,
        )
        ds.attrs.update(label=label, method=self.method, unit="accuracy per window")
        return ds

    def alignment(self, label: str | None = None) -> xr.Dataset:
        """How well subjects share a latent space, on held-out trials.

        Returns the cross-subject decoding ``transfer`` matrix and, from
        :func:`neuromix.evaluation.centroid_distances`, the ``distance`` between
        subjects' condition-averaged latents relative to their spread, beside each
        subject's ``separation`` of conditions on the same scale. For aligned spaces
        the off-diagonal transfer is near the within-subject accuracy and the distance
        well below the separation.
        """
        self._check_fitted()
        label = self.label if label is None else label
        parts = self._split_latents(label)
        dist = centroid_distances(parts["test"], subject_dim=self.subject_dim)
        dec = decode_labels(
            parts["train"], parts["test"], subject_dim=self.subject_dim, seed=self.seed
        )
        ds = xr.merge(
            [dist, dec[["transfer", "transfer_ci", "accuracy", "accuracy_ci", "chance"]]]
        )
        off = ~np.eye(len(self.subjects_), dtype=bool)
        ds.attrs.update(
            label=label,
            method=self.method,
            mean_transfer=float(dec["transfer"].values[off].mean()),
            mean_distance=float(dist["distance"].values[off].mean()),
            mean_separation=float(dist["separation"].values.mean()),
        )
        return ds

    def coherence(self, label: str | None = None, *, sample: bool = True) -> xr.Dataset:
        """Coherence of conditional generation across subjects, on held-out trials.

        For each source subject m and target k: encode m's held-out windows, draw z from
        q_m, decode with k's decoder, and classify the generated windows with a
        classifier trained on k's real training windows. ``coherence[m, k]`` is the
        fraction classified as the source trial's label; ``oracle`` is that
        classifier's accuracy on k's real held-out windows (its ceiling) and ``chance``
        the majority-class rate. The window classifier is shrinkage LDA
        (:func:`neuromix.evaluation.decoding.window_classifier`).
        """
        self._check_fitted()
        label = self.label if label is None else label
        windows, labels = {}, {}
        for m, s in enumerate(self.subjects_):
            w = self._all_windows(m).cpu().numpy()
            trial_labels = np.repeat(self.counts_[s][label].values, self.n_windows_)
            test = np.repeat(self.test_[s], self.n_windows_)
            windows[s] = (w[~test], w[test])
            labels[s] = (trial_labels[~test], trial_labels[test])
        classifiers, oracle, chance = {}, {}, {}
        for s in self.subjects_:
            clf = window_classifier().fit(windows[s][0], labels[s][0])
            classifiers[s] = clf
            oracle[s] = clf.score(windows[s][1], labels[s][1])
            chance[s] = chance_level(labels[s][1])
        matrix = np.zeros((len(self.subjects_), len(self.subjects_)))
        for i, src in enumerate(self.subjects_):
            for j, tgt in enumerate(self.subjects_):
                generated = self.vae_.generate(
                    {src: windows[src][1]}, tgt, sample=sample, seed=self.seed + 13 * i + j
                )
                matrix[i, j] = classifiers[tgt].score(generated, labels[src][1])
        dim = self.subject_dim
        names = np.array(self.subjects_, dtype=object)
        return xr.Dataset(
            {
                "coherence": ((f"source_{dim}", f"target_{dim}"), matrix),
                "oracle": (dim, np.array([oracle[s] for s in self.subjects_])),
                "chance": (dim, np.array([chance[s] for s in self.subjects_])),
            },
            coords={dim: names, f"source_{dim}": names, f"target_{dim}": names},
            attrs={"label": label, "method": self.method},
        )

    # ------------------------------------------------------------------ plots and export
    def plot_embeddings(self, *, color: str | None = None, split: str | None = None, **kwargs):
        """Per-subject 2-D embeddings coloured by ``color`` (default the label), plus one
        panel of all subjects coloured by subject.

        With more than two latent dimensions one UMAP embedding is fitted on all
        subjects (PCA, with a warning, when umap-learn is not installed). Keyword
        arguments (``embedding="umap"|"pca"``, ``max_points``, ``axes``, ``palette``...)
        go to :func:`neuromix.plotting.plot_embeddings`. Returns the matplotlib Figure.
        """
        from neuromix.plotting.embeddings import plot_embeddings

        return plot_embeddings(
            self.latents(),
            subject_dim=self.subject_dim,
            color=color or self.label,
            split=split,
            seed=self.seed,
            **kwargs,
        )

    def plot_training(self, **kwargs):
        """Training and held-out loss per epoch. Returns the matplotlib Figure."""
        from neuromix.plotting.training import plot_training

        return plot_training(self.history_, **kwargs)

    def to_nwb(self, paths=None, *, out_dir=None, overwrite: bool = False):
        """Write each subject's latents into its NWB file.

        See :func:`neuromix.io.nwb.write_latents`.
        """
        from neuromix.io.nwb import write_latents

        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite: expected True or False, got {overwrite!r}")
        self._check_fitted()
        if isinstance(paths, Mapping):
            _check_nwb_paths(paths, self.subjects_)
        return write_latents(
            self.latents(),
            {s: self.sources_.get(s) for s in self.subjects_},
            paths,
            subject_dim=self.subject_dim,
            method=self.method,
            beta=self.beta,
            window=self.window,
            bin_size=self.bin_size,
            step=self.step,
            spans={s: (self.starts_[s], self.stops_[s]) for s in self.subjects_},
            params=self.get_params(deep=False),
            out_dir=out_dir,
            overwrite=overwrite,
        )

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
            model.starts_[s], model.stops_[s] = info["start"], info["stop"]
        model.pairs_ = {k: pd.DataFrame(v) for k, v in config["pairs"].items()}
        model.sources_ = dict(config["sources"])
        model.n_windows_ = config["n_windows"]
        model._lag = round(model.window / model.bin_size)
        model._step = round(model.step / model.bin_size)
        model._tensors = [model._counts_tensor(s) for s in model.subjects_]
        return model

    def __repr__(self, N_CHAR_MAX=700):
        text = super().__repr__(N_CHAR_MAX)
        if hasattr(self, "vae_"):
            n_pairs = len(self.pairs_["train"])
            text += (
                f"\n  fitted on {len(self.subjects_)} {self.subject_dim}s "
                f"({', '.join(self.subjects_)}): {n_pairs} paired training trials x "
                f"{self.n_windows_} windows"
            )
        return text


def _check_sampling(sample, n_samples, seed) -> None:
    """The draw arguments of :meth:`NeuralModel.latents` and ``transform``."""
    if not isinstance(sample, bool | np.bool_):
        raise TypeError(f"sample: expected True or False, got {sample!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(f"n_samples: expected an integer >= 1, got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples: expected an integer >= 1, got {n_samples!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed: expected None or an integer >= 0, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed: expected None or an integer >= 0, got {seed!r}")


def _check_nwb_paths(paths: Mapping, subjects) -> None:
    """Files given to ``to_nwb``: HDF5 files of the subject they are given for, checked
    from the file's signature and subject id before anything is computed or copied."""
    from pathlib import Path

    import h5py

    from neuromix.io.nwb.read import _check_nwb_file

    for s, path in paths.items():
        if str(s) not in subjects or not isinstance(path, str | Path):
            continue  # export_latents names these
        path = Path(path)
        _check_nwb_file(path, str(s))
        with h5py.File(path, "r") as file:
            stored = file.get("general/subject/subject_id")
            held = stored[()] if isinstance(stored, h5py.Dataset) else None
        held = held.decode() if isinstance(held, bytes) else held
        if held is not None and str(held) != str(s):
            raise ValueError(
                f"subject {str(s)!r}: {path} holds subject {str(held)!r}, not {str(s)!r}; pass "
                f"paths={{{str(s)!r}: <{s}'s file>}}"
            )


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _metadata(data) -> Mapping[str, Any]:
    return data.metadata if isinstance(data, Recording) else data.attrs


def _source_file(data) -> str | None:
    """The file a subject was read from: ``metadata["source"]`` when it names a file."""
    from pathlib import Path

    source = _metadata(data).get("source")
    return str(source) if source is not None and Path(str(source)).is_file() else None


def _trial_table(subject: str, data) -> pd.DataFrame:
    if isinstance(data, Recording):
        # Checked again: a Recording may have been built directly, not by from_arrays.
        return _check_trials(data.trials, subject, data.time_resolution)
    trial_coords = {
        name: coord.values
        for name, coord in data.coords.items()
        if coord.dims == ("trial",) and name != "trial"
    }
    return pd.DataFrame(trial_coords, index=pd.Index(data["trial"].values, name="trial"))


def fit(
    recordings, subject_dim: str = "subject", method: str = "mmvm", label: str = "odor", **kwargs
):
    """Fit a multimodal VAE to several subjects' recordings; see :class:`NeuralModel`.

    Examples
    --------
    >>> import neuromix as nm
    >>> rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
    >>> model = nm.fit(rec, subject_dim="rat", epochs=1, progress=False)
    >>> lat = model.latents()
    >>> lat.dims, sorted(set(lat.rat.values))[:2]
    (('sample', 'latent'), ['Barat', 'Buchanan'])
    """
    return NeuralModel(subject_dim=subject_dim, method=method, label=label, **kwargs).fit(
        recordings
    )
