"""Evaluation: label decoding, cross-subject alignment, coherence, linear probes."""

from neuromix.evaluation.alignment import centroid_distances
from neuromix.evaluation.decoding import decode_labels, linear_probe

__all__ = ["centroid_distances", "decode_labels", "linear_probe"]
