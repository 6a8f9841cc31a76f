"""Evaluation of a multimodal VAE on image benchmarks (paper appendix B.2).

Three measures, each of one fitted model on held-out tuples:

* **latent representation** (:func:`latent_probes`): a logistic regression is trained on
  up to 10,000 *unimodal* training latents (the mean of each modality's own posterior
  q_m(z | x_m), also for the aggregation methods) and scored on all test latents, per
  modality;
* **coherence** (:func:`coherence`): modality k is generated from modality m alone (a
  sample z ~ q_m(z | x_m) decoded by k's decoder, the likelihood mean taken as the
  image) for every ordered pair m != k, classified by a digit classifier trained on
  real images of modality k (:class:`ImageClassifier`), and compared with the digit
  of the source; for every method z is drawn from q_m itself (also for PoE with the
  N(0, I) expert), as :meth:`~neuromix.MultimodalVAE.generate` does from one source;
* **reconstruction error** (:func:`reconstruction_errors`), per test tuple and summed
  over modalities, as the negative log-likelihood of the model's likelihood (the
  paper's Laplace, scale 0.75) and as the mean absolute pixel error:

  - *joint*: the reconstruction term of the training objective given all modalities,
    with one latent sample: AVG and PoE decode a sample of their joint posterior into
    every modality; MoE and MoPoE decode a sample of every mixture component (the
    unimodal posteriors, or the PoE of every subset) into every modality and average
    over the components with the mixture weights (the exact expectation over the
    mixture, which the stratified objective computes); independent VAEs and MMVM
    decode each modality from a sample of its own posterior q_m; PoE with
    ``subsampled=True``, whose objective also decodes each modality from its own
    q~_m, averages the joint and that unimodal term (the objective's reconstruction
    weights, normalised to sum to one per modality);
  - *self*: each modality decoded from a sample of its own unimodal posterior q_m
    (identical to *joint* for independent VAEs and MMVM; paper appendix Figure 7).

:func:`evaluate_multimodal` runs the three on one fitted
:class:`~neuromix.MultimodalVAE` and returns a flat dict of numbers, one row of the
benchmark table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from neuromix._atomic import Transaction
from neuromix.evaluation.decoding import linear_probe
from neuromix.models.gaussian import reparameterize
from neuromix.training.loop import make_optimizer, resolve_device

__all__ = [
    "ImageClassifier",
    "coherence",
    "evaluate_multimodal",
    "fit_classifiers",
    "latent_probes",
    "posterior_generator",
    "reconstruction_errors",
]

_BATCH = 1024  # rows per forward pass at evaluation: bounds memory, keeps batches large


def _check_images(images, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{what}: expected float images of shape (n, channels, height, width), got "
            f"{images.dtype} {images.shape}"
        )
    return images


class _DigitNet(nn.Module):
    """Three conv layers (3x3, max-pooled) and a global max pool, then a linear read-out.

    The global max pool makes the read-out blind to where the digit sits, which suits
    the randomly translated digits of translated PolyMNIST.
    """

    def __init__(self, channels: int, n_classes: int, width: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
            nn.BatchNorm2d(4 * width),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
        )
        self.head = nn.Linear(4 * width, n_classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """A small convolutional classifier of images (the coherence oracle).

    Parameters
    ----------
    epochs : int, default=5
    batch_size : int, default=128
    lr : float, default=1e-3
        Initial Adam learning rate, decayed to 0 along a cosine over the training steps.
    width : int, default=32
        Channels of the first conv layer (then 2x and 4x).
    seed : int, default=0
        Seeds the initial weights and the shuffling.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU.
    progress : bool, default=False
        Show a progress bar over epochs.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The class labels seen at fit.
    network_ : torch.nn.Module
    history_ : list of float
        Mean training cross-entropy per epoch.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(2, size=160)
    >>> X = rng.uniform(size=(160, 1, 8, 8)).astype("float32") * 0.2
    >>> X[y == 1, :, 2:5, 2:5] += 0.8  # class 1 shows a bright square
    >>> clf = ImageClassifier(epochs=2, batch_size=20, width=4, lr=1e-2).fit(X[:100], y[:100])
    >>> clf.score(X[100:], y[100:])
    1.0
    """

    def __init__(
        self, *, epochs=5, batch_size=128, lr=1e-3, width=32, seed=0, device="auto", progress=False
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.width = width
        self.seed = seed
        self.device = device
        self.progress = progress

    def _build(self, channels: int, n_classes: int) -> None:
        for name in ("epochs", "batch_size", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not float(self.lr) > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        self.device_ = resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            self.network_ = _DigitNet(channels, n_classes, int(self.width)).to(self.device_)

    def fit(self, X, y):
        """Train on images ``X`` (n, channels, height, width) with labels ``y`` (n,).

        Returns
        -------
        self
        """
        from tqdm.auto import tqdm

        X = _check_images(X, "X")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y: expected {len(X)} labels, got shape {y.shape}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("y holds a single class; a classifier needs at least two")
        self._build(X.shape[1], len(self.classes_))
        generator = torch.Generator().manual_seed(int(self.seed) + 1)
        optimizer = make_optimizer(self.network_.parameters(), float(self.lr))
        # cosine decay of the learning rate to 0 over all steps: a few epochs then suffice
        n_steps = int(self.epochs) * math.ceil(len(X) / int(self.batch_size))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps)
        targets = torch.as_tensor(codes, dtype=torch.long)
        loss_fn = nn.CrossEntropyLoss()
        self.history_ = []
        self.network_.train()
        for _ in tqdm(range(int(self.epochs)), disable=not self.progress, unit="epoch"):
            order = torch.randperm(len(X), generator=generator).numpy()
            total = 0.0
            for start in range(0, len(X), int(self.batch_size)):
                rows = np.sort(order[start : start + int(self.batch_size)])
                xb = torch.as_tensor(X[rows], dtype=torch.float32, device=self.device_)
                loss = loss_fn(self.network_(xb), targets[rows].to(self.device_))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += float(loss.detach()) * len(rows)
            self.history_.append(total / len(X))
        self._recalibrate(X, order)
        self.network_.eval()
        return self

    @torch.no_grad()
    def _recalibrate(self, X, order) -> None:
        """Batch-norm statistics of the final weights, averaged over up to 4096 training
        images: the running averages lag behind the weights when training is short."""
        norms = [m for m in self.network_.modules() if isinstance(m, nn.BatchNorm2d)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        self.network_.train()
        rows = np.sort(order[:4096])
        for start in range(0, len(rows), int(self.batch_size)):
            xb = X[rows[start : start + int(self.batch_size)]]
            self.network_(torch.as_tensor(xb, dtype=torch.float32, device=self.device_))
        for norm in norms:
            norm.momentum = 0.1

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise RuntimeError("this ImageClassifier is not fitted yet; call fit first")

    @torch.no_grad()
    def predict_proba(self, X):
        """Class probabilities ``(n, n_classes)`` in the order of ``classes_``."""
        self._check_fitted()
        X = _check_images(X, "X")
        self.network_.eval()
        out = [
            torch.softmax(
                self.network_(
                    torch.as_tensor(X[i : i + _BATCH], dtype=torch.float32, device=self.device_)
                ),
                dim=1,
            ).cpu()
            for i in range(0, len(X), _BATCH)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.classes_)))

    def predict(self, X):
        """Most probable class of every image."""
        self._check_fitted()
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def save(self, path) -> Path:
        """Write weights and a plain JSON config (``path`` and ``path.json``); no pickle.

        Both files are written to temporary files and moved into place together
        (:mod:`neuromix._atomic`); existing files are replaced.
        """
        self._check_fitted()
        path = Path(path)
        config = {
            "params": {k: v for k, v in self.get_params().items() if k != "device"},
            "classes": self.classes_.tolist(),
            "channels": int(self.network_.features[0].in_channels),
            "history": list(self.history_),
        }
        weights = {k: v.cpu() for k, v in self.network_.state_dict().items()}
        text = json.dumps(config, indent=1)
        # Both files or neither: a failure leaves the previous pair as it was.
        with Transaction() as transaction:
            transaction.write(
                path, lambda tmp: torch.save(weights, tmp), overwrite=True, what="the weights"
            )
            transaction.write(
                path.with_suffix(path.suffix + ".json"),
                lambda tmp: tmp.write_text(text),
                overwrite=True,
                what="the config",
            )
            transaction.commit()
        return path

    @classmethod
    def load(cls, path, *, device="auto") -> ImageClassifier:
        """Read a classifier written by :meth:`save`."""
        path = Path(path)
        config = json.loads(path.with_suffix(path.suffix + ".json").read_text())
        clf = cls(**config["params"], device=device)
        clf.classes_ = np.asarray(config["classes"])
        clf._build(config["channels"], len(clf.classes_))
        state = torch.load(path, map_location=clf.device_, weights_only=True)
        clf.network_.load_state_dict(state)
        clf.network_.eval()
        clf.history_ = config["history"]
        return clf


def fit_classifiers(X: Mapping[str, np.ndarray], y, **params) -> dict[str, ImageClassifier]:
    """One :class:`ImageClassifier` per modality, trained on that modality's real images.

    Parameters
    ----------
    X : mapping of str to array (n, channels, height, width)
    y : array of shape (n,)
        The labels (shared by the modalities of a tuple).
    **params
        Parameters of :class:`ImageClassifier`.

    Returns
    -------
    dict of str to ImageClassifier
    """
    return {name: ImageClassifier(**params).fit(images, y) for name, images in X.items()}


def latent_probes(z_train, y_train, z_test, y_test, *, max_train=10_000, seed=0) -> xr.DataArray:
    """Linear-probe accuracy of each modality's latents (paper appendix B.2.1).

    Parameters
    ----------
    z_train, z_test : mapping of str to array (n, latent_dim)
        Per modality, latents of the training and test samples (e.g. from
        :meth:`~neuromix.MultimodalVAE.transform`: unimodal posterior means).
    y_train, y_test : array
        Labels of the training and test samples.
    max_train : int or None, default=10_000
        The logistic regression sees at most this many training latents.
    seed : int
        Seeds the subsample of training latents and the classifier.

    Returns
    -------
    xarray.DataArray of dim ``modality``

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(3, size=400)
    >>> z = {"a": np.eye(3)[y] * 4 + rng.normal(size=(400, 3)), "b": rng.normal(size=(400, 3))}
    >>> acc = latent_probes({k: v[:300] for k, v in z.items()}, y[:300],
    ...                     {k: v[300:] for k, v in z.items()}, y[300:])
    >>> bool(acc.sel(modality="a") > 0.9), bool(acc.sel(modality="b") < 0.6)
    (True, True)
    """
    missing = [m for m in z_train if m not in z_test]
    if missing:
        raise ValueError(f"z_test lacks modalities {missing} of z_train")
    names = list(z_train)
    values = [
        linear_probe(z_train[m], y_train, z_test[m], y_test, max_train=max_train, seed=seed)
        for m in names
    ]
    return xr.DataArray(
        np.array(values),
        dims="modality",
        coords={"modality": names},
        name="accuracy",
        attrs={"description": "test accuracy of a logistic regression on unimodal latents"},
    )


def coherence(
    generate: Callable[[str, np.ndarray, Sequence[str]], Mapping[str, np.ndarray]],
    X: Mapping[str, np.ndarray],
    y,
    classifiers: Mapping[str, object],
) -> xr.DataArray:
    """Accuracy of conditionally generated images, per (source, target) modality pair.

    For every source modality m, ``generate(m, X[m], targets)`` returns generated images
    of every other modality; each target's classifier predicts their class, compared
    with the label ``y`` of the source tuple (paper appendix B.2.2).

    Parameters
    ----------
    generate : callable
        ``generate(source, images, targets) -> {target: images}`` (see
        :func:`posterior_generator`).
    X : mapping of str to array
        Source images per modality (paired tuples).
    y : array of shape (n,)
        Labels of the tuples.
    classifiers : mapping of str to classifier
        A fitted classifier (with ``predict``) for every target modality.

    Returns
    -------
    xarray.DataArray of dims (``source``, ``target``)
        NaN on the diagonal (a modality is not generated from itself); the coherence is
        the mean of the off-diagonal entries.

    Examples
    --------
    A "generator" that returns the real paired images is perfectly coherent:

    >>> class Brightest:  # "classifies" an image by its brightest row
    ...     def predict(self, images):
    ...         return images.mean(axis=(1, 3)).argmax(axis=1)
    >>> y = np.arange(4)
    >>> X = {m: np.zeros((4, 1, 4, 4)) for m in ("a", "b")}
    >>> for images in X.values():
    ...     images[y, 0, y, :] = 1.0
    >>> acc = coherence(lambda s, xs, ts: {t: X[t] for t in ts}, X, y,
    ...                 {m: Brightest() for m in X})
    >>> acc.values.tolist()
    [[nan, 1.0], [1.0, nan]]
    """
    names = list(X)
    y = np.asarray(y)
    missing = [m for m in names if m not in classifiers]
    if missing:
        raise ValueError(f"no classifier for modalities {missing}")
    matrix = np.full((len(names), len(names)), np.nan)
    for i, source in enumerate(names):
        targets = [t for t in names if t != source]
        generated = generate(source, X[source], targets)
        for target in targets:
            predicted = np.asarray(classifiers[target].predict(generated[target]))
            matrix[i, names.index(target)] = float(np.mean(predicted == y))
    return xr.DataArray(
        matrix,
        dims=("source", "target"),
        coords={"source": names, "target": names},
        name="coherence",
        attrs={"description": "accuracy of target images generated from the source alone"},
    )


def _to_tensor(vae, name: str, array) -> torch.Tensor:
    return torch.as_tensor(
        np.asarray(array), dtype=vae.likelihoods_[name].data_dtype(), device=vae.device_
    )


def posterior_generator(vae, *, seed: int = 0, sample: bool = True):
    """Conditional generator of a fitted :class:`~neuromix.MultimodalVAE` for :func:`coherence`.

    ``generate(source, images, targets)`` encodes the source images once with
    q_source(z | x_source), draws one latent per image (its mean if ``sample`` is
    False) and decodes it with every target's decoder, returning the likelihood means:
    the paper's procedure for every method. It runs the path of
    :meth:`~neuromix.MultimodalVAE.generate` from one source (q_source itself for every
    method, also for PoE with the N(0, I) expert), so it equals
    ``vae.generate({source: images}, target, seed=seed, sample=sample)`` for each target.

    Parameters
    ----------
    vae : MultimodalVAE
        Fitted.
    seed : int
        Seed of the latent draws.
    sample : bool, default=True
        Draw z ~ q_source; False decodes the posterior mean.

    Returns
    -------
    callable
    """

    def generate(source, images, targets):
        arrays = vae._check_X({source: images}, paired=True)
        return vae._generate(arrays, list(targets), sample=sample, seed=seed)

    return generate


@torch.no_grad()
def reconstruction_errors(vae, X: Mapping[str, np.ndarray], *, seed: int = 0) -> xr.Dataset:
    """Joint and self reconstruction errors of a fitted model, per modality and sample mean.

    Parameters
    ----------
    vae : MultimodalVAE
        Fitted.
    X : mapping of str to array
        Every fitted modality (paired tuples).
    seed : int
        Seed of the latent samples.

    Returns
    -------
    xarray.Dataset of dim ``modality``
        ``nll_joint``, ``nll_self``: negative log-likelihood of the image under the
        decoded likelihood, mean over samples (a Laplace NLL sums |x - mu| / scale +
        log(2 scale) over the pixels); ``mae_joint``, ``mae_self``: mean absolute error
        per pixel of the likelihood mean. *joint* decodes what the method's training
        objective decodes given all modalities (the joint posterior for aggregation
        methods, each modality's own posterior for independent VAEs and MMVM); *self*
        decodes each modality from a sample of its own unimodal posterior q_m. See the
        module docstring.
    """
    module = vae.module_
    subjects = list(vae.subjects_)
    missing = [s for s in subjects if s not in X]
    if missing:
        raise ValueError(f"X lacks the fitted modalities {missing}")
    n = len(X[subjects[0]])
    generator = torch.Generator(device=vae.device_).manual_seed(int(seed))
    totals = {
        key: torch.zeros(len(subjects), dtype=torch.float64) for key in ("nj", "ns", "aj", "as")
    }
    module.eval()
    for start in range(0, n, _BATCH):
        xs = [_to_tensor(vae, s, X[s][start : start + _BATCH]) for s in subjects]
        batch = xs[0].shape[0]
        mu, logvar, mask = module.encode(xs)
        # joint: the components, decoding and weights of the training objective
        plan = module.method.plan(mu, logvar, mask, generator=generator)
        z = reparameterize(plan.mu, plan.logvar, generator=generator)
        k = plan.decode.shape[1]
        z_in = z[:, plan.decode, :].permute(1, 0, 2, 3).reshape(len(subjects), batch * k, -1)
        joint = module.decode(z_in)
        # self: each modality from a sample of its own q_m, all decoders at once
        z_self = reparameterize(mu, logvar, generator=generator).transpose(0, 1)
        own = module.decode(z_self)
        for m, x in enumerate(xs):
            lik = module.likelihoods[m]
            x_k = x.unsqueeze(1).expand(batch, k, *x.shape[1:]).reshape(batch * k, *x.shape[1:])
            weight = plan.weight[:, m]  # (batch, k): reconstruction weights, normalised
            weight = weight / weight.sum(dim=1, keepdim=True)
            nll = lik.nll(joint[m], x_k).view(batch, k)
            err = (lik.mean(joint[m]) - x_k).abs().flatten(1).mean(1).view(batch, k)
            totals["nj"][m] += float((nll * weight).sum())
            totals["aj"][m] += float((err * weight).sum())
            totals["ns"][m] += float(lik.nll(own[m], x).sum())
            totals["as"][m] += float((lik.mean(own[m]) - x).abs().flatten(1).mean(1).sum())
    names = {"nj": "nll_joint", "ns": "nll_self", "aj": "mae_joint", "as": "mae_self"}
    return xr.Dataset(
        {names[key]: ("modality", (value / n).numpy()) for key, value in totals.items()},
        coords={"modality": subjects},
        attrs={"description": "reconstruction errors per modality, mean over samples"},
    )


def evaluate_multimodal(
    vae,
    X_train: Mapping[str, np.ndarray],
    y_train,
    X_test: Mapping[str, np.ndarray],
    y_test,
    classifiers: Mapping[str, object],
    *,
    max_train: int | None = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """Latent probe, coherence and reconstruction of one fitted model, as a flat dict.

    Parameters
    ----------
    vae : MultimodalVAE
        Fitted on all modalities of ``X_train``.
    X_train, y_train : mapping and array
        Training tuples: their unimodal latents train the linear probes.
    X_test, y_test : mapping and array
        Held-out tuples: every score is computed on them.
    classifiers : mapping of str to classifier
        Coherence classifiers per modality (see :func:`fit_classifiers`).
    max_train : int or None, default=10_000
        Training latents per probe.
    seed : int
        Seed of the probe subsample and of the latent draws.

    Returns
    -------
    dict of str to float
        ``accuracy`` (mean over modalities of ``accuracy_<m>``, the linear probe);
        ``coherence`` (mean over ordered pairs of ``coherence_<m>_<k>``, k generated
        from m); ``recon`` and ``recon_self`` (Laplace or other NLL per tuple, summed
        over modalities; per modality ``recon_<m>``, ``recon_self_<m>``); ``mae`` and
        ``mae_self`` (mean absolute pixel error, mean over modalities).
    """
    names = list(vae.subjects_)
    probes = latent_probes(
        vae.transform(X_train),
        y_train,
        vae.transform(X_test),
        y_test,
        max_train=max_train,
        seed=seed,
    )
    coh = coherence(posterior_generator(vae, seed=seed), X_test, y_test, classifiers)
    rec = reconstruction_errors(vae, X_test, seed=seed)
    out = {"accuracy": float(probes.mean())}
    out.update({f"accuracy_{m}": float(probes.sel(modality=m)) for m in names})
    out["coherence"] = float(np.nanmean(coh.values))
    out.update(
        {
            f"coherence_{s}_{t}": float(coh.sel(source=s, target=t))
            for s in names
            for t in names
            if s != t
        }
    )
    out["recon"] = float(rec.nll_joint.sum())
    out["recon_self"] = float(rec.nll_self.sum())
    out["mae"] = float(rec.mae_joint.mean())
    out["mae_self"] = float(rec.mae_self.mean())
    out.update({f"recon_{m}": float(rec.nll_joint.sel(modality=m)) for m in names})
    out.update({f"recon_self_{m}": float(rec.nll_self.sel(modality=m)) for m in names})
    return out
