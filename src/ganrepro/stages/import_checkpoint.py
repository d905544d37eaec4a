"""``ganrepro import-checkpoint``: an official snapshot -> the project's ``network.pt`` for an experiment.

The experiment (at ``--scale``, normally ``paper``) says which network the checkpoint must fill; the
model overrides of ``params/checkpoints.yaml`` (``model:``, e.g. CIPS's z 512 where the multi-stage
paper's text says 128) are applied on top. The written file loads like a trained one
(``training/loop.py: load_generator``).
"""

from __future__ import annotations

from pathlib import Path

from ganrepro.checkpoints.importer import import_networks, write_network
from ganrepro.config import resolve_run


def import_checkpoint(path: str, *, paper: str, experiment: str, scale: str, out: str,
                      model_overrides: dict | None = None) -> dict:
    """Import ``path`` for ``paper/experiment`` at ``scale``; returns the provenance written."""
    cfg = resolve_run(paper, experiment, scale)
    cfg["model"] = {**cfg["model"], **(model_overrides or {})}
    ds = cfg["dataset"]
    size = dict(resolution=ds["resolution"], img_channels=ds["channels"], num_classes=ds["num_classes"])
    nets = import_networks(Path(path), cfg["model"], **size)
    return write_network(Path(out), nets, cfg=cfg, source=Path(path), **size)
