# The deprecated aliases of moved modules warn on import: not collected for doctests
# (they have none); tests/datasets/test_odor_sequence_moved.py checks them.
collect_ignore = ["neuromix/data/published.py", "neuromix/data/trial_info.py"]
