"""Image folder or zip with camera poses -> archive (stylegan2-ada / EpiGRAF ``dataset.json`` format).

``dataset.json`` at the root holds optional per-image fields keyed by the image's path relative to
the root (extension stripped when matched, as the reference does), each a list of [path, value]
pairs or a {path: value} mapping:
- ``labels``: int class index per image (or null for unlabelled);
- ``camera_angles``: [yaw, pitch, roll] in radians per image (roll 0), the reference's convention
  (yaw 0 = frontal, pitch pi/2 = equator).
Poses are REQUIRED: without them the reference silently trains on all-zero yaw and learns flat
geometry, so a missing field, a missing image entry or all-identical poses raise DatasetError.
Poses are stored as the archive's ``poses.npy`` ([N, 3] float32), checksummed like the images.
Mirroring (dataset x-flips) negates yaw: ``mirror_poses``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ganrepro.data.archive import ArchiveWriter
from ganrepro.data.real.common import label_policy, subset_indices
from ganrepro.data.real.image_folder import ImageSource, decode_image
from ganrepro.data.resize import check_crop, check_filter
from ganrepro.errors import DatasetError

POSE_FIX = ("add a `camera_angles` entry [yaw, pitch, roll] (radians) for every image to dataset.json "
            "(e.g. estimated as in GRAM / EpiGRAF's data scripts)")


def mirror_poses(poses: np.ndarray) -> np.ndarray:
    """Poses of horizontally flipped images: yaw (column 0) negated, the rest unchanged."""
    out = np.array(poses, copy=True)
    out[..., 0] = -out[..., 0]
    return out


def _stem(name: str) -> str:
    return str(PurePosixPath(name).with_suffix(""))


def _field(table: Any, field: str, where: str) -> dict[str, Any] | None:
    values = table.get(field)
    if values is None:
        return None
    try:
        pairs = values.items() if isinstance(values, dict) else [(k, v) for k, v in values]
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: `{field}` must be a list of [path, value] pairs or a mapping") from None
    mapping = {_stem(str(k)): v for k, v in pairs}
    if len(mapping) != len(pairs):
        raise DatasetError(f"{where}: `{field}` names some image twice (paths are matched without extension)")
    return mapping


def read_dataset_json(src: ImageSource) -> tuple[np.ndarray | None, np.ndarray]:
    """(labels int64 [N] or None, poses float32 [N, 3]) aligned with ``src.images``."""
    where = src.display("dataset.json")
    if "dataset.json" not in src.all_names:
        raise DatasetError(f"{where}: not found; a 3D-aware GAN needs camera poses: {POSE_FIX}")
    try:
        table = json.loads(src.read("dataset.json"))
        if not isinstance(table, dict):
            raise ValueError("top level is not an object")
    except ValueError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc}); fix it") from None
    stems = [_stem(n) for n in src.images]
    cams = _field(table, "camera_angles", where)
    if cams is None:
        raise DatasetError(f"{where}: has no `camera_angles` field; {POSE_FIX}")
    missing = [n for n, s in zip(src.images, stems) if s not in cams]
    if missing:
        raise DatasetError(f"{where}: `camera_angles` has no entry for {len(missing)} images, e.g. {missing[0]!r}; "
                           f"{POSE_FIX}")
    try:
        poses = np.asarray([cams[s] for s in stems], dtype=np.float32)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: every `camera_angles` entry must be [yaw, pitch, roll] numbers") from None
    if poses.ndim != 2 or poses.shape[1] not in (2, 3) or not np.isfinite(poses).all():
        raise DatasetError(f"{where}: `camera_angles` entries must be finite [yaw, pitch, roll] triples, "
                           f"got shape {list(poses.shape)}")
    if poses.shape[1] == 2:
        poses = np.concatenate([poses, np.zeros_like(poses[:, :1])], axis=1)
    if len(poses) > 1 and np.ptp(poses[:, :2], axis=0).max() == 0:
        raise DatasetError(f"{where}: all {len(poses)} images have the same camera pose {poses[0].tolist()} "
                           f"(placeholder poses train flat geometry); {POSE_FIX}")
    labels = _field(table, "labels", where)
    if labels is None:
        return None, poses
    if any(s not in labels for s in stems):
        raise DatasetError(f"{where}: `labels` misses some images; add them or set \"labels\": null")
    values = [labels[s] for s in stems]
    if any(not isinstance(v, int) or v < 0 for v in values):
        raise DatasetError(f"{where}: labels must be non-negative integers (one class index per image)")
    return np.asarray(values, dtype=np.int64), poses


def read_camera_folder(path: str | os.PathLike, *, resolution: int, resize_filter: str = "lanczos",
                       crop: str = "center", count: int | None = None, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(images uint8 [N, 3, R, R], labels int64 [N] or None, poses float32 [N, 3]) of a folder or zip."""
    check_filter(resize_filter)
    check_crop(crop)
    src = ImageSource(path)
    try:
        labels, poses = read_dataset_json(src)
        pick = subset_indices(len(src.images), count, seed, str(src.path))
        images = np.stack([decode_image(src.read(src.images[i]), src.display(src.images[i]), resolution=resolution,
                                        resize_filter=resize_filter, crop=crop, channels=3) for i in pick])
        return images, (labels[pick] if labels is not None else None), poses[pick]
    finally:
        src.close()


def prepare_camera_folder(path: str | os.PathLike, out_dir: str | os.PathLike, *, resolution: int,
                          resize_filter: str = "lanczos", crop: str = "center", count: int | None = None,
                          seed: int = 0, num_classes: int | None = None, dataset: str | None = None,
                          standin_for: str | None = None, meta: dict[str, Any] | None = None) -> Path:
    """Write the archive (images, labels, poses) of an EpiGRAF-style image folder or zip."""
    images, labels, poses = read_camera_folder(path, resolution=resolution, resize_filter=resize_filter, crop=crop,
                                               count=count, seed=seed)
    found = int(labels.max()) + 1 if labels is not None else 0
    labels, n_cls = label_policy(labels, found, num_classes, str(path))
    with ArchiveWriter(out_dir) as writer:
        writer.put("images", images)
        if labels is not None:
            writer.put("labels", labels)
        writer.put("poses", poses)
        return writer.commit(dataset=dataset or Path(out_dir).name, source=f"camera_folder:{path}",
                             standin_for=standin_for, resize_filter=resize_filter, num_classes=n_cls,
                             meta={"files": len(images), "crop": crop, "pose_format": "yaw,pitch,roll (rad)",
                                   **(meta or {})})
