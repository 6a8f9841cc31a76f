"""Evaluation: label decoding, cross-subject alignment, coherence, cross-subject
prediction in bits per spike, individuality, linear probes, and the response onset that places the
windows."""

from neuromix.evaluation.alignment import centroid_distances
from neuromix.evaluation.decoding import decode_labels, linear_probe
from neuromix.evaluation.individuality import individuality
from neuromix.evaluation.onset import response_onset
from neuromix.evaluation.prediction import bits_per_spike, cross_prediction

__all__ = [
    "bits_per_spike",
    "centroid_distances",
    "cross_prediction",
    "decode_labels",
    "individuality",
    "linear_probe",
    "response_onset",
]
