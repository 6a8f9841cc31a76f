"""The data path for neural recordings: ingest, bin, cut windows, split and pair.

Two forms of data flow through it:

- a :class:`Recording` per subject (spike times plus a trial table), from
  :func:`from_arrays` or :func:`neuromix.read_nwb` (of :mod:`neuromix.io.nwb`);
- the **binned form**: an :class:`xarray.DataArray` of counts with dims
  ``("trial", "unit", "time")``, ``time`` = bin start relative to trial onset (s), label
  coords along ``trial`` (``odor``, ``correct``, ...) and attrs ``subject``,
  ``bin_size``, ``time_resolution``. :func:`bin_trials` makes it from a recording;
  :func:`from_xarray` accepts data already binned (the published rat arrays are read by
  :func:`neuromix.load_published`, of :mod:`neuromix.datasets.odor_sequence`).

Then :func:`sliding_windows` cuts windows (a view) and :func:`flatten_windows` gives the
model's neuron-major input; :func:`select_trials`, :func:`split_trials` and
:func:`pair_trials` build train and test tuples across subjects.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from neuromix.data import from_arrays, bin_trials, sliding_windows, flatten_windows
>>> trials = pd.DataFrame({"start_time": [0.0, 1.0], "stop_time": [0.5, 1.5],
...                        "odor": ["A", "B"]})
>>> rec = from_arrays([np.array([0.26, 0.31]), np.array([1.3])], trials, subject="R1")
>>> counts = bin_trials(rec, start=0.25, stop=0.5)
>>> windows = sliding_windows(counts, window=0.1, step=0.01)
>>> dict(windows.sizes)
{'trial': 2, 'window': 16, 'unit': 2, 'lag': 10}
>>> flatten_windows(windows).shape
(32, 20)
"""

from neuromix.data.binning import bin_spikes, bin_trials
from neuromix.data.ingest import collect_recordings, from_arrays, from_xarray
from neuromix.data.pairing import pair_trials, select_trials, split_trials
from neuromix.data.recording import Recording
from neuromix.data.windows import flatten_windows, n_windows, sliding_windows

__all__ = [
    "Recording",
    "bin_spikes",
    "bin_trials",
    "collect_recordings",
    "flatten_windows",
    "from_arrays",
    "from_xarray",
    "n_windows",
    "pair_trials",
    "select_trials",
    "sliding_windows",
    "split_trials",
]
