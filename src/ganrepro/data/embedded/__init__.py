"""Offline, deterministic stand-in datasets generated inside the pipeline (no downloads)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ganrepro.data.archive import write_archive
from ganrepro.data.embedded.generated import Generated
from ganrepro.data.embedded.inr_standins import make_animals, make_churches, make_faces
from ganrepro.data.embedded.objects3d import make_cats3d, make_food3d, make_heads3d, make_plants3d
from ganrepro.data.embedded.rooms2d import make_rooms2d
from ganrepro.data.embedded.shapes import make_shapes
from ganrepro.data.embedded.stacked_digits import digit_images, make_stacked_digits
from ganrepro.errors import DatasetError

# name -> generator(*, count, resolution, seed, num_classes) -> Generated
EMBEDDED: dict[str, Callable[..., Generated]] = {
    "stacked_digits": make_stacked_digits,
    "shapes": make_shapes,
    # EpiGRAF: rendered from 3D geometry at known cameras (poses.npy per image), and a 2D room stand-in
    "plants3d": make_plants3d,
    "food3d": make_food3d,
    "heads3d": make_heads3d,
    "cats3d": make_cats3d,
    "rooms2d": make_rooms2d,
    # Multi-stage INR training: fine-detailed stand-ins for FFHQ, LSUN Church, AFHQ
    "faces": make_faces,
    "churches": make_churches,
    "animals": make_animals,
}


def register_generator(name: str, generator: Callable[..., Generated]) -> None:
    """A paper's own stand-in generator, registered from its module (``modules:`` in its params file)."""
    if name in EMBEDDED and EMBEDDED[name] is not generator:
        raise DatasetError(f"embedded generator {name!r} is registered twice ({EMBEDDED[name].__module__} and "
                           f"{generator.__module__}); give one of them another name")
    EMBEDDED[name] = generator


def _lookup(name: str) -> Callable[..., Generated]:
    """The generator ``name``: built in, or registered by a module some paper's params list (imported here)."""
    if name not in EMBEDDED:
        from ganrepro.config.load import load_params
        from ganrepro.objectives import import_modules

        for reg in load_params().experiments.values():
            import_modules(reg.get("modules", []))
    if name not in EMBEDDED:
        raise DatasetError(f"unknown embedded generator {name!r}; use one of {sorted(EMBEDDED)}, or register it "
                           "with ganrepro.data.embedded.register_generator() in a module your params list under `modules:`")
    return EMBEDDED[name]


def generate(name: str, *, resolution: int, count: int, seed: int, num_classes: int | None = None) -> Generated:
    """Run one embedded generator in memory (no archive)."""
    gen = _lookup(name)
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
           "make_stacked_digits", "register_generator"]
