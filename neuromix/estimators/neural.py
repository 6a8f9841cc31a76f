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

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from neuromix._validation import Check, Interval, Options
from neuromix.data.binning import bin_trials
from neuromix.data.pairing import (
    _keep_shared_conditions,
    pair_trials,
    select_trials,
    split_trials,
)
from neuromix.data.recording import Recording
from neuromix.estimators._extend import _NeuralExtendMixin
from neuromix.estimators._inputs import (
    _InputsMixin,
    _metadata,
    _scalar_or_mapping,
    _source_file,
    _start_spec,
    _trial_table,
)
from neuromix.estimators._latents import _LatentsMixin
from neuromix.estimators._report import _ReportMixin
from neuromix.estimators._results import _ResultsMixin
from neuromix.estimators._state import _StateMixin
from neuromix.estimators.vae import LINKS, MultimodalVAE
from neuromix.io.persistence import register_model_class
from neuromix.models.architectures import MLP_ARCHITECTURES
from neuromix.models.likelihoods import get_likelihood
from neuromix.models.registry import available
from neuromix.models.vae import PRECISIONS, RATE_SCALES
from neuromix.training.criteria import DecodingCriterion
from neuromix.training.samplers import WindowSampler

__all__ = ["NeuralModel", "fit"]

_WINDOWS_PER_TRIAL = 16  # the paper's 16 windows of 100 ms every 10 ms


@register_model_class
class NeuralModel(
    _InputsMixin,
    _LatentsMixin,
    _ResultsMixin,
    _ReportMixin,
    _NeuralExtendMixin,
    _StateMixin,
    BaseEstimator,
):
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
        Fraction of each subject's trials held out (stratified by ``label``): the test
        trials of :meth:`decode`, :meth:`alignment` and :meth:`coherence`, which
        training never reads.
    validation_size : float, default=0.2
        Fraction of each subject's *training* trials kept aside as validation trials
        (of each condition, rounded, at least one, every condition keeping a training
        trial; never a test trial): early stopping and the choice of beta read them,
        the networks are not trained on them. Validation trials are paired by
        condition like training trials (every validation trial used). 0: no validation
        trials (then ``beta`` must be a number and ``patience`` None).
    latent_dim : int, default=2
    beta : float, "auto" or list of float, default="auto"
        Weight of the rate term against the reconstruction, the Poisson
        log-likelihood of a window summed over its units x lags (beta = 1 is the ELBO
        whatever the number of units). Paired windows share only the condition and the
        window index, so the rate is what pulls subjects together, and how hard it must
        pull depends on the data: on the datasets of ``neuromix benchmark suite`` the
        best fixed beta ranged from 1 (two or eight conditions, few trials) to 16 (the
        simulated rats), and beta = 16 lost half the accuracy where 1 was best.
        ``"auto"`` (the default): one model per beta of
        :data:`neuromix.estimators.vae.BETA_GRID` (1, 4, 16), trained together as one
        ensemble, each stopped early and the worse half culled after ``min_epochs``
        and twice as many epochs (``halving``), and the one of the best validation
        criterion kept (``beta_``; the grid and its scores in ``beta_selection_``,
        :meth:`plot_beta_selection`). A list chooses among its values; a number fits
        that beta alone.
    rate_scale : {"one", "subjects"}, default="one"
        What beta multiplies for the aggregation methods (AVG, PoE, MoE, MoPoE): one KL
        of their joint posterior, or that KL counted once per subject as in the
        authors' code (``"subjects"``: M x KL for M subjects). Independent VAEs and MMVM
        are the same under both. See :class:`neuromix.MultimodalVAE`.
    likelihood : str, default="poisson"
        Observation model of the binned counts (``"poisson"``, or the paper's
        ``"gaussian"`` squared error).
    link : {"softplus", "exp", "auto"}, default="softplus"
        The Poisson rate as a function of the decoder's output: ``"softplus"``, linear
        for high rates, or ``"exp"``, the canonical link of a generalised linear model.
        Neither serves every dataset of ``neuromix benchmark suite``: switched into the
        suite's minimal MMVM, softplus cost its four-subjects dataset 0.07 of transfer on
        each of three seeds, while exp in the package lost 0.21 on two-conditions.
        ``"auto"``: both links are candidates beside each beta, in the same ensemble,
        each link halved in its own bracket and the best of all kept by the validation
        criterion (``link_``; every candidate's criterion in
        ``beta_selection_["link_score"]``). It costs about twice the fit, which is why
        it is not the default (docs/model.md, "The Poisson link"). A fit that reads no
        validation criterion (``validation_size=0``, or a fixed beta with
        ``patience=None``) trains softplus.
    method_params : dict, optional
        Options of the method (see :class:`neuromix.MultimodalVAE`).
    architecture : {"mlp", "paper-mlp"}, default="mlp"
        Each subject's encoder and decoder: ``"mlp"``, whose mean and log-variance heads
        read the last hidden layer, or the paper's ``"paper-mlp"``, whose encoder ends
        in a latent-wide layer and LeakyReLU before the heads (see
        :mod:`neuromix.models.architectures`). With a 2-D latent that layer folds the
        latent space (the negative half squashed a hundredfold): on the suite's
        datasets it let subjects settle in mirror image unless beta was large
        (docs/results/suite).
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
    epochs, batch_size, lr, seed, device, progress, clip_grad, precision
        Training settings, as in :class:`neuromix.MultimodalVAE`; ``epochs`` is the
        largest number of epochs when ``patience`` stops training earlier.
    patience, min_epochs, criterion : int or None, int, str, default=10, 10, "decode"
        Early stopping on the validation trials, as in :class:`neuromix.MultimodalVAE`:
        training ends once ``criterion`` has not improved for ``patience`` epochs (none
        counted before ``min_epochs``; ``patience=None`` trains every epoch), and the
        best epoch's weights are kept (``best_epoch_``). The criterion, which also
        chooses beta: ``"decode"`` (the default), one minus the accuracy of a linear
        discriminant of the condition fitted on each subject's training-trial latents
        and scored on the validation trials' latents of the same subject and of every
        other (the mean of within and across); ``"cross"``, each subject's validation
        windows predicted from other subjects' latent means; ``"elbo"``, the negative
        validation ELBO. On the suite's datasets the betas the decoding criterion
        chose scored highest on the test trials, on average, and those of the ELBO
        lowest: it prefers the small betas that reconstruct best, and those did not
        align the simulated rats (docs/model.md, "Validation and the choice of
        beta"). The labels of validation trials are read, never those of test trials.
    halving : bool, default=True
        Successive halving of the beta candidates, as in :class:`neuromix.MultimodalVAE`:
        after ``min_epochs`` epochs, then twice and four times as many, the worse half
        of the candidates still training stops and is never chosen.
    n_init : int, default=1
        Initialisations per beta of the grid, trained in the same ensemble and chosen
        among by the same criterion, as in :class:`neuromix.MultimodalVAE`.
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
    validation_ : dict of str to numpy.ndarray of bool
        Validation trials of each subject (along ``counts_[s].trial``): training trials
        the networks were not trained on.
    starts_, stops_ : dict of str to float
        Window range of each subject, s after trial onset (with ``start="auto"``, the
        estimated response onsets and onset + 250 ms).
    pairs_ : dict
        ``"train"``, ``"validation"`` and ``"test"`` pairings
        (:func:`neuromix.data.pair_trials`; with ``pairing="resample"``, ``"train"`` is
        the first epoch's draw).
    sources_ : dict of str to str or None
        The NWB file each subject was read from (``None`` for in-memory data).
    vae_ : MultimodalVAE
        The fitted array-level model.
    history_ : pandas.DataFrame
        Training curves; the validation columns (``val_loss``, ``val_cross``...) are the
        validation trials.
    beta_, beta_selection_, best_epoch_
        The fitted beta, how it was chosen, and the epoch early stopping kept (see
        :class:`neuromix.MultimodalVAE`).
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
        "architecture": Options(tuple(sorted(MLP_ARCHITECTURES))),
        "missing": Options(("raise", "drop")),
        "test_size": Interval(float, 0.0, 0.9, low_open=True),
        "validation_size": Interval(float, 0.0, 0.5),
        "rate_scale": Options(RATE_SCALES),
        "link": Options(LINKS),
        "precision": Options(PRECISIONS),
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
        validation_size=0.2,
        latent_dim=2,
        beta="auto",
        rate_scale="one",
        likelihood="poisson",
        link="softplus",
        method_params=None,
        architecture="mlp",
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
        precision="fp32",
        patience=10,
        min_epochs=10,
        criterion="decode",
        halving=True,
        n_init=1,
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
        self.validation_size = validation_size
        self.latent_dim = latent_dim
        self.beta = beta
        self.rate_scale = rate_scale
        self.likelihood = likelihood
        self.link = link
        self.method_params = method_params
        self.architecture = architecture
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
        self.precision = precision
        self.patience = patience
        self.min_epochs = min_epochs
        self.criterion = criterion
        self.halving = halving
        self.n_init = n_init

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
        vae, sampler, validation = self._samplers(recordings)
        vae._fit_sampler(sampler, validation, owner=self)
        return self

    def _samplers(self, recordings):
        """Everything :meth:`fit` does before training: the built (untrained) ``vae_``
        and the samplers of the training windows and of the held-out windows (or None)."""
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
        trials = self._check_conditions({s: self._trials(s, d) for s, d in data.items()})
        test = {s: self._test_split(trials[s], s) for s in subjects}
        validation = {s: self._validation_split(trials[s], test[s], s) for s in subjects}
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
        counts = {s: self._bin(data[s], trials[s], starts[s], stops[s]) for s in subjects}
        self.subjects_ = tuple(subjects)
        self.sources_ = {s: _source_file(data[s]) for s in subjects}
        self.counts_ = counts
        self.test_ = test
        self.validation_ = validation
        self.starts_, self.stops_ = starts, stops
        self.n_windows_ = next(iter(windows.values()))
        self._lag = round(self.window / self.bin_size)
        self._step = round(self.step / self.bin_size)
        self._pair_all()
        self._check_validation_pairs(vae)
        shapes = {s: (counts[s].sizes["unit"] * self._lag,) for s in subjects}
        vae._build(subjects, shapes)
        self.vae_ = vae
        self._tensors = [self._counts_tensor(s) for s in subjects]
        sampler, validation = self._window_samplers()
        return vae, sampler, validation

    def _pair_all(self) -> None:
        """``pairs_``: the training, validation and test trials paired across subjects."""
        self.pairs_ = {
            "train": self._pair("train", rng=self._pairing_rng(0)),
            "validation": self._pair(
                "validation", rng=np.random.default_rng([int(self.seed), 11]), rule="resample"
            ),
            "test": self._pair("test", rng=None, rule="min"),
        }

    def _window_samplers(self):
        """The samplers of the training windows (the pairing drawn anew each epoch with
        ``pairing="resample"``) and of the validation windows (or None), and the decoding
        criterion's data on ``vae_``."""
        if self.pairing == "resample":

            def pairs_for_epoch(epoch):
                return self._positions(self._pair("train", rng=self._pairing_rng(epoch)))

            train_pairs = pairs_for_epoch
        else:
            train_pairs = self._positions(self.pairs_["train"])
        sampler = self._sampler(train_pairs)
        validation = (
            self._sampler(self._positions(self.pairs_["validation"]))
            if len(self.pairs_["validation"])
            else None
        )
        self.vae_._scorer = self._decoding_criterion() if validation is not None else None
        return sampler, validation

    def _trials(self, s, data) -> pd.DataFrame:
        """Subject s's trial table, checked, with ``where`` applied."""
        table = _trial_table(s, data)
        if len(table) == 0:
            raise ValueError(f"subject {s!r}: trials: the recording has no trials")
        if self.label not in table.columns:
            raise ValueError(
                f"subject {s!r}: label {self.label!r} is missing from the trial table "
                f"(columns: {', '.join(map(str, table.columns))})"
            )
        if self.where:
            table = select_trials(table, self.where, subject=s)
            if len(table) == 0:
                raise ValueError(f"subject {s!r}: trials: no trial matches where={self.where}")
        return table

    def _test_split(self, trials, s) -> np.ndarray:
        """Subject s's held-out trials (along ``trials``), stratified by ``label``."""
        return split_trials(
            trials, test_size=self.test_size, stratify=self.label, seed=self.seed, subject=s
        )

    def _bin(self, source, trials, start, stop):
        """The binned counts of a subject's kept ``trials`` over ``[start, stop)``."""
        kept = trials.index
        if isinstance(source, Recording):
            source = dataclasses.replace(source, trials=source.trials.loc[kept])
        else:
            source = source.sel(trial=kept.to_numpy())
        return bin_trials(source, start=start, stop=stop, bin_size=self.bin_size)

    def _decoding_criterion(self) -> DecodingCriterion:
        """``criterion="decode"``: each subject's training and validation windows (cut
        from the counts in chunks of trials) with their condition."""
        conditions = sorted(
            {v for s in self.subjects_ for v in self.counts_[s][self.label].values.tolist()},
            key=repr,
        )
        code = {c: i for i, c in enumerate(conditions)}

        def part(m, s, name):
            positions = np.flatnonzero(self._part(s, name))
            labels = [code[v] for v in self.counts_[s][self.label].values[positions].tolist()]
            labels = torch.as_tensor(np.repeat(labels, self.n_windows_), dtype=torch.long)

            def chunks(m=m, positions=positions, size=256):
                for start in range(0, len(positions), size):
                    index = torch.as_tensor(positions[start : start + size])
                    yield self._all_windows(m, self._tensors[m].index_select(0, index.to(
                        self._tensors[m].device)))  # fmt: skip

            return chunks, labels

        train, validation = zip(
            *[
                (part(m, s, "train"), part(m, s, "validation"))
                for m, s in enumerate(self.subjects_)
            ],
            strict=True,
        )
        return DecodingCriterion(
            train=[c for c, _ in train],
            validation=[c for c, _ in validation],
            train_labels=[y for _, y in train],
            validation_labels=[y for _, y in validation],
            n_classes=len(conditions),
        )

    def _validation_split(self, trials, test, subject) -> np.ndarray:
        """The validation trials (along ``trials``): ``validation_size`` of the subject's
        training trials in each condition, rounded, at least one and never the last
        (a condition with a single training trial has no validation trial); never a
        test trial. A function of ``seed`` only."""
        mask = np.zeros(len(trials), dtype=bool)
        if self.validation_size == 0:
            return mask
        train = np.flatnonzero(~test)
        labels = trials[self.label].to_numpy()[train]
        rng = np.random.default_rng([int(self.seed), 11])
        for value in pd.unique(labels):
            members = train[labels == value]
            wanted = max(1, int(np.floor(self.validation_size * len(members) + 0.5)))
            n = min(len(members) - 1, wanted)
            if n > 0:
                mask[rng.permutation(members)[:n]] = True
        return mask

    def _check_validation_pairs(self, vae) -> None:
        """Choosing beta or stopping early needs validation pairs: a condition with a
        validation trial in every subject."""
        needed = vae._betas() is not None or self.patience is not None
        if not needed or self.validation_size == 0 or len(self.pairs_["validation"]):
            return
        few = {
            s: sorted(
                {v for v in self.counts_[s][self.label].values[self.validation_[s]].tolist()},
                key=repr,
            )
            for s in self.subjects_
        }
        s, have = min(few.items(), key=lambda item: len(item[1]))
        raise ValueError(
            f"subject {s!r}: validation_size={self.validation_size}: no {self.label} "
            f"condition has a validation trial in every {self.subject_dim} (subject {s!r} "
            f"has validation trials of {have or 'no condition'}: a condition needs two "
            "training trials to give one); beta='auto' and patience need them. Use more "
            "trials, or pass a fixed beta and patience=None to train without validation"
        )

    def _make_vae(self) -> MultimodalVAE:
        """The array-level model: every MultimodalVAE parameter this model also has, as
        set here (:data:`_VAE_PARAMS`), on MLP encoders and with no validation split of
        its own (``test_size`` holds out trials)."""
        shared = {name: getattr(self, name) for name in _VAE_PARAMS}
        return MultimodalVAE(**shared, validation_fraction=0.0)

    def _check_conditions(self, trials):
        return _keep_shared_conditions(trials, self.label, self.missing)

    def _pairing_rng(self, epoch: int) -> np.random.Generator:
        """The resampling rule's generator of an epoch: a function of (seed, epoch) only,
        so a pairing never depends on how often pairings were drawn before."""
        return np.random.default_rng([int(self.seed), 7, int(epoch)])

    def _part(self, s: str, part: str) -> np.ndarray:
        """Subject s's trials (along ``counts_[s].trial``) of ``part``: "train" (the
        trials the networks are trained on), "validation" or "test"."""
        test = self.test_[s]
        validation = getattr(self, "validation_", {}).get(s, np.zeros_like(test))
        return {"train": ~test & ~validation, "validation": validation, "test": test}[part]

    def _pair(self, part: str, *, rng, rule=None) -> pd.DataFrame:
        conditions = {}
        for s in self.subjects_:
            c = self.counts_[s]
            keep = self._part(s, part)
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


#: The parameters :class:`NeuralModel` hands on to its :class:`MultimodalVAE` unchanged:
#: every one the two share, so a parameter added to both reaches ``vae_`` without a copy.
_VAE_PARAMS = tuple(
    name
    for name in NeuralModel._get_param_names()
    if name in set(MultimodalVAE._get_param_names())
)


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
