# The deprecated aliases of moved modules warn on import: not collected for doctests
# (they have none); tests/datasets/test_odor_sequence_moved.py and
# tests/io/test_nwb_moved.py and tests/estimators/test_moved.py check them.
collect_ignore = [
    "neuromix/data/nwb.py",
    "neuromix/data/published.py",
    "neuromix/data/trial_info.py",
    "neuromix/recordings.py",
    "neuromix/training/estimator.py",
]
