"""Pretrained weights files (Inception-v3 for FID, VGG16 for precision/recall): found on disk, never downloaded.

:func:`resolve_inception_weights` / :func:`resolve_vgg16_weights` return the file (given, or torch hub's
``$TORCH_HOME/hub/checkpoints/<file>``) after checking its sha256 prefix, or raise
:class:`~ganrepro.errors.WeightsError` naming the exact path to put the file at.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import torch

from ganrepro.errors import WeightsError

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILE
)
VGG16_WEIGHTS_FILE = "vgg16-397923af.pth"
VGG16_WEIGHTS_URL = "https://download.pytorch.org/models/" + VGG16_WEIGHTS_FILE


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (cached per resolved path, size and mtime)."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch hub keeps ``filename``: ``$TORCH_HOME/hub/checkpoints/filename``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def resolve_pretrained(
    weights: str | os.PathLike | None, filename: str, url: str, what: str, expected_sha_prefix: str
) -> Path:
    """``weights`` if given, else the hub path of ``filename``; checked to exist and to have a sha256
    starting with ``expected_sha_prefix``. Every :class:`WeightsError` says where to copy ``url`` to."""
    default = hub_checkpoint_path(filename)
    hint = (
        f"This machine cannot download it. Fetch {url} elsewhere and copy it to {default} "
        f"(i.e. $TORCH_HOME/hub/checkpoints/{filename}), or pass its path as the extractor's 'weights'. "
        "Without it, use the pipeline's own CNN extractor (params scale: extractor.kind: cnn)."
    )
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsError(f"{what} weights file {path} does not exist. {hint}")
    else:
        path = default
        if not path.is_file():
            raise WeightsError(f"{what} weights not found at {path}. {hint}")
    sha = file_sha256(path)
    if not sha.startswith(expected_sha_prefix):
        raise WeightsError(
            f"{what} weights {path} have sha256 {sha[:16]}..., expected a hash starting with "
            f"{expected_sha_prefix} ({filename}); the file is corrupt or a different model. {hint}"
        )
    return path


def resolve_inception_weights(weights: str | os.PathLike | None = None) -> Path:
    """The Inception-v3 (TF FID) weights: ``weights`` if given, else ``$TORCH_HOME/hub/checkpoints/...``.

    Raises :class:`WeightsError` naming the exact path to put the file at. Never downloads.
    """
    return resolve_pretrained(weights, INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_URL, "Inception-v3 (FID)", "6726825d")


def resolve_vgg16_weights(weights: str | os.PathLike | None = None) -> Path:
    """torchvision VGG16 ImageNet weights (for StyleGAN-style precision/recall); never downloads."""
    return resolve_pretrained(weights, VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_URL, "VGG16 (precision/recall)", "397923af")
