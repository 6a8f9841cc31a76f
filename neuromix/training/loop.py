"""The training loop, independent of where batches come from (see
:mod:`neuromix.training.samplers`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from neuromix.models.networks import BatchedMLP, choose_path
from neuromix.models.vae import MultimodalModule
from neuromix.training.criteria import cross_metrics
from neuromix.training.early_stopping import EarlyStopping

__all__ = [
    "TrainingDivergedError",
    "make_optimizer",
    "resolve_device",
    "train",
    "training_generator",
]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; anything else as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def training_generator(seed: int) -> torch.Generator:
    """The generator a fit with this ``seed`` shuffles its batches and draws its latent
    samples from (the initial weights and the validation split use ``seed`` itself)."""
    return torch.Generator().manual_seed(int(seed) + 1)


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    """Adam; the fused implementation (one kernel for all parameters) where available."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # devices or builds without the fused kernel
        return torch.optim.Adam(params, lr=lr, foreach=True)


class TrainingDivergedError(RuntimeError, FloatingPointError):
    """A training step met a loss or a gradient that is not finite.

    Raised before the optimiser applies that step, so no weight ever becomes NaN. It is
    both a RuntimeError (what earlier versions raised) and a FloatingPointError.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (0-based, as in the ``epoch`` column of the history).
    subject : str or None
        The subject whose term is not finite; None when the term is not one subject's
        (the joint rate of the aggregation methods) or could not be traced.
    term : str
        ``"reconstruction"``, ``"rate"``, ``"loss"``, ``"gradient of the
        reconstruction"``, ``"gradient of the rate"`` or ``"gradient"``.
    """

    def __init__(self, message, *, epoch, batch, subject, term):
        super().__init__(message)
        self.epoch, self.batch, self.subject, self.term = epoch, batch, subject, term


def _grad_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """Total 2-norm of the gradients, on their device (no synchronisation)."""
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def _clip_grad_norm(
    params: list[torch.Tensor], max_norm: float, norm: float | None = None
) -> None:
    """Rescale the gradients when their total norm exceeds ``max_norm``.

    Same result as ``torch.nn.utils.clip_grad_norm_``, which multiplies every gradient
    by the clipped coefficient at every step even when it is 1; here the extra pass over
    the gradients (7% of an epoch of the rat configuration) happens only when needed.
    ``norm``, when given, is the gradients' total norm already on the host (the training
    loop has it from its one transfer per batch).
    """
    grads = [p.grad for p in params if p.grad is not None]
    if norm is None:
        norm = float(_grad_norm(grads))
    if norm > max_norm:
        torch._foreach_mul_(grads, max_norm / (norm + 1e-6))


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def _first_bad_grad(output: torch.Tensor, params: list[torch.Tensor]) -> bool:
    if not output.requires_grad:
        return False
    grads = torch.autograd.grad(output, params, retain_graph=True, allow_unused=True)
    return not all(g is None or _finite(g) for g in grads)


def _diagnose(module, xs, mask, *, beta, epoch, generator, state, params):
    """Which subject and which term made a training batch's loss or gradient not finite.

    Replays the batch from the generator state it started from (same noise), with the
    per-subject terms; only ever run on a failing batch. Returns ``(m or None, term)``.
    """

    def replay(fn):
        if state is not None:
            generator.set_state(state)
        return fn()

    method = module.method
    with torch.enable_grad():
        out = replay(
            lambda: module.loss(
                xs, mask, beta=beta, epoch=epoch, generator=generator, per_subject=True
            )
        )
        mu, logvar, given = out["mu"], out["logvar"], out["mask"]
        per_rate = None
        if hasattr(method, "divergence"):  # a rate that is a sum over subjects (MMVM)
            per_rate = replay(
                lambda: method.divergence(mu, logvar, given, epoch=epoch, generator=generator)
            )
    recon = out["recon_subject"]
    n = module.n_subjects
    for m in range(n):
        if not _finite(recon[m]):
            return m, "reconstruction"
    if not _finite(out["rate"]) or not _finite(beta * out["rate"]):
        for m in range(n):
            if not (_finite(mu[:, m]) and _finite(logvar[:, m])):
                return m, "rate"
        if per_rate is not None:
            for m in range(n):
                if not _finite(per_rate[:, m]):
                    return m, "rate"
        return None, "rate"
    if not _finite(out["loss"]):
        return None, "loss"
    for m in range(n):
        if _first_bad_grad(recon[m], params):
            return m, "gradient of the reconstruction"
    if _first_bad_grad(beta * out["rate"], params):
        if per_rate is not None:
            for m in range(n):
                if _first_bad_grad(beta * per_rate[:, m].mean(), params):
                    return m, "gradient of the rate"
        return None, "gradient of the rate"
    return None, "gradient"


def _epoch(
    module: MultimodalModule,
    sampler,
    *,
    batch_size: int,
    beta: float,
    epoch: int,
    generator: torch.Generator | None,
    optimizer: torch.optim.Optimizer | None,
    clip_grad: float | None = None,
    subjects: Sequence[str] | None = None,
    cross: bool = True,
) -> dict[str, float]:
    """One pass; trains when an optimizer is given, else only evaluates (with the
    cross-prediction criterion when ``cross`` and two subjects or more).

    Training checks every batch's loss, reconstruction, rate and gradient norm before
    the optimiser step and raises :class:`TrainingDivergedError` when one is not
    finite: they travel to the host together, in the one transfer per batch.
    """
    totals = torch.zeros(3, dtype=torch.float64)
    n_seen = 0
    training = optimizer is not None
    params = [p for p in module.parameters() if p.requires_grad]
    cross = None if training or not cross or module.n_subjects < 2 else 0.0
    module.train(training)
    with torch.set_grad_enabled(training):
        for batch, (xs, mask) in enumerate(
            sampler.batches(batch_size, shuffle=training, generator=generator, epoch=epoch)
        ):
            state = generator.get_state() if training and generator is not None else None
            if cross is None:
                out = module.loss(xs, mask, beta=beta, epoch=epoch, generator=generator)
            else:
                out, matrix = _evaluate(module, xs, mask, beta=beta, epoch=epoch,
                                        generator=generator)  # fmt: skip
                cross = cross + matrix.detach().to("cpu", torch.float64)
            terms = [out["loss"], out["recon"], out["rate"]]
            if training:
                optimizer.zero_grad(set_to_none=True)
                out["loss"].backward()
                norm = _grad_norm([p.grad for p in params if p.grad is not None])
                terms.append(norm.to(out["loss"].device, out["loss"].dtype))
            # One device->host transfer per batch: the terms and the gradient norm.
            stats = torch.stack(terms).detach().to("cpu", torch.float64)
            if training:
                if not _finite(stats):
                    _raise_diverged(
                        module, xs, mask, stats, beta=beta, epoch=epoch, batch=batch,
                        generator=generator, state=state, params=params, subjects=subjects,
                    )  # fmt: skip
                if clip_grad is not None:
                    _clip_grad_norm(params, clip_grad, norm=float(stats[3]))
                optimizer.step()
            n = xs[0].shape[0]
            n_seen += n
            totals += stats[:3] * n
    loss, recon, rate = (totals / max(n_seen, 1)).tolist()
    record = {"loss": loss, "recon": recon, "rate": rate}
    if not training:
        record["elbo"] = recon + rate
    if cross is not None:
        record.update(cross_metrics(cross / max(n_seen, 1)))
    return record


def _evaluate(module: MultimodalModule, xs, mask, *, beta, epoch, generator):
    """:meth:`MultimodalModule.loss` of a held-out batch and its cross-prediction matrix
    (:meth:`MultimodalModule.cross_nll`), from one pass of the encoders."""
    mu, logvar, given = module.encode(xs)
    mask = given if mask is None else mask & given
    if not bool(mask.all()):
        raise ValueError("held-out batches must hold every subject")
    plan, inputs = module.decoder_inputs(mu, logvar, mask, epoch=epoch, generator=generator)
    out = module.objective(xs, plan, module._networks(module.decoders, inputs), beta=beta)
    params = module._networks(module.decoders, module.cross_inputs(mu))
    return out, module.cross_nll(xs, params)


def _raise_diverged(module, xs, mask, stats, *, epoch, batch, subjects, **replay):
    m, term = _diagnose(module, xs, mask, epoch=epoch, **replay)
    name = None if m is None else (subjects[m] if subjects is not None else str(m))
    values = dict(
        zip(("loss", "reconstruction", "rate", "gradient norm"), stats.tolist(), strict=True)
    )
    where = f"subject {name!r}: " if name is not None else ""
    if term.startswith("gradient"):
        what = (
            f"the {term} term is not finite" if term != "gradient" else "a gradient is not finite"
        )
    else:
        what = f"the {term} term is {values.get(term, values['loss'])}"
    detail = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
    raise TrainingDivergedError(
        f"training diverged at epoch {epoch} (batch {batch}): {where}{what} ({detail}); "
        "the step was not applied. Lower lr, set clip_grad, or (MMVM) give the prior a "
        "standard-normal weight alpha.",
        epoch=epoch,
        batch=batch,
        subject=name,
        term=term,
    )


def train(
    module: MultimodalModule,
    sampler,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    beta: float,
    generator: torch.Generator,
    validation=None,
    progress: bool = True,
    callback: Callable[[dict], None] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    start_epoch: int = 0,
    clip_grad: float | None = None,
    subjects: Sequence[str] | None = None,
    stopping: EarlyStopping | None = None,
    scorer: Callable[[MultimodalModule], dict] | None = None,
    cross: bool = True,
) -> list[dict]:
    """Fit ``module`` with Adam; returns the history as one dict per epoch.

    Each record holds ``epoch``, ``loss``, ``recon``, ``rate`` (training averages over
    the epoch), ``val_loss``, ``val_recon``, ``val_rate`` when a validation sampler is
    given (with ``val_elbo``, and ``val_cross`` and ``val_self`` of
    :func:`~neuromix.training.criteria.cross_metrics` for two subjects or more),
    ``alpha`` for methods with an annealed prior weight, and ``seconds``.
    With ``stopping`` (an :class:`~neuromix.training.early_stopping.EarlyStopping` of
    one model, on a validation column), each record also holds ``best`` (whether the
    epoch's weights are the best so far, kept by ``stopping``), and training ends once
    ``stopping`` says the model is done; restoring the best weights is the caller's.
    ``scorer`` (e.g. a :class:`~neuromix.training.criteria.DecodingCriterion`) is called
    on the module after every validation pass; its values join the record as ``val_*``.
    ``cross=False`` leaves out the cross-prediction criterion (its decoder passes).
    Each batched MLP runs the path this machine runs faster at ``batch_size``
    (:func:`~neuromix.models.networks.choose_path`).
    ``clip_grad`` bounds the gradient norm of every step. Training runs the epochs
    ``start_epoch, ..., start_epoch + epochs - 1`` (the epoch number sets e.g. MMVM's
    annealed alpha and the resampled pairings), with ``optimizer`` when given (to
    continue from its state). Raises :class:`TrainingDivergedError`, naming the epoch,
    the subject (from ``subjects``) and the term, as soon as a batch's loss or gradient
    is not finite, before that step is applied.
    """
    from tqdm.auto import tqdm

    optimizer = optimizer or make_optimizer(module.parameters(), lr)
    for mlp in module.modules():  # grouped matmuls or a loop: what this machine runs faster
        if isinstance(mlp, BatchedMLP):
            choose_path(mlp, min(batch_size, len(sampler)))
    history = []
    bar = tqdm(range(start_epoch, start_epoch + epochs), disable=not progress, unit="epoch")
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            record = {"epoch": epoch}
            record.update(
                _epoch(
                    module,
                    sampler,
                    batch_size=batch_size,
                    beta=beta,
                    epoch=epoch,
                    generator=generator,
                    optimizer=optimizer,
                    clip_grad=clip_grad,
                    subjects=subjects,
                )
            )
            if validation is not None:
                val = _epoch(
                    module,
                    validation,
                    batch_size=max(batch_size, 1024),
                    beta=beta,
                    epoch=epoch,
                    generator=generator,
                    optimizer=None,
                    cross=cross,
                )
                record.update({f"val_{k}": v for k, v in val.items()})
            if scorer is not None:
                record.update({f"val_{k}": v for k, v in scorer(module).items()})
            if hasattr(module.method, "alpha_at"):
                record["alpha"] = module.method.alpha_at(epoch)
            if stopping is not None:
                record["best"] = stopping.update(0, epoch, record[stopping.monitor], module)
            record["seconds"] = time.perf_counter() - t0
            history.append(record)
            bar.set_postfix(
                loss=f"{record['loss']:.4g}",
                **({"val": f"{record['val_loss']:.4g}"} if validation is not None else {}),
            )
            if callback is not None:
                callback(record)
            if stopping is not None and stopping.done(0):
                break
    finally:
        bar.close()
        module.train(False)
    return history
