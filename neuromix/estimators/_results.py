"""Results of a fitted :class:`~neuromix.estimators.NeuralModel`: decoding, alignment,
coherence, plots and NWB export.

Thin hand-offs to :mod:`neuromix.evaluation`, :mod:`neuromix.plotting` and
:mod:`neuromix.io`; a mixin of the estimator, split from
:mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from neuromix.evaluation.alignment import centroid_distances
from neuromix.evaluation.coherence import coherence, posterior_generator
from neuromix.evaluation.decoding import chance_level, decode_labels, window_classifier

__all__: list[str] = []


def _check_count(value, name: str, *, minimum: int) -> int:
    """An integer count of at least ``minimum`` (0 or 1), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        what = "a non-negative integer" if minimum == 0 else "a positive integer"
        raise ValueError(f"{name}: expected {what}, got {value!r}")
    return int(value)


class _ResultsMixin:
    """Decoding, alignment, coherence, plots and NWB export of a fitted model."""

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
        q_m (one draw per window, decoded by every target's decoder), decode with k's
        decoder, and classify the generated windows with a classifier trained on k's real
        training windows (:func:`neuromix.evaluation.coherence.coherence`).
        ``coherence[m,k]`` is the fraction classified as the source trial's label;
        ``oracle`` is that classifier's accuracy on k's real held-out windows (its ceiling)
        and ``chance`` the majority-class rate. The window classifier is shrinkage LDA
        (:func:`neuromix.evaluation.decoding.window_classifier`).
        """
        self._check_fitted()
        label = self.label if label is None else label
        train, test, classifiers, oracle, chance = {}, {}, {}, {}, {}
        for m, s in enumerate(self.subjects_):
            w = self._all_windows(m).cpu().numpy()
            trial_labels = np.repeat(self.counts_[s][label].values, self.n_windows_)
            held_out = np.repeat(self.test_[s], self.n_windows_)
            train[s] = (w[~held_out], trial_labels[~held_out])
            test[s] = (w[held_out], trial_labels[held_out])
            classifiers[s] = window_classifier().fit(*train[s])
            oracle[s] = classifiers[s].score(*test[s])
            chance[s] = chance_level(test[s][1])
        dim = self.subject_dim
        matrix = coherence(
            posterior_generator(self.vae_, seed=self.seed, sample=sample),
            {s: x for s, (x, _) in test.items()},
            {s: y for s, (_, y) in test.items()},
            classifiers,
            diagonal=True,
            dims=(f"source_{dim}", f"target_{dim}"),
        )
        names = np.array(self.subjects_, dtype=object)
        return xr.Dataset(
            {
                "coherence": matrix.drop_vars(list(matrix.coords)),
                "oracle": (dim, np.array([oracle[s] for s in self.subjects_])),
                "chance": (dim, np.array([chance[s] for s in self.subjects_])),
            },
            coords={dim: names, f"source_{dim}": names, f"target_{dim}": names},
            attrs={"label": label, "method": self.method},
        )

    def cross_prediction(self, label: str | None = None, *, n_boot: int = 200) -> xr.Dataset:
        """How well each subject's activity is predicted from another's latent, in bits
        per spike, on held-out trials.

        Subject m's held-out windows are encoded (posterior means) and decoded by subject
        k's decoder; the rates are scored on k's held-out trials *of the same
        condition* (every trial of m paired with every trial of k of its condition, by
        window index), by the Poisson log-likelihood over that of each of k's units'
        mean rate, in bits per spike (the Neural Latents Benchmark's unit;
        :func:`neuromix.evaluation.prediction.cross_prediction`). The diagonal is each
        subject's reconstruction from its own latent (each trial from itself). The
        ceiling ``psth`` is k's condition-mean counts of its training trials (shrunk
        toward each unit's mean rate by one trial's worth,
        :func:`~neuromix.evaluation.prediction.condition_psth`), which know the
        condition and the time in the trial; ``fraction`` is the bits per spike over
        that ceiling's. A latent that carries the condition across subjects approaches
        the ceiling off the diagonal; independent spaces fall below 0.

        Parameters
        ----------
        label : str, optional
            Trial label that pairs the trials (default: the model's).
        n_boot : int, default=200
            Bootstrap resamples of the held-out trials for the 95% intervals.

        Returns
        -------
        xarray.Dataset
            ``bits_per_spike`` and ``fraction`` (``source_<dim>`` x ``target_<dim>``),
            ``bits_per_spike_ci`` (with ``bound``), ``psth`` and ``psth_ci``
            (``target_<dim>``); attributes ``mean_bits_per_spike`` and
            ``mean_fraction`` over ordered pairs of different subjects.

        Raises
        ------
        ValueError
            The model's likelihood is not ``"poisson"`` (bits per spike score counts).
        """
        from neuromix.evaluation.prediction import condition_psth, cross_prediction

        self._check_fitted()
        label = self.label if label is None else label
        self._check_label(label)
        for s, lik in zip(self.subjects_, self.vae_.module_.likelihoods, strict=True):
            if lik.name != "poisson":
                raise ValueError(
                    f"subject {s!r}: cross_prediction scores spike counts under a Poisson "
                    f"model; this subject's likelihood is {lik.name!r} (fit with "
                    "likelihood='poisson')"
                )
        n_boot = _check_count(n_boot, "n_boot", minimum=0)
        labels, counts, psth, n_units = {}, {}, {}, {}
        for m, s in enumerate(self.subjects_):
            w = self._all_windows(m).cpu().numpy()
            w = w.reshape(-1, self.n_windows_, w.shape[-1])
            trial_labels = self.counts_[s][label].values
            test = np.asarray(self.test_[s], dtype=bool)
            labels[s], counts[s] = trial_labels[test], w[test]
            n_units[s] = w.shape[-1] // self._lag
            psth[s] = condition_psth(w[~test], trial_labels[~test], n_units[s])
        rates = {}
        subjects = list(self.subjects_)
        for s in subjects:
            flat = counts[s].reshape(-1, counts[s].shape[-1])
            out = self.vae_.generate({s: flat}, subjects, sample=False)
            for t in subjects:
                rates[(s, t)] = np.asarray(out[t]).reshape(len(counts[s]), self.n_windows_, -1)
        dim = self.subject_dim
        ds = cross_prediction(
            counts, labels, rates, n_units=n_units, psth=psth, n_boot=n_boot,
            seed=int(self.seed), dims=(f"source_{dim}", f"target_{dim}"),
        )  # fmt: skip
        ds.attrs.update(label=label, method=self.method, unit="bits per spike")
        return ds

    def plot_cross_prediction(self, label: str | None = None, **kwargs):
        """The bits-per-spike matrix of :meth:`cross_prediction` beside the transfer matrix
        of :meth:`decode` (:func:`neuromix.plotting.plot_cross_prediction`). Returns the
        matplotlib Figure."""
        from neuromix.plotting.prediction import plot_cross_prediction

        return plot_cross_prediction(self.cross_prediction(label), self.decode(label), **kwargs)

    def individuality(self, label: str | None = None, *, n_draws: int = 64) -> xr.DataArray:
        """Where each subject departs from the shared space, on held-out trials.

        For each subject, condition and window: the KL divergence of the subject's
        posterior from the mixture of the other subjects' posteriors of the same
        condition and window (their held-out trials), averaged over the subject's
        held-out trials of the condition (:func:`neuromix.evaluation.individuality`; for
        MMVM, the subject's term of the rate with the other subjects as its prior). A
        subject whose shared signal is weak, or a moment where one subject's response
        differs, stands out. Independent VAEs, whose spaces are not shared, score high
        everywhere.

        Parameters
        ----------
        label : str, optional
            Trial label of the conditions (default: the model's).
        n_draws : int, default=64
            Draws per window of the Monte-Carlo KL.

        Returns
        -------
        xarray.DataArray
            ``(<subject_dim>, <label>, "window")`` in nats; coord ``time`` (window start
            relative to the onset, s) when every subject's windows start at one time.
        """
        from neuromix.evaluation.individuality import individuality

        self._check_fitted()
        label = self.label if label is None else label
        self._check_label(label)
        n_draws = _check_count(n_draws, "n_draws", minimum=1)
        mu, logvar, labels = {}, {}, {}
        for m, s in enumerate(self.subjects_):
            test = np.asarray(self.test_[s], dtype=bool)
            mean, var = self._encode(m, self._all_windows(m))
            shape = (-1, self.n_windows_, mean.shape[-1])
            mu[s] = mean.reshape(shape)[test]
            logvar[s] = np.log(var).reshape(shape)[test]
            labels[s] = self.counts_[s][label].values[test]
        da = individuality(
            mu, logvar, labels, n_draws=n_draws, seed=int(self.seed),
            subject_dim=self.subject_dim, condition_dim=label,
        )  # fmt: skip
        starts = {float(self.starts_[s]) for s in self.subjects_}
        if len(starts) == 1:  # one onset for all: the windows' times are shared
            time = np.round(starts.pop() + np.arange(self.n_windows_) * self.step, 9)
            da = da.assign_coords(time=("window", time))
        da.attrs.update(label=label, method=self.method)
        return da

    def plot_individuality(self, label: str | None = None, **kwargs):
        """Heatmap of :meth:`individuality` (:func:`neuromix.plotting.plot_individuality`).
        Returns the matplotlib Figure."""
        from neuromix.plotting.individuality import plot_individuality

        return plot_individuality(self.individuality(label), **kwargs)

    def sample(self, condition=None, n: int = 20, *, seed: int | None = None,
               counts: bool = True) -> xr.DataArray:  # fmt: skip
        """Synthetic trials of every subject, each from one shared draw of the latent.

        A density of the shared latent's trajectories is fitted per condition to the
        aggregate posterior of the training trials (one draw z ~ q(z | x) per window of
        every subject's training trials; a Gaussian over the whole trajectory, see
        :class:`neuromix.evaluation.synthesis.TrajectoryDensity`). Each synthetic trial is
        one draw of it, decoded window by window by every subject's decoder: the subjects'
        windows of one trial share their latent.

        Parameters
        ----------
        condition : label value, list of them, or None
            Conditions to draw (default: every condition of the label).
        n : int, default=20
            Synthetic trials per condition.
        seed : int, optional
            Seed of the posterior draws, the trajectories and the counts (default: the
            model's).
        counts : bool, default=True
            Spike counts drawn from the likelihood (Poisson at the decoded rates); False
            gives the decoded rates themselves.

        Returns
        -------
        xarray.DataArray
            Laid out as :meth:`windows` (``("sample", "feature")``, the ``sample``
            MultiIndex of (subject, trial, window), coords ``time`` and the label;
            ``split`` is ``"synthetic"``; trials numbered from 0), so that
            :func:`neuromix.plotting.window_psth` reads it.
        """
        from neuromix.evaluation.synthesis import TrajectoryDensity

        self._check_fitted()
        label = self.label
        n = _check_count(n, "n", minimum=1)
        if not isinstance(counts, bool):
            raise TypeError(f"counts: expected True or False, got {counts!r}")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        draws, labels = [], []
        for m, s in enumerate(self.subjects_):
            train = ~np.asarray(self.test_[s], dtype=bool)
            mean, var = self._encode(m, self._all_windows(m))
            z = mean + np.sqrt(var) * rng.standard_normal(mean.shape)
            draws.append(z.reshape(-1, self.n_windows_, z.shape[-1])[train])
            labels.append(self.counts_[s][label].values[train])
        density = TrajectoryDensity().fit(np.concatenate(draws), np.concatenate(labels))
        known = sorted(density.conditions_, key=str)
        wanted = known if condition is None else (
            list(condition) if isinstance(condition, list | tuple) else [condition]
        )  # fmt: skip
        unknown = [c for c in wanted if c not in known]
        if unknown or not wanted:
            raise ValueError(
                f"condition: {unknown or wanted!r} not among the {label} conditions of the "
                f"training trials ({', '.join(map(repr, known))})"
            )
        seeds = rng.integers(2**32, size=len(wanted))
        z = np.concatenate([density.sample(c, n, seed=int(k))
                            for c, k in zip(wanted, seeds, strict=True)])  # fmt: skip
        trial_labels = np.repeat(np.asarray(wanted, dtype=object), n)
        n_trials, w = len(z), self.n_windows_
        flat = self.vae_.likelihood_mean(z.reshape(n_trials * w, -1), list(self.subjects_))
        widths = [flat[s].reshape(n_trials * w, -1).shape[1] for s in self.subjects_]
        parts = []
        for s in self.subjects_:
            values = flat[s].reshape(n_trials * w, -1)
            if counts:
                values = rng.poisson(values).astype(values.dtype)
            padded = np.full((n_trials * w, max(widths)), np.nan, dtype=values.dtype)
            padded[:, : values.shape[1]] = values
            window = np.tile(np.arange(w), n_trials)
            coords = {
                self.subject_dim: np.full(n_trials * w, s, dtype=object),
                "trial": np.repeat(np.arange(n_trials), w),
                "window": window,
            }
            extra = {
                "time": ("sample", np.round(self.starts_[s] + window * self.step, 9)),
                "split": ("sample", np.full(n_trials * w, "synthetic", dtype=object)),
                label: ("sample", np.repeat(trial_labels, w)),
            }
            parts.append((coords, extra, (padded, None)))
        attrs = {
            "subject_dim": self.subject_dim,
            "description": "synthetic trials: one draw of the shared latent's trajectory "
            "per trial, decoded by every subject's decoder"
            + (", counts drawn from the likelihood" if counts else ", decoded rates"),
        }
        da = self._assemble(parts, sample=False, n_draws=1, seed=None, attrs=attrs)
        return da.rename({"latent": "feature"}).rename("synthetic")

    def plot_sample_psth(self, subject: str, *, n: int = 50, units=4, seed=None):
        """PSTHs of a subject's real held-out trials above those of :meth:`sample`'s
        synthetic trials, per condition (:func:`neuromix.plotting.plot_psth`). Returns the
        matplotlib Figure."""
        self._check_fitted()
        if subject not in self.subjects_:
            raise ValueError(
                f"subject {subject!r} is not one of the fitted subjects "
                f"({', '.join(map(repr, self.subjects_))})"
            )
        return self._sample_psth_figure(
            subject, self.windows(), self.sample(n=n, seed=seed), units=units
        )

    def _sample_psth_figure(self, subject, windows, synthetic, *, units=4):
        """:meth:`plot_sample_psth` from every subject's ``windows()`` and ``sample()``
        (the report computes them once for all subjects)."""
        from neuromix.plotting.psth import plot_psth

        real = windows.sel({self.subject_dim: subject})
        real = real.isel(sample=np.flatnonzero(real["split"].values == "test"))
        synthetic = synthetic.sel({self.subject_dim: subject})
        return plot_psth(
            {f"{subject}, held-out trials": real, f"{subject}, synthetic trials": synthetic},
            label=self.label, units=units, n_lags=self._lag, bin_size=self.bin_size,
        )  # fmt: skip

    # ------------------------------------------------------------------ plots and export
    def plot_embeddings(self, *, color: str | None = None, split: str | None = None, **kwargs):
        """Per-subject 2-D embeddings coloured by ``color`` (default the label), plus one
        panel of all subjects coloured by subject.

        With more than two latent dimensions one UMAP embedding is fitted on all
        subjects (PCA, with a warning, when umap-learn is not installed). Keyword
        arguments (``embedding="umap"|"pca"``, ``max_points``, ``axes``, ``palette``...)
        go to :func:`neuromix.plotting.plot_embeddings`. Returns the matplotlib Figure.
        """
        return self._embeddings_figure(self.latents(), color=color, split=split, **kwargs)

    def _embeddings_figure(self, latents, *, color=None, split=None, **kwargs):
        """:meth:`plot_embeddings` from ``latents()`` (the report computes them once)."""
        from neuromix.plotting.embeddings import plot_embeddings

        return plot_embeddings(
            latents,
            subject_dim=self.subject_dim,
            color=color or self.label,
            split=split,
            seed=self.seed,
            **kwargs,
        )

    def plot_training(self, **kwargs):
        """Training and validation loss per epoch, and the validation criterion, with the
        epoch early stopping kept (:func:`neuromix.plotting.plot_training`). Returns the
        matplotlib Figure."""
        from neuromix.plotting.training import plot_training

        kwargs.setdefault("best_epoch", self.vae_.best_epoch_)
        return plot_training(self.history_, **kwargs)

    def plot_beta_selection(self, **kwargs):
        """How ``beta="auto"`` chose: the validation criterion of every beta of the grid
        (:func:`neuromix.plotting.plot_beta_selection`). Returns the matplotlib Figure."""
        from neuromix.plotting.selection import plot_beta_selection

        self._check_fitted()
        if self.vae_.beta_selection_ is None:
            raise ValueError(
                f"this model was fitted with a fixed beta ({self.beta!r}); "
                "plot_beta_selection needs beta='auto' or a list of betas"
            )
        return plot_beta_selection(self.vae_.beta_selection_, **kwargs)

    def to_pynapple(self) -> dict:
        """Each subject's latents as a pynapple ``TsdFrame``, one row per window at its
        centre in the recording's clock (see :func:`neuromix.io.pynapple.latents_to_pynapple`).

        Examples
        --------
        >>> import neuromix as nm
        >>> rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
        >>> model = nm.fit(rec, subject_dim="rat", epochs=1, beta=1.0, patience=None,
        ...                progress=False)
        >>> frames = model.to_pynapple()
        >>> frames["Mitt"].shape, list(frames["Mitt"].columns)
        ((640, 2), ['latent 0', 'latent 1'])
        """
        from neuromix.io.pynapple import latents_to_pynapple

        self._check_fitted()
        return latents_to_pynapple(
            self.latents(), subject_dim=self.subject_dim, window=self.window
        )

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
            beta=self.vae_.beta_,
            window=self.window,
            bin_size=self.bin_size,
            step=self.step,
            spans={s: (self.starts_[s], self.stops_[s]) for s in self.subjects_},
            params=self.get_params(deep=False),
            out_dir=out_dir,
            overwrite=overwrite,
        )


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
