"""The multimodal VAE as a torch module: networks + method + likelihoods, no training loop.

Data enter as a list over subjects of tensors ``(batch, *shape)`` (``None`` for a
subject that is absent from the whole batch) plus the ``mask`` of the shape
convention of :mod:`neuromix.models.gaussian`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neuromix.models.gaussian import reparameterize
from neuromix.models.likelihoods import Likelihood
from neuromix.models.methods.base import Method

__all__ = [
    "AUTO_PRECISION",
    "LOGVAR_RANGE",
    "PRECISIONS",
    "RATE_SCALES",
    "MultimodalModule",
    "bf16_supported",
    "bound_logvar",
    "resolve_precision",
]

#: Values of ``rate_scale``: how often the joint KL of an aggregation method is counted.
RATE_SCALES = ("one", "subjects")

#: Values of ``precision``: the number format of the networks' matrix products.
PRECISIONS = ("fp32", "bf16", "auto")


def bf16_supported(device: torch.device | str) -> bool:
    """Whether bfloat16 matrix products run natively (fast) on ``device``.

    CUDA: compute capability 8.0 or later (Ampere). CPU: AVX-512 BF16 or AMX, where
    oneDNN has bf16 kernels; elsewhere bf16 is emulated and slower than fp32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(
            including_emulation=False
        )
    if device.type == "cpu":
        avx512_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
        amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        return bool(torch.backends.mkldnn.is_available() and (avx512_bf16() or amx()))
    return False


#: What ``precision="auto"`` picks where bf16 runs natively. bf16 is kept out of "auto"
#: until it keeps the results: on the simulated rats (3 seeds, neuromix.fit defaults) it
#: moved one seed of three to a worse optimum (within-rat decoding 0.54 against 0.65,
#: transfer 0.53 against 0.65), while the other two stayed within 0.03, and fp32 with its
#: initial weights perturbed by 1e-6 stayed within 0.005 (docs/results/bf16.md).
AUTO_PRECISION = "fp32"


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (None where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``"fp32"`` or ``"bf16"``: ``"auto"`` is :data:`AUTO_PRECISION` where
    :func:`bf16_supported`, else fp32 (so today fp32 everywhere).

    ``"bf16"`` asked for where bf16 is not native warns: on a CPU without AVX-512 BF16 or
    AMX, bf16 matrix products are emulated (the paper's rat configuration trained at
    ~37 s per epoch against 3.2 s in fp32 on an AVX2 CPU).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        return AUTO_PRECISION if bf16_supported(device) else "fp32"
    if precision == "bf16" and torch.device(device).type == "cpu" and not bf16_supported(device):
        flags = _cpu_flags()
        missing = (
            "its features could not be read"
            if flags is None
            else "/proc/cpuinfo lists neither avx512_bf16 nor amx_bf16"
            + (" (it has avx2)" if "avx2" in flags else "")
        )
        warnings.warn(
            f"precision='bf16' on a CPU without native bf16 ({missing}): bf16 matrix "
            "products are emulated here, about 10x slower than fp32; use precision='fp32' "
            "(or 'auto', which picks bf16 only where it is native)",
            RuntimeWarning,
            stacklevel=3,
        )
    return precision


#: Range of the encoders' log-variances: sigma in [0.0025, 20]. Unbounded, a head that
#: reads a large bottleneck activation can swing logvar by tens in a few Adam steps,
#: and the MMVM rate (exp(logvar_m - logvar_k) terms, and no N(0, I) anchor) then
#: overflows; no useful posterior lies outside this range.
LOGVAR_RANGE = (-12.0, 6.0)


def bound_logvar(
    raw: Tensor, low: float = LOGVAR_RANGE[0], high: float = LOGVAR_RANGE[1]
) -> Tensor:
    """Smoothly keep log-variances in [low, high]: close to the identity inside, with
    softplus shoulders of unit width at both ends (differentiable everywhere)."""
    upper = high - F.softplus(high - raw)
    return low + F.softplus(upper - low)


class MultimodalModule(nn.Module):
    """Encoders, decoders, likelihoods and a method, with the training objective.

    Parameters
    ----------
    encoders, decoders : nn.Module
        List-in, list-out networks over all subjects (see
        :func:`neuromix.models.architectures.build_networks`): encoders output
        ``2 * latent_dim`` (mean, log-variance), decoders the likelihood parameters.
    likelihoods : sequence of Likelihood
        One per subject.
    method : Method
        The aggregation/prior method.
    latent_dim : int
    recon_weights : sequence of float, optional
        Weight of each subject's reconstruction term (default 1).
    precision : {"fp32", "bf16"}, default="fp32"
        Number format of the networks' matrix products. ``"bf16"`` runs the encoders and
        decoders under ``torch.autocast`` with bfloat16 (weights, gradients and the
        optimiser state stay fp32); their outputs return to fp32 before the Gaussian
        math, the rate and the likelihoods, which always run in fp32. Latent-facing
        layers of :class:`~neuromix.models.networks.BatchedMLP` stay fp32 too.
    rate_scale : {"one", "subjects"}, default="one"
        ``"one"``: the rate is the method's as it stands (one joint KL for AVG, PoE, MoE,
        MoPoE). ``"subjects"``: the part of the rate that is a joint KL
        (:attr:`~neuromix.models.methods.Plan.joint_rate`) is counted M times, M the
        number of subjects of the model, as in the authors' code of Sutter, Meng et al.
        (2024); independent VAEs and MMVM, whose rate sums over subjects already, are
        unchanged.
    """

    def __init__(
        self,
        encoders: nn.Module,
        decoders: nn.Module,
        likelihoods: Sequence[Likelihood],
        method: Method,
        latent_dim: int,
        recon_weights: Sequence[float] | None = None,
        rate_scale: str = "one",
        precision: str = "fp32",
    ):
        super().__init__()
        self.encoders = encoders
        self.decoders = decoders
        self.likelihoods = list(likelihoods)
        self.method = method
        self.latent_dim = int(latent_dim)
        n = len(self.likelihoods)
        weights = [1.0] * n if recon_weights is None else [float(w) for w in recon_weights]
        self.recon_weights = weights
        if rate_scale not in RATE_SCALES:
            raise ValueError(f"rate_scale must be one of {RATE_SCALES}, got {rate_scale!r}")
        self.rate_scale = rate_scale
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        self.precision = precision
        #: Subjects whose reconstruction terms :meth:`loss` computes (None: all). A
        #: model that trains some subjects' networks only, beside frozen ones, of a
        #: method whose decoders read each subject's own latent (``aggregates`` False),
        #: skips the terms that cannot change (see
        #: :meth:`neuromix.MultimodalVAE.add_modality`).
        self.recon_subjects: tuple[int, ...] | None = None

    def _networks(self, networks: nn.Module, inputs) -> list[Tensor | None]:
        """Run encoders or decoders in the module's precision; outputs in fp32."""
        if self.precision == "fp32":
            return networks(inputs)
        device = next(self.parameters()).device.type
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            outs = networks(inputs)
        return [None if o is None else o.float() for o in outs]

    @property
    def n_subjects(self) -> int:
        return len(self.likelihoods)

    def encode(self, xs: Sequence[Tensor | None]) -> tuple[Tensor, Tensor, Tensor]:
        """Unimodal posteriors of the given subjects.

        Returns ``mu``, ``logvar`` of shape ``(batch, subject, latent)`` (zeros for absent
        subjects) and the ``(batch, subject)`` mask of given subjects.
        """
        return self.posteriors(self._networks(self.encoders, xs))

    def posteriors(self, outs: Sequence[Tensor | None]) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`encode` from the encoders' outputs ``outs`` (a list over subjects, None
        where absent): ``mu``, bounded ``logvar`` and the mask of given subjects."""
        present = [o for o in outs if o is not None]
        if not present:
            raise ValueError("at least one subject must be given")
        if len(present) == len(outs):
            h = torch.stack(outs, dim=1)
            mask = torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)
        else:
            zeros = torch.zeros_like(present[0])
            h = torch.stack([zeros if o is None else o for o in outs], dim=1)
            mask = torch.tensor([o is not None for o in outs], device=h.device)
            mask = mask.expand(h.shape[0], -1)
        mu, raw = h.split(self.latent_dim, dim=-1)
        return mu, bound_logvar(raw), mask

    def likelihood_params(
        self, z: Tensor, subjects: Sequence[int] | None = None
    ) -> list[Tensor | None]:
        """Likelihood parameters of every subject (or of ``subjects``) from z ``(n, latent)``
        or from one latent per subject ``(subject, n, latent)``: the decoders' outputs.

        (Named for what it returns: in neuromix "decode" means reading a trial label
        out of latents, :meth:`neuromix.NeuralModel.decode`.)
        """
        targets = range(self.n_subjects) if subjects is None else subjects
        inputs: list[Tensor | None] = [None] * self.n_subjects
        for m in targets:
            inputs[m] = z[m] if z.dim() == 3 else z
        return self._networks(self.decoders, inputs)

    def loss(
        self,
        xs: Sequence[Tensor],
        mask: Tensor | None = None,
        *,
        beta: float = 1.0,
        epoch: int = 0,
        generator: torch.Generator | None = None,
        per_subject: bool = False,
    ) -> dict[str, Tensor]:
        """The negative objective, averaged over the batch: recon + beta * rate.

        ``xs[m]`` is ``(batch, *shape_m)``; ``mask`` (default: all present) marks which
        rows hold subject m. Returns ``loss``, ``recon`` and ``rate`` (scalars; ``rate``
        is what beta multiplies, scaled as ``rate_scale`` says). With
        ``per_subject`` (diagnostics; the training loop asks only for a batch whose loss
        or gradient is not finite) also ``recon_subject``, the list over subjects of the
        batch means of each subject's weighted reconstruction term (separate graphs, so
        that each can be differentiated alone), and the encoders' ``mu``, ``logvar``
        and ``mask``.
        """
        mu, logvar, given = self.encode(xs)
        mask = given if mask is None else mask & given
        plan, inputs = self.decoder_inputs(mu, logvar, mask, epoch=epoch, generator=generator)
        params = self._networks(self.decoders, inputs)
        out = self.objective(xs, plan, params, beta=beta, per_subject=per_subject)
        if per_subject:
            out.update(mu=mu, logvar=logvar, mask=mask)
        return out

    # The steps of :meth:`loss` around the networks, for callers that evaluate the
    # networks themselves (:mod:`neuromix.training.ensemble` runs the networks of many
    # models as one): encoders -> :meth:`posteriors` -> :meth:`decoder_inputs` ->
    # decoders -> :meth:`objective`.
    def decoder_inputs(
        self, mu: Tensor, logvar: Tensor, mask: Tensor, *, epoch: int = 0, generator=None
    ):
        """The method's plan for a batch and the latents each decoder reads.

        Returns the :class:`~neuromix.models.methods.Plan` and a list over subjects of
        ``(batch * k, latent)`` tensors (None for a subject no component is decoded
        into). Draws from ``generator`` as :meth:`loss` does: the plan's, then one
        reparameterised sample of every component.
        """
        plan = self.method.plan(mu, logvar, mask, epoch=epoch, generator=generator)
        z = reparameterize(plan.mu, plan.logvar, generator=generator)  # (B, C, L)
        batch, k = z.shape[0], plan.decode.shape[1]
        # (subject, batch * k, latent): the components each subject's decoder reads
        z_in = z[:, plan.decode, :].permute(1, 0, 2, 3).reshape(self.n_subjects, batch * k, -1)
        used = [bool(plan.weight[:, m].any()) for m in range(self.n_subjects)]
        if self.recon_subjects is not None:
            used = [u and m in self.recon_subjects for m, u in enumerate(used)]
        return plan, [z_in[m] if used[m] else None for m in range(self.n_subjects)]

    #: At most this many other subjects predict each subject in :meth:`cross_nll`
    #: (every other subject for up to 5 subjects; beyond, the next ones in order), so the
    #: held-out criterion costs the decoders at most 5 passes whatever the subjects.
    CROSS_SOURCES = 4

    def cross_sources(self) -> list[list[int]]:
        """For every target subject k, the source subjects of :meth:`cross_nll`: k itself,
        then the :attr:`CROSS_SOURCES` next subjects (cyclically), or all of them."""
        n = self.n_subjects
        others = min(n - 1, self.CROSS_SOURCES)
        return [[(k + j) % n for j in range(others + 1)] for k in range(n)]

    def cross_inputs(self, mu: Tensor) -> list[Tensor]:
        """Decoder inputs of :meth:`cross_nll`: for every target subject k, the latent
        means of its source subjects (:meth:`cross_sources`), ``(sources * batch,
        latent)``, source-major."""
        return [mu[:, sources].transpose(0, 1).reshape(-1, mu.shape[-1]) for sources in
                self.cross_sources()]  # fmt: skip

    def cross_nll(self, xs: Sequence[Tensor], params: Sequence[Tensor]) -> Tensor:
        """Subjects' activity predicted from other subjects' latent means.

        ``params[k]`` are subject k's decoder outputs on :meth:`cross_inputs`. Returns
        the ``(M, M)`` matrix whose entry (m, k) is the sum over the batch of
        -log p_k(x_k | z = mu_m(x_m)): row m is the source subject, column k the
        predicted one (the diagonal is each subject's own reconstruction from its mean);
        NaN where m is not one of k's sources. Reconstruction weights are not applied.
        """
        n = self.n_subjects
        ref = params[0]
        out = torch.full((n, n), float("nan"), device=ref.device, dtype=ref.dtype)
        for k, sources in enumerate(self.cross_sources()):
            x = xs[k]
            batch = x.shape[0]
            x = x.unsqueeze(0).expand(len(sources), *x.shape).reshape(-1, *x.shape[1:])
            nll = self.likelihoods[k].nll(params[k], x)
            out[sources, k] = nll.view(len(sources), batch).sum(dim=1)
        return out

    def objective(
        self,
        xs: Sequence[Tensor],
        plan,
        params: Sequence[Tensor | None],
        *,
        beta: float = 1.0,
        per_subject: bool = False,
    ) -> dict[str, Tensor]:
        """:meth:`loss` from a plan and the decoders' outputs ``params`` (see there)."""
        batch, k = plan.mu.shape[0], plan.decode.shape[1]
        ref = plan.mu
        recon = torch.zeros(batch, device=ref.device, dtype=ref.dtype)
        parts = [torch.zeros((), device=ref.device, dtype=ref.dtype)] * self.n_subjects
        for m in range(self.n_subjects):
            if params[m] is None:
                continue
            x = xs[m]
            if k > 1:
                x = x.unsqueeze(1).expand(batch, k, *x.shape[1:]).reshape(batch * k, *x.shape[1:])
            nll = self.likelihoods[m].nll(params[m], x).view(batch, k)
            part = self.recon_weights[m] * (nll * plan.weight[:, m]).sum(dim=1)
            recon = recon + part
            if per_subject:
                parts[m] = part.mean()
        rate = plan.rate
        if self.rate_scale == "subjects" and plan.joint_rate is not None:
            rate = rate + (self.n_subjects - 1) * plan.joint_rate
        out = {
            "loss": (recon + beta * rate).mean(),
            "recon": recon.mean(),
            "rate": rate.mean(),
        }
        if per_subject:
            out["recon_subject"] = parts
        return out
