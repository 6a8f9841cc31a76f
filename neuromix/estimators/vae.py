"""``MultimodalVAE``: the scikit-learn-style estimator over paired arrays.

The array-level API that :func:`neuromix.fit` builds on: ``X`` is a mapping
subject -> array of shape ``(n_samples, ...)`` whose rows are paired across subjects.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin

from neuromix._validation import (
    Check,
    Interval,
    Options,
    check_batch_size,
    check_params,
    check_subject_arrays,
)
from neuromix.estimators._extend import _VAEExtendMixin
from neuromix.estimators._vae_inference import _VAEInference
from neuromix.estimators._vae_state import _VAEStateMixin
from neuromix.io.persistence import register_model_class
from neuromix.models.architectures import (
    MLP_ARCHITECTURES,
    architectures,
    build_networks,
    join_stacks,
    resolve_architecture,
)
from neuromix.models.likelihoods import Likelihood, get_likelihood, takes_link, with_link
from neuromix.models.methods.base import Method
from neuromix.models.registry import available, get_method
from neuromix.models.vae import PRECISIONS, RATE_SCALES, MultimodalModule, resolve_precision
from neuromix.training import checkpoint as ckpt
from neuromix.training.criteria import DecodingCriterion
from neuromix.training.early_stopping import EarlyStopping
from neuromix.training.ensemble import Member, train_ensemble
from neuromix.training.loop import (
    TrainingDivergedError,
    make_optimizer,
    resolve_device,
    train,
    training_generator,
)
from neuromix.training.samplers import ArraySampler

__all__ = ["BETA_GRID", "CRITERIA", "LINK_GRID", "MultimodalVAE"]

#: The betas ``beta="auto"`` chooses among (see :class:`MultimodalVAE`).
BETA_GRID = (1.0, 4.0, 16.0)
#: The Poisson links ``link="auto"`` chooses among (see :class:`MultimodalVAE`); the
#: first is the link of a fit without validation samples.
LINK_GRID = ("softplus", "exp")
LINKS = (*LINK_GRID, "auto")
#: Validation criteria: the history column each is read from (lower is better).
CRITERIA = {"cross": "val_cross", "elbo": "val_elbo", "decode": "val_decode"}


def _is_beta(value) -> bool:
    """A non-negative number, ``"auto"``, or a non-empty list of distinct such numbers."""

    def number(v):
        return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 and v < math.inf

    if isinstance(value, str):
        return value == "auto"
    if isinstance(value, list | tuple):
        return len(value) > 0 and all(number(v) for v in value) and len(set(value)) == len(value)
    return number(value)


def _state_at(epochs_done: int) -> str:
    if epochs_done == 0:
        return "its initial weights (no epoch was completed)"
    return f"its state at the end of epoch {epochs_done - 1}, the last completed"


#: ``checkpoint`` of :meth:`MultimodalVAE._fit_sampler`: the estimator's own parameter.
_OWN = object()


def _init_seed(seed: int, i: int) -> int:
    """The seed of initialisation ``i`` of ``n_init``: ``seed`` itself for the first, so
    that ``n_init=1`` is the fit of ``seed``; others drawn from ``(seed, i)``."""
    if i == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1)[0] >> 1)


def _is_spec(value) -> bool:
    return isinstance(value, str | Likelihood) or (isinstance(value, Mapping) and "name" in value)


class _single:
    """One model's view of a shared :class:`EarlyStopping` (models trained in turn)."""

    def __init__(self, stopping: EarlyStopping, k: int):
        self._stopping, self._k = stopping, k
        self.monitor = stopping.monitor

    def update(self, _k, epoch, value, module):
        return self._stopping.update(self._k, epoch, value, module)

    def done(self, _k):
        return self._stopping.done(self._k)


def _selection(
    betas, histories, monitor, scores, best_epochs, chosen, seconds, culled
) -> xr.Dataset:
    """The record of a beta selection: per beta, the criterion at its kept epoch, the
    epochs trained, the epoch it was culled at (-1: never), and the criterion's curve
    over epochs."""
    n_epochs = max(len(h) for h in histories)
    curve = np.full((len(betas), n_epochs), np.nan)
    columns = ("val_loss", "val_elbo", "val_cross", "val_self", "val_decode",
               "val_decode_within", "val_decode_transfer")  # fmt: skip
    at_best = {c: np.full(len(betas), np.nan) for c in columns}
    for k, history in enumerate(histories):
        values = [r.get(monitor, np.nan) for r in history]
        curve[k, : len(values)] = values
        best = best_epochs[k]
        if best is not None:
            for c in columns:
                at_best[c][k] = history[best].get(c, np.nan)
    best_epoch = [-1 if e is None else int(e) for e in best_epochs]
    return xr.Dataset(
        {
            "score": ("beta", np.asarray(scores, dtype=float)),
            "best_epoch": ("beta", np.asarray(best_epoch)),
            "epochs_trained": ("beta", np.asarray([len(h) for h in histories])),
            "culled_at": ("beta", np.asarray([-1 if c is None else int(c) for c in culled])),
            **{c: ("beta", v) for c, v in at_best.items()},
            "curve": (("beta", "epoch"), curve),
        },
        coords={"beta": np.asarray(betas, dtype=float), "epoch": np.arange(n_epochs)},
        attrs={
            "criterion": monitor,
            "chosen_beta": float(betas[chosen]),
            "fit_seconds": float(seconds),
            "description": "score: the validation criterion at each beta's kept epoch (its "
            "best with early stopping, else its last; lower is better); the beta of the "
            "lowest is kept, among those not culled by successive halving (culled_at: the "
            "epoch it was culled at, -1 never)",
        },
    )


@register_model_class
class MultimodalVAE(
    _VAEInference, _VAEExtendMixin, _VAEStateMixin, TransformerMixin, BaseEstimator
):
    """Multimodal VAE over paired samples of several subjects (modalities).

    Each subject m has its own encoder q_m(z | x_m) and decoder p_m(x_m | z); the
    ``method`` decides how the subjects share information: ``"independent"``,
    ``"avg"``, ``"poe"``, ``"moe"``, ``"mopoe"`` or ``"mmvm"`` (see
    :func:`neuromix.models.available`).

    Parameters
    ----------
    method : str or Method, default="mmvm"
        Aggregation/prior method, by name.
    method_params : dict, optional
        Options of the method, e.g. ``{"estimator": "mc", "alpha": 1.0,
        "anneal_epochs": 50}`` for MMVM or ``{"prior_expert": False}`` for PoE.
    latent_dim : int, default=2
        Size of each subject's latent.
    beta : float, "auto" or list of float, default=1.0
        Weight of the rate term per sample. The reconstruction term is the negative
        log-likelihood of a whole sample, summed over its features, and the rate is in
        nats of the latent, so beta = 1 is the ELBO whatever the size of the data (the
        paper's spike betas, 1e-5 to 1e-2, were set against a squared error averaged
        over the ~1000 features of a window). ``"auto"``: choose among
        :data:`BETA_GRID` (a list: among its values) by the validation criterion
        (``criterion``): one model per beta, trained together as one ensemble when
        every subject has an MLP (the machinery of :func:`neuromix.sweep`), each
        early-stopped on the criterion when ``patience`` is set, and all of them once
        no model has improved the best criterion of the grid for ``patience`` epochs
        (a beta still improving on itself but not on the best would not be chosen);
        the model of the best criterion is kept (``beta_``), and the grid, its scores
        and the choice are in
        ``beta_selection_`` (an xarray Dataset). Needs validation samples; cannot be
        resumed from a ``checkpoint``.
    rate_scale : {"one", "subjects"}, default="one"
        What beta multiplies for the aggregation methods. ``"one"``: their rate is one
        KL of the joint posterior (AVG, PoE: KL(joint || N(0, I)); MoE, MoPoE: the mean
        of their components' KLs). ``"subjects"``: that joint KL is counted once per
        subject, M times for a model of M subjects, as in the authors' code of Sutter,
        Meng et al. (2024); use it to compare betas with theirs. Independent VAEs and
        MMVM, whose rate sums one KL per subject already, are the same under both.
        Each method's docstring says what beta multiplies.
    likelihood : str, dict or mapping, default="gaussian"
        ``"gaussian"``, ``"laplace"``, ``"poisson"``, ``"bernoulli"`` or
        ``"categorical"``; a dict such as ``{"name": "laplace", "scale": 0.75}``; or a
        mapping subject -> either of those.
    link : {"softplus", "exp", "auto"}, default="softplus"
        The link of every Poisson likelihood that names none (``"poisson"``, or a dict
        without ``"link"``; one that names it keeps it): see
        :class:`~neuromix.models.likelihoods.Poisson`. ``"auto"``: both links of
        :data:`LINK_GRID` are candidates beside each beta (``beta`` a number is a grid of
        one), trained in one ensemble; successive halving culls within each link's own
        bracket (in one bracket of six, a link's slow-learning best candidate was culled
        at the first rung for the other link's early lead), and the best criterion of
        all is kept; the link
        chosen is ``link_`` and every candidate's criterion is in
        ``beta_selection_["link_score"]`` over ``(beta, link)``. A fit that reads no
        validation criterion (no validation samples, or a fixed beta with
        ``patience=None``) trains the grid's first link, softplus.
    architecture : str or mapping, default="auto"
        ``"mlp"`` (the paper's spike MLP), ``"image"``, ``"text"`` or ``"auto"``; or a
        mapping subject -> name. See :mod:`neuromix.models.architectures`.
    hidden : tuple, default=(1.0, 1.0)
        Hidden widths of the MLPs: floats are multiples of the input size, ints absolute.
    conv_width : int, default=32
        Channels of the first layer of the image networks (then 2x and 4x; the paper's
        ResNets use 32); the text networks use twice as many. Smaller widths trade
        capacity for speed on a CPU (the cost falls with the square of the width).
    reweight : None, "size" or mapping, default=None
        Weights of the subjects' reconstruction terms: ``"size"`` weights each by
        (largest input size / its input size), as the authors do for modalities of
        very different sizes; a mapping gives them explicitly.
    epochs : int, default=100
        Passes over the training data; at least 1. With ``patience``, the largest number
        of passes.
    batch_size : int, default=128
        Samples per optimiser step. A batch larger than the training data is one
        batch of all of it (one step per epoch), with a warning naming both numbers.
    lr : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=0.1
        Fraction of the samples held out as validation samples: the validation loss and
        criteria per epoch, early stopping and the choice of beta read them (0 for none).
    seed : int, default=0
        Seeds initial weights, the validation split, shuffling and sampling. On the CPU
        a fit is deterministic given the seed.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU.
    progress : bool, default=True
        Show a progress bar.
    clip_grad : float or None, default=None
        Largest gradient norm of a step; None for no clipping. An optional safeguard
        of the optimiser (the objective is unchanged). Typical gradient norms of the
        rat configuration are 10^2-10^3, so a bound meant only for spikes should sit
        above that (e.g. 1e4). Training is stable without it: encoder log-variances are
        bounded (:data:`neuromix.models.vae.LOGVAR_RANGE`).
    checkpoint : str, path-like or None, default=None
        A file that keeps the training state (weights, optimiser state, the training
        generator's state, the epoch reached and the history; see
        :mod:`neuromix.training.checkpoint`), written atomically every
        ``checkpoint_every`` epochs, at the end, and when the fit is interrupted. When
        the file exists, ``fit`` resumes from it: it checks that the checkpoint was
        written with the same parameters (all but ``epochs``, ``progress``, ``device``
        and the checkpoint settings), subjects, sample shapes and sample counts
        (ValueError naming what differs otherwise), restores the state and trains the
        remaining epochs, so ``epochs`` may also be raised to train further. On the CPU
        the resumed fit ends with the same weights as an uninterrupted one. The file is
        kept after the fit (delete it, or use another path, to start over).
    checkpoint_every : int, default=1
        Epochs between checkpoints.
    patience : int or None, default=None
        Early stopping: training ends once the validation criterion has not improved for
        ``patience`` epochs (or at ``epochs``), and the weights of its best epoch are
        kept (``best_epoch_``). None: every epoch is trained and the last weights kept.
    min_epochs : int, default=10
        Epochs before which no epoch counts as the best and patience does not run. The
        cross-subject criterion is lowest at the very start, when every decoder predicts
        mean rates, then rises as each subject learns a latent of its own and falls as
        the rate aligns them (on the simulated rats, candidates stopped after their
        first epoch without it).
    criterion : {"cross", "elbo", "decode"}, default="cross"
        The validation criterion that early stopping and the choice of beta minimise:
        ``"cross"``, each subject's validation samples predicted from other subjects'
        latent means (the mean over ordered pairs of -log p_k(x_k | mu_m(x_m)); each
        subject from at most four others; history column ``val_cross``); ``"elbo"``,
        the negative ELBO of the validation samples (``val_elbo``: reconstruction plus
        rate, at beta = 1 whatever ``beta``); ``"decode"``, one minus the mean of the
        within- and across-subject accuracy of a linear discriminant of the samples'
        condition, fitted on each subject's training latents and scored on the
        validation latents (``val_decode``; needs ``y`` in :meth:`fit`,
        :class:`~neuromix.training.criteria.DecodingCriterion`). With one subject,
        ``"cross"`` is the ELBO.
    halving : bool, default=True
        When ``beta`` is a grid and ``patience`` is set: successive halving of the
        candidates (:class:`~neuromix.training.early_stopping.EarlyStopping`). After
        ``min_epochs`` epochs, then twice, four times as many, the worse half of the
        candidates still training (by the best criterion each has had so far) stops and
        is never chosen, so the grid costs little more than the candidates it keeps. On
        the suite's fixed-beta runs replayed (docs/results/suite/variants), it kept the
        beta the full grid chose on 11 of 15 datasets, at 0.56 of its model-epochs, and
        the same mean held-out accuracy to 0.004. False: every candidate trains until
        its own (or the shared) patience runs out. Only ensembles (MLP subjects) cull,
        and not on the ``"cross"`` criterion, lowest in the first epochs.
    n_init : int, default=1
        When ``beta`` is a grid: each beta trained from this many initialisations (initial
        weights and minibatch order), all in the same ensemble, halved and chosen among
        by the same criterion, as scikit-learn's ``KMeans(n_init=...)``. The record keeps
        each beta's best initialisation (``kept_init``; every one's criterion in
        ``init_score`` over ``(beta, init)``, in ``beta_selection_``). What a second
        initialisation gains on the suite's datasets, and costs: docs/model.md,
        "Several initialisations".
    precision : {"fp32", "bf16", "auto"}, default="fp32"
        Number format of the networks' matrix products. ``"bf16"``: the encoders and
        decoders run under ``torch.autocast`` with bfloat16, 3-4x faster on CPUs with
        AVX-512 BF16 or AMX and on Ampere or later GPUs; weights, gradients, Adam's
        state, the Gaussian math, the rate and the likelihoods stay fp32, and so do the
        latent-facing layers (a side of at most
        :data:`~neuromix.models.networks.FULL_PRECISION_WIDTH` units: the encoders'
        bottleneck and heads, the decoders' first layer), at negligible cost. bf16 is
        1.25x faster than fp32 on the paper's rat configuration here but changes where
        training ends: on the simulated rats one seed of three reached a worse optimum
        (docs/results/bf16.md). ``"auto"``: fp32 for now
        (:data:`neuromix.models.vae.AUTO_PRECISION`); bf16 is opt-in.

    Attributes
    ----------
    subjects_ : tuple of str
        Subject names in the order of the model.
    shapes_ : dict
        Per-subject sample shape.
    history_ : pandas.DataFrame
        Loss, reconstruction and rate per epoch (training and validation), the
        validation criteria ``val_elbo``, ``val_cross`` (two subjects or more) and
        ``val_self`` (each subject predicted from its own latent mean), and with early
        stopping ``best`` (whether that epoch's weights were the best so far).
    module_ : MultimodalModule
        The fitted torch module.
    beta_ : float
        The beta of the fitted model (the chosen one with ``beta="auto"`` or a list).
    beta_selection_ : xarray.Dataset or None
        With ``beta="auto"`` or a list: over ``beta``, the criterion at each model's kept
        epoch (``score``), its ``best_epoch`` and ``epochs_trained``, the validation
        columns there, and the criterion's ``curve`` over ``(beta, epoch)``; attributes
        ``criterion`` and ``chosen_beta``. None for a fixed beta.
    best_epoch_ : int or None
        The epoch whose weights were kept by early stopping (None without it).
    precision_ : {"fp32", "bf16"}
        The precision the networks run in (``precision`` with "auto" resolved).
    groups_ : tuple of tuple of str
        The subjects whose networks were built and trained together: one group for a
        fitted model, then one more per subject added by :meth:`add_modality`.
    additions_ : dict of str to dict
        Per subject added by :meth:`add_modality` (or
        :meth:`neuromix.NeuralModel.add_subject`): its training ``history`` (whose
        ``recon`` is the new subject's term alone for MMVM and independent VAEs, whose
        other terms do not depend on it), ``best_epoch``, ``seconds`` and ``n_samples``.

    Notes
    -----
    Training stops with :class:`~neuromix.training.loop.TrainingDivergedError` (a
    RuntimeError and a FloatingPointError) as soon as a batch's loss or gradient is
    not finite, naming the epoch, the subject and the term; the step is not applied and
    the model is left at the end of the last completed epoch, with ``history_`` up to
    there. A KeyboardInterrupt (Ctrl-C) during training also returns the model to the
    end of the last completed epoch, writes the checkpoint if one is set, warns, and
    ``fit`` returns the usable model.

    Examples
    --------
    >>> import neuromix as nm
    >>> X, z = nm.datasets.make_multiview(n_samples=200, seed=0)
    >>> vae = nm.MultimodalVAE(method="mmvm", epochs=2, progress=False).fit(X)
    >>> {k: v.shape for k, v in vae.transform({"a": X["a"]}).items()}
    {'a': (200, 2)}
    """

    _parameter_constraints = {
        "method": [Options(available), Check(lambda v: isinstance(v, Method), "a Method")],
        "method_params": [Options((None,)), Check(lambda v: isinstance(v, Mapping), "a dict")],
        "latent_dim": Interval(int, 1),
        "beta": Check(_is_beta, "a number >= 0, 'auto' or a list of distinct numbers >= 0"),
        "rate_scale": Options(RATE_SCALES),
        "likelihood": Check(
            lambda v: _is_spec(v) or isinstance(v, Mapping), "a likelihood name, dict or mapping"
        ),
        "link": Options(LINKS),
        "architecture": [
            Options(architectures),
            Check(lambda v: isinstance(v, Mapping), "a mapping"),
        ],
        "hidden": Check(
            lambda v: (
                isinstance(v, tuple | list)
                and all(Interval(float, 0.0, low_open=True)(h) for h in v)
            ),
            "a tuple of positive widths",
        ),
        "conv_width": Interval(int, 1),
        "reweight": [
            Options((None, "size")),
            Check(lambda v: isinstance(v, Mapping), "a mapping"),
        ],
        "epochs": Interval(int, 1),
        "batch_size": Interval(int, 1),
        "lr": Interval(float, 0.0, low_open=True),
        "validation_fraction": Interval(float, 0.0, 0.5),
        "seed": Interval(int, 0),
        "n_init": Interval(int, 1),
        "device": Check(lambda v: isinstance(v, str | torch.device), "'auto' or a torch device"),
        "progress": Options((True, False)),
        "clip_grad": [Options((None,)), Interval(float, 0.0, low_open=True)],
        "checkpoint": [
            Options((None,)),
            Check(lambda v: isinstance(v, str | os.PathLike) and str(v) != "", "a file path"),
        ],
        "checkpoint_every": Interval(int, 1),
        "precision": Options(PRECISIONS),
        "patience": [Options((None,)), Interval(int, 1)],
        "min_epochs": Interval(int, 0),
        "criterion": Options(tuple(CRITERIA)),
        "halving": Options((True, False)),
    }

    def __init__(
        self,
        *,
        method="mmvm",
        method_params=None,
        latent_dim=2,
        beta=1.0,
        rate_scale="one",
        likelihood="gaussian",
        link="softplus",
        architecture="auto",
        hidden=(1.0, 1.0),
        conv_width=32,
        reweight=None,
        epochs=100,
        batch_size=128,
        lr=1e-3,
        validation_fraction=0.1,
        seed=0,
        device="auto",
        progress=True,
        clip_grad=None,
        checkpoint=None,
        checkpoint_every=1,
        precision="fp32",
        patience=None,
        min_epochs=10,
        criterion="cross",
        halving=True,
        n_init=1,
    ):
        self.method = method
        self.method_params = method_params
        self.latent_dim = latent_dim
        self.beta = beta
        self.rate_scale = rate_scale
        self.likelihood = likelihood
        self.link = link
        self.architecture = architecture
        self.hidden = hidden
        self.conv_width = conv_width
        self.reweight = reweight
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
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

    # ------------------------------------------------------------------ building
    def _per_subject(self, value, subjects, what):
        if isinstance(value, Mapping) and not _is_spec(value):
            unknown = sorted(set(value) - set(subjects))
            missing = [s for s in subjects if s not in value]
            if unknown or missing:
                raise ValueError(
                    f"{what}: the mapping must name every subject; unknown {unknown}, "
                    f"missing {missing}"
                )
            return [value[s] for s in subjects]
        return [value] * len(subjects)

    def _build(self, subjects, shapes, dtypes=None, groups=None):
        """Validate parameters and build the (untrained) module for these subjects
        (``groups``: the subjects whose networks were built together, in order, as a
        model that gained subjects has them; default all at once)."""
        check_params(self.get_params(deep=False), self._parameter_constraints)
        method = get_method(self.method, **(self.method_params or {}))
        if len(subjects) < method.min_subjects:
            raise ValueError(
                f"method {method.name!r} needs at least {method.min_subjects} subjects; got "
                f"{len(subjects)} ({', '.join(map(repr, subjects))})"
            )
        specs = self._per_subject(self.likelihood, subjects, "likelihood")
        # subjects whose Poisson link is link's: with "auto", built with the grid's first
        # link and trained with each (_fit_candidates)
        self._link_subjects = tuple(
            s for s, v in zip(subjects, specs, strict=True) if takes_link(v)
        )
        first = self._unchosen_link()
        likelihoods = [
            get_likelihood(with_link(spec, first) if takes_link(spec) else spec) for spec in specs
        ]
        archs = [
            resolve_architecture(a, shapes[s], lik, s)
            for a, s, lik in zip(
                self._per_subject(self.architecture, subjects, "architecture"),
                subjects,
                likelihoods,
                strict=True,
            )
        ]
        sizes = [math.prod(shapes[s]) for s in subjects]
        if self.reweight is None:
            weights = [1.0] * len(subjects)
        elif self.reweight == "size":
            weights = [max(sizes) / d for d in sizes]
        else:
            weights = [float(w) for w in self._per_subject(self.reweight, subjects, "reweight")]
        self.device_ = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, self.device_)
        self.subjects_ = tuple(subjects)
        self.shapes_ = {s: tuple(shapes[s]) for s in subjects}
        self.method_ = method
        self.likelihoods_ = dict(zip(subjects, likelihoods, strict=True))
        self.architectures_ = dict(zip(subjects, archs, strict=True))
        self._recon_weights = weights
        self.groups_ = (tuple(subjects),) if groups is None else tuple(map(tuple, groups))
        self.additions_ = {}
        self.module_ = self._new_module(int(self.seed))
        return self.module_

    def _links(self) -> tuple[str | None, ...]:
        """The Poisson links to choose among (``link="auto"`` with a subject whose link is
        the parameter's: :data:`LINK_GRID`), or ``(None,)``: the built likelihoods."""
        if self.link == "auto" and getattr(self, "_link_subjects", ()):
            return LINK_GRID
        return (None,)

    def _unchosen_link(self) -> str:
        """The ``link`` parameter's link when none is chosen from the data (``"auto"``
        without validation samples: the grid's first)."""
        return LINK_GRID[0] if self.link == "auto" else self.link

    def _fixed_link(self) -> str | None:
        """The link of the subjects whose link is the ``link`` parameter's when it is not
        chosen (:meth:`_unchosen_link`); None: there are no such subjects."""
        if not getattr(self, "_link_subjects", ()):
            return None
        return self._unchosen_link()

    def _linked(self, link: str | None) -> dict[str, Likelihood]:
        """Every subject's likelihood, with ``link`` for the subjects whose link is the
        ``link`` parameter's (None: the likelihoods as they are)."""
        out = dict(self.likelihoods_)
        if link is not None:
            for s in self._link_subjects:
                out[s] = get_likelihood({"name": "poisson", "link": link})
        return out

    def _new_module(
        self, seed: int, rate_scale: str | None = None, likelihoods=None
    ) -> MultimodalModule:
        """An untrained module of the built shapes, its initial weights drawn from ``seed``
        (those of the g-th group of subjects from ``seed + g``); ``likelihoods``: a mapping
        subject -> likelihood other than ``likelihoods_`` (a candidate link)."""
        likelihoods = self.likelihoods_ if likelihoods is None else likelihoods
        stacks = [
            self._new_networks(group, int(seed) + g)
            for g, group in enumerate(getattr(self, "groups_", (self.subjects_,)))
        ]
        module = MultimodalModule(
            join_stacks([enc for enc, _ in stacks]),
            join_stacks([dec for _, dec in stacks]),
            [likelihoods[s] for s in self.subjects_],
            self.method_,
            int(self.latent_dim),
            recon_weights=self._recon_weights,
            rate_scale=self.rate_scale if rate_scale is None else rate_scale,
        )
        module.precision = self.precision_
        return module.to(self.device_)

    def _new_networks(self, subjects, seed: int):
        """Encoders and decoders of ``subjects`` (a stack each), initial weights from ``seed``."""
        return build_networks(
            [self.shapes_[s] for s in subjects],
            [self.likelihoods_[s] for s in subjects],
            [self.architectures_[s] for s in subjects],
            int(self.latent_dim),
            hidden=tuple(self.hidden),
            conv_width=int(self.conv_width),
            generator=torch.Generator().manual_seed(int(seed)),
        )

    def _to_tensor(self, subject, array):
        lik = self.likelihoods_[subject]
        return torch.as_tensor(np.asarray(array), dtype=lik.data_dtype(), device=self.device_)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None):
        """Fit on paired samples.

        Parameters
        ----------
        X : mapping of str to array-like of shape (n_samples, ...)
            One array per subject; row i of every array is the same paired sample.
        y : array-like of shape (n_samples,), optional
            The condition of each paired sample (e.g. a class label). Needed by
            ``criterion="decode"``, which decodes it from the validation samples' latents;
            ignored otherwise.

        Returns
        -------
        self
        """
        return self._fit_sampler(*self._samplers(X, y))

    def _samplers(self, X, y=None):
        """Check ``X``, build the module, split off the validation samples: the samplers
        (and, with labels ``y``, the decoding criterion's data in ``_scorer``)."""
        check_params(self.get_params(deep=False), self._parameter_constraints)
        arrays = check_subject_arrays(X)
        subjects = list(arrays)
        self._build(subjects, {s: a.shape[1:] for s, a in arrays.items()})
        return self._array_samplers(arrays, y)

    def _array_samplers(self, arrays, y=None):
        """The samplers of paired arrays (one per subject of the model, in its order)
        split into training and validation samples, and the decoding criterion."""
        subjects = self.subjects_
        n = next(iter(arrays.values())).shape[0]
        for s in subjects:
            self.likelihoods_[s].check(arrays[s], s)
        rng = np.random.default_rng(int(self.seed))
        n_val = round(self.validation_fraction * n) if n >= 10 else 0
        order = rng.permutation(n)
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        train_sampler = ArraySampler([self._to_tensor(s, arrays[s][train_idx]) for s in subjects])
        val_sampler = (
            ArraySampler([self._to_tensor(s, arrays[s][val_idx]) for s in subjects])
            if n_val
            else None
        )
        self._scorer = None
        if y is not None:
            labels = np.asarray(y)
            if labels.shape != (n,):
                raise ValueError(
                    f"y: expected one label per paired sample, shape ({n},), got {labels.shape}"
                )
            _, codes = np.unique(labels, return_inverse=True)
            codes = torch.as_tensor(codes, dtype=torch.long)
            if n_val:
                self._scorer = DecodingCriterion(
                    train=train_sampler.tensors,
                    validation=val_sampler.tensors,
                    train_labels=[codes[train_idx]] * len(subjects),
                    validation_labels=[codes[val_idx]] * len(subjects),
                    n_classes=int(codes.max()) + 1,
                )
        return train_sampler, val_sampler

    def _betas(self) -> tuple[float, ...] | None:
        """The betas to choose among (``"auto"``: :data:`BETA_GRID`), or None for one."""
        if isinstance(self.beta, str):
            return BETA_GRID
        if isinstance(self.beta, list | tuple):
            return tuple(float(b) for b in self.beta)
        return None

    def _stopping(
        self, n_models: int, *, shared: bool = False, brackets=None
    ) -> EarlyStopping | None:
        """Early stopping on the validation criterion, or None (``patience=None``);
        ``shared``: the models are the candidates of one choice of beta (shared
        patience and successive halving, within ``brackets``)."""
        if self.patience is None:
            return None
        return EarlyStopping(
            n_models,
            patience=int(self.patience),
            monitor=self._monitor(),
            # a fit shorter than min_epochs keeps its last epoch
            min_epochs=min(int(self.min_epochs), int(self.epochs) - 1),
            shared=shared,
            # the cross criterion's first epochs are its lowest (see min_epochs): it
            # cannot rank candidates at the first rung
            halving=shared and bool(self.halving) and self._monitor() != CRITERIA["cross"],
            brackets=brackets,
        )

    def _monitor(self) -> str:
        """The history column of the validation criterion: ``val_cross`` needs two
        subjects; with one, the ELBO is the criterion."""
        if self.criterion == "cross" and len(self.subjects_) < 2:
            return CRITERIA["elbo"]
        return CRITERIA[self.criterion]

    def _fit_sampler(
        self, sampler, validation=None, callback=None, *, owner=None, beta=None, checkpoint=_OWN
    ):
        """Train the built module on any sampler (the recordings API uses windows).

        ``owner`` is the estimator whose class and parameters a checkpoint records and
        is checked against (default: this one; :class:`~neuromix.NeuralModel` passes
        itself). See the ``checkpoint`` parameter for resuming, divergence and Ctrl-C.
        ``beta`` trains that beta instead of the ``beta`` parameter's, ``checkpoint``
        keeps the training state in that file instead of the parameter's (both for
        :meth:`add_modality`). Only the parameters that require a gradient are trained.
        """
        check_batch_size(int(self.batch_size), len(sampler))
        betas = self._betas() if beta is None else None
        if (betas is not None or self.patience is not None) and validation is None:
            what = "beta='auto' (or a list)" if betas is not None else "patience"
            raise ValueError(
                f"{what} needs validation samples, and there are none: raise "
                "validation_fraction (MultimodalVAE) or validation_size (neuromix.fit), or "
                "pass a fixed beta and patience=None"
            )
        # the decoding criterion's passes are paid for only when it is the criterion
        scorer = getattr(self, "_scorer", None) if self.criterion == "decode" else None
        if self.criterion == "decode" and scorer is None and validation is not None:
            raise ValueError(
                "criterion='decode' decodes the condition of the validation samples and "
                "needs it: pass y (one label per paired sample) to fit, or choose "
                "criterion='cross' or 'elbo'"
            )
        # link="auto" is chosen on the validation criterion when the fit reads one (a
        # beta grid or early stopping); a fixed schedule, a fit without validation
        # samples and an added subject's training keep the built link
        reads = betas is not None or self.patience is not None
        links = self._links() if beta is None and validation is not None and reads else (None,)
        if betas is not None or len(links) > 1:
            return self._fit_candidates(
                sampler, validation, betas or (float(self.beta),), scorer, links
            )
        self.beta_ = float(self.beta if beta is None else beta)
        self.beta_selection_ = None
        if beta is None:
            self.link_ = self._fixed_link()
        module = self.module_
        epochs = int(self.epochs)
        generator = training_generator(self.seed)
        trained = [p for p in module.parameters() if p.requires_grad]
        optimizer = make_optimizer(trained, float(self.lr))
        stopping = self._stopping(1)
        checkpoint = self.checkpoint if checkpoint is _OWN else checkpoint
        path = None if checkpoint is None else Path(checkpoint)
        every = int(self.checkpoint_every)
        ident = ckpt.identity(
            self if owner is None else owner,
            self.subjects_,
            self.shapes_,
            len(sampler),
            0 if validation is None else len(validation),
        )
        history, written = [], None
        if path is not None and path.exists():
            history, best = ckpt.restore(
                path, ident, module, optimizer, generator, epochs=epochs, with_best=True
            )
            written = len(history)
            if stopping is not None:
                stopping.resume(0, history, best)
        start = len(history)
        if stopping is not None and stopping.done(0):
            start = epochs  # a checkpoint of a fit that had stopped: nothing to train
        last = ckpt.capture(module, optimizer, generator, history, stopping)

        def end_of_epoch(record):
            nonlocal last, written
            history.append(record)
            last = ckpt.capture(module, optimizer, generator, history, stopping)
            if path is not None and last.epoch % every == 0:
                ckpt.write(path, last, ident)
                written = last.epoch
            if callback is not None:
                callback(record)

        try:
            train(
                module,
                sampler,
                epochs=max(epochs - start, 0),
                batch_size=int(self.batch_size),
                lr=float(self.lr),
                beta=self.beta_,
                generator=generator,
                validation=validation,
                progress=bool(self.progress),
                callback=end_of_epoch,
                optimizer=optimizer,
                start_epoch=len(history),
                clip_grad=None if self.clip_grad is None else float(self.clip_grad),
                subjects=self.subjects_,
                stopping=stopping,
                scorer=scorer,
                cross=self._monitor() == CRITERIA["cross"],
            )
        except KeyboardInterrupt:
            module.load_state_dict(last.module)
            saved = ""
            if path is not None:
                if written != last.epoch:
                    ckpt.write(path, last, ident)
                saved = f"; {path} holds it: fit again with the same checkpoint to resume"
            kept = _state_at(last.epoch)
            if stopping is not None and stopping.state(0) is not None:
                stopping.restore([module])
                kept = f"the weights of epoch {stopping.best_epoch[0]}, the best so far"
            warnings.warn(
                f"fit interrupted (KeyboardInterrupt) at epoch {last.epoch}: the model "
                f"holds {kept} (history_ has {last.epoch} "
                f"epoch{'' if last.epoch == 1 else 's'}){saved}",
                stacklevel=3,
            )
        except TrainingDivergedError as err:
            module.load_state_dict(last.module)
            self.history_ = pd.DataFrame(last.history)
            self.n_samples_ = len(sampler)
            raise TrainingDivergedError(
                f"{err} The model holds {_state_at(last.epoch)}.",
                epoch=err.epoch,
                batch=err.batch,
                subject=err.subject,
                term=err.term,
            ) from None
        if path is not None and written != last.epoch:
            ckpt.write(path, last, ident)
        if stopping is not None:
            stopping.restore([module])
        self.history_ = pd.DataFrame(last.history)
        self.best_epoch_ = None if stopping is None else stopping.best_epoch[0]
        self.n_samples_ = len(sampler)
        return self

    def _fit_candidates(self, sampler, validation, betas, scorer=None, links=(None,)):
        """``beta="auto"`` or a list, ``link="auto"``: one model per beta (and link),
        trained together (one ensemble when every subject has an MLP, else in turn), each
        stopped at its best epoch on the validation criterion; the best of them is kept
        (see ``beta`` and ``link``)."""
        if self.checkpoint is not None:
            raise ValueError(
                f"checkpoint: a fit that chooses beta or the Poisson link (beta={self.beta!r}, "
                f"link={self.link!r}) is trained as one ensemble and cannot be resumed from a "
                "checkpoint; pass a fixed beta (and link='softplus' or 'exp' for Poisson "
                "subjects) to use checkpoint"
            )
        # every beta (and link) from n_init initialisations (init i: weights and
        # minibatches from _init_seed(seed, i); init 0 is the fit's own seed); beta varies
        # fastest, then the initialisation, then the link
        grid = [
            (beta, i, link) for link in links for i in range(int(self.n_init)) for beta in betas
        ]
        modules = [
            self._new_module(_init_seed(self.seed, i), likelihoods=self._linked(link))
            for _, i, link in grid
        ]
        # one halving bracket per link (see link): each link keeps its best beta
        brackets = [links.index(link) for _, _, link in grid]
        stopping = self._stopping(len(grid), shared=True, brackets=brackets) or EarlyStopping(
            len(grid), patience=None, monitor=self._monitor()
        )
        members = [
            Member(
                module=module,
                sampler=sampler,
                generator=training_generator(_init_seed(self.seed, i)),
                beta=beta,
                validation=validation,
                clip_grad=None if self.clip_grad is None else float(self.clip_grad),
                name=f"beta={beta:g}"
                + (f", init {i}" if self.n_init > 1 else "")
                + (f", link {link}" if link is not None else ""),
                subjects=self.subjects_,
            )
            for module, (beta, i, link) in zip(modules, grid, strict=True)
        ]
        start = time.perf_counter()
        try:
            if all(a in MLP_ARCHITECTURES for a in self.architectures_.values()):
                histories, _ = train_ensemble(
                    members,
                    epochs=int(self.epochs),
                    batch_size=int(self.batch_size),
                    lr=float(self.lr),
                    progress=bool(self.progress),
                    description=f"beta in {list(betas)}"
                    + (f", link in {list(links)}" if len(links) > 1 else ""),
                    stopping=stopping,
                    scorer=scorer,
                    cross=self._monitor() == CRITERIA["cross"],
                )
            else:
                histories = [
                    train(
                        m.module,
                        sampler,
                        epochs=int(self.epochs),
                        batch_size=int(self.batch_size),
                        lr=float(self.lr),
                        beta=m.beta,
                        generator=m.generator,
                        validation=validation,
                        progress=bool(self.progress),
                        clip_grad=m.clip_grad,
                        subjects=self.subjects_,
                        stopping=_single(stopping, k),
                        scorer=scorer,
                        cross=self._monitor() == CRITERIA["cross"],
                    )
                    for k, m in enumerate(members)
                ]
        except KeyboardInterrupt:
            raise KeyboardInterrupt(
                "fit interrupted while choosing beta: no model was kept (pass a fixed beta to "
                "keep the last completed epoch of an interrupted fit)"
            ) from None
        seconds = time.perf_counter() - start
        monitor = stopping.monitor
        if self.patience is None:  # no early stopping: the last epoch, as a fixed-beta fit
            best_epochs = [len(h) - 1 for h in histories]
            scores = np.array([h[-1].get(monitor, np.nan) for h in histories], dtype=float)
        else:
            stopping.restore(modules)
            best_epochs = list(stopping.best_epoch)
            scores = np.array(stopping.best, dtype=float)
        if not np.isfinite(scores).any():
            raise TrainingDivergedError(
                f"no beta of {list(betas)} gave a finite validation criterion ({monitor})",
                epoch=len(histories[0]) - 1,
                batch=0,
                subject=None,
                term="loss",
            )
        # a candidate culled by successive halving was ranked below the others: never
        # the choice (the last one left never is culled)
        eligible = np.isfinite(scores) & np.array([c is None for c in stopping.culled])
        if not eligible.any():  # the one left never reached a finite value
            eligible = np.isfinite(scores)
        chosen = int(np.nanargmin(np.where(eligible, scores, np.nan)))
        self.module_ = modules[chosen]
        self.beta_ = float(grid[chosen][0])
        link = grid[chosen][2]
        self.likelihoods_ = self._linked(link)
        self.link_ = self._fixed_link() if link is None else link
        self.history_ = pd.DataFrame(histories[chosen])
        self.best_epoch_ = None if self.patience is None else best_epochs[chosen]
        self.n_samples_ = len(sampler)
        # the record keeps, of each beta, its initialisation (and link) of the best criterion
        n = len(betas)
        ranked = np.where(eligible, scores, np.where(np.isfinite(scores), 1e300, np.inf))
        kept = [min(range(b, len(grid), n), key=lambda k: ranked[k]) for b in range(n)]
        kept[chosen % n] = chosen
        self.beta_selection_ = _selection(
            betas,
            [histories[k] for k in kept],
            monitor,
            scores[kept],
            [best_epochs[k] for k in kept],
            chosen % n,
            seconds,
            [stopping.culled[k] for k in kept],
        )
        # scores over (link, init, beta); a best over links or inits ignores nan
        by = scores.reshape(len(links), int(self.n_init), n)
        if self.n_init > 1:
            self.beta_selection_["kept_init"] = ("beta", np.array([grid[k][1] for k in kept]))
            self.beta_selection_["init_score"] = (("beta", "init"), np.fmin.reduce(by, 0).T)
            self.beta_selection_.attrs["chosen_init"] = int(grid[chosen][1])
        if len(links) > 1:
            self.beta_selection_ = self.beta_selection_.assign_coords(link=list(links))
            self.beta_selection_["kept_link"] = ("beta", np.array([grid[k][2] for k in kept]))
            self.beta_selection_["link_score"] = (("beta", "link"), np.fmin.reduce(by, 1).T)
            self.beta_selection_.attrs["chosen_link"] = str(link)
        self._candidates = [modules[k] for k in kept]
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")
