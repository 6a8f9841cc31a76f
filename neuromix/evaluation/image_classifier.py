"""Digit classifiers trained on real images: the judges of the image coherence.

:class:`ImageClassifier` is a small CNN with the scikit-learn classifier contract;
:func:`fit_classifiers` trains one per modality. Used by
:func:`neuromix.evaluation.images.evaluate_multimodal` (paper appendix B.2.2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from neuromix._atomic import Transaction
from neuromix.training.loop import make_optimizer, resolve_device

__all__ = ["ImageClassifier", "fit_classifiers"]

_BATCH = 1024  # images per forward pass: bounds memory, keeps batches large


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
