"""How much of the way from noise to the data a run went: the learning index.

    index = (ln FID_init - ln FID_run) / (ln FID_init - ln FID_real)

* ``FID_init``: the run's own generator at initialisation (its seed, its architecture, untrained),
  sampled and scored exactly as the trained one (same extractor, fakes, reals, seeds). A staged run that
  starts from a previous stage (``init_from``) is one training split in stages: its untrained end is
  the random initialisation too, so the index credits the whole chain;
* ``FID_real``: the ceiling, held-out real images scored against the training images with the same
  extractor and counts. Embedded stand-ins draw the held-out images from their generator with another
  seed (never seen in training). Real data (paper scale) has no held-out split: the index is not
  computed there (``applies``); ``heldout_images`` falls back to a training subset (``train-subset``)
  only when called directly.

0 is the untrained generator, 1 is as close to the data as real images are; the learning gate
(params ``learning_gates: index_min``) asks for at least 0.6 of every run the paper reports as trainable.
The ceiling depends only on the dataset and the protocol, so it is cached beside the real statistics.
``FID_init`` is cached there too, keyed by the untrained generator's weights, the config it is sampled and
scored under and the package's source code: runs that differ only after initialisation (Table 1's loss rows,
an ablation of D, the stages of a multi-stage run) share one untrained generator and measure it once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch

from ..data import open_archive
from ..data.embedded import generate
from ..metrics.fidelity import compute_fidelity
from ..paths import fidelity_cache
from ..provenance import package_versions
from ..training.loop import build, generator_sampler
from ..utils_io import atomic_write, ensure_writable_dir
from .eval_draw import EVAL_SEED, eval_labels, sample_images

HELDOUT_SEED_OFFSET = 7_919_000  # held-out stand-in images: the training set's seed plus this (disjoint draws)


def _fid(cfg: dict, images: np.ndarray, device) -> float:
    ev = cfg["eval"]
    out = compute_fidelity(images, cfg["dataset"]["path"], extractor=ev["extractor"], metrics=["fid"],
                           num_fake=len(images), num_real=ev["num_real"], seed=EVAL_SEED,
                           cache_dir=str(ensure_writable_dir(fidelity_cache(cfg["scale"]))), device=str(device),
                           fid_bootstrap=0)  # only the value is used
    return float(next(v["value"] for v in out.values() if v["metric"] == "fid"))


@torch.no_grad()
def init_fid(cfg: dict, device="cpu") -> tuple[float, bool]:
    """(FID of the run's generator as training builds it before step 0 (``training.loop.train``), whether
    it came from the cache): an identical untrained generator under an identical protocol is measured once."""
    archive = open_archive(cfg["dataset"]["path"])
    torch.manual_seed(cfg["seed"])  # exactly the draw `train` makes before `build`
    G = build(cfg, archive, torch.device(device)).G_ema.eval()
    cache = _init_cache_file(cfg, G, device)
    if cache.is_file():
        return float(json.loads(cache.read_text())["fid"]), True
    payload = {"objective": cfg["objective"], "config": cfg}
    num = cfg["eval"]["num_fake"]
    labels = eval_labels(archive, num, EVAL_SEED, cfg["dataset"]["num_classes"])
    images = sample_images(G, num, seed=EVAL_SEED, labels=labels, device=device,
                           sample=generator_sampler(G, payload))
    fid = _fid(cfg, images, device)
    atomic_write(cache, lambda tmp: Path(tmp).write_text(json.dumps({"fid": fid, "run": cfg.get("experiment")})))
    return fid, False


def _init_cache_file(cfg: dict, G: torch.nn.Module, device) -> Path:
    """Where ``init_fid`` keeps the FID of the untrained ``G`` under ``cfg``'s sampling and protocol."""
    weights = hashlib.sha256()
    for name, tensor in G.state_dict().items():
        weights.update(name.encode())
        weights.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    ds = cfg["dataset"]
    key = json.dumps({"weights": weights.hexdigest(), "objective": cfg["objective"], "model": cfg["model"],
                      "dataset": {k: ds.get(k) for k in ("path", "spec", "num_classes")},
                      "data_sha256": _file_sha(Path(ds["path"]) / "manifest.json"), "eval": cfg["eval"],
                      "weights_sha256": _file_sha(cfg["eval"]["extractor"].get("weights")),
                      "eval_seed": EVAL_SEED, "code": _source_sha(), "versions": package_versions(),
                      "device": _device_kind(device), "v": 1}, sort_keys=True, default=str)
    return Path(ensure_writable_dir(fidelity_cache(cfg["scale"]))) / (
        f"init-{ds['key']}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json")


def _device_kind(device) -> str:
    """``cpu``, or the CUDA device's name (another GPU model may round differently)."""
    device = torch.device(device)
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


@functools.cache
def _source_sha() -> str:
    """sha256 over the package's Python sources, read once per process (the code this process runs, not a
    checkout edited since it started): any code change measures the untrained generator again."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def heldout_images(cfg: dict) -> tuple[np.ndarray, str]:
    """(uint8 held-out real images, where they come from) for the ceiling, ``eval.num_fake`` of them."""
    num, ds = int(cfg["eval"]["num_fake"]), cfg["dataset"]
    spec = ds.get("spec", {})
    if spec.get("source") == "embedded":
        out = generate(spec["generator"], resolution=spec["resolution"], count=num,
                       seed=int(spec["seed"]) + HELDOUT_SEED_OFFSET, num_classes=spec.get("num_classes") or None)
        return out.images, f"held-out (embedded:{spec['generator']}, seed +{HELDOUT_SEED_OFFSET})"
    archive = open_archive(ds["path"])
    idx = np.sort(np.random.default_rng(HELDOUT_SEED_OFFSET).choice(len(archive), size=min(num, len(archive)),
                                                                   replace=False))
    return np.asarray(archive.images[idx]), "train-subset"


def ceiling_fid(cfg: dict, device="cpu") -> tuple[float, str]:
    """(FID of held-out real images against the training images, their source), cached per protocol."""
    ev, ds = cfg["eval"], cfg["dataset"]
    key = json.dumps({"spec": ds.get("spec"), "path": ds["path"], "extractor": ev["extractor"],
                      "weights_sha256": _file_sha(ev["extractor"].get("weights")),  # a retrained extractor
                      "data_sha256": _file_sha(Path(ds["path"]) / "manifest.json"),  # re-prepared data
                      "num_fake": ev["num_fake"], "num_real": ev["num_real"], "eval_seed": EVAL_SEED,
                      "heldout_seed_offset": HELDOUT_SEED_OFFSET, "v": 2}, sort_keys=True)
    cache = Path(ensure_writable_dir(fidelity_cache(cfg["scale"]))) / (
        f"ceiling-{ds['key']}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json")
    if cache.is_file():
        hit = json.loads(cache.read_text())
        return float(hit["fid"]), hit["source"]
    images, source = heldout_images(cfg)
    fid = _fid(cfg, images, device)
    atomic_write(cache, lambda tmp: Path(tmp).write_text(json.dumps({"fid": fid, "source": source, "key": key})))
    return fid, source


def _file_sha(path) -> str | None:
    """sha256 of a file's bytes (None when there is no such file, e.g. Inception's built-in weights)."""
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def applies(cfg: dict) -> bool:
    """The index needs held-out real images: embedded stand-ins have them (small scales); real datasets at
    paper scale have no held-out split (a training subset of 50k CIFAR-10 images is the training set)."""
    return cfg["dataset"].get("source") == "embedded"


def learning_index(fid_run: float, fid_init: float, fid_real: float) -> float:
    """The fraction of the log-FID gap closed (module docstring); nan when undefined."""
    if not all(math.isfinite(v) and v > 0 for v in (fid_run, fid_init, fid_real)) or fid_init <= fid_real:
        return math.nan
    return (math.log(fid_init) - math.log(fid_run)) / (math.log(fid_init) - math.log(fid_real))


def learning_record(cfg: dict, fid_run: float, fid_metric: str, device="cpu") -> dict:
    """What a run's metrics record stores: the index and both ends, with the FID protocol they share."""
    fid_init, cached = init_fid(cfg, device)
    fid_real, source = ceiling_fid(cfg, device)
    return {"index": learning_index(fid_run, fid_init, fid_real), "fid": fid_run, "fid_init": fid_init,
            "fid_init_cached": cached, "fid_real": fid_real, "real_source": source, "fid_metric": fid_metric}
