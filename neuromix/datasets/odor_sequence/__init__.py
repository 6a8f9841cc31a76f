"""The rat odor-sequence experiment: its trials, its published arrays, and simulated rats.

The odor-sequence memory task (Allen et al. 2016; Shahbaba et al. 2022) was done by five
rats whose CA1 recordings are the neural example of the MMVM VAE paper. Their spike arrays
are not shipped with neuromix, but the per-trial behavioural records are (package data,
``neuromix/datasets/odor_sequence/_data``). This package

- labels and reads those records (:func:`trial_table`, :func:`load_trial_info`;
  module :mod:`~neuromix.datasets.odor_sequence.trials`);
- loads the published binned spike arrays, when you have them (:func:`load_published`;
  module :mod:`~neuromix.datasets.odor_sequence.published`);
- simulates spike trains of the five rats on exactly those trials, from one shared
  odor-dependent latent trajectory read out differently by each rat
  (:func:`simulate_odor_sequence`; modules
  :mod:`~neuromix.datasets.odor_sequence.simulate`, ``latent`` and ``spikes``), so that
  "do the rats share a latent space?" has a known answer;
- writes the simulated rats to one NWB file each (:func:`write_odor_sequence_nwb`;
  module :mod:`~neuromix.datasets.odor_sequence.write`).
"""

from neuromix.datasets.odor_sequence.published import load_published
from neuromix.datasets.odor_sequence.simulate import simulate_odor_sequence
from neuromix.datasets.odor_sequence.trials import ODORS, load_trial_info, trial_table
from neuromix.datasets.odor_sequence.write import write_odor_sequence_nwb

__all__ = [
    "ODORS",
    "load_published",
    "load_trial_info",
    "simulate_odor_sequence",
    "trial_table",
    "write_odor_sequence_nwb",
]
