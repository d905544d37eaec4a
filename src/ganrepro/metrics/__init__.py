"""Metrics: torch-fidelity wrapper (FID/KID/precision-recall/IS), feature extractors, StackedMNIST modes.

Importing this package is cheap; torch-fidelity is imported on first use.
"""

from ganrepro.metrics.extractors import (
    CNN_EXTRACTOR_NAME,
    INCEPTION_EXTRACTOR_NAME,
    FeatureCNN,
    load_feature_cnn,
    register_extractors,
    resolve_extractor,
    resolve_inception_weights,
    resolve_vgg16_weights,
    train_feature_extractor,
)
from ganrepro.metrics.fidelity import compute_fidelity, count_tag, load_real, metric_names, save_metrics, to_uint8
from ganrepro.metrics.modes import (
    DigitClassifier,
    classify_stacked,
    compute_modes,
    load_digit_classifier,
    mode_stats,
    train_digit_classifier,
)

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
    "save_metrics",
    "train_digit_classifier",
    "to_uint8",
    "train_feature_extractor",
]
