"""Metrics: torch-fidelity wrapper (FID/KID/precision-recall/IS), feature extractors, StackedMNIST modes.

Modules: ``fidelity`` (FID/KID/PR/IS and metric names), ``extractors`` (extractor names, torch-fidelity
registration, spec resolution), ``feature_cnn`` (the pipeline's own feature network), ``train_instruments``
(training it and the shared classifier fit), ``checkpoints`` (their I/O), ``weights`` (pretrained weights files
on disk), ``images`` (uint8 input handling), ``modes`` (StackedMNIST digit classifier and mode counting).

Importing this package is cheap; torch-fidelity is imported on first use.
"""

from ganrepro.metrics.checkpoints import load_feature_cnn
from ganrepro.metrics.extractors import CNN_EXTRACTOR_NAME, INCEPTION_EXTRACTOR_NAME, register_extractors, resolve_extractor
from ganrepro.metrics.feature_cnn import FeatureCNN
from ganrepro.metrics.fidelity import compute_fidelity, load_real, metric_names
from ganrepro.metrics.names import count_tag, metric_name, parse_metric_name
from ganrepro.metrics.modes import (
    DigitClassifier,
    classify_stacked,
    compute_modes,
    load_digit_classifier,
    mode_stats,
    train_digit_classifier,
)
from ganrepro.metrics.train_instruments import train_feature_extractor
from ganrepro.metrics.weights import resolve_inception_weights, resolve_vgg16_weights

__all__ = [
    "CNN_EXTRACTOR_NAME",
    "INCEPTION_EXTRACTOR_NAME",
    "FeatureCNN",
    "DigitClassifier",
    "classify_stacked",
    "compute_fidelity",
    "compute_modes",
    "count_tag",
    "load_digit_classifier",
    "load_feature_cnn",
    "load_real",
    "metric_names",
    "mode_stats",
    "register_extractors",
    "resolve_extractor",
    "resolve_inception_weights",
    "resolve_vgg16_weights",
    "train_digit_classifier",
    "train_feature_extractor",
]
