"""Named resize filters and cropping (PIL), shared by the embedded and real preparers."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganrepro.errors import DatasetError

FILTERS = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "box": Image.Resampling.BOX,
    "nearest": Image.Resampling.NEAREST,
}
CROPS = ("center", "stretch")


def check_filter(name: str) -> int:
    try:
        return FILTERS[name]
    except KeyError:
        raise DatasetError(f"unknown resize_filter {name!r}; use one of {sorted(FILTERS)}") from None


def check_crop(crop: str) -> str:
    if crop not in CROPS:
        raise DatasetError(f"unknown crop {crop!r}; use one of {list(CROPS)} "
                           "(center: crop the largest centred square; stretch: resize without cropping)")
    return crop


def center_square(img: Image.Image) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.crop((left, top, left + s, top + s))


def resize_pil(img: Image.Image, resolution: int, resize_filter: str = "lanczos",
               crop: str = "center") -> Image.Image:
    """Square ``resolution`` x ``resolution`` image: optional centre crop, then the named filter."""
    flt = check_filter(resize_filter)
    if check_crop(crop) == "center":
        img = center_square(img)
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), flt)
    return img


def resize_uint8(images: np.ndarray, resolution: int, resize_filter: str = "lanczos") -> np.ndarray:
    """uint8 [N, C, H, W] (C in 1, 3, H == W) -> uint8 [N, C, resolution, resolution]."""
    n, c, h, w = images.shape
    if (h, w) == (resolution, resolution):
        return images
    flt = check_filter(resize_filter)
    out = np.empty((n, c, resolution, resolution), dtype=np.uint8)
    for i in range(n):
        hwc = images[i].transpose(1, 2, 0)
        img = Image.fromarray(np.ascontiguousarray(hwc[:, :, 0] if c == 1 else hwc))  # L or RGB
        arr = np.asarray(img.resize((resolution, resolution), flt))
        out[i] = arr[None] if c == 1 else arr.transpose(2, 0, 1)
    return out


def resize_float(images: np.ndarray, resolution: int, resize_filter: str = "bilinear") -> np.ndarray:
    """float32 [N, H, W] single-channel images -> float32 [N, resolution, resolution] (PIL mode F)."""
    flt = check_filter(resize_filter)
    out = np.empty((images.shape[0], resolution, resolution), dtype=np.float32)
    for i, im in enumerate(images.astype(np.float32, copy=False)):
        out[i] = np.asarray(Image.fromarray(im).resize((resolution, resolution), flt))
    return out
