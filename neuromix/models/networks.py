"""Per-subject encoders and decoders.

Every network here maps a list of per-subject inputs to a list of per-subject outputs
(``None`` where a subject is not evaluated), so that the model never loops over
subjects itself:

* :class:`BatchedMLP` holds the MLPs of all subjects and evaluates them together: the
  subjects are grouped by size and each group runs as one ``torch.baddbmm`` per layer
  on zero-padded weights. Padding is exact: padded inputs are zero and padded weights
  start at zero and receive exactly zero gradient, so they stay zero under Adam.
  Which CPU runs that faster than a loop of one matmul per subject depends on the
  machine (its vector units, caches and threads) and on the batch, so
  :func:`choose_path` times both on the machine, once per process and shape, and
  sets :attr:`BatchedMLP.grouped`; both paths use the same parameters.
* :class:`PerSubjectMLP` is the plain per-subject loop of ``nn.Linear`` layers, kept as
  the reference that :class:`BatchedMLP` is tested against.
* :class:`ModuleStack` runs arbitrary per-subject modules (the conv networks) in turn.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BatchedMLP",
    "ConvDecoder",
    "ConvEncoder",
    "ImageDecoder",
    "ImageEncoder",
    "ModuleStack",
    "PerSubjectMLP",
    "TextDecoder",
    "TextEncoder",
    "affine",
    "choose_path",
    "plan_groups",
]


#: Under bf16 autocast, a layer with a side this narrow or narrower (the latent-facing
#: layers: the encoder's bottleneck and heads, the decoder's first layer) runs in fp32.
#: Its cost is negligible, and the latent means and variances that the MMVM rate
#: compares across subjects keep full precision.
FULL_PRECISION_WIDTH = 64


def affine(bias: Tensor, h: Tensor, weight: Tensor, narrow: bool) -> Tensor:
    """``bias + h @ weight`` (batched or not); in fp32 when ``narrow`` under autocast.

    The one layer operation of the batched MLPs (:class:`BatchedMLP`, the ensembles of
    :mod:`neuromix.training.ensemble`); ``narrow`` is ``min(in, out) <=``
    :data:`FULL_PRECISION_WIDTH`.
    """
    op = torch.baddbmm if h.dim() == 3 else torch.addmm
    if narrow and torch.is_autocast_enabled(h.device.type):
        with torch.autocast(h.device.type, enabled=False):
            return op(bias, h.float(), weight)
    return op(bias, h, weight)


def _cost(sizes: Sequence[int]) -> int:
    return sum(a * b for a, b in itertools.pairwise(sizes))


def plan_groups(sizes: Sequence[Sequence[int]], max_padding: float = 0.15) -> list[list[int]]:
    """Group subjects whose MLPs can share one batched matmul.

    Subjects are taken in decreasing cost; a subject joins the current group while the
    padded cost (group size x the largest width of every layer) stays within
    ``1 + max_padding`` of the group's true cost, else it starts a new group.

    Examples
    --------
    >>> plan_groups([[920, 920], [790, 790], [1040, 1040], [490, 490], [460, 460]])
    [[2, 0], [1], [3, 4]]
    """
    order = sorted(range(len(sizes)), key=lambda m: -_cost(sizes[m]))
    groups: list[list[int]] = []
    for m in order:
        if groups:
            trial = [*groups[-1], m]
            widths = [max(sizes[i][layer] for i in trial) for layer in range(len(sizes[m]))]
            true_cost = sum(_cost(sizes[i]) for i in trial)
            if len(trial) * _cost(widths) <= (1.0 + max_padding) * true_cost:
                groups[-1] = trial
                continue
        groups.append([m])
    return groups


def _check_sizes(sizes: Sequence[Sequence[int]]) -> list[list[int]]:
    sizes = [[int(w) for w in s] for s in sizes]
    if not sizes or len({len(s) for s in sizes}) != 1 or len(sizes[0]) < 2:
        raise ValueError("sizes must give every subject the same number (>= 2) of layer widths")
    if any(w < 1 for s in sizes for w in s):
        raise ValueError("layer widths must be >= 1")
    return sizes


def _linear_init(fan_in: int, shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound


class _Group(nn.Module):
    """The stacked, zero-padded layers of one group of subjects (weights ``(G, in, out)``)."""

    def __init__(self, members: Sequence[int], sizes: Sequence[Sequence[int]]):
        super().__init__()
        self.members = list(members)
        self.sizes = [sizes[m] for m in self.members]
        n_layers = len(self.sizes[0]) - 1
        self.widths = [max(s[layer] for s in self.sizes) for layer in range(n_layers + 1)]
        g = len(self.members)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(g, self.widths[i], self.widths[i + 1]))
            for i in range(n_layers)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(g, 1, self.widths[i + 1])) for i in range(n_layers)
        )

    def block(self, i: int, layer: int) -> tuple[Tensor, Tensor]:
        """Member ``i``'s true weight ``(in, out)`` and bias ``(out,)`` of a layer (views)."""
        fan_in, fan_out = self.sizes[i][layer], self.sizes[i][layer + 1]
        return self.weights[layer][i, :fan_in, :fan_out], self.biases[layer][i, 0, :fan_out]

    def blocks(self) -> list[list[tuple[Tensor, Tensor]]]:
        """Every member's :meth:`block` of every layer, ``[member][layer]``.

        Cut by one ``unbind`` per parameter, so that the backward writes each member's
        gradient into its own block once, not into a zero tensor of the whole group per
        member (what indexing the group's weight member by member would cost).
        """
        weights = [w.unbind(0) for w in self.weights]
        biases = [b.unbind(0) for b in self.biases]
        out = []
        for i, sizes in enumerate(self.sizes):
            layers = []
            for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
                fan_in, fan_out = sizes[layer], sizes[layer + 1]
                w, b = w[i], b[i][0]
                if w.shape != (fan_in, fan_out):
                    w, b = w[:fan_in, :fan_out], b[:fan_out]
                layers.append((w, b))
            out.append(layers)
        return out


class BatchedMLP(nn.Module):
    """MLPs of several subjects with different widths, evaluated in batched matmuls.

    Parameters
    ----------
    sizes : sequence of sequence of int
        ``sizes[m]`` lists subject m's layer widths ``[in, hidden..., out]``; every
        subject has the same depth.
    negative_slope : float, default=0.01
        LeakyReLU slope after every layer but the last.
    final_activation : bool, default=False
        Apply the activation after the last layer too.
    max_padding : float, default=0.15
        Largest fraction of padded (wasted) work accepted to batch two subjects
        together (see :func:`plan_groups`); 0 batches only subjects of equal size.
    generator : torch.Generator, optional
        Source of the initial weights (nn.Linear's default distribution).

    Attributes
    ----------
    grouped : bool
        Run each group as one ``torch.baddbmm`` per layer (True, the default) or member
        by member on views of the same weights (False; equal up to float rounding).
        Not part of the ``state_dict``; :func:`choose_path` sets it to the faster path.

    Examples
    --------
    >>> import torch
    >>> mlp = BatchedMLP([[3, 8, 2], [5, 8, 2]], generator=torch.Generator().manual_seed(0))
    >>> out = mlp([torch.randn(4, 3), torch.randn(4, 5)])
    >>> [tuple(o.shape) for o in out]
    [(4, 2), (4, 2)]
    """

    def __init__(
        self,
        sizes: Sequence[Sequence[int]],
        *,
        negative_slope: float = 0.01,
        final_activation: bool = False,
        max_padding: float = 0.15,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.sizes = _check_sizes(sizes)
        self.negative_slope = float(negative_slope)
        self.final_activation = bool(final_activation)
        self.group_members = plan_groups(self.sizes, max_padding)
        self.grouped = True
        # Initialise subject by subject in order, so that the weights do not depend on
        # the grouping (and equal those of a PerSubjectMLP built from the same generator).
        inits = {m: _init_subject(self.sizes[m], generator) for m in range(len(self.sizes))}
        self.groups = nn.ModuleList(_Group(g, self.sizes) for g in self.group_members)
        with torch.no_grad():
            for group in self.groups:
                for i, m in enumerate(group.members):
                    for layer, (w, b) in enumerate(inits[m]):
                        wi, bi = group.block(i, layer)
                        wi.copy_(w.T)
                        bi.copy_(b)

    @property
    def n_subjects(self) -> int:
        return len(self.sizes)

    def _act(self, h: Tensor, last: bool) -> Tensor:
        if last and not self.final_activation:
            return h
        # in place: h is a fresh baddbmm/addmm result, and LeakyReLU's backward (slope > 0)
        # can use its output, so no second tensor per layer is allocated
        return F.leaky_relu(h, self.negative_slope, inplace=True)

    def forward(self, inputs: Sequence[Tensor | None]) -> list[Tensor | None]:
        """Evaluate the subjects whose input is given; ``inputs[m]`` is ``(n_m, sizes[m][0])``."""
        if len(inputs) != self.n_subjects:
            raise ValueError(f"expected {self.n_subjects} inputs, got {len(inputs)}")
        outputs: list[Tensor | None] = [None] * self.n_subjects
        for group in self.groups:
            xs = [inputs[m] for m in group.members]
            n_layers = len(group.weights)
            if (
                self.grouped
                and all(x is not None for x in xs)
                and len({x.shape[0] for x in xs}) == 1
            ):
                h = self._stack(xs, group.widths[0])
                for layer in range(n_layers):
                    narrow = min(group.widths[layer : layer + 2]) <= FULL_PRECISION_WIDTH
                    h = affine(group.biases[layer], h, group.weights[layer], narrow)
                    h = self._act(h, layer == n_layers - 1)
                # unbind, not h[i] per member: the backward of each index is a zero tensor
                # the size of h, which makes the backward quadratic in the group's size
                for i, (m, piece) in enumerate(zip(group.members, h.unbind(0), strict=True)):
                    width = group.sizes[i][-1]
                    outputs[m] = piece if piece.shape[1] == width else piece[:, :width]
            else:  # the loop, a subset, or unequal sample counts: member by member
                blocks = group.blocks()
                for i, (m, x) in enumerate(zip(group.members, xs, strict=True)):
                    if x is None:
                        continue
                    h = x
                    for layer, (w, b) in enumerate(blocks[i]):
                        narrow = min(w.shape) <= FULL_PRECISION_WIDTH
                        h = self._act(affine(b, h, w, narrow), layer == n_layers - 1)
                    outputs[m] = h
        return outputs

    @staticmethod
    def _stack(xs: list[Tensor], width: int) -> Tensor:
        if len(xs) == 1:
            return xs[0].unsqueeze(0)
        return torch.stack([F.pad(x, (0, width - x.shape[1])) for x in xs])

    def to_per_subject(self) -> PerSubjectMLP:
        """A :class:`PerSubjectMLP` holding copies of these weights."""
        ref = PerSubjectMLP(
            self.sizes, negative_slope=self.negative_slope, final_activation=self.final_activation
        )
        with torch.no_grad():
            for group in self.groups:
                for i, m in enumerate(group.members):
                    linears = [mod for mod in ref.subjects[m] if isinstance(mod, nn.Linear)]
                    for layer, lin in enumerate(linears):
                        w, b = group.block(i, layer)
                        lin.weight.copy_(w.T)
                        lin.bias.copy_(b)
        return ref.to(next(self.parameters()).device)


#: The paths chosen in this process: (sizes, activation, batch, threads, device) -> grouped.
_CHOSEN: dict[tuple, bool] = {}


def _step_seconds(mlp: BatchedMLP, inputs: list[Tensor]) -> float:
    """Seconds of one forward and backward pass of ``mlp`` on ``inputs``."""
    for p in mlp.parameters():
        p.grad = None
    cuda = inputs[0].device.type == "cuda"
    if cuda:  # time the kernels, not their launch
        torch.cuda.synchronize(inputs[0].device)
    t = time.perf_counter()
    outputs = mlp(inputs)
    sum(o.sum() for o in outputs if o is not None).backward()
    if cuda:
        torch.cuda.synchronize(inputs[0].device)
    return time.perf_counter() - t


def choose_path(
    mlp: BatchedMLP, batch_size: int, *, repeats: int = 5, margin: float = 0.1
) -> bool:
    """Set ``mlp.grouped`` to the faster path on this machine; return it.

    Times a training step (forward and backward) of the grouped matmuls and of the
    member-by-member loop on random inputs of ``batch_size`` rows, in turns after a
    warm-up of each, and compares the fastest of ``repeats`` steps of each (the
    minimum is the least disturbed by other work on the machine). The loop is kept
    only when it is faster by more than ``margin``: a tie keeps the grouped path, so
    that timing noise does not flip the choice between runs. The choice is measured
    once per process for each set of sizes, batch size, thread count and device, and
    reused; the parameters' gradients are left as they were.

    The two paths compute the same function on the same parameters, equal up to float
    rounding (padded groups sum in another order). The timing runs in the parameters'
    precision, outside autocast: under ``precision="bf16"`` the path is the one that is
    faster in fp32.

    Examples
    --------
    >>> mlp = BatchedMLP([[30, 16, 2], [20, 16, 2]], generator=torch.Generator().manual_seed(0))
    >>> choose_path(mlp, batch_size=8) in (True, False)
    True
    """
    device = next(mlp.parameters()).device
    key = (
        tuple(map(tuple, mlp.sizes)),
        mlp.negative_slope,
        mlp.final_activation,
        tuple(map(tuple, mlp.group_members)),
        int(batch_size),
        torch.get_num_threads(),
        str(device),
    )
    if key not in _CHOSEN:
        gen = torch.Generator().manual_seed(0)
        inputs = [
            torch.randn(int(batch_size), s[0], generator=gen).to(device).requires_grad_()
            for s in mlp.sizes
        ]
        grads = [p.grad for p in mlp.parameters()]  # set aside: the timing sets its own
        seconds = {True: [], False: []}
        with torch.enable_grad(), torch.autocast(device.type, enabled=False):
            for _ in range(repeats + 1):  # the first turn warms up
                for grouped in (True, False):
                    mlp.grouped = grouped
                    seconds[grouped].append(_step_seconds(mlp, inputs))
        seconds = {grouped: min(times[1:]) for grouped, times in seconds.items()}
        for p, g in zip(mlp.parameters(), grads, strict=True):
            p.grad = g
        _CHOSEN[key] = seconds[False] >= (1.0 - margin) * seconds[True]
    mlp.grouped = _CHOSEN[key]
    return mlp.grouped


def _init_subject(sizes: Sequence[int], generator) -> list[tuple[Tensor, Tensor]]:
    """nn.Linear-style weights ``(out, in)`` and biases of one subject's layers."""
    return [
        (_linear_init(a, (b, a), generator), _linear_init(a, (b,), generator))
        for a, b in itertools.pairwise(sizes)
    ]


class PerSubjectMLP(nn.Module):
    """The reference: one ``nn.Sequential`` of ``nn.Linear`` per subject, run in a loop.

    Same parameters and initialisation as :class:`BatchedMLP`.
    """

    def __init__(
        self,
        sizes: Sequence[Sequence[int]],
        *,
        negative_slope: float = 0.01,
        final_activation: bool = False,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.sizes = _check_sizes(sizes)
        self.subjects = nn.ModuleList()
        for s in self.sizes:
            layers: list[nn.Module] = []
            with torch.no_grad():
                for layer, (w, b) in enumerate(_init_subject(s, generator)):
                    lin = nn.Linear(w.shape[1], w.shape[0])
                    lin.weight.copy_(w)
                    lin.bias.copy_(b)
                    layers.append(lin)
                    if layer < len(s) - 2 or final_activation:
                        layers.append(nn.LeakyReLU(negative_slope))
            self.subjects.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence[Tensor | None]) -> list[Tensor | None]:
        return [
            None if x is None else net(x) for net, x in zip(self.subjects, inputs, strict=True)
        ]


class ModuleStack(nn.Module):
    """Arbitrary per-subject modules behind the list-in, list-out interface."""

    def __init__(self, modules: Sequence[nn.Module]):
        super().__init__()
        self.subjects = nn.ModuleList(modules)

    def forward(self, inputs: Sequence[Tensor | None]) -> list[Tensor | None]:
        return [
            None if x is None else net(x) for net, x in zip(self.subjects, inputs, strict=True)
        ]


class _ResBlock(nn.Module):
    """Pre-activation residual block that halves the size, or (``up``) roughly doubles it."""

    def __init__(self, c_in: int, c_out: int, *, up: bool = False, kernel: int = 4):
        super().__init__()
        conv = nn.ConvTranspose2d if up else nn.Conv2d
        self.conv1 = conv(c_in, c_out, kernel, 2, 1)
        self.skip = conv(c_in, c_out, kernel, 2, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.leaky_relu(x, 0.01))
        h = self.conv2(F.leaky_relu(h, 0.01))
        return self.skip(x) + h


class ImageEncoder(nn.Module):
    """ResNet-style encoder of 3 x 28 x 28 images to ``2 * latent_dim`` (mean, log-variance).

    28 -> 14 -> 7 -> 3 spatial sizes with ``width``, 2 ``width``, 4 ``width`` channels.
    """

    def __init__(self, latent_dim: int, *, channels: int = 3, width: int = 32):
        super().__init__()
        self.stem = nn.Conv2d(channels, width, 3, 1, 1)
        self.blocks = nn.Sequential(
            _ResBlock(width, 2 * width),
            _ResBlock(2 * width, 4 * width),
            _ResBlock(4 * width, 4 * width),
        )
        self.head = nn.Linear(4 * width * 3 * 3, 2 * latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.stem(x))
        return self.head(F.leaky_relu(h, 0.01).flatten(1))


class ImageDecoder(nn.Module):
    """ResNet-style decoder from ``latent_dim`` to 3 x 28 x 28 image parameters."""

    def __init__(self, latent_dim: int, *, channels: int = 3, width: int = 32):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent_dim, 4 * width * 3 * 3)
        self.blocks = nn.Sequential(
            _ResBlock(4 * width, 4 * width, up=True, kernel=5),  # 3 -> 7
            _ResBlock(4 * width, 2 * width, up=True),  # 7 -> 14
            _ResBlock(2 * width, width, up=True),  # 14 -> 28
        )
        self.out = nn.Conv2d(width, channels, 3, 1, 1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.fc(z).view(-1, 4 * self.width, 3, 3)
        return self.out(F.leaky_relu(self.blocks(h), 0.01))


class ConvEncoder(nn.Module):
    """Plain conv encoder of 28 x 28 images: the MoPoE code's PolyMNIST network.

    Three 3x3 convolutions of stride 2 (28 -> 14 -> 7 -> 4) with ``width``, 2 ``width``
    and 4 ``width`` channels and ReLUs, then a linear head to ``2 * latent_dim``. About a
    quarter of the arithmetic of :class:`ImageEncoder` at the same width.

    Examples
    --------
    >>> ConvEncoder(8, width=4)(torch.zeros(5, 3, 28, 28)).shape
    torch.Size([5, 16])
    """

    def __init__(self, latent_dim: int, *, channels: int = 3, width: int = 32):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(channels, width, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, 2, 1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1),
            nn.ReLU(),
        )
        self.head = nn.Linear(4 * width * 4 * 4, 2 * latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.convs(x).flatten(1))


class ConvDecoder(nn.Module):
    """Plain transposed-conv decoder to 28 x 28 image parameters (the MoPoE code's).

    A linear layer to 4 ``width`` x 4 x 4 and a ReLU, then three 3x3 transposed
    convolutions of stride 2 (4 -> 7 -> 14 -> 28) with ReLUs between them.

    Examples
    --------
    >>> ConvDecoder(8, width=4)(torch.zeros(5, 8)).shape
    torch.Size([5, 3, 28, 28])
    """

    def __init__(self, latent_dim: int, *, channels: int = 3, width: int = 32):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent_dim, 4 * width * 4 * 4)
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(4 * width, 2 * width, 3, 2, 1, output_padding=0),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 3, 2, 1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 3, 2, 1, output_padding=1),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = F.relu(self.fc(z)).view(-1, 4 * self.width, 4, 4)
        return self.deconvs(h)


class TextEncoder(nn.Module):
    """1-D conv encoder of character codes ``(n, length)`` to ``2 * latent_dim``."""

    def __init__(self, latent_dim: int, *, n_symbols: int, length: int, width: int = 64):
        super().__init__()
        self.n_symbols = n_symbols
        self.convs = nn.Sequential(
            nn.Conv1d(n_symbols, width, 4, 2, 1),
            nn.LeakyReLU(0.01),
            nn.Conv1d(width, 2 * width, 4, 2, 1),
            nn.LeakyReLU(0.01),
            nn.Conv1d(2 * width, 2 * width, 4, 2, 1),
            nn.LeakyReLU(0.01),
        )
        with torch.no_grad():
            n_out = self.convs(torch.zeros(1, n_symbols, length)).numel()
        self.head = nn.Linear(n_out, 2 * latent_dim)

    def forward(self, codes: Tensor) -> Tensor:
        one_hot = F.one_hot(codes.long(), self.n_symbols).transpose(1, 2).float()
        return self.head(self.convs(one_hot).flatten(1))


class TextDecoder(nn.Module):
    """Decoder from ``latent_dim`` to logits ``(n, n_symbols, length)``."""

    def __init__(self, latent_dim: int, *, n_symbols: int, length: int, width: int = 64):
        super().__init__()
        self.length = length
        self.start = max(1, math.ceil(length / 8))
        self.width = width
        self.fc = nn.Linear(latent_dim, 2 * width * self.start)
        self.convs = nn.Sequential(
            nn.LeakyReLU(0.01),
            nn.ConvTranspose1d(2 * width, 2 * width, 4, 2, 1),
            nn.LeakyReLU(0.01),
            nn.ConvTranspose1d(2 * width, width, 4, 2, 1),
            nn.LeakyReLU(0.01),
            nn.ConvTranspose1d(width, n_symbols, 4, 2, 1),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.fc(z).view(-1, 2 * self.width, self.start)
        return self.convs(h)[:, :, : self.length]
