"""Inference of a fitted :class:`~neuromix.estimators.MultimodalVAE`: latents,
posteriors, conditional generation and the score.

A mixin of the estimator, split from :mod:`neuromix.estimators.vae` for size; it reads
the fitted attributes (``module_``, ``subjects_``, ``shapes_``, ``likelihoods_``,
``method_``, ``history_``) that fitting sets.
"""

from __future__ import annotations

import numpy as np
import torch

from neuromix._validation import check_subject_arrays
from neuromix.training.samplers import ArraySampler

__all__: list[str] = []


class _VAEInference:
    """Transform, posterior, generation and score of a fitted MultimodalVAE."""

    def _check_fitted(self):
        if not hasattr(self, "module_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _check_X(self, X, *, paired, require_all=False):
        self._check_fitted()
        arrays = check_subject_arrays(X, paired=paired)
        unknown = [s for s in arrays if s not in self.subjects_]
        if unknown:
            raise ValueError(
                f"subject {unknown[0]!r} was not present at fit; fitted subjects: "
                f"{', '.join(map(repr, self.subjects_))}"
            )
        if require_all:
            missing = [s for s in self.subjects_ if s not in arrays]
            if missing:
                raise ValueError(
                    f"subject {missing[0]!r} was present at fit but is missing; this needs "
                    "every fitted subject"
                )
        for s, a in arrays.items():
            if a.shape[1:] != self.shapes_[s]:
                raise ValueError(
                    f"subject {s!r}: expected samples of shape {self.shapes_[s]} (as at fit), "
                    f"got {a.shape[1:]}"
                )
            self.likelihoods_[s].check(a, s)
        return arrays

    def _check_encoded(self, mu, logvar, mask=None):
        """Raise FloatingPointError when a given subject's posterior is not finite.

        ``mu``, ``logvar``: ``(batch, subject, latent)`` from ``module_.encode``; absent
        subjects (``mask`` False, or zeros) are not looked at.
        """
        ok = torch.isfinite(mu).all(dim=-1) & torch.isfinite(logvar).all(dim=-1)
        if mask is not None:
            ok = ok | ~mask
        if bool(ok.all()):
            return
        m = int((~ok).any(dim=0).nonzero()[0, 0])
        n_bad = int((~ok[:, m]).sum())
        finite = all(bool(torch.isfinite(p).all()) for p in self.module_.parameters())
        cause = (
            "the weights are finite: the input drives the encoder out of floating-point range"
            if finite
            else "the model's weights are not finite"
        )
        raise FloatingPointError(
            f"subject {self.subjects_[m]!r}: the encoder gave a non-finite posterior for "
            f"{n_bad} of {ok.shape[0]} samples ({cause}); no latent is returned"
        )

    def _inputs(self, arrays, rows=slice(None)):
        return [
            self._to_tensor(s, arrays[s][rows]) if s in arrays else None for s in self.subjects_
        ]

    @torch.no_grad()
    def _posteriors(self, arrays, batch_size=4096):
        """Unimodal posterior means and log-variances of every given subject (numpy)."""
        self.module_.eval()
        out = {}
        for s, a in arrays.items():
            m = self.subjects_.index(s)
            mus, logvars = [], []
            for i in range(0, a.shape[0], batch_size):
                inputs = [None] * len(self.subjects_)
                inputs[m] = self._to_tensor(s, a[i : i + batch_size])
                mu, logvar, given = self.module_.encode(inputs)
                self._check_encoded(mu, logvar, given)
                mus.append(mu[:, m].cpu().numpy())
                logvars.append(logvar[:, m].cpu().numpy())
            out[s] = (np.concatenate(mus), np.concatenate(logvars))
        return out

    def transform(self, X):
        """Posterior means of each given subject's unimodal posterior q_m(z | x_m).

        Raises FloatingPointError, naming the subject, when an encoder gives a
        non-finite posterior: no NaN latent is ever returned.

        Parameters
        ----------
        X : mapping of str to array-like
            Any non-empty subset of the fitted subjects; sample counts may differ
            between subjects (each is encoded on its own).

        Returns
        -------
        dict of str to numpy.ndarray of shape (n_samples, latent_dim)
        """
        arrays = self._check_X(X, paired=False)
        return {s: mu for s, (mu, _) in self._posteriors(arrays).items()}

    def posterior(self, X):
        """Means and variances of each given subject's posterior: ``{s: (mean, var)}``."""
        arrays = self._check_X(X, paired=False)
        return {s: (mu, np.exp(lv)) for s, (mu, lv) in self._posteriors(arrays).items()}

    @torch.no_grad()
    def transform_joint(self, X):
        """The latent inferred from the given subjects together, ``(n_samples, latent_dim)``.

        For the aggregation methods (AVG, PoE, MoE, MoPoE) this is the mean of their
        joint posterior over the given subset; for MMVM and independent VAEs, which
        keep one posterior per subject, it is the mean of the subjects' mixture.
        """
        arrays = self._check_X(X, paired=True)
        self.module_.eval()
        n = next(iter(arrays.values())).shape[0]
        out = []
        for i in range(0, n, 4096):
            mu, logvar, mask = self.module_.encode(self._inputs(arrays, slice(i, i + 4096)))
            self._check_encoded(mu, logvar, mask)
            out.append(self.method_.joint(mu, logvar, mask)[0].cpu().numpy())
        return np.concatenate(out)

    def generate(self, X, target, *, sample=True, seed=None):
        """Conditional generation: decode ``target`` from the latent of the given subjects.

        Encodes the given subjects, draws z from a posterior and returns the mean of
        ``target``'s likelihood p(x_target | z). The posterior is

        * for a single source subject m, its own unimodal posterior q_m(z | x_m), for
          every method (the paper's coherence: for PoE with the N(0, I) expert, or MoPoE
          with ``prior_expert``, this is q_m itself, not its product with N(0, I));
        * for several sources, the joint posterior of an aggregation method (AVG, PoE,
          MoE, MoPoE: ``method.joint``, the mean and variance of the mixture for MoE and
          MoPoE), or for MMVM and independent VAEs the q_m of a source chosen uniformly
          at random per sample (a draw from the mixture of the sources' posteriors).

        Parameters
        ----------
        X : mapping of str to array-like
            Source subjects (paired rows when several).
        target : str or sequence of str
            A fitted subject, or several: then one latent per sample is decoded by
            every target's decoder.
        sample : bool, default=True
            Draw z from the posterior; False uses its mean.
        seed : int, optional
            Seed of the draw (default: the estimator's seed).

        Returns
        -------
        numpy.ndarray of shape (n_samples, *shape of target)
            For a sequence of targets, a dict target -> such an array.

        Examples
        --------
        >>> import neuromix as nm
        >>> X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
        >>> vae = nm.MultimodalVAE(epochs=2, progress=False).fit(X)
        >>> vae.generate({"a": X["a"][:5]}, "b").shape
        (5, 30)
        >>> sorted(vae.generate({"a": X["a"][:5]}, ["b", "c"]))
        ['b', 'c']
        """
        arrays = self._check_X(X, paired=True)
        seed = self.seed if seed is None else seed
        if isinstance(target, str):
            return self._generate(arrays, [target], sample=sample, seed=seed)[target]
        targets = list(target)
        if not targets or not all(isinstance(t, str) for t in targets):
            raise TypeError(
                f"target: expected a subject name or a non-empty sequence of them, got {target!r}"
            )
        return self._generate(arrays, targets, sample=sample, seed=seed)

    @torch.no_grad()
    def likelihood_mean(self, z, target):
        """Each target's likelihood mean (for Poisson, the rate per bin) from latents.

        Parameters
        ----------
        z : array-like of shape (n_samples, latent_dim)
        target : str or sequence of str
            Fitted subjects.

        Returns
        -------
        dict of str to numpy.ndarray of shape (n_samples, *shape of the target)

        Examples
        --------
        >>> import neuromix as nm, numpy as np
        >>> X, _ = nm.datasets.make_multiview(n_samples=200, seed=0)
        >>> vae = nm.MultimodalVAE(epochs=1, progress=False).fit(X)
        >>> vae.likelihood_mean(np.zeros((4, 2)), ["a", "b"])["b"].shape
        (4, 30)
        """
        self._check_fitted()
        targets = [target] if isinstance(target, str) else list(target)
        unknown = [t for t in targets if t not in self.subjects_]
        if not targets or unknown:
            raise ValueError(
                f"target: expected fitted subjects ({', '.join(map(repr, self.subjects_))}), "
                f"got {target!r}"
            )
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) == 0:
            raise ValueError(f"z: expected shape (n_samples, {self.latent_dim}), got {z.shape}")
        device = next(self.module_.parameters()).device
        index = [self.subjects_.index(t) for t in targets]
        self.module_.eval()
        out = {t: [] for t in targets}
        for i in range(0, len(z), 4096):
            chunk = torch.as_tensor(z[i : i + 4096], device=device)
            params = self.module_.likelihood_params(chunk, subjects=index)
            for t, k in zip(targets, index, strict=True):
                out[t].append(self.module_.likelihoods[k].mean(params[k]).cpu().numpy())
        return {t: np.concatenate(parts) for t, parts in out.items()}

    @torch.no_grad()
    def _generate(self, arrays, targets, *, sample, seed):
        """:meth:`generate` into several targets at once from checked ``arrays``.

        One latent per sample, decoded by every target's decoder; returns
        ``{target: likelihood means}``.
        """
        for target in targets:
            if target not in self.subjects_:
                raise ValueError(
                    f"target {target!r} was not present at fit; fitted subjects: "
                    f"{', '.join(map(repr, self.subjects_))}"
                )
        index = [self.subjects_.index(t) for t in targets]
        gen = torch.Generator().manual_seed(int(seed))
        self.module_.eval()
        n = next(iter(arrays.values())).shape[0]
        out = {t: [] for t in targets}
        for i in range(0, n, 4096):
            mu, logvar, mask = self.module_.encode(self._inputs(arrays, slice(i, i + 4096)))
            self._check_encoded(mu, logvar, mask)
            if len(arrays) == 1:
                # a single source: its own q_m, whatever the method
                m = self.subjects_.index(next(iter(arrays)))
                mu_z, logvar_z = mu[:, m], logvar[:, m]
            elif self.method_.aggregates:
                mu_z, logvar_z = self.method_.joint(mu, logvar, mask)
            else:
                # one present source per row, uniformly: a draw from the mixture h
                scores = torch.rand(mask.shape, generator=gen).to(mask.device) * mask
                pick = scores.argmax(dim=1)
                rows = torch.arange(mu.shape[0], device=mu.device)
                mu_z, logvar_z = mu[rows, pick], logvar[rows, pick]
            z = mu_z
            if sample:
                eps = torch.randn(mu_z.shape, generator=gen).to(mu_z.device)
                z = mu_z + torch.exp(0.5 * logvar_z) * eps
            params = self.module_.likelihood_params(z, subjects=index)
            for t, k in zip(targets, index, strict=True):
                out[t].append(self.module_.likelihoods[k].mean(params[k]).cpu().numpy())
        return {t: np.concatenate(parts) for t, parts in out.items()}

    @torch.no_grad()
    def score(self, X, y=None):
        """Mean objective (negative loss: -(recon + beta * rate)) per sample on X.

        The objective is the one of the end of training: a prior weight that is
        annealed over epochs (MMVM's ``alpha``) takes its value at the last fitted epoch.
        """
        arrays = self._check_X(X, paired=True, require_all=True)
        sampler = ArraySampler(self._inputs(arrays))
        gen = torch.Generator().manual_seed(int(self.seed) + 2)
        epoch = int(self.history_["epoch"].iloc[-1]) if len(self.history_) else 0
        total, n = 0.0, 0
        self.module_.eval()
        for xs, mask in sampler.batches(4096, shuffle=False):
            out = self.module_.loss(xs, mask, beta=float(self.beta_), epoch=epoch, generator=gen)
            total += float(out["loss"]) * xs[0].shape[0]
            n += xs[0].shape[0]
        return -total / n
