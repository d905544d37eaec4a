"""How often a class-conditional generator draws the class it was asked for.

The pipeline's feature CNN is trained to classify the procedural shapes that stand in for the
conditional datasets (CIFAR-10, ImageNet), with the same generator and class definitions as the
stand-ins, so at small scales it can also read the class of a fake. The metric name says which
classifier read it (``class_acc2k-cnn_shapes16``, metrics/names.py): it is NOT a paper metric, it is evidence that
conditioning was learned.
"""

from __future__ import annotations

import numpy as np
import torch

from ..provenance import provenance
from .checkpoints import load_feature_cnn
from .images import as_uint8_images
from .names import metric_name


@torch.no_grad()
def class_accuracy(images_uint8, labels: np.ndarray, classifier_path: str, *, tag: str, seed: int | None = None,
                   batch: int = 500) -> dict:
    """``{"class_acc<N>-<tag>": entry}``: fraction of fakes whose predicted class is the conditioning label."""
    model, meta = load_feature_cnn(classifier_path)
    x = as_uint8_images(images_uint8)
    preds = []
    for i in range(0, len(x), batch):
        preds.append(model(model.prepare(x[i:i + batch])).argmax(dim=1).cpu().numpy())
    pred = np.concatenate(preds)
    labels = np.asarray(labels)
    acc = float((pred == labels).mean())
    chance = 1.0 / max(1, len(np.unique(labels)))
    return {metric_name("class_acc", int(len(labels)), tag): {
        "value": acc, "metric": "class_acc", "num_fake": int(len(labels)), "chance": chance, "seed": seed,
        "extractor": {"name": "feature-cnn classifier", "tag": tag,
                      "meta": {k: meta[k] for k in ("dataset", "resolution", "heldout_accuracy") if k in meta}},
        "provenance": provenance(seeds={"class_acc": seed}),
    }}
