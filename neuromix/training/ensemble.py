"""Many models of one MLP architecture trained together, their networks as one matmul each.

K models whose subjects all have MLP networks of the same sizes (same subjects, input
sizes, hidden widths and latent size) are K x M "virtual subjects" of one
:class:`~neuromix.models.networks.BatchedMLP`: each size group of the models' batched
MLPs keeps its members and layout, and its ``torch.baddbmm`` per layer simply gets K
times more members (weights ``(K * G, in, out)``, model-major). Everything else stays
per model:

* each model has its own sampler (its own data, split and order) and its own
  ``torch.Generator``, consumed in the order of a separate fit (the sampler's shuffle at
  the start of an epoch, then each batch's draws of :meth:`MultimodalModule.loss`, then
  the draws of the validation pass);
* the objective (the method's plan, the reparameterisation, the likelihoods) is
  evaluated model by model with that model's module (:meth:`~neuromix.models.vae.
  MultimodalModule.posteriors`, :meth:`~neuromix.models.vae.MultimodalModule.
  decoder_inputs`, :meth:`~neuromix.models.vae.MultimodalModule.objective`): small
  tensor math next to the grouped matmuls;
* the gradient of the sum of the K losses is, slice by slice, each model's own gradient;
  Adam is elementwise, so one fused Adam over the stacked parameters is K separate
  Adams (every model steps at every step, so the bias-correction step counts agree);
  gradient norms, their finiteness check and ``clip_grad`` are per model (a ``(K,)``
  vector of norms, each model's gradients scaled by its own factor).

During training the models' own parameters are views into the stacked ones (no second
copy); at the end each model gets its own storage back, so every model is then an
ordinary, independent module. Each model thus equals a separate fit with the same seed
up to float rounding (the grouped kernels sum in another order).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromix.models.architectures import SubjectStack
from neuromix.models.networks import FULL_PRECISION_WIDTH, BatchedMLP, affine
from neuromix.models.vae import MultimodalModule
from neuromix.training.criteria import cross_metrics
from neuromix.training.early_stopping import EarlyStopping
from neuromix.training.loop import TrainingDivergedError, _raise_diverged, make_optimizer

__all__ = ["Ensemble", "Member", "train_ensemble"]


@dataclass
class Member:
    """One model of an ensemble and what a separate fit of it would be given.

    Attributes
    ----------
    module : MultimodalModule
        The built (initialised) module; it holds the trained weights after
        :func:`train_ensemble`.
    sampler : Sampler
        Its training batches (see :mod:`neuromix.training.samplers`).
    generator : torch.Generator
        Its training generator, seeded as a separate fit seeds it
        (:func:`neuromix.training.loop.training_generator`).
    beta : float
        Weight of its rate term.
    validation : Sampler or None
        Its held-out batches.
    clip_grad : float or None
        Largest gradient norm of its steps.
    name : str
        How errors name it (e.g. ``"beta=0.5, seed=1"``).
    subjects : sequence of str, optional
        Subject names, for errors.
    """

    module: MultimodalModule
    sampler: object
    generator: torch.Generator
    beta: float = 1.0
    validation: object = None
    clip_grad: float | None = None
    name: str = ""
    subjects: Sequence[str] | None = None


def _batched_mlp(stack: nn.Module, n_subjects: int) -> BatchedMLP:
    """The one BatchedMLP of a SubjectStack whose every subject is an MLP, else a ValueError."""
    if (
        isinstance(stack, SubjectStack)
        and len(stack.parts) == 1
        and isinstance(stack.parts[0], BatchedMLP)
        and stack.index[0] == list(range(n_subjects))
        and stack.flat[0]
    ):
        return stack.parts[0]
    raise ValueError(
        "only models whose every subject has an MLP (architecture 'mlp') can be trained as "
        "an ensemble; image and text networks are not grouped"
    )


class _StackedMLP(nn.Module):
    """The BatchedMLPs of K models as one: each size group's weights stacked model-major.

    The K MLPs must have the same sizes and grouping. Their parameters are rebound to
    views of the stacked ones until :meth:`release`.
    """

    def __init__(self, mlps: Sequence[BatchedMLP]):
        super().__init__()
        first = mlps[0]

        def signature(mlp):
            return mlp.sizes, mlp.group_members, mlp.negative_slope, mlp.final_activation

        for mlp in mlps[1:]:
            if signature(mlp) != signature(first):
                raise ValueError(
                    "the models of an ensemble must have networks of the same sizes: same "
                    "subjects, input sizes, hidden widths and latent_dim"
                )
        self.mlps = list(mlps)  # a plain list: their parameters are not this module's
        self.n_models = len(mlps)
        self.n_subjects = first.n_subjects
        self.negative_slope = first.negative_slope
        self.final_activation = first.final_activation
        self.layout = [(g.members, g.sizes, g.widths) for g in first.groups]
        self.weights = nn.ModuleList()
        self.biases = nn.ModuleList()
        with torch.no_grad():
            for g in range(len(first.groups)):
                for stacked_list, name in ((self.weights, "weights"), (self.biases, "biases")):
                    own = [getattr(mlp.groups[g], name) for mlp in mlps]
                    stacked = nn.ParameterList(
                        nn.Parameter(torch.cat([o[layer].detach() for o in own]))
                        for layer in range(len(own[0]))
                    )
                    for layer, param in enumerate(stacked):
                        size = own[0][layer].shape[0]
                        for k, o in enumerate(own):
                            o[layer].data = param.data[k * size : (k + 1) * size]
                    stacked_list.append(stacked)

    def release(self) -> None:
        """Give every model's parameters their own storage again (copies of the views)."""
        with torch.no_grad():
            for mlp in self.mlps:
                for p in mlp.parameters():
                    p.data = p.data.clone()

    def forward(self, inputs: Sequence[Sequence[Tensor | None] | None]) -> list[list]:
        """``inputs[k][m]``: model k's input of subject m ``(n_k, in_m)`` (None: not run)."""
        outputs = [[None] * self.n_subjects for _ in range(self.n_models)]
        for g, (members, sizes, widths) in enumerate(self.layout):
            xs = [
                None if inputs[k] is None else inputs[k][m]
                for k in range(self.n_models)
                for m in members
            ]
            rows = max((x.shape[0] for x in xs if x is not None), default=0)
            if rows == 0:
                continue
            h = _stack(xs, rows, widths[0])
            n_layers = len(self.weights[g])
            for layer in range(n_layers):
                narrow = min(widths[layer : layer + 2]) <= FULL_PRECISION_WIDTH
                h = affine(self.biases[g][layer], h, self.weights[g][layer], narrow)
                if layer < n_layers - 1 or self.final_activation:
                    h = F.leaky_relu(h, self.negative_slope, inplace=True)
            # unbind, not h[j] per member: the backward of one index of h is a zero tensor
            # the size of h, which would make the backward quadratic in the number of models
            pieces = h.unbind(0)
            for j, x in enumerate(xs):
                if x is not None:
                    k, i = divmod(j, len(members))
                    out = pieces[j] if x.shape[0] == rows else pieces[j][: x.shape[0]]
                    if out.shape[1] != sizes[i][-1]:  # slice only where padded
                        out = out[:, : sizes[i][-1]]
                    outputs[k][members[i]] = out
        return outputs


def _stack(xs: list[Tensor | None], rows: int, width: int) -> Tensor:
    """``(len(xs), rows, width)``: the inputs zero-padded (None: all zeros). Padded rows
    and columns meet zero weights or are cut from the outputs, so padding is exact."""
    like = next(x for x in xs if x is not None)
    padded = []
    for x in xs:
        if x is None:
            padded.append(like.new_zeros(rows, width))
        elif x.shape != (rows, width):
            padded.append(F.pad(x, (0, width - x.shape[1], 0, rows - x.shape[0])))
        else:
            padded.append(x)
    return torch.stack(padded)


class Ensemble(nn.Module):
    """K :class:`~neuromix.models.vae.MultimodalModule` of identical MLP networks as one.

    Parameters
    ----------
    modules : sequence of MultimodalModule
        Built modules with the same subjects, network sizes, latent size and precision;
        every subject's network must be an MLP. Their methods, likelihood weights and
        ``rate_scale`` may differ. Their parameters become views of the ensemble's until
        :meth:`release`.
    """

    def __init__(self, modules: Sequence[MultimodalModule]):
        super().__init__()
        modules = list(modules)
        if not modules:
            raise ValueError("an ensemble needs at least one model")
        first = modules[0]
        for module in modules:
            if (module.n_subjects, module.latent_dim, module.precision) != (
                first.n_subjects,
                first.latent_dim,
                first.precision,
            ):
                raise ValueError(
                    "the models of an ensemble must have the same subjects, latent_dim and "
                    "precision"
                )
        n = first.n_subjects
        self.members = modules  # a plain list: not submodules
        self.precision = first.precision
        self.encoders = _StackedMLP([_batched_mlp(m.encoders, n) for m in modules])
        self.decoders = _StackedMLP([_batched_mlp(m.decoders, n) for m in modules])
        self.out_shapes = {
            "encoders": first.encoders.out_shapes,
            "decoders": first.decoders.out_shapes,
        }

    @property
    def n_models(self) -> int:
        return len(self.members)

    def release(self) -> None:
        """End training: every model's parameters get their own storage again."""
        self.encoders.release()
        self.decoders.release()

    def _run(self, which: str, inputs) -> list[list[Tensor | None]]:
        """Encoders or decoders of every model, as a SubjectStack of MLPs runs them."""
        flat = [
            None if xs is None else [None if x is None else x.reshape(x.shape[0], -1) for x in xs]
            for xs in inputs
        ]
        network = getattr(self, which)
        if self.precision == "fp32":
            outs = network(flat)
        else:
            device = next(self.parameters()).device.type
            with torch.autocast(device_type=device, dtype=torch.bfloat16):
                outs = network(flat)
            outs = [[None if o is None else o.float() for o in row] for row in outs]
        shapes = self.out_shapes[which]
        return [
            [None if o is None else o.reshape(o.shape[0], *shapes[m]) for m, o in enumerate(row)]
            for row in outs
        ]

    def losses(
        self, batches, *, betas, epoch, generators, cross: bool = False
    ) -> list[dict | None]:
        """Every model's :meth:`MultimodalModule.loss` of its batch (None: no batch).

        With ``cross`` (held-out batches holding every subject), each result also has
        ``cross``: the model's :meth:`MultimodalModule.cross_nll` matrix of the batch.
        """
        encoded = self._run("encoders", [None if b is None else b[0] for b in batches])
        plans, inputs = [None] * self.n_models, [None] * self.n_models
        means = [None] * self.n_models
        for k, (module, batch) in enumerate(zip(self.members, batches, strict=True)):
            if batch is None:
                continue
            mu, logvar, given = module.posteriors(encoded[k])
            mask = given if batch[1] is None else batch[1] & given
            plans[k], inputs[k] = module.decoder_inputs(
                mu, logvar, mask, epoch=epoch, generator=generators[k]
            )
            means[k] = mu
        decoded = self._run("decoders", inputs)
        outs = [
            None
            if batch is None
            else module.objective(batch[0], plans[k], decoded[k], beta=betas[k])
            for k, (module, batch) in enumerate(zip(self.members, batches, strict=True))
        ]
        if cross:
            cross_in = [
                None if mu is None else module.cross_inputs(mu)
                for module, mu in zip(self.members, means, strict=True)
            ]
            params = self._run("decoders", cross_in)
            for k, module in enumerate(self.members):
                if outs[k] is not None:
                    outs[k]["cross"] = module.cross_nll(batches[k][0], params[k])
        return outs

    def _by_model(self) -> list[Tensor]:
        """Every gradient as ``(K, ...)`` views, model k's slice at index k."""
        return [
            p.grad.unflatten(0, (self.n_models, -1))
            for p in self.parameters()
            if p.grad is not None
        ]

    def grad_norms(self) -> Tensor:
        """Each model's total gradient norm, ``(K,)``."""
        norms = [
            torch.linalg.vector_norm(g, dim=tuple(range(1, g.dim()))) for g in self._by_model()
        ]
        return torch.linalg.vector_norm(torch.stack(norms), dim=0)

    def scale_grads_(self, factors: Tensor) -> None:
        """Multiply model k's gradients by ``factors[k]``."""
        for g in self._by_model():
            g.mul_(factors.to(g).view(-1, *[1] * (g.dim() - 1)))


def _epoch(ensemble: Ensemble, members, samplers, *, batch_size, epoch, optimizer, cross=True):
    """One pass of every model (trains with an optimizer); the per-model averages."""
    k_models = ensemble.n_models
    training = optimizer is not None
    generators = [m.generator for m in members]
    betas = [float(m.beta) for m in members]
    for module in [ensemble, *ensemble.members]:
        module.train(training)
    iters = [
        iter(())
        if s is None
        else s.batches(batch_size, shuffle=training, generator=g, epoch=epoch)
        for s, g in zip(samplers, generators, strict=True)
    ]
    totals = torch.zeros(k_models, 3, dtype=torch.float64)
    n_seen = [0] * k_models
    cross = cross and not training and ensemble.members[0].n_subjects > 1
    matrices = [0.0] * k_models
    with torch.set_grad_enabled(training):
        for batch, items in enumerate(itertools.zip_longest(*iters)):
            here = [k for k in range(k_models) if items[k] is not None]
            if training and len(here) < k_models:
                short = [members[k].name for k in range(k_models) if items[k] is None]
                raise ValueError(
                    f"epoch {epoch}: models {short} have fewer training batches than the "
                    "others; the models of an ensemble must have as many batches per epoch"
                )
            states = [g.get_state() for g in generators] if training else None
            outs = ensemble.losses(
                items, betas=betas, epoch=epoch, generators=generators, cross=cross
            )
            terms = torch.stack(
                [torch.stack([outs[k][n] for n in ("loss", "recon", "rate")]) for k in here]
            )
            if training:
                optimizer.zero_grad(set_to_none=True)
                torch.stack([outs[k]["loss"] for k in here]).sum().backward()
                norms = ensemble.grad_norms().to(terms.device, terms.dtype)
                terms = torch.cat([terms, norms.unsqueeze(1)], dim=1)
            # One device->host transfer per batch: every model's terms and gradient norm.
            stats = terms.detach().to("cpu", torch.float64)
            if training:
                bad = (~torch.isfinite(stats).all(dim=1)).nonzero()
                if len(bad):
                    _diverged(
                        ensemble, members, items, stats, int(bad[0, 0]), epoch, batch, states
                    )
                _clip(ensemble, members, stats[:, 3])
                optimizer.step()
            for j, k in enumerate(here):
                n = items[k][0][0].shape[0]
                n_seen[k] += n
                totals[k] += stats[j, :3] * n
                if cross:
                    matrices[k] = matrices[k] + outs[k]["cross"].detach().to("cpu", torch.float64)
    records = []
    for k in range(k_models):
        n = max(n_seen[k], 1)
        record = dict(zip(("loss", "recon", "rate"), (totals[k] / n).tolist(), strict=True))
        if not training:
            record["elbo"] = record["recon"] + record["rate"]
        if cross and n_seen[k]:
            record.update(cross_metrics(matrices[k] / n))
        records.append(record)
    return records


def _clip(ensemble: Ensemble, members, norms: Tensor) -> None:
    """Each model's ``clip_grad`` on its own gradient norm, as a separate fit clips."""
    factors, clipped = torch.ones(len(members), dtype=torch.float64), False
    for k, member in enumerate(members):
        if member.clip_grad is not None and float(norms[k]) > member.clip_grad:
            factors[k] = member.clip_grad / (float(norms[k]) + 1e-6)
            clipped = True
    if clipped:
        ensemble.scale_grads_(factors)


def _diverged(ensemble, members, items, stats, k, epoch, batch, states):
    """Raise the TrainingDivergedError of model k, diagnosed as its separate fit would."""
    member = members[k]
    module = ensemble.members[k]
    xs, mask = items[k]
    try:
        _raise_diverged(
            module, xs, mask, stats[k], beta=float(member.beta), epoch=epoch, batch=batch,
            generator=member.generator, state=states[k], subjects=member.subjects,
            params=[p for p in module.parameters() if p.requires_grad],
        )  # fmt: skip
    except TrainingDivergedError as err:
        error = TrainingDivergedError(
            f"model {member.name}: {err}",
            epoch=err.epoch,
            batch=err.batch,
            subject=err.subject,
            term=err.term,
        )
        error.model = member.name
        raise error from None


def _without_done(ensemble: Ensemble, optimizer, keep: list[int], lr: float):
    """A new ensemble of the models at positions ``keep`` (the ones still training), with
    an Adam that carries on their state: the same steps as if the others had never been
    there (Adam is elementwise), so a model that stops early frees its share of the work.
    """
    old = list(ensemble.parameters())
    state = [optimizer.state.get(p, {}) for p in old]
    n_old = ensemble.n_models
    ensemble.release()
    smaller = Ensemble([ensemble.members[j] for j in keep])
    new_optimizer = make_optimizer(smaller.parameters(), lr)
    index = torch.as_tensor(keep)
    for p_old, p_new, st in zip(old, smaller.parameters(), state, strict=True):
        if not st:
            continue
        moved = {}
        for name, value in st.items():
            if torch.is_tensor(value) and value.dim() > 0 and value.shape == p_old.shape:
                parts = value.unflatten(0, (n_old, -1))
                moved[name] = parts.index_select(0, index.to(value.device)).flatten(0, 1).clone()
            else:
                moved[name] = value.clone() if torch.is_tensor(value) else value
        new_optimizer.state[p_new] = moved
    return smaller, new_optimizer


def train_ensemble(
    members: Sequence[Member],
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    progress: bool = True,
    description: str | None = None,
    stopping: EarlyStopping | None = None,
    scorer=None,
    cross: bool = True,
) -> tuple[list[list[dict]], float]:
    """Train the members' modules together, each as its separate fit would train it.

    Runs epochs 0 to ``epochs - 1`` of every model: a training pass (Adam at ``lr``), then
    a validation pass (batches of ``max(batch_size, 1024)``) for the models that have
    validation data, as :func:`neuromix.training.loop.train` does for one model.

    With ``stopping`` (an :class:`~neuromix.training.early_stopping.EarlyStopping` of
    the K models on a validation column; every member needs validation data), each
    model's best epoch is tracked (its records get ``best``) and training ends once
    every model is done (or at ``epochs``); ``stopping.restore`` then gives each model
    the weights of its best epoch (the caller's call). A model that is done leaves the
    ensemble (the others go on with their own optimiser state), so its history ends
    where its separate fit's would. ``scorer`` is called on every model's module after
    the validation pass, as by :func:`~neuromix.training.loop.train`; ``cross=False``
    leaves out the cross-prediction criterion.

    Returns
    -------
    histories : list of list of dict
        Per model, one record per epoch with the keys of
        :func:`~neuromix.training.loop.train`'s history; ``seconds`` is the ensemble's
        time for that epoch divided by the number of models.
    seconds : float
        Wall time of the whole training.

    Raises
    ------
    ValueError
        Models that cannot be grouped (see :class:`Ensemble`) or that have different
        numbers of training batches per epoch.
    TrainingDivergedError
        A model's loss or gradient is not finite (before that step is applied); the
        message starts with the model's name and the error's ``model`` attribute is it.

    Examples
    --------
    >>> import torch
    >>> from neuromix.models.architectures import build_networks
    >>> from neuromix.models.likelihoods import get_likelihood
    >>> from neuromix.models.registry import get_method
    >>> from neuromix.models.vae import MultimodalModule
    >>> from neuromix.training.samplers import ArraySampler
    >>> def module(seed):
    ...     liks = [get_likelihood("gaussian")] * 2
    ...     gen = torch.Generator().manual_seed(seed)
    ...     enc, dec = build_networks([(5,), (3,)], liks, ["mlp", "mlp"], 2, generator=gen)
    ...     return MultimodalModule(enc, dec, liks, get_method("mmvm"), 2)
    >>> data = ArraySampler([torch.randn(64, 5), torch.randn(64, 3)])
    >>> members = [
    ...     Member(module(s), data, torch.Generator().manual_seed(s + 1), beta=b)
    ...     for s, b in [(0, 1.0), (1, 0.5)]
    ... ]
    >>> histories, seconds = train_ensemble(
    ...     members, epochs=2, batch_size=16, lr=1e-3, progress=False
    ... )
    >>> [len(h) for h in histories], sorted(histories[0][0])
    ([2, 2], ['alpha', 'epoch', 'loss', 'rate', 'recon', 'seconds'])
    """
    from tqdm.auto import tqdm

    members = list(members)
    counts = {m.name: math.ceil(len(m.sampler) / batch_size) for m in members}
    if len(set(counts.values())) > 1:
        raise ValueError(
            f"the models of an ensemble must have as many training batches per epoch; got {counts}"
        )
    if stopping is not None and any(m.validation is None for m in members):
        raise ValueError("early stopping needs validation data for every model")
    active = list(range(len(members)))  # the models still training
    ensemble = Ensemble([m.module for m in members])
    histories: list[list[dict]] = [[] for _ in members]
    start = time.perf_counter()
    bar = tqdm(range(epochs), disable=not progress, unit="epoch", desc=description)
    try:
        optimizer = make_optimizer(ensemble.parameters(), float(lr))
        for epoch in bar:
            t0 = time.perf_counter()
            here = [members[k] for k in active]
            validations = [m.validation for m in here]
            train = _epoch(
                ensemble, here, [m.sampler for m in here],
                batch_size=batch_size, epoch=epoch, optimizer=optimizer,
            )  # fmt: skip
            val = None
            if any(v is not None for v in validations):
                val = _epoch(
                    ensemble, here, validations,
                    batch_size=max(batch_size, 1024), epoch=epoch, optimizer=None, cross=cross,
                )  # fmt: skip
            seconds = (time.perf_counter() - t0) / len(here)
            for j, k in enumerate(active):
                member = members[k]
                record = {"epoch": epoch, **train[j]}
                if validations[j] is not None:
                    record.update({f"val_{n}": v for n, v in val[j].items()})
                if scorer is not None:
                    record.update({f"val_{n}": v for n, v in scorer(member.module).items()})
                if hasattr(member.module.method, "alpha_at"):
                    record["alpha"] = member.module.method.alpha_at(epoch)
                if stopping is not None:
                    record["best"] = stopping.update(
                        k, epoch, record[stopping.monitor], member.module
                    )
                record["seconds"] = seconds
                histories[k].append(record)
            bar.set_postfix(best_loss=f"{min(histories[k][-1]['loss'] for k in active):.4g}")
            if stopping is None:
                continue
            stopping.end_epoch(epoch)
            if stopping.all_done():
                break
            keep = [j for j, k in enumerate(active) if not stopping.done(k)]
            if len(keep) < len(active):
                ensemble, optimizer = _without_done(ensemble, optimizer, keep, float(lr))
                active = [active[j] for j in keep]
    finally:
        bar.close()
        ensemble.release()
        for module in ensemble.members:
            module.train(False)
    return histories, time.perf_counter() - start
