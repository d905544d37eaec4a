"""Resume across a stage boundary: stage 2 (initialised from stage 1, which it keeps as the frozen
teacher of L_patch) interrupted and resumed ends bit-identical to an uninterrupted stage 2."""

import numpy as np
import torch

from ganrepro.config import resolve_run
from ganrepro.data.archive import write_archive
from ganrepro.training.loop import train
from trainutil import StopAfter

PAPER = "inr_multistage"


def _cfg(tmp_path, experiment, run, *, kimg, init_from=None):
    cfg = resolve_run(PAPER, experiment, "tiny")
    res = cfg["dataset"]["resolution"]
    data = tmp_path / "data"
    if not data.exists():
        rng = np.random.default_rng(0)
        write_archive(data, rng.integers(0, 256, size=(32, 3, res, res), dtype=np.uint8), None,
                      dataset="random", source="test")
    cfg["dataset"]["path"] = str(data)
    d = tmp_path / run
    cfg["paths"] = {"run_dir": str(d), "network": str(d / "network.pt"), "result": str(d / "result.json"),
                    "metrics": str(d / "metrics.json")}
    cfg["train"].update(kimg=kimg, tick_kimg=cfg["train"]["batch"] * 2 / 1000, snapshot_ticks=1)
    if init_from is not None:
        cfg["init_from"] = {**cfg["init_from"], "network": str(tmp_path / init_from / "network.pt")}
    return cfg


def test_stage2_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    s1 = _cfg(tmp_path, "multistage-ffhq-s1", "s1", kimg=0.016)
    assert train(s1, progress=False)["status"] == "ok"
    batch = resolve_run(PAPER, "multistage-ffhq-s2", "tiny")["train"]["batch"]
    kimg = 8 * batch / 1000
    straight = _cfg(tmp_path, "multistage-ffhq-s2", "s2-straight", kimg=kimg, init_from="s1")
    assert train(straight, progress=False)["status"] == "ok"
    resumed = _cfg(tmp_path, "multistage-ffhq-s2", "s2-resumed", kimg=kimg, init_from="s1")
    first = train(resumed, hooks=StopAfter(3), progress=False)
    assert first["status"] == "suspended" and 0 < first["step"] < 8, first
    assert train(resumed, progress=False)["status"] == "ok"
    a = torch.load(tmp_path / "s2-straight" / "state.pt", weights_only=False)
    b = torch.load(tmp_path / "s2-resumed" / "state.pt", weights_only=False)
    assert a["step"] == b["step"] == 8
    for net in ("G", "G_ema", "D"):
        assert a[net].keys() == b[net].keys()
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key}"
    # the stage really started from stage 1 and trained with its patch term (teacher present)
    s1_net = torch.load(tmp_path / "s1" / "network.pt", weights_only=False)
    assert any(not torch.equal(s1_net["G"][k], a["G"][k]) for k in s1_net["G"])
    stats = (tmp_path / "s2-resumed" / "stats.jsonl").read_text().splitlines()
    assert stats and all('"loss_patch"' in line for line in stats)
