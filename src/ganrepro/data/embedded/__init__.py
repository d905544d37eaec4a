"""Offline, deterministic stand-in datasets generated inside the pipeline (no downloads)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ganrepro.data.archive import write_archive
from ganrepro.data.embedded.generated import Generated
from ganrepro.data.embedded.shapes import make_shapes
from ganrepro.data.embedded.stacked_digits import digit_images, make_stacked_digits
from ganrepro.errors import DatasetError
from ganrepro.standins import GENERATORS, lookup, register_generator

# name -> generator(*, count, resolution, seed, num_classes) -> Generated: the registry of ganrepro.standins,
# where the shared ones register here and a paper's own from its package or a module its params list.
EMBEDDED: dict[str, Callable[..., Generated]] = GENERATORS
register_generator("stacked_digits", make_stacked_digits, shared=True)
register_generator("shapes", make_shapes, shared=True)


def generate(name: str, *, resolution: int, count: int, seed: int, num_classes: int | None = None) -> Generated:
    """Run one embedded generator in memory (no archive)."""
    gen = lookup(name)
    if int(count) < 1:
        raise DatasetError(f"embedded generator {name!r}: count must be >= 1, got {count}")
    kwargs: dict[str, Any] = {"count": int(count), "resolution": int(resolution), "seed": int(seed)}
    if num_classes is not None:
        kwargs["num_classes"] = int(num_classes)
    return gen(**kwargs)


def make_embedded(name: str, out_dir: str | os.PathLike, *, resolution: int, count: int,
                  num_classes: int | None = None, seed: int = 0, standin_for: str | None = None,
                  dataset: str | None = None, meta: dict | None = None) -> Path:
    """Generate ``count`` images with generator ``name`` and write them as an archive at ``out_dir``."""
    out = generate(name, resolution=resolution, count=count, seed=seed, num_classes=num_classes)
    return write_archive(out_dir, out.images, out.labels, dataset=dataset or Path(out_dir).name,
                         source=f"embedded:{name}", standin_for=standin_for, resize_filter=out.resize_filter,
                         extra_arrays=out.extra_arrays, meta={**out.meta, "seed": int(seed), **(meta or {})},
                         num_classes=out.num_classes)


__all__ = ["EMBEDDED", "Generated", "digit_images", "generate", "make_embedded", "make_shapes",
           "make_stacked_digits"]
