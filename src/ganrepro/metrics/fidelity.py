"""FID / KID / precision-recall (/ IS) through torch-fidelity, with protocol-encoding metric names.

:func:`compute_fidelity` compares generated uint8 images with a real set (an archive directory or a uint8
array) and returns ``{metric_name: entry}``. Names follow StyleGAN2-ADA, with the feature extractor's tag
instead of an implicit Inception:

=====================================  ==============================================================
``fid{N}_full-{tag}``                  FID, N generated images vs the whole real set
``kid{N}_full-{tag}``                  KID (polynomial kernel, subsets of min(1000, N, M))
``precision{N}_k3-{tag}``              improved precision (Kynkaanniemi et al.), k = 3 neighbours
``recall{N}_k3-{tag}``                 improved recall, k = 3
``is{N}-{tag}``                        Inception Score (10 splits) of the generated images
=====================================  ==============================================================

``N`` is written ``2k`` / ``50k`` for multiples of 1000, else as the plain count. When only ``M`` of the
real images are used (``num_real`` below the set size) the real part reads ``_r{M}`` instead of ``_full``
(``fid2k_r5k-shapes_cnn``, ``precision2k_k3_r5k-shapes_cnn``): a name never claims more than was measured.

Real-set features/statistics are cached by torch-fidelity under ``cache_dir``; the cache entry name
(``input2_cache_name``) encodes dataset, resolution, count and extractor plus a hash of every option
that changes the numbers (real-set identity, subset, extractor weights sha256, feature layers, versions).
A ``<entry>.json`` beside the cache files spells the key out.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ganrepro.errors import DatasetError
from ganrepro.metrics.bootstrap import FID_BOOTSTRAP, bootstrap_fid
from ganrepro.metrics.extractors import register_extractors, resolve_extractor
from ganrepro.metrics.fidelity_features import calculate_metrics_with_features
from ganrepro.metrics.names import count_tag, metric_name
from ganrepro.provenance import provenance
from ganrepro.utils_io import write_json

METRICS = ("fid", "kid", "pr", "is")
CACHE_FORMAT = 1
PR_NEIGHBORHOOD = 3


# --------------------------------------------------------------------------------------------------
# metric names


def metric_names(
    kind: str, *, num_fake: int, tag: str, num_real: int | None = None, real_total: int | None = None
) -> list[str]:
    """The metric name(s) ``kind`` produces ('pr' gives two). ``num_real < real_total`` marks a real subset."""
    subset = num_real is not None and real_total is not None and num_real < real_total
    real = f"r{count_tag(num_real)}" if subset else "full"
    if kind in ("fid", "kid"):
        return [metric_name(kind, num_fake, tag, real)]
    if kind == "pr":
        return [metric_name(k, num_fake, tag, f"k{PR_NEIGHBORHOOD}", real if subset else "")
                for k in ("precision", "recall")]
    if kind == "is":
        return [metric_name("is", num_fake, tag)]
    raise ValueError(f"unknown metric kind {kind!r}; use one of {METRICS}")


# --------------------------------------------------------------------------------------------------
# inputs


class UInt8Images(Dataset):
    """torch Dataset over uint8 ``[N, C, H, W]`` (array, memmap or tensor): item = uint8 ``[3, H, W]``."""

    def __init__(self, images: Any, indices: np.ndarray | None = None):
        if torch.is_tensor(images):
            images = images.detach().cpu().numpy()
        ok = isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
        if not ok or images.shape[1] not in (1, 3):
            shape = getattr(images, "shape", None)
            raise DatasetError(
                f"expected uint8 images [N, 1|3, H, W], got {type(images).__name__} "
                f"dtype {getattr(images, 'dtype', None)} shape {shape}"
            )
        self.images = images
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices) if self.indices is not None else len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        j = int(self.indices[i]) if self.indices is not None else int(i)
        x = torch.from_numpy(np.array(self.images[j], copy=True))
        return x.expand(3, -1, -1).contiguous() if x.shape[0] == 1 else x


class _FirstN(Dataset):
    """First ``n`` items of a Dataset returning uint8 CHW tensors, grayscale repeated to RGB."""

    def __init__(self, ds: Dataset, n: int):
        self.ds, self.n = ds, int(n)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        if i >= self.n:
            raise IndexError(i)
        x = self.ds[i]
        if not torch.is_tensor(x) or x.dtype != torch.uint8 or x.dim() != 3 or x.shape[0] not in (1, 3):
            raise DatasetError(f"fake Dataset items must be uint8 [1|3, H, W] tensors, got {getattr(x, 'shape', x)}")
        return x.expand(3, -1, -1).contiguous() if x.shape[0] == 1 else x


def _fake_dataset(fake: Any, num_fake: int | None) -> Dataset:
    if isinstance(fake, Dataset) and not isinstance(fake, UInt8Images):
        n = len(fake) if num_fake is None else int(num_fake)
        if n > len(fake):
            raise DatasetError(f"asked for {num_fake} generated images but the Dataset holds {len(fake)}")
        return _FirstN(fake, n)
    ds = fake if isinstance(fake, UInt8Images) else UInt8Images(fake)
    if num_fake is not None:
        if num_fake > len(ds):
            raise DatasetError(f"asked for {num_fake} generated images but got {len(ds)}")
        ds = UInt8Images(ds.images, np.arange(int(num_fake)) if ds.indices is None else ds.indices[: int(num_fake)])
    return ds


def _array_sha256(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype}{a.shape}".encode())
    flat = np.ascontiguousarray(a).reshape(-1)
    step = 1 << 24
    for i in range(0, flat.size, step):
        h.update(memoryview(flat[i : i + step]))
    return h.hexdigest()


def load_real(real: Any, *, verify: bool = False) -> dict:
    """Real set -> ``{"images", "dataset", "identity", "manifest", "path"}``.

    ``real``: an archive directory (``ganrepro.data.archive.open_archive``; ``verify`` re-checks file
    hashes), an opened ``Archive``, a uint8 array ``[N, C, H, W]``, or ``{"images", "dataset"?,
    "identity"?}``. An archive's identity is its manifest's images sha256 (no re-hashing); an array's is
    the sha256 of its bytes.
    """
    if isinstance(real, (str, os.PathLike)):
        from ganrepro.data.archive import open_archive

        real = open_archive(real, verify=verify)
    if hasattr(real, "images") and hasattr(real, "manifest"):  # ganrepro.data.archive.Archive
        manifest = real.manifest
        ds = UInt8Images(real.images)
        sha = (manifest.get("arrays", {}).get("images", {}) or {}).get("sha256")
        identity = f"npy-sha256:{sha}" if sha else f"array-sha256:{_array_sha256(ds.images)}"
        return {"images": ds.images, "dataset": str(manifest.get("dataset", "archive")), "identity": identity,
                "manifest": manifest, "path": str(getattr(real, "path", ""))}
    if isinstance(real, Mapping) and "images" in real:
        ds = UInt8Images(real["images"])
        return {"images": ds.images, "dataset": str(real.get("dataset", "array")),
                "identity": real.get("identity") or f"array-sha256:{_array_sha256(ds.images)}",
                "manifest": real.get("manifest"), "path": None}
    ds = UInt8Images(real)
    return {"images": ds.images, "dataset": "array", "identity": f"array-sha256:{_array_sha256(ds.images)}",
            "manifest": None, "path": None}


# --------------------------------------------------------------------------------------------------
# caching


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", s).strip("_") or "x"


def real_cache_key(
    real: dict, extractor: dict, *, num_real: int, subset_seed: int | None, layers: Iterable[str]
) -> dict:
    """Every option that changes the real-set features/statistics."""
    import torch_fidelity

    c, h, w = (int(v) for v in real["images"].shape[1:])
    return {
        "format": CACHE_FORMAT,
        "real": real["identity"],
        "real_total": int(len(real["images"])),
        "real_chw": [c, h, w],
        "num_real": int(num_real),
        "subset_seed": subset_seed,
        "to_rgb": "repeat" if c == 1 else "none",
        "extractor": extractor["name"],
        "weights_sha256": extractor["weights_sha256"],
        "layers": sorted(set(layers)),
        "torch_fidelity": torch_fidelity.__version__,
    }


def real_cache_name(real: dict, extractor: dict, key: dict) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    h = real["images"].shape[-1]
    return f"real-{_slug(real['dataset'])}-{h}px-n{key['num_real']}-{_slug(extractor['tag'])}-{digest}"


def _cache_files(cache_dir: Path, name: str, fe_name: str, layers: dict, kinds: Sequence[str]) -> list[Path]:
    """Files torch-fidelity reads/writes for input2 (see torch_fidelity.utils / metric_fid): the features of
    every layer asked for (also for FID alone: its bootstrap resamples them), and the FID statistics."""
    if not any(k in kinds for k in ("fid", "kid", "pr")):
        return []
    feat_layers = {layers[k] for k in kinds}
    files = [cache_dir / f"{name}-{fe_name}-features-{layer}.pt" for layer in sorted(feat_layers)]
    return files + ([cache_dir / f"{name}-{fe_name}-stat-fid-{layers['fid']}.pt"] if "fid" in kinds else [])


# --------------------------------------------------------------------------------------------------
# main entry point


def compute_fidelity(
    fake_uint8: Any,
    real_archive_or_array: Any,
    *,
    extractor: Mapping[str, Any] | str,
    metrics: Sequence[str] = ("fid", "kid", "pr"),
    num_fake: int | None = None,
    num_real: int | None = None,
    cache_dir: str | os.PathLike,
    seed: int = 0,
    pr_extractor: Mapping[str, Any] | str | None = None,
    real_subset_seed: int = 0,
    verify_real: bool = False,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    device: str | None = None,
    batch_size: int | None = None,
    verbose: bool = False,
    fid_bootstrap: int = FID_BOOTSTRAP,
) -> dict:
    """Compare generated images with a real set; returns ``{metric_name: entry}`` (see module docstring).

    fake_uint8: uint8 ``[N, C, H, W]`` array/tensor, or a torch Dataset of uint8 ``[C, H, W]`` tensors.
    real_archive_or_array: archive directory / ``Archive`` / uint8 array / ``{"images", "dataset", "identity"}``
      (see :func:`load_real`; ``verify_real`` re-hashes an archive's files).
    extractor: spec for :func:`~ganrepro.metrics.extractors.resolve_extractor` (``{"name": "cnn",
      "weights": ckpt}`` or ``{"name": "inception", "weights": None}``); ``pr_extractor`` optionally gives
      precision/recall another one (e.g. VGG16 as StyleGAN2-ADA does) - computed in a separate call.
    num_fake: use the first ``num_fake`` generated images (default: all).
    num_real: use a seeded subset (``real_subset_seed``) of that many real images (default: all).
    seed: torch-fidelity ``rng_seed`` (KID subset sampling) and the FID bootstrap's seed; recorded in every entry.
    fid_bootstrap: replicates of the FID's bootstrap interval over the evaluation samples (0: none).
    Each entry: ``value``, ``metric``, ``extractor``, ``num_fake``, ``num_real``, ``real_total``,
    ``real_dataset``, ``real_identity``, ``seed``, ``protocol``, ``cache``, ``seconds``, ``provenance``; an FID
    entry also ``ci95`` ``[lo, hi]``, ``std``, ``bias`` and ``bootstrap`` (``metrics/bootstrap.py``).
    """
    import torch_fidelity

    kinds = [m.lower() for m in metrics]
    bad = [m for m in kinds if m not in METRICS]
    if bad or not kinds:
        raise ValueError(f"unknown metrics {bad or metrics}; choose from {METRICS}")
    register_extractors()
    main_fe = resolve_extractor(extractor)
    pr_fe = resolve_extractor(pr_extractor) if pr_extractor is not None and "pr" in kinds else main_fe

    fake_ds = _fake_dataset(fake_uint8, num_fake)
    n_fake = len(fake_ds)
    real = load_real(real_archive_or_array, verify=verify_real)
    real_total = len(real["images"])
    n_real = real_total if num_real is None else int(num_real)
    if not 0 < n_real <= real_total:
        raise DatasetError(f"asked for {num_real} real images but the real set holds {real_total}")
    subset_seed = None if n_real == real_total else int(real_subset_seed)
    indices = None
    if subset_seed is not None:
        indices = np.sort(np.random.default_rng(subset_seed).choice(real_total, n_real, replace=False))
    real_ds = UInt8Images(real["images"], indices)
    if ("pr" in kinds) and min(n_fake, n_real) <= PR_NEIGHBORHOOD:
        raise DatasetError(f"precision/recall with k={PR_NEIGHBORHOOD} needs > {PR_NEIGHBORHOOD} images per side")
    if any(k in kinds for k in ("fid", "kid")) and min(n_fake, n_real) < 2:
        raise DatasetError("FID/KID need at least 2 images per side")

    cuda = torch.cuda.is_available() if device is None else str(device).startswith("cuda")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    subset_size = int(min(kid_subset_size, n_fake, n_real))

    # one torch-fidelity call per (extractor, unary/binary): one weights path per call, and IS (generated
    # images only) kept apart so that the real-set cache entry does not depend on whether IS was asked for
    groups: dict[tuple[int, bool], tuple[dict, list[str]]] = {}
    for kind in kinds:
        fe = pr_fe if kind == "pr" else main_fe
        groups.setdefault((id(fe), kind == "is"), (fe, []))[1].append(kind)

    prov = provenance(seeds={"fidelity": int(seed), "real_subset": subset_seed}, device="cuda" if cuda else "cpu")
    out: dict = {}
    for fe, g_kinds in groups.values():
        layers = fe["layers"]
        binary = [k for k in g_kinds if k != "is"]
        key = real_cache_key(real, fe, num_real=n_real, subset_seed=subset_seed, layers=[layers[k] for k in g_kinds])
        cache_name = real_cache_name(real, fe, key)
        expected = _cache_files(cache_dir, cache_name, fe["name"], layers, g_kinds)
        hit = bool(expected) and all(p.exists() for p in expected)
        kwargs = dict(
            input1=fake_ds,
            input2=real_ds if binary else None,
            cuda=cuda,
            batch_size=int(batch_size or (256 if fe["name"] == "ganrepro-cnn" else 64)),
            fid="fid" in g_kinds,
            kid="kid" in g_kinds,
            prc="pr" in g_kinds,
            isc="is" in g_kinds,
            feature_extractor=fe["name"],
            feature_extractor_weights_path=fe["weights"],
            feature_layer_fid=layers["fid"],
            feature_layer_kid=layers["kid"],
            feature_layer_prc=layers["pr"],
            feature_layer_isc=layers["is"],
            kid_subsets=int(kid_subsets),
            kid_subset_size=subset_size,
            prc_neighborhood=PR_NEIGHBORHOOD,
            isc_splits=10,
            cache=True,
            cache_root=str(cache_dir),
            input2_cache_name=cache_name if binary else None,
            rng_seed=int(seed),
            save_cpu_ram=True,
            verbose=bool(verbose),
        )
        t0 = time.perf_counter()
        res, feats_fake, feats_real = calculate_metrics_with_features(**kwargs)
        seconds = round(time.perf_counter() - t0, 3)
        noise = {}
        if "fid" in g_kinds and fid_bootstrap > 0:
            noise = bootstrap_fid(feats_fake[layers["fid"]], feats_real[layers["fid"]], B=fid_bootstrap,
                                  seed=int(seed), device="cuda" if cuda else "cpu")
        if binary:
            sidecar = {"name": cache_name, "key": key, "files": [p.name for p in expected]}
            write_json(cache_dir / f"{cache_name}.json", sidecar)

        fe_info = {k: fe[k] for k in ("name", "tag", "weights", "weights_sha256", "meta")}
        base = {
            "num_fake": n_fake,
            "num_real": n_real,
            "real_total": real_total,
            "real_dataset": real["dataset"],
            "real_identity": real["identity"],
            "real_subset_seed": subset_seed,
            "seed": int(seed),
            "cache": {"dir": str(cache_dir), "name": cache_name if binary else None, "hit": hit},
            "seconds": seconds,
            "provenance": prov,
        }
        for kind in g_kinds:
            names = metric_names(kind, num_fake=n_fake, tag=fe["tag"], num_real=n_real, real_total=real_total)
            ext = {**fe_info, "layer": layers[kind]}
            if kind == "fid":
                out[names[0]] = {"value": float(res[torch_fidelity.KEY_METRIC_FID]), "metric": "fid", "extractor": ext,
                                 "protocol": {}, **base, **noise}
            elif kind == "kid":
                out[names[0]] = {"value": float(res[torch_fidelity.KEY_METRIC_KID_MEAN]), "metric": "kid",
                                 "std": float(res[torch_fidelity.KEY_METRIC_KID_STD]), "extractor": ext,
                                 "protocol": {"kernel": "poly3", "subsets": int(kid_subsets),
                                              "subset_size": subset_size},
                                 **base}
            elif kind == "pr":
                proto = {"k": PR_NEIGHBORHOOD, "f_score": float(res[torch_fidelity.KEY_METRIC_F_SCORE])}
                out[names[0]] = {"value": float(res[torch_fidelity.KEY_METRIC_PRECISION]), "metric": "precision",
                                 "extractor": ext, "protocol": proto, **base}
                out[names[1]] = {"value": float(res[torch_fidelity.KEY_METRIC_RECALL]), "metric": "recall",
                                 "extractor": ext, "protocol": proto, **base}
            else:
                out[names[0]] = {"value": float(res[torch_fidelity.KEY_METRIC_ISC_MEAN]), "metric": "is",
                                 "std": float(res[torch_fidelity.KEY_METRIC_ISC_STD]), "extractor": ext,
                                 "protocol": {"splits": 10}, **{**base, "num_real": None, "cache": None}}
    return out

