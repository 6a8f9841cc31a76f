"""A new subject into a fitted space: :meth:`MultimodalVAE.add_modality` and
:meth:`NeuralModel.add_subject`.

The fitted subjects' networks are frozen (their parameters are not handed to the
optimiser and get no gradient); the new subject's encoder and decoder are trained on
the model's objective over all subjects, at the fitted beta, on samples that pair the
new subject with the fitted ones. For MMVM the new subject's rate term is the KL of its
posterior from the mixture of every subject's posterior (the fitted ones frozen), and
the fitted subjects' terms, whose mixture now holds the new posterior, pull it toward
theirs too: the coordinate of the joint objective that belongs to the new subject. The
fitted subjects' encoders and decoders, and so their latents, do not change.

Mixins of the estimators, split from :mod:`neuromix.estimators.vae` and
:mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from neuromix._validation import check_subject_arrays
from neuromix.estimators._inputs import _metadata, _source_file
from neuromix.models.architectures import join_stacks, resolve_architecture
from neuromix.models.likelihoods import get_likelihood, takes_link, with_link
from neuromix.models.vae import MultimodalModule

__all__: list[str] = []

#: What :meth:`_VAEExtendMixin._extend` changes, restored when training fails.
_STATE = (
    "module_",
    "subjects_",
    "shapes_",
    "likelihoods_",
    "architectures_",
    "_recon_weights",
    "groups_",
    "history_",
    "best_epoch_",
    "n_samples_",
    "beta_",
    "beta_selection_",
)


def _new_value(param, name, given, what):
    """The new subject's value of a per-subject parameter: ``given``, else the
    parameter's when it is one value for all; a mapping needs ``given``."""
    if given is not None:
        return given
    if isinstance(param, Mapping) and "name" not in param:  # a {"name": ...} spec is one
        raise ValueError(
            f"subject {name!r}: {what}: the model's {what} is a mapping over its fitted "
            f"subjects ({', '.join(map(repr, param))}); pass {what}= for the new subject"
        )
    return param


class _VAEExtendMixin:
    """:meth:`add_modality` of :class:`~neuromix.MultimodalVAE`."""

    def add_modality(
        self, name, X, y=None, *, likelihood=None, architecture=None, checkpoint=None
    ):
        """Add a subject (modality) to the fitted model, training only its networks.

        The fitted subjects' encoders and decoders are frozen: their parameters, and so
        their latents, stay bit for bit what they were. The new subject's encoder and
        decoder are trained on the model's objective over all subjects at the fitted
        ``beta_`` (for MMVM, its posterior is pulled toward the mixture of the fitted
        subjects' posteriors), with the model's ``epochs``, ``lr``, ``batch_size``,
        validation split and early stopping. Its training curves are in
        ``additions_[name]``; ``history_``, ``beta_`` and ``beta_selection_`` stay those
        of the fit.

        Parameters
        ----------
        name : str
            The new subject; not one of ``subjects_``.
        X : mapping of str to array-like of shape (n_samples, ...)
            Paired samples of the new subject and of every fitted subject (row i of every
            array is the same paired sample), as for :meth:`fit`.
        y : array-like of shape (n_samples,), optional
            The condition of each sample, for ``criterion="decode"``.
        likelihood, architecture : optional
            The new subject's, where the model's parameter is a mapping over its fitted
            subjects (else the parameter's value is used). The mapping gains the new
            subject.
        checkpoint : path, optional
            Keep this training's state in that file and resume from it, as ``fit`` does.

        Returns
        -------
        self

        Examples
        --------
        >>> import neuromix as nm
        >>> X, z = nm.datasets.make_multiview(n_samples=200, seed=0)
        >>> vae = nm.MultimodalVAE(beta=1.0, epochs=2, patience=None, progress=False)
        >>> vae = vae.fit({"a": X["a"], "b": X["b"]})
        >>> vae.add_modality("c", X).subjects_
        ('a', 'b', 'c')
        """
        self._check_fitted()
        arrays = check_subject_arrays(X)
        if name in self.subjects_:
            raise ValueError(
                f"subject {name!r}: already in the model (subjects: "
                f"{', '.join(map(repr, self.subjects_))}); give the new subject another name"
            )
        wanted = {*self.subjects_, name}
        missing, unknown = sorted(wanted - set(arrays), key=str), sorted(set(arrays) - wanted)
        if missing or unknown:
            raise ValueError(
                f"X: add_modality needs paired samples of the new subject {name!r} and of "
                f"every fitted subject; missing {missing}, unknown {unknown}"
            )
        for s in self.subjects_:
            if tuple(np.shape(arrays[s])[1:]) != tuple(self.shapes_[s]):
                raise ValueError(
                    f"subject {s!r}: X: samples of shape {tuple(np.shape(arrays[s])[1:])}, but "
                    f"the model was fitted on {tuple(self.shapes_[s])}"
                )
        shape = tuple(np.shape(arrays[name])[1:])
        self._extend(
            name,
            shape,
            lambda: self._array_samplers({s: arrays[s] for s in self.subjects_}, y),
            likelihood=likelihood,
            architecture=architecture,
            checkpoint=checkpoint,
        )
        return self

    def _extend(self, name, shape, samplers, *, likelihood, architecture, checkpoint, owner=None):
        """Train a new subject's networks beside the frozen fitted ones; ``samplers()``
        gives the training and validation samplers once the subject is part of the
        model (on failure the model is returned to what it was)."""
        likelihood = _new_value(self.likelihood, name, likelihood, "likelihood")
        architecture = _new_value(self.architecture, name, architecture, "architecture")
        if takes_link(likelihood):  # a Poisson subject gets the fitted subjects' link
            link = getattr(self, "link_", None) or self._unchosen_link()
            likelihood = with_link(likelihood, link)
        lik = get_likelihood(likelihood)
        arch = resolve_architecture(architecture, tuple(shape), lik, name)
        sizes = [math.prod(self.shapes_[s]) for s in self.subjects_]
        weight = max(sizes) / math.prod(shape) if self.reweight == "size" else 1.0
        kept = {a: getattr(self, a) for a in _STATE}
        fitted = self.module_
        self.subjects_ = (*self.subjects_, name)
        self.shapes_ = {**self.shapes_, name: tuple(shape)}
        self.likelihoods_ = {**self.likelihoods_, name: lik}
        self.architectures_ = {**self.architectures_, name: arch}
        self._recon_weights = [*self._recon_weights, weight]
        self.groups_ = (*self.groups_, (name,))
        try:
            encoder, decoder = self._new_networks((name,), int(self.seed) + len(kept["groups_"]))
            module = MultimodalModule(
                join_stacks([fitted.encoders, encoder]),
                join_stacks([fitted.decoders, decoder]),
                [*fitted.likelihoods, lik],
                fitted.method,
                fitted.latent_dim,
                recon_weights=self._recon_weights,
                rate_scale=fitted.rate_scale,
            )
            module.precision = fitted.precision
            self.module_ = module.to(self.device_)
            sampler, validation = samplers()
            scorer = getattr(self, "_scorer", None)
            if scorer is not None:  # the fitted subjects' latents are computed once
                scorer.frozen = range(len(kept["subjects_"]))
            fitted.requires_grad_(False)
            if not fitted.method.aggregates:  # the fitted decoders read frozen latents only
                module.recon_subjects = (len(self.subjects_) - 1,)
            start = time.perf_counter()
            self._fit_sampler(
                sampler, validation, owner=owner, beta=kept["beta_"], checkpoint=checkpoint
            )
            seconds = time.perf_counter() - start
        except BaseException:
            for a, value in kept.items():
                setattr(self, a, value)
            raise
        finally:
            fitted.requires_grad_(True)
            self.module_.recon_subjects = None
        additions = dict(self.additions_)
        additions[name] = {
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "seconds": seconds,
            "n_samples": self.n_samples_,
        }
        self.additions_ = additions
        for a in ("history_", "best_epoch_", "n_samples_", "beta_", "beta_selection_"):
            setattr(self, a, kept[a])
        for param, value in (("likelihood", likelihood), ("architecture", architecture)):
            current = getattr(self, param)
            if isinstance(current, Mapping) and current is not value:
                setattr(self, param, {**current, name: value})
        if isinstance(self.reweight, Mapping):
            self.reweight = {**self.reweight, name: weight}
        return self


#: What :meth:`_NeuralExtendMixin.add_subject` changes, restored when training fails.
_NEURAL_STATE = (
    "subjects_", "sources_", "counts_", "test_", "validation_", "starts_", "stops_",
    "pairs_", "_tensors", "likelihood",
)  # fmt: skip


class _NeuralExtendMixin:
    """:meth:`add_subject` of :class:`~neuromix.NeuralModel`."""

    def add_subject(self, recording, *, start=None, stop=None, likelihood=None, checkpoint=None):
        """Add a subject to the fitted shared space, training only its encoder and decoder.

        The new subject's trials are binned, windowed and split into training,
        validation and held-out trials as :meth:`fit` would have done, paired by
        condition with the fitted subjects' training (and validation) trials, and its
        networks are trained against the fitted subjects' frozen ones at the fitted
        ``beta_`` (for MMVM, its posterior is pulled toward the mixture of theirs;
        see :meth:`neuromix.MultimodalVAE.add_modality`). The fitted subjects'
        parameters, latents and held-out trials do not change, bit for bit; every result
        (:meth:`latents`, :meth:`decode`, :meth:`alignment`, :meth:`cross_prediction`...)
        then includes the new subject. Works on a model read by :func:`neuromix.load`.

        Parameters
        ----------
        recording : mapping or xarray.DataArray
            The new subject, as one entry of what :meth:`fit` accepts: a mapping with
            one subject -> :class:`~neuromix.data.Recording` (or binned counts), or a
            DataArray with a ``subject_dim`` of length one. Its ``label`` values must be
            among the fitted conditions (others raise, or are dropped with
            ``missing="drop"``); it may lack some of them.
        start, stop : float or "auto", optional
            The new subject's window range, s after trial onset. Default ``start``: the
            model's ``start`` where it is one value for all subjects, else the
            recording's ``metadata["window_start"]`` (or 0). Default ``stop``: the
            model's number where ``stop`` is one, else ``start`` plus the span of the
            fitted windows. The range must give the fitted number of windows.
        likelihood : optional
            The new subject's likelihood where the model's ``likelihood`` is a mapping.
        checkpoint : path, optional
            Keep this training's state in that file and resume from it, as ``fit`` does.

        Returns
        -------
        self

        Examples
        --------
        >>> import neuromix as nm
        >>> rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
        >>> first, new = list(rec)[:4], list(rec)[4]
        >>> model = nm.fit({s: rec[s] for s in first}, subject_dim="rat", epochs=2,
        ...                beta=1.0, patience=None, progress=False)
        >>> model.add_subject({new: rec[new]}).subjects_[-1] == new
        True
        """
        self._check_fitted()
        data = self._normalise(recording)
        if len(data) != 1:
            raise ValueError(
                f"recording: add_subject adds one {self.subject_dim} at a time; got "
                f"{len(data)} ({', '.join(map(repr, data))})"
            )
        ((name, source),) = data.items()
        if name in self.subjects_:
            raise ValueError(
                f"subject {name!r}: already in the model ({', '.join(map(repr, self.subjects_))});"
                " give the new subject another name"
            )
        trials = self._new_subject_trials(name, source)
        test = self._test_split(trials, name)
        validation = self._validation_split(trials, test, name)
        start, stop = self._new_subject_range(name, source, trials, test, start, stop)
        windows = self._check_ranges({name: source}, {name: trials}, {name: start}, {name: stop})
        if windows[name] != self.n_windows_:
            raise ValueError(
                f"subject {name!r}: start/stop: [{start!r}, {stop!r}) s gives {windows[name]} "
                f"windows, the fitted {self.subject_dim}s have {self.n_windows_} (windows are "
                "paired by index); give a range as long as theirs"
            )
        counts = self._bin(source, trials, start, stop)
        kept = {a: getattr(self, a) for a in _NEURAL_STATE}
        self.subjects_ = (*self.subjects_, name)
        self.sources_ = {**self.sources_, name: _source_file(source)}
        self.counts_ = {**self.counts_, name: counts}
        self.test_ = {**self.test_, name: test}
        self.validation_ = {**self.validation_, name: validation}
        self.starts_, self.stops_ = {**self.starts_, name: start}, {**self.stops_, name: stop}
        try:
            self._pair_all()
            self._check_validation_pairs(self.vae_)
            self._tensors = [*self._tensors, self._counts_tensor(name)]
            lik = _new_value(self.likelihood, name, likelihood, "likelihood")
            self.vae_._extend(
                name,
                (counts.sizes["unit"] * self._lag,),
                self._window_samplers,
                likelihood=lik,
                architecture=None,
                checkpoint=checkpoint,
                owner=self,
            )
        except BaseException:
            for a, value in kept.items():
                setattr(self, a, value)
            raise
        if isinstance(self.likelihood, Mapping) and "name" not in self.likelihood:
            self.likelihood = {**self.likelihood, name: lik}
        return self

    def _new_subject_trials(self, name, source) -> pd.DataFrame:
        """The new subject's checked trials, of the fitted conditions only."""
        trials = self._trials(name, source)
        fitted = {v for s in self.subjects_ for v in self.counts_[s][self.label].values.tolist()}
        values = trials[self.label]
        other = ~values.isin(list(fitted)).to_numpy()
        if other.any():
            if self.missing != "drop":
                raise ValueError(
                    f"subject {name!r}: {self.label}: conditions "
                    f"{sorted(set(values[other].tolist()), key=repr)} are not among the "
                    f"fitted ones ({', '.join(map(repr, sorted(fitted, key=repr)))}); "
                    "pass them through where=, or fit with missing='drop' to drop them"
                )
            trials = trials.loc[~other]
            if len(trials) == 0:
                raise ValueError(f"subject {name!r}: trials: none of a fitted condition")
        return trials

    def _new_subject_range(self, name, source, trials, test, start, stop):
        """The new subject's window range (see :meth:`add_subject`)."""
        if start is None:
            start = None if isinstance(self.start, Mapping) else self.start
        starts = self._per_subject(
            start,
            [name],
            "start",
            lambda s: _metadata(source).get("window_start", 0.0),
            auto=lambda wanted: self._auto_starts(
                {name: source}, {name: trials}, {name: test}, wanted
            ),
        )
        span = self.window + (self.n_windows_ - 1) * self.step
        if stop is None and not isinstance(self.stop, Mapping):
            stop = self.stop
        stops = self._per_subject(stop, [name], "stop", lambda s: starts[s] + span)
        return starts[name], stops[name]
