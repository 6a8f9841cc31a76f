r"""Where the response is: the onset of label-dependent firing after trial onset.

A recording says when each trial starts (e.g. odor onset), not when the subject's
neurons start to respond; the windows of :func:`neuromix.fit` should cover the response.
:func:`response_onset` estimates, per subject and from its *training* trials only, the
first time after trial onset from which the firing depends on the label.

Method
------
On the training trials (the split :func:`neuromix.fit` draws: the same ``where``
selection, conditions shared by all subjects, and
:func:`~neuromix.data.split_trials` with the same ``test_size``, ``seed`` and
stratification by ``label``), binned at ``bin_size`` from trial onset:

1. each unit's counts are smoothed per trial by a trailing moving average over
   ``smooth`` (50 ms: the bin and the 4 bins of 10 ms before it), so that the
   statistic of a bin never looks ahead of it;
2. per unit and time bin, the one-way ANOVA F statistic of the smoothed counts across
   the conditions (values of ``label``),

   .. math::

      F_{u}(t) = \frac{\sum_c n_c (\bar x_{c,u,t} - \bar x_{u,t})^2 / (K - 1)}
                      {\sum_i (x_{i,u,t} - \bar x_{c_i,u,t})^2 / (N - K)},

   with :math:`N` training trials in :math:`K` conditions, is averaged over the units
   (units without within-condition variance in that bin are left out): ``statistic``,
   about 1 when the firing does not depend on the label;
3. the null: the same statistic with the labels permuted among the training trials,
   ``n_shuffles`` times; ``threshold`` is its ``level`` quantile pooled over shuffles and
   time bins;
4. ``onset`` is the first bin from which the statistic stays above the threshold for
   ``min_duration`` (100 ms, one window) -- NaN (with a warning) when there is none.

The shuffled null needs no pre-onset baseline (binned data may start after trial
onset) and holds for any label-independent change of the rate (the shuffles keep it).
The reported onset is the start of a bin; as the smoothing only looks back, it is not
earlier than the first bin whose firing depends on the label (but for a false alarm),
and windows starting there hold the response: with rates that depend on the label from
a step at 0.4 s, the onset is 0.40-0.41 s.

On :func:`neuromix.datasets.simulate_odor_sequence`, whose rats' rates depend on the
odor from their latency :math:`L_r` = 0.15 s (Barat, Buchanan, SuperChris) or 0.4 s
(Mitt, Stella) -- 100 ms before the paper's windows at 0.25 and 0.5 s -- the onsets
are 20-40 ms after :math:`L_r` at full size (seeds 0-4; 30-70 ms with 100 trials and 20
units per rat; 50-120 ms with ``gain=0.3``). With ``gain=0`` (no odor dependence) no
onset is found (0 of 70 rats, at full size and with 60 trials of 10 units). Small data
may show no response: with 60 trials of 10 units, 27 of 30 rats get an onset
(40-290 ms after :math:`L_r`); with 40 trials of 8 units, 6 of 30. The statistic and
the shuffles take about 0.2 s per simulated rat.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
import zlib
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from neuromix._validation import Interval, Options, check_params
from neuromix.data.binning import _binned_grid, _prefix, bin_trials
from neuromix.data.ingest import collect_recordings
from neuromix.data.pairing import _keep_shared_conditions, select_trials, split_trials
from neuromix.data.recording import Recording

__all__ = ["response_onset"]

_CONSTRAINTS = {
    "test_size": Interval(float, 0.0, 0.9, low_open=True),
    "bin_size": Interval(float, 0.0, low_open=True),
    "max_time": [Options((None,)), Interval(float, 0.0, low_open=True)],
    "smooth": Interval(float, 0.0),
    "min_duration": Interval(float, 0.0, low_open=True),
    "n_shuffles": Interval(int, 1),
    "level": Interval(float, 0.0, 1.0, low_open=True),
    "missing": Options(("raise", "drop")),
}

#: The settings of the method, in the order of the result's attrs (but ``max_time``,
#: which is not among them); :func:`response_onset` holds their defaults.
_SETTINGS = ("bin_size", "max_time", "smooth", "min_duration", "n_shuffles", "level", "seed")

METHOD = (
    "per time bin, the one-way ANOVA F statistic of the counts smoothed by a trailing "
    "moving average of {smooth} s, across the conditions of {label!r}, averaged over "
    "units, on the training trials; threshold: the {level} quantile of the same statistic "
    "with labels permuted among the training trials ({n_shuffles} shuffles, pooled over "
    "time); onset: first bin from which the statistic stays above the threshold for "
    "{min_duration} s"
)


# --------------------------------------------------------------------------- inputs


def _trial_table(data: Recording | xr.DataArray) -> pd.DataFrame:
    """The trials of a recording, or the trial coords of binned counts, as a table."""
    if isinstance(data, Recording):
        return data.trials
    columns = {
        name: coord.values
        for name, coord in data.coords.items()
        if coord.dims == ("trial",) and name != "trial"
    }
    return pd.DataFrame(columns, index=pd.Index(data["trial"].values, name="trial"))


def _select_and_split(
    data: Mapping[str, Recording | xr.DataArray],
    *,
    label: str,
    where,
    missing: str,
    test_size: float,
    seed: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """The trials :func:`neuromix.fit` keeps, and its held-out mask, per subject."""
    trials = {}
    for s, rec in data.items():
        table = _trial_table(rec)
        if len(table) == 0:
            raise ValueError(f"subject {s!r}: trials: the recording has no trials")
        if label not in table.columns:
            raise ValueError(
                f"subject {s!r}: label {label!r} is missing from the trial table "
                f"(columns: {', '.join(map(str, table.columns))})"
            )
        if where:
            table = select_trials(table, where, subject=s)
            if len(table) == 0:
                raise ValueError(f"subject {s!r}: trials: no trial matches where={where}")
        trials[s] = table
    trials = _keep_shared_conditions(trials, label, missing)
    test = {
        s: split_trials(t, test_size=test_size, stratify=label, seed=seed, subject=s)
        for s, t in trials.items()
    }
    return trials, test


def _training_counts(
    subject: str,
    data: Recording | xr.DataArray,
    train: pd.Index,
    bin_size: float,
    max_time: float | None,
) -> xr.DataArray:
    """Counts of the training trials from trial onset (or the first bin) to ``max_time``."""
    if isinstance(data, Recording):
        trials = data.trials.loc[train]
        start = 0.0
        if max_time is None:
            shortest = float((trials["stop_time"] - trials["start_time"]).min())
            max_time = np.floor(shortest / bin_size + 1e-6) * bin_size
        source = dataclasses.replace(data, trials=trials)
    else:
        own, start, n_time = _binned_grid(data, subject)
        end = start + n_time * own
        if max_time is None or max_time > end + 1e-9:
            max_time = end
        source = data.sel(trial=train.to_numpy())
    n_bins = int(np.floor((max_time - start) / bin_size + 1e-6))
    if n_bins < 1:
        raise ValueError(
            f"{_prefix(subject)}max_time: {max_time!r} s leaves no bin of {bin_size!r} s "
            f"after {start!r} s"
        )
    stop = float(np.round(start + n_bins * bin_size, 9))
    return bin_trials(source, start=start, stop=stop, bin_size=bin_size)


# --------------------------------------------------------------------------- statistic


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing moving average over ``n`` bins of the last axis: bin ``t`` averages bins
    ``t - n + 1 .. t`` (fewer at the start), so it never looks ahead."""
    if n <= 1:
        return x.astype(np.float64)
    n_time = x.shape[-1]
    csum = np.concatenate(
        [np.zeros((*x.shape[:-1], 1)), np.cumsum(x, axis=-1, dtype=np.float64)], axis=-1
    )
    hi = np.arange(n_time) + 1
    lo = np.maximum(hi - n, 0)
    return (csum[..., hi] - csum[..., lo]) / (hi - lo)


class _FStatistic:
    """Mean over units of the one-way ANOVA F per time bin, for any labelling.

    The total sum of squares does not depend on the labels, so a shuffle only costs the
    condition sums (one matrix product).
    """

    def __init__(self, x: np.ndarray):
        n_trials = x.shape[0]
        self.shape = x.shape[1:]
        self.flat = x.reshape(n_trials, -1)
        grand = self.flat.mean(axis=0)
        self.grand_sum = self.flat.sum(axis=0)
        self.total = ((self.flat - grand) ** 2).sum(axis=0)
        self.n = n_trials

    def __call__(self, codes: np.ndarray, n_codes: int) -> np.ndarray:
        onehot = np.zeros((n_codes, self.n))
        onehot[codes, np.arange(self.n)] = 1.0
        counts = onehot.sum(axis=1)
        sums = onehot @ self.flat
        between = (sums**2 / counts[:, None]).sum(axis=0) - self.grand_sum**2 / self.n
        within = self.total - between
        scale = np.maximum(self.total, 1e-300)
        ok = within > 1e-9 * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (between / (n_codes - 1)) / (within / (self.n - n_codes))
        f = np.where(ok, f, np.nan).reshape(self.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a bin without spikes at all
            return np.nanmean(f, axis=0)


def _first_run(above: np.ndarray, length: int) -> int | None:
    """First index from which ``above`` is True for ``length`` consecutive entries."""
    if above.size < length:
        return None
    runs = np.convolve(above.astype(np.int64), np.ones(length, dtype=np.int64), "valid")
    hits = np.flatnonzero(runs == length)
    return int(hits[0]) if hits.size else None


def _subject_onset(
    subject: str,
    counts: xr.DataArray,
    label: str,
    *,
    bin_size: float,
    smooth: float,
    min_duration: float,
    n_shuffles: int,
    level: float,
    seed: int,
) -> dict:
    labels = counts[label].values
    conditions, codes = np.unique(labels.astype(str), return_inverse=True)
    n_trials, n_codes = len(labels), len(conditions)
    if n_codes < 2:
        raise ValueError(
            f"subject {subject!r}: label {label!r}: the training trials hold "
            f"{n_codes} condition(s) ({', '.join(map(repr, conditions.tolist()))}); the "
            "onset of a label-dependent response needs at least two"
        )
    if n_trials <= n_codes:
        raise ValueError(
            f"subject {subject!r}: {n_trials} training trials in {n_codes} conditions of "
            f"{label!r}: too few to compare conditions (more trials than conditions needed)"
        )
    raw = np.asarray(counts.values, dtype=np.float64)
    x = _smooth(raw, max(1, round(smooth / bin_size)))
    statistic = _FStatistic(x)
    observed = statistic(codes, n_codes)
    rng = np.random.default_rng([int(seed), zlib.crc32(subject.encode())])
    null = np.stack([statistic(rng.permutation(codes), n_codes) for _ in range(n_shuffles)])
    finite = null[np.isfinite(null)]
    threshold = float(np.quantile(finite, level)) if finite.size else np.nan
    above = np.nan_to_num(observed, nan=-np.inf) > threshold
    first = _first_run(above, max(1, round(min_duration / bin_size)))
    time = counts["time"].values
    rate = _smooth(raw.mean(axis=(0, 1)), max(1, round(smooth / bin_size))) / bin_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bins without spikes in any trial
        null_mean = np.nanmean(null, axis=0)
    return {
        "time": time,
        "statistic": observed,
        "null": null_mean,
        "rate": rate,
        "threshold": threshold,
        "onset": np.nan if first is None else float(np.round(time[first], 9)),
        "n_train": n_trials,
        "n_units": counts.sizes["unit"],
    }


def _with_defaults(settings: Mapping) -> dict:
    """The method's ``settings``, in the order of :data:`_SETTINGS`, with the defaults of
    :func:`response_onset` for those not given."""
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise TypeError(f"unknown onset settings {unknown}; settings: {', '.join(_SETTINGS)}")
    parameters = inspect.signature(response_onset).parameters
    return {name: settings.get(name, parameters[name].default) for name in _SETTINGS}


def _training_onsets(
    data: Mapping[str, Recording | xr.DataArray],
    trials: Mapping[str, pd.DataFrame],
    test: Mapping[str, np.ndarray],
    *,
    label: str,
    subject_dim: str = "subject",
    **settings,
) -> xr.Dataset:
    """The onsets from already selected trials and held-out masks (what fit has).

    ``settings`` are any of :data:`_SETTINGS`, as for :func:`response_onset` and with
    its defaults.
    """
    settings = _with_defaults(settings)
    max_time = settings.pop("max_time")
    per = {}
    for s, rec in data.items():
        train = trials[s].index[~np.asarray(test[s], dtype=bool)]
        counts = _training_counts(s, rec, train, settings["bin_size"], max_time)
        per[s] = _subject_onset(s, counts, label, **settings)
    subjects = np.array(list(per), dtype=object)
    courses = xr.concat(
        [
            xr.Dataset(
                {name: ("time", r[name]) for name in ("statistic", "null", "rate")},
                coords={"time": r["time"]},
            )
            for r in per.values()
        ],
        dim=subject_dim,
        join="outer",
    ).assign_coords({subject_dim: subjects})
    ds = courses.assign(
        {
            name: (subject_dim, np.array([r[name] for r in per.values()]))
            for name in ("onset", "threshold", "n_train", "n_units")
        }
    )
    ds = ds[["onset", "statistic", "threshold", "null", "rate", "n_train", "n_units"]]
    ds["onset"].attrs.update(units="s", description="response onset after trial onset")
    ds["statistic"].attrs.update(description=f"mean over units of the F statistic of {label!r}")
    ds["threshold"].attrs.update(
        description=f"{settings['level']} quantile of the shuffled statistic"
    )
    ds["null"].attrs.update(description="mean of the statistic over label shuffles")
    ds["rate"].attrs.update(units="Hz", description="mean rate per unit, training trials")
    ds["n_train"].attrs.update(description="training trials used")
    ds["time"].attrs.update(units="s", description="bin start after trial onset")
    ds.attrs.update(
        label=label,
        subject_dim=subject_dim,
        method=METHOD.format(label=label, **settings),
        **settings,
    )
    return ds


# --------------------------------------------------------------------------- public


def response_onset(
    recordings,
    label: str = "odor",
    *,
    subject_dim: str = "subject",
    where: Mapping | None = None,
    missing: str = "raise",
    test_size: float = 0.2,
    seed: int = 0,
    bin_size: float = 0.01,
    max_time: float | None = None,
    smooth: float = 0.05,
    min_duration: float = 0.1,
    n_shuffles: int = 20,
    level: float = 0.99,
) -> xr.Dataset:
    """When each subject's firing starts to depend on the label, after trial onset.

    Uses the training trials only -- the same ones as :func:`neuromix.fit` with the same
    ``label``, ``where``, ``missing``, ``test_size`` and ``seed`` -- so that choosing the
    windows does not look at the held-out trials. ``neuromix.fit(..., start="auto")``
    calls it and starts the windows of each subject at its onset. The method is in the
    module docstring (:mod:`neuromix.evaluation.onset`).

    Parameters
    ----------
    recordings : mapping subject -> Recording or binned xarray.DataArray
        As for :func:`neuromix.fit` (e.g. what :func:`neuromix.read_nwb` gives).
    label : str, default="odor"
        Trial label whose conditions the response should tell apart.
    subject_dim : str, default="subject"
        Name of the subject dimension of the result.
    where, missing, test_size, seed
        Trial selection and split, as for :func:`neuromix.fit`; ``seed`` also seeds the
        label shuffles.
    bin_size : float, default=0.01
        Bin width in seconds; onsets are bin starts.
    max_time : float, optional
        End of the searched range after trial onset (s). Default: the shortest training
        trial (``stop_time - start_time``); for binned input, the end of its bins. The
        range starts at trial onset, or at the first bin of binned input.
    smooth : float, default=0.05
        Width in seconds of the trailing moving average applied to each trial's counts.
    min_duration : float, default=0.1
        How long the statistic must stay above the threshold (one 100 ms window).
    n_shuffles : int, default=20
        Label permutations of the null.
    level : float, default=0.99
        Quantile of the shuffled statistic used as threshold.

    Returns
    -------
    xarray.Dataset
        ``onset`` (``subject_dim``), seconds after trial onset, NaN where no response
        was found (with a warning); ``statistic`` (``subject_dim``, ``time``) and its
        ``threshold`` (``subject_dim``); ``null``, the mean shuffled statistic, and
        ``rate``, the trial-averaged rate per unit (Hz), both (``subject_dim``,
        ``time``); ``n_train`` and ``n_units``; attrs ``method`` and the settings.
        Subjects with different time ranges are NaN outside theirs. Draw it with
        :func:`neuromix.plotting.plot_response_onset`.

    Raises
    ------
    ValueError
        Naming the subject: no trials, the label missing from its trials, no trial
        matching ``where``, fewer than two conditions or too few training trials.

    Examples
    --------
    >>> import neuromix as nm
    >>> rec = nm.datasets.simulate_odor_sequence(seed=0, subjects=["Barat", "Mitt"])
    >>> onsets = nm.response_onset(rec, subject_dim="rat")
    >>> onsets["onset"].to_series().round(2).to_dict()
    {'Barat': 0.18, 'Mitt': 0.43}
    >>> {s: r.metadata["latency"] for s, r in rec.items()}  # the simulated onsets
    {'Barat': 0.15, 'Mitt': 0.4}
    """
    settings = {
        "bin_size": bin_size,
        "max_time": max_time,
        "smooth": smooth,
        "min_duration": min_duration,
        "n_shuffles": n_shuffles,
        "level": level,
    }
    check_params({"test_size": test_size, **settings, "missing": missing}, _CONSTRAINTS)
    if not isinstance(label, str):
        raise TypeError(f"label must be a trial label name (a string), got {label!r}")
    if where is not None and not isinstance(where, Mapping):
        raise TypeError(f"where must be a mapping of label to value(s), got {where!r}")
    data = collect_recordings(recordings, subject_dim=subject_dim)
    trials, test = _select_and_split(
        data, label=label, where=where, missing=missing, test_size=test_size, seed=seed
    )
    ds = _training_onsets(
        data, trials, test, label=label, subject_dim=subject_dim, seed=seed, **settings
    )
    for s, onset in zip(ds[subject_dim].values, ds["onset"].values, strict=True):
        if np.isnan(onset):
            warnings.warn(
                f"subject {s!r}: no response depending on {label!r} was found: the "
                f"statistic never stays above the shuffled-label threshold for "
                f"{min_duration} s; onset is NaN",
                stacklevel=2,
            )
        elif onset <= ds["time"].where(ds["statistic"].sel({subject_dim: s}).notnull()).min():
            warnings.warn(
                f"subject {s!r}: the response is there from the first bin analysed; it may "
                "start earlier than the data",
                stacklevel=2,
            )
    return ds
