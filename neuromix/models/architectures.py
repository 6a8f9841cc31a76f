"""Building every subject's encoder and decoder from the data shapes.

Architectures are chosen by name per subject, from the registry :data:`ARCHITECTURES`
(a new family, a subclass of :class:`Architecture`, is added with
``@ARCHITECTURES.register``):

``"mlp"``
    Per-subject MLPs: encoder ``Linear(D, h1)-LReLU-Linear(h1, h2)-LReLU-Linear(h2,
    2 latent)`` (mean and log-variance), decoder ``Linear(latent, h2)-LReLU-Linear(h2,
    h1)-LReLU-Linear(h1, D)``, with h1 = h2 = D by default (``hidden=(1.0, 1.0)``:
    floats are multiples of D, ints are absolute widths). All MLP subjects share one
    :class:`~neuromix.models.networks.BatchedMLP`.
``"paper-mlp"``
    The paper's spike network (DESIGN.md section 1): as ``"mlp"``, but the encoder's
    last hidden layer is ``Linear(h2, latent)-LReLU``, read by a ``Linear(latent,
    2 latent)`` head.
``"image"``
    ResNet-style conv pair for 3 x 28 x 28 images.
``"text"``
    1-D conv pair for character codes (categorical likelihood).
``"auto"``
    ``"image"`` for (C, 28, 28) data, ``"text"`` for 1-D categorical codes, else ``"mlp"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import Tensor, nn

from neuromix._registry import Registry
from neuromix.models.likelihoods import Categorical, Likelihood
from neuromix.models.networks import (
    BatchedMLP,
    ConvDecoder,
    ConvEncoder,
    ImageDecoder,
    ImageEncoder,
    ModuleStack,
    TextDecoder,
    TextEncoder,
)

__all__ = [
    "ARCHITECTURES",
    "MLP_ARCHITECTURES",
    "Architecture",
    "SubjectStack",
    "architectures",
    "build_networks",
    "join_stacks",
    "resolve_architecture",
]

#: The network families by name (``"auto"`` is not one: it is resolved per subject by
#: :func:`resolve_architecture`). A subclass of :class:`Architecture` is added with
#: ``@ARCHITECTURES.register`` and is then accepted wherever an architecture name is.
ARCHITECTURES = Registry("architecture")


def architectures() -> tuple[str, ...]:
    """The names an ``architecture`` may take: ``"auto"`` and the registered families.

    Examples
    --------
    >>> architectures()
    ('auto', 'mlp', 'paper-mlp', 'image', 'conv', 'text')
    """
    return ("auto", *ARCHITECTURES.available())


class Architecture:
    """A family of encoder/decoder pairs; subclasses set ``name`` and implement build.

    ``batched`` families get all their subjects at once and return one module each for
    the encoders and decoders, which take and return lists over those subjects with
    flattened samples (as :class:`~neuromix.models.networks.BatchedMLP`); other families
    are built per subject, as an encoder and a decoder of one subject's unflattened
    samples.
    """

    name: ClassVar[str] = ""
    batched: ClassVar[bool] = False

    def check(self, shape: tuple[int, ...], likelihood: Likelihood, subject: str) -> None:
        """Raise a ValueError naming the subject when the family cannot model the data."""

    def build(
        self,
        shapes: Sequence[tuple[int, ...]],
        param_shapes: Sequence[tuple[int, ...]],
        likelihoods: Sequence[Likelihood],
        latent_dim: int,
        *,
        hidden: Sequence[float | int],
        conv_width: int,
        max_padding: float,
        generator: torch.Generator | None,
    ) -> tuple[nn.Module, nn.Module]:
        """Encoder (outputs ``2 * latent_dim``) and decoder (outputs the params)."""
        raise NotImplementedError


@ARCHITECTURES.register
class MLP(Architecture):
    """Per-subject MLPs whose mean and log-variance heads read the last hidden layer;
    all MLP subjects share one batched module.

    Encoder ``Linear(D, h1)-LReLU-Linear(h1, h2)-LReLU-Linear(h2, 2 latent)``, decoder
    ``Linear(latent, h2)-LReLU-Linear(h2, h1)-LReLU-Linear(h1, D)``. It differs from the
    paper's network (:class:`PaperMLP`) by the encoder's latent-wide layer and its
    activation, which it does not have: there, with a 2-D latent, the mean and the
    log-variance are linear maps of a 2-vector whose negative half LeakyReLU(0.01)
    squashes a hundredfold, a fold in the latent space that let subjects settle in mirror
    image unless beta was large (docs/results/suite.md).
    """

    name = "mlp"
    batched = True
    #: Whether the encoder has the paper's latent-wide layer (and its activation)
    #: before the heads.
    bottleneck: ClassVar[bool] = False

    def build(self, shapes, param_shapes, likelihoods, latent_dim, **options):
        enc_sizes, dec_sizes = [], []
        for shape, param_shape in zip(shapes, param_shapes, strict=True):
            d_in = math.prod(shape)
            widths = _hidden_widths(options["hidden"], d_in)
            neck = [latent_dim] if self.bottleneck else []
            enc_sizes.append([d_in, *widths, *neck, 2 * latent_dim])
            dec_sizes.append([latent_dim, *widths[::-1], math.prod(param_shape)])
        batched = {"max_padding": options["max_padding"], "generator": options["generator"]}
        return BatchedMLP(enc_sizes, **batched), BatchedMLP(dec_sizes, **batched)


@ARCHITECTURES.register
class PaperMLP(MLP):
    """The paper's spike network (DESIGN.md section 1): the encoder has a latent-wide
    layer and its activation, which the mean and log-variance head then reads
    (``...-Linear(h2, latent)-LReLU-Linear(latent, 2 latent)``)."""

    name = "paper-mlp"
    bottleneck = True


#: The batched MLP families: the ones a sweep or a beta selection trains as one ensemble.
MLP_ARCHITECTURES = frozenset({MLP.name, PaperMLP.name})


def _is_image(shape: tuple[int, ...]) -> bool:
    return len(shape) == 3 and shape[1:] == (28, 28)


@ARCHITECTURES.register
class Image(Architecture):
    """ResNet-style conv pair for (channels, 28, 28) images."""

    name = "image"
    encoder: ClassVar[type[nn.Module]] = ImageEncoder
    decoder: ClassVar[type[nn.Module]] = ImageDecoder

    def check(self, shape, likelihood, subject):
        if not _is_image(shape):
            raise ValueError(
                f"subject {subject!r}: architecture {self.name!r} needs (channels, 28, 28) "
                f"samples, got {shape}; use architecture='mlp' for other shapes"
            )

    def build(self, shapes, param_shapes, likelihoods, latent_dim, **options):
        (shape,), (param_shape,) = shapes, param_shapes
        width = options["conv_width"]
        return (
            self.encoder(latent_dim, channels=shape[0], width=width),
            self.decoder(latent_dim, channels=param_shape[0], width=width),
        )


@ARCHITECTURES.register
class Conv(Image):
    """Plain three-layer conv pair for (channels, 28, 28) images (the MoPoE code's
    PolyMNIST networks; about 4x cheaper than ``"image"`` at the same width)."""

    name = "conv"
    encoder = ConvEncoder
    decoder = ConvDecoder


@ARCHITECTURES.register
class Text(Architecture):
    """1-D conv pair for character codes (categorical likelihood)."""

    name = "text"

    def check(self, shape, likelihood, subject):
        if len(shape) != 1 or not isinstance(likelihood, Categorical):
            raise ValueError(
                f"subject {subject!r}: architecture 'text' needs 1-D integer codes and a "
                "categorical likelihood"
            )

    def build(self, shapes, param_shapes, likelihoods, latent_dim, **options):
        (shape,), (likelihood,) = shapes, likelihoods
        k, width = likelihood.n_classes, 2 * options["conv_width"]
        return (
            TextEncoder(latent_dim, n_symbols=k, length=shape[0], width=width),
            TextDecoder(latent_dim, n_symbols=k, length=shape[0], width=width),
        )


class SubjectStack(nn.Module):
    """Routes each subject to the part (batched MLP or conv stack) that holds its network.

    Inputs and outputs are lists over all subjects (``None`` where not evaluated). MLP
    parts see flattened inputs; their outputs are reshaped to ``out_shapes``.
    """

    def __init__(
        self,
        n_subjects: int,
        parts: Sequence[tuple[Sequence[int], nn.Module, bool]],
        out_shapes: Sequence[tuple[int, ...]],
    ):
        super().__init__()
        self.n_subjects = n_subjects
        self.index = [list(idx) for idx, _, _ in parts]
        self.flat = [flat for _, _, flat in parts]
        self.parts = nn.ModuleList(part for _, part, _ in parts)
        self.out_shapes = [tuple(s) for s in out_shapes]

    def forward(self, inputs: Sequence[Tensor | None]) -> list[Tensor | None]:
        outputs: list[Tensor | None] = [None] * self.n_subjects
        for idx, part, flat in zip(self.index, self.parts, self.flat, strict=True):
            xs = [inputs[m] for m in idx]
            if all(x is None for x in xs):
                continue
            if flat:
                xs = [None if x is None else x.reshape(x.shape[0], -1) for x in xs]
            for m, out in zip(idx, part(xs), strict=True):
                if out is not None:
                    outputs[m] = out.reshape(out.shape[0], *self.out_shapes[m])
        return outputs


def join_stacks(stacks: Sequence[SubjectStack]) -> SubjectStack:
    """One stack of the subjects of ``stacks``, in order: the parts of each, as they are
    (the same modules, not copies), their subjects numbered after those before.

    A model that gains a subject (:meth:`neuromix.MultimodalVAE.add_modality`) joins its
    fitted networks and the new subject's; the first stack's parameters keep their names
    in the joined stack's ``state_dict``.

    Examples
    --------
    >>> from neuromix.models.likelihoods import get_likelihood
    >>> lik = get_likelihood("poisson")
    >>> a, _ = build_networks([(6,), (4,)], [lik, lik], ["mlp", "mlp"], 2, hidden=(8,))
    >>> b, _ = build_networks([(5,)], [lik], ["mlp"], 2, hidden=(8,))
    >>> joined = join_stacks([a, b])
    >>> joined.n_subjects, joined.index
    (3, [[0, 1], [2]])
    """
    parts, shapes, offset = [], [], 0
    for stack in stacks:
        for idx, part, flat in zip(stack.index, stack.parts, stack.flat, strict=True):
            parts.append(([offset + m for m in idx], part, flat))
        shapes.extend(stack.out_shapes)
        offset += stack.n_subjects
    return SubjectStack(offset, parts, shapes)


def resolve_architecture(
    name: str, shape: tuple[int, ...], likelihood: Likelihood, subject: str
) -> str:
    """The concrete architecture of one subject (``"auto"`` resolved), with checks."""
    if name == "auto":
        if _is_image(shape):
            name = "image"
        elif len(shape) == 1 and isinstance(likelihood, Categorical):
            name = "text"
        else:
            name = "mlp"
    if name not in ARCHITECTURES:
        raise ValueError(
            f"subject {subject!r}: unknown architecture {name!r}; available: "
            f"{', '.join(architectures())}"
        )
    ARCHITECTURES.get(name).check(shape, likelihood, subject)
    return name


def _hidden_widths(hidden: Sequence[float | int], d: int) -> list[int]:
    return [max(1, round(h * d)) if isinstance(h, float) else int(h) for h in hidden]


def build_networks(
    shapes: Sequence[tuple[int, ...]],
    likelihoods: Sequence[Likelihood],
    architectures: Sequence[str],
    latent_dim: int,
    *,
    hidden: Sequence[float | int] = (1.0, 1.0),
    conv_width: int = 32,
    max_padding: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[SubjectStack, SubjectStack]:
    """Encoders (outputs ``2 * latent_dim``) and decoders (outputs the likelihood's params)."""
    n = len(shapes)
    param_shapes = [
        tuple(lik.n_params(tuple(s))) for s, lik in zip(shapes, likelihoods, strict=True)
    ]
    options = {
        "hidden": hidden,
        "conv_width": conv_width,
        "max_padding": max_padding,
        "generator": generator,
    }
    families = {name: ARCHITECTURES.get(name) for name in dict.fromkeys(architectures)}
    enc_parts, dec_parts = [], []
    # Batched families first (one part each, in registration order), then one part per
    # subject of the other families, in subject order.
    for name in ARCHITECTURES:
        if name not in families or not families[name].batched:
            continue
        idx = [m for m in range(n) if architectures[m] == name]
        enc, dec = families[name].build(
            [shapes[m] for m in idx],
            [param_shapes[m] for m in idx],
            [likelihoods[m] for m in idx],
            latent_dim,
            **options,
        )
        enc_parts.append((idx, enc, True))
        dec_parts.append((idx, dec, True))
    for m in range(n):
        family = families[architectures[m]]
        if family.batched:
            continue
        with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
            enc, dec = family.build(
                [shapes[m]], [param_shapes[m]], [likelihoods[m]], latent_dim, **options
            )
        if generator is not None:
            _reinit(enc, generator)
            _reinit(dec, generator)
        enc_parts.append(([m], ModuleStack([enc]), False))
        dec_parts.append(([m], ModuleStack([dec]), False))
    enc_shapes = [(2 * latent_dim,)] * n
    return SubjectStack(n, enc_parts, enc_shapes), SubjectStack(n, dec_parts, param_shapes)


def _reinit(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every parameter from its PyTorch default distribution with ``generator``."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(
                sub, nn.Linear | nn.Conv1d | nn.Conv2d | nn.ConvTranspose1d | nn.ConvTranspose2d
            ):
                fan_in = (
                    sub.weight[0].numel()
                    if not isinstance(sub, nn.ConvTranspose1d | nn.ConvTranspose2d)
                    else sub.weight.shape[1] * sub.weight[0, 0].numel()
                )
                bound = 1.0 / math.sqrt(fan_in)
                sub.weight.copy_(
                    (torch.rand(sub.weight.shape, generator=generator) * 2 - 1) * bound
                )
                if sub.bias is not None:
                    sub.bias.copy_(
                        (torch.rand(sub.bias.shape, generator=generator) * 2 - 1) * bound
                    )
