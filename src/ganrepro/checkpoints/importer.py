"""``import_checkpoint``: an official snapshot -> the project's ``network.pt`` (G, D, G_ema), loadable by
``ganrepro evaluate`` exactly as a trained one, with provenance naming the source file and its hash."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import torch

from ganrepro.models import build_networks, get_family

from .mapping import CheckpointError, importer_rules, map_tensors
from .tree import module_tensors
from .unpickle import load_pickle, load_torch

# official key(s) of each network in a snapshot: stylegan2-ada / EpiGRAF / R3GAN pickles, CIPS .pt
NET_KEYS = {"G": ("G", "g"), "D": ("D", "d"), "G_ema": ("G_ema", "g_ema")}


def read_snapshot(path: Path) -> dict:
    """The snapshot's top-level dict, read without running code (.pkl: pickle; .pt/.pth: torch.save)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: put the released file there (no download is "
                              "made; params/checkpoints.yaml lists where each release comes from)")
    obj = load_pickle(path) if path.suffix == ".pkl" else load_torch(path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict of networks (G, D, G_ema or g, d, g_ema), got "
                              f"{type(obj).__name__}: not an official snapshot")
    return obj


def official_networks(snapshot: dict, path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """{G, D, G_ema: {official tensor name: tensor}}."""
    out = {}
    for net, keys in NET_KEYS.items():
        key = next((k for k in keys if k in snapshot), None)
        if key is None:
            raise CheckpointError(f"{path}: no {' / '.join(keys)} network in the snapshot (it has "
                                  f"{sorted(map(str, snapshot))}): not an official GAN snapshot")
        out[net] = module_tensors(snapshot[key])
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_networks(path: Path, arch: dict, *, resolution: int, img_channels: int, num_classes: int):
    """(G, D, G_ema) of the project built from ``arch`` and filled with the snapshot's tensors."""
    path = Path(path)
    official = official_networks(read_snapshot(path), path)
    get_family(arch["family"])  # loads the family module, which registers its checkpoint names
    rules_for = importer_rules(arch["family"])
    G, D = build_networks(arch, resolution=resolution, img_channels=img_channels, num_classes=num_classes)
    nets = {"G": G, "D": D, "G_ema": copy.deepcopy(G)}
    for name, target in nets.items():
        rules = rules_for("D" if name == "D" else "G", target)
        rules, keep = rules if isinstance(rules, tuple) else (rules, set())
        state = map_tensors(official[name], rules, target, f"{path.name}: {name}", keep)
        target.load_state_dict(state)
    return nets["G"], nets["D"], nets["G_ema"]


def write_network(out: Path, nets: tuple, *, cfg: dict, resolution: int, img_channels: int, num_classes: int,
                  source: Path) -> dict:
    """Save ``network.pt`` as training does (``training/loop.py: save_network``) plus the import provenance."""
    G, D, G_ema = nets
    provenance = {"imported_from": str(source), "sha256": sha256(source), "format": source.suffix}
    payload = {"G_ema": G_ema.state_dict(), "G": G.state_dict(), "D": D.state_dict(), "arch": cfg["model"],
               "objective": cfg["objective"], "resolution": resolution, "img_channels": img_channels,
               "num_classes": num_classes, "status": "imported", "config": cfg, "provenance": provenance}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, out)
    return provenance
