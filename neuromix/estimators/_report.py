"""``NeuralModel.report``: one self-contained HTML file with the evidence of a fit.

A mixin of the estimator, split from :mod:`neuromix.estimators.neural` for size.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import sys
import time
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from neuromix.plotting.html import HTMLReport

__all__: list[str] = []

#: Libraries whose versions the report lists (those installed).
_LIBRARIES = ("neuromix", "torch", "numpy", "scipy", "pandas", "xarray", "scikit-learn",
              "matplotlib", "pynwb", "h5py", "pynapple")  # fmt: skip


def _versions() -> pd.DataFrame:
    rows = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _LIBRARIES:
        try:
            rows[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return pd.DataFrame({"version": rows})


def _data_figure(model):
    """Each subject's population rate over its window range, per condition (training
    trials): where the windows lie on the response."""
    n = len(model.subjects_)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax, s in zip(axes.flat, model.subjects_, strict=False):
        counts = model.counts_[s]
        keep = model._part(s, "train")
        rate = counts.isel(trial=np.flatnonzero(keep)).mean("unit") / model.bin_size
        for condition, group in rate.groupby(model.label):
            ax.plot(group["time"].values, group.mean("trial").values, label=str(condition))
        ax.set_title(f"{s} ({counts.sizes['unit']} units)", fontsize=9)
        ax.set_xlabel("time from onset (s)")
    axes.flat[0].set_ylabel("mean rate (Hz)")
    axes.flat[0].legend(title=model.label, fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig


class _ReportMixin:
    """:meth:`report` of :class:`~neuromix.NeuralModel`."""

    def report(
        self,
        path,
        *,
        title: str | None = None,
        overwrite: bool = False,
        n_boot: int = 200,
        progress: Callable[[str], None] | None = None,
    ):
        """Write one self-contained HTML file with what a reader needs to trust or doubt
        the fit.

        Sections: the data of each subject (units, trials of each split, conditions,
        windows and their range, with each subject's population rate over it); the
        settings, the seed, and the versions of Python and the libraries; training and
        validation curves and the choice of beta; within- and cross-subject decoding
        with intervals and the shuffled control; embeddings and condition trajectories
        per subject; cross-subject prediction in bits per spike; the individuality map;
        real against generated PSTHs; subjects added after the fit. Figures are
        embedded, so the file opens from disk anywhere (no network, nothing beside it).
        A section the model cannot give says why instead.

        Parameters
        ----------
        path : path-like
            The ``.html`` file to write (through a temporary file moved into place).
        title : str, optional
        overwrite : bool, default=False
            Replace an existing file.
        n_boot : int, default=200
            Bootstrap resamples of the cross-subject prediction's intervals.
        progress : callable, optional
            Called with the name of each section as it starts (the command line prints
            them).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, neuromix as nm
        >>> rec = nm.datasets.simulate_odor_sequence(seed=0, n_trials=40, n_units=10)
        >>> model = nm.fit(rec, subject_dim="rat", epochs=2, beta=1.0, patience=None,
        ...                progress=False)
        >>> path = model.report(tempfile.mkdtemp() + "/fit.html", n_boot=10)
        >>> path.read_text().count("data:image/png;base64") >= 8
        True
        """
        self._check_fitted()
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite: expected True or False, got {overwrite!r}")
        dim = self.subject_dim
        title = title or (
            f"neuromix: {self.method} on {len(self.subjects_)} {dim}s "
            f"({', '.join(self.subjects_)})"
        )
        report = HTMLReport(title)
        started = time.perf_counter()

        def stage(name):
            report.section(name)
            if progress is not None:
                progress(name)

        def attempt(what, make):
            """A figure or table the model may not offer: the reason instead."""
            try:
                make()
            except (ValueError, NotImplementedError, TypeError) as error:
                report.note(f"{what}: not available for this model ({error})")

        report.text(
            f"Written {datetime.datetime.now().astimezone().isoformat(timespec='seconds')} "
            f"by neuromix {_versions().loc['neuromix', 'version']}. Held-out (test) trials "
            "are never read by training; validation trials are training trials kept aside "
            "for early stopping and the choice of beta."
        )

        stage("Data")
        rows = {}
        for s in self.subjects_:
            counts = self.counts_[s]
            labels = counts[self.label].values
            rows[s] = {
                "units": counts.sizes["unit"],
                "trials": counts.sizes["trial"],
                "training": int(self._part(s, "train").sum()),
                "validation": int(self._part(s, "validation").sum()),
                "test": int(self._part(s, "test").sum()),
                "conditions": ", ".join(f"{c} ({n})" for c, n in _counts(labels)),
                "windows": self.n_windows_,
                "start (s)": self.starts_[s],
                "stop (s)": self.stops_[s],
                "source": self.sources_.get(s) or "in memory",
            }
        report.table(pd.DataFrame(rows).T.rename_axis(dim))
        report.figure(
            _data_figure(self),
            f"Population rate per {self.label} on training trials over each {dim}'s window "
            f"range ({self.window * 1000:g} ms windows every {self.step * 1000:g} ms, "
            f"{self.bin_size * 1000:g} ms bins).",
        )

        stage("Settings and versions")
        params = {k: repr(v) for k, v in self.get_params(deep=False).items()}
        params.update(
            {
                "beta_ (fitted)": repr(self.beta_),
                "link_ (fitted)": repr(self.link_),
                "best_epoch_": repr(self.best_epoch_),
                "device": str(self.vae_.device_),
                "precision_": self.vae_.precision_,
            }
        )
        report.table(pd.DataFrame({"value": params}), "Parameters of the fit:")
        report.table(_versions(), "Software:")

        stage("Training")
        report.figure(self.plot_training(), "Training and validation curves per epoch.")
        if self.beta_selection_ is not None:
            report.figure(self.plot_beta_selection(), "The choice of beta.")
            sel = self.beta_selection_
            score = sel["score"].values.astype(float)
            table = pd.DataFrame(
                {
                    # a candidate culled at the first rung has no score (blank)
                    "score": np.where(np.isfinite(score), score, np.nan),
                    "best epoch": sel["best_epoch"].values,
                    "epochs trained": sel["epochs_trained"].values,
                    "culled at": sel["culled_at"].values,
                    # link="auto": the link of each beta's kept candidate
                    **({"link": sel["kept_link"].values} if "kept_link" in sel else {}),
                },
                index=pd.Index(sel["beta"].values, name="beta"),
            )
            report.table(
                table,
                f"Criterion {sel.attrs['criterion']} at each beta's best epoch (lower is "
                "better; culled at -1: never culled by successive halving; no score: culled "
                "before its first counted epoch):",
            )
        for s, addition in self.vae_.additions_.items():
            report.text(
                f"{dim} {s} was added after the fit (add_subject): {len(addition['history'])} "
                f"epochs in {addition['seconds']:.0f} s, best epoch {addition['best_epoch']}."
            )

        stage("Decoding")
        decoding = self.decode()
        report.figure(
            _plot_decoding(decoding),
            f"Held-out accuracy of decoding {self.label} within and across {dim}s "
            "(train on the row, test on the column), with chance and the shuffled-label "
            "control.",
        )
        summary = pd.DataFrame(
            {
                "within": decoding["accuracy"].values,
                "low": decoding["accuracy_ci"].values[:, 0],
                "high": decoding["accuracy_ci"].values[:, 1],
                "chance": decoding["chance"].values,
                "shuffled": decoding["shuffled"].values,
            },
            index=pd.Index(decoding[dim].values, name=dim),
        )
        report.table(summary, "Within-subject accuracy per window, 95% interval over trials:")
        report.table(
            decoding["transfer"].to_pandas(),
            "Transfer (rows: trained on; columns: tested on):",
        )

        stage("Embeddings and trajectories")
        latents = self.latents()  # once, for both figures
        attempt(
            "embeddings",
            lambda: report.figure(self._embeddings_figure(latents), "Latents."),
        )
        attempt(
            "trajectories",
            lambda: report.figure(
                _trajectories(self, latents),
                f"Mean latent trajectory per {self.label}, per {dim}.",
            ),
        )

        stage("Cross-subject prediction")

        def prediction():
            result = self.cross_prediction(n_boot=n_boot)
            report.figure(
                _plot_prediction(result, decoding),
                f"Each {dim}'s held-out counts predicted from another's latent, bits per "
                "spike over each unit's mean rate; the ceiling is its condition-mean PSTH.",
            )
            report.table(result["bits_per_spike"].to_pandas(), "Bits per spike:")

        attempt("cross-subject prediction", prediction)

        stage("Individuality")
        attempt(
            "individuality",
            lambda: report.figure(
                self.plot_individuality(),
                f"KL of each {dim}'s held-out posteriors from the mixture of the others', "
                f"per {self.label} and window (nats).",
            ),
        )

        stage("Synthetic trials")

        def synthetic():
            # every subject's windows and one synthetic draw, computed once for all panels
            windows, sample = self.windows(), self.sample(n=50, seed=self.seed)
            for s in self.subjects_[:4]:
                report.figure(
                    self._sample_psth_figure(s, windows, sample),
                    f"{s}: held-out PSTHs (top) against generated ones (bottom).",
                )

        attempt("synthetic trials", synthetic)
        if len(self.subjects_) > 4:
            report.text(f"Synthetic trials shown for the first 4 {dim}s of {len(self.subjects_)}.")
        report.text(f"Report built in {time.perf_counter() - started:.0f} s.")
        return report.write(path, overwrite=overwrite)


def _counts(labels) -> list[tuple]:
    values, counts = np.unique(labels, return_counts=True)
    return list(zip(values.tolist(), counts.tolist(), strict=True))


def _plot_decoding(decoding):
    from neuromix.plotting.decoding import plot_decoding

    return plot_decoding(decoding)


def _plot_prediction(result, decoding):
    from neuromix.plotting.prediction import plot_cross_prediction

    return plot_cross_prediction(result, decoding)


def _trajectories(model, latents):
    from neuromix.plotting.trajectories import plot_trajectories

    return plot_trajectories(latents, subject_dim=model.subject_dim, label=model.label)
