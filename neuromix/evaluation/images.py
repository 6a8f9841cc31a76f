"""Evaluation of a multimodal VAE on image benchmarks (paper appendix B.2).

Three measures, each of one fitted model on held-out tuples:

* **latent representation** (:func:`latent_probes`): a logistic regression is trained on
  up to 10,000 *unimodal* training latents (the mean of each modality's own posterior
  q_m(z | x_m), also for the aggregation methods) and scored on all test latents, per
  modality;
* **coherence** (:func:`~neuromix.evaluation.coherence.coherence`): modality k is
  generated from modality m alone (a sample z ~ q_m(z | x_m) decoded by k's decoder,
  the likelihood mean taken as the image) for every ordered pair m != k, classified by
  a digit classifier trained on real images of modality k (:class:`ImageClassifier`),
  and compared with the digit of the source; for every method z is drawn from q_m
  itself (also for PoE with the N(0, I) expert), as
  :meth:`~neuromix.MultimodalVAE.generate` does from one source;
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

from collections.abc import Mapping

import numpy as np
import torch
import xarray as xr

from neuromix.evaluation.coherence import coherence, posterior_generator
from neuromix.evaluation.decoding import linear_probe
from neuromix.evaluation.image_classifier import ImageClassifier, fit_classifiers
from neuromix.models.gaussian import reparameterize

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


def _to_tensor(vae, name: str, array) -> torch.Tensor:
    return torch.as_tensor(
        np.asarray(array), dtype=vae.likelihoods_[name].data_dtype(), device=vae.device_
    )


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
        joint = module.likelihood_params(z_in)
        # self: each modality from a sample of its own q_m, all decoders at once
        z_self = reparameterize(mu, logvar, generator=generator).transpose(0, 1)
        own = module.likelihood_params(z_self)
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
