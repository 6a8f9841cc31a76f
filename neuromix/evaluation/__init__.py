"""Evaluation: label decoding, cross-subject alignment, coherence, linear probes, and
the response onset that places the windows."""

from neuromix.evaluation.alignment import centroid_distances
from neuromix.evaluation.decoding import decode_labels, linear_probe
from neuromix.evaluation.onset import response_onset

__all__ = ["centroid_distances", "decode_labels", "linear_probe", "response_onset"]
