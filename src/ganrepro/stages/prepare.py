"""Stage: build the prepared datasets and the pipeline's own measuring instruments."""

from __future__ import annotations

from pathlib import Path

from .. import data
from ..config import dataset_config, instrument_paths, load_params
from ..config.plugins import import_all_papers
from ..data.embedded.shapes import make_shapes
from ..data.embedded.stacked_digits import digit_images
from ..metrics.extractors import train_feature_extractor
from ..metrics.modes import train_digit_classifier


def prepare_dataset(key: str, scale: str) -> Path:
    cfg = dataset_config(key, scale)
    import_all_papers()  # a paper's stand-in generator registers from its own modules
    spec = dict(cfg["spec"], dataset=key)
    data.prepare(spec, cfg["path"])
    return Path(cfg["path"])


def train_extractor(scale: str) -> Path:
    """The stand-in feature extractor: a CNN trained on held-out procedural shapes' labels.

    Used for FID/KID/precision/recall at scales whose data are embedded stand-ins; its metric names
    say so (`...-cnn_shapes16`), never plain Inception FID.
    """
    params = load_params()
    sc = params.scale(scale)
    inst = params.instruments["extractor"]
    paths = instrument_paths(scale)
    gen = make_shapes(count=sc["dataset"]["extractor_count"], resolution=sc["resolution"],
                      seed=inst["seed"], num_classes=inst["num_classes"])
    train_feature_extractor(gen.images, gen.labels, seed=inst["seed"], epochs=sc["extractor"]["epochs"],
                            out_path=paths["feature_cnn"], dataset="shapes",
                            tag=f"cnn_shapes{sc['resolution']}", num_classes=inst["num_classes"],
                            width=sc["extractor"].get("width", 32))
    return Path(paths["feature_cnn"])


def train_digits(scale: str) -> Path:
    """The StackedMNIST mode-counting classifier: a small MNIST-style CNN on single digits."""
    params = load_params()
    sc = params.scale(scale)
    resolution = min(32, sc["resolution"] or 32)
    images, labels = digit_images(resolution, split="train")
    out = instrument_paths(scale)["digit_cnn"]
    train_digit_classifier(images, labels, seed=0, epochs=sc["digit_classifier"]["epochs"], out_path=out,
                           dataset="sklearn_digits", tag=f"digits{resolution}")
    return Path(out)
