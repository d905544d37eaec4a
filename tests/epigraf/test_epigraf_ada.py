"""ADA's adaptive augmentation probability: the official update rule, its scale compression, and a
real EpiGRAF run that adapts p on its patches and resumes with the same p."""

import json

import pytest
import torch

from ganrepro.config import load_params, resolve_run
from ganrepro.config.resolve import ADA_MAX_STEP, resolve_ada
from ganrepro.data.embedded import make_embedded
from ganrepro.errors import ConfigError
from ganrepro.training.ada import AdaptiveAugment
from ganrepro.training.loop import train
from trainutil import StopAfter


def test_p_moves_by_batch_interval_over_kimg_towards_the_target_and_stays_non_negative():
    ada = AdaptiveAugment(target=0.6, interval=4, kimg=500, batch=64)
    step = 64 * 4 / 500_000
    assert ada.step_size == pytest.approx(step)
    for s in range(1, 9):  # r_t = 0.9 > target: p rises once per interval
        ada.observe(s, {"ada_sign": 0.9})
        assert ada.p == pytest.approx(step * (s // 4))
    for s in range(9, 21):  # r_t = 0.1 < target: p falls, clipped at 0
        ada.observe(s, {"ada_sign": 0.1})
    assert ada.p == 0.0
    ada.p = 0.5
    for s in range(21, 25):  # r_t exactly on target: no move (np.sign(0) = 0), also away from the clip at 0
        ada.observe(s, {"ada_sign": 0.6})
    assert ada.p == 0.5
    # the interval's MEAN sign decides, not the last one
    ada = AdaptiveAugment(target=0.5, interval=2, kimg=1, batch=10)
    ada.observe(1, {"ada_sign": 1.0})
    ada.observe(2, {"ada_sign": 0.2})  # mean 0.6 > 0.5
    assert ada.p == pytest.approx(0.02)
    assert ada.apply({"aug_p": 0.0, "gamma": 1.0}) == {"aug_p": pytest.approx(0.02), "gamma": 1.0}


def test_p_above_one_keeps_rising_but_the_pipe_reads_one():
    ada = AdaptiveAugment(target=0.0, interval=1, kimg=0.01, batch=8)  # 0.8 per step
    for s in range(1, 4):
        ada.observe(s, {"ada_sign": 1.0})
    assert ada.p == pytest.approx(2.4)
    assert ada.apply({})["aug_p"] == 1.0
    ada.observe(4, {"ada_sign": -1.0})  # the official raw p: falls back from 2.4, not from 1
    assert ada.p == pytest.approx(1.6) and ada.apply({})["aug_p"] == 1.0


def test_state_round_trip_and_missing_signs():
    a = AdaptiveAugment(target=0.6, interval=4, kimg=1, batch=8)
    for s in range(1, 7):
        a.observe(s, {"ada_sign": 1.0})
    b = AdaptiveAugment(target=0.6, interval=4, kimg=1, batch=8)
    b.load_state_dict(a.state_dict())
    for x in (a, b):
        x.observe(7, {"ada_sign": 0.0})
        x.observe(8, {"ada_sign": 0.0})
    assert a.p == b.p
    silent = AdaptiveAugment(target=0.6, interval=2, kimg=1, batch=8)
    silent.observe(1, {})
    with pytest.raises(ConfigError, match="ada_sign"):
        silent.observe(2, {})


def test_small_scales_compress_the_adaptation_length_with_a_floor():
    assert resolve_ada(None, time_ratio=0.5, batch=16) is None
    paper = resolve_ada({"target": 0.6, "interval": 4, "kimg": 500}, time_ratio=1.0, batch=64)
    assert paper == {"target": 0.6, "interval": 4, "paper_kimg": 500.0, "kimg": 500.0}
    assert resolve_ada({"kimg": 500}, time_ratio=0.01, batch=16)["kimg"] == pytest.approx(5.0)
    tiny = resolve_ada({"kimg": 500}, time_ratio=1e-6, batch=16)  # floor: one adjustment moves p by ADA_MAX_STEP
    assert 16 * 4 / (tiny["kimg"] * 1000) == pytest.approx(ADA_MAX_STEP)


def _cfg(tmp_path, run, *, steps):
    cfg = resolve_run("epigraf", "t1-epigraf-cats256", "tiny")
    batch = cfg["train"]["batch"]
    spec, ds = cfg["dataset"]["spec"], cfg["dataset"]
    data = tmp_path / "data"
    if not data.exists():
        make_embedded(spec["generator"], data, resolution=ds["resolution"], count=64, seed=0,
                      num_classes=spec.get("num_classes"))
    cfg["dataset"]["path"] = str(data)
    d = tmp_path / run
    cfg["paths"] = {"run_dir": str(d), "network": str(d / "network.pt"), "result": str(d / "result.json"),
                    "metrics": str(d / "metrics.json")}
    cfg["train"].update(kimg=steps * batch / 1000, tick_kimg=batch / 1000, snapshot_ticks=1, keep_networks=0)
    # the small-scale recipe turns ADA off: put the official block back, compressed as the resolver does;
    # target -1: every interval's mean sign exceeds it, so p rises each interval
    official = resolve_ada(load_params().experiments["epigraf"]["defaults"]["ada"],
                           time_ratio=cfg["train"]["time_ratio"], batch=batch)
    cfg["ada"] = {**official, "target": -1.0}
    return cfg


def test_epigraf_run_adapts_p_on_its_patches_and_resumes_with_it(tmp_path):
    straight = _cfg(tmp_path, "straight", steps=12)
    assert straight["augment"] == "epigraf" and straight["ada"]["interval"] == 4
    assert train(straight, progress=False)["status"] == "ok"
    lines = [json.loads(x) for x in (tmp_path / "straight" / "stats.jsonl").read_text().splitlines()]
    p = [line["sched_aug_p"] for line in lines]  # the p each step used (one tick per step)
    size = AdaptiveAugment.from_cfg(straight).step_size
    assert p == pytest.approx([size * (i // 4) for i in range(12)])
    assert all(-1 <= line["ada_sign"] <= 1 for line in lines)
    resumed = _cfg(tmp_path, "resumed", steps=12)
    assert train(resumed, hooks=StopAfter(6), progress=False)["status"] == "suspended"
    assert train(resumed, progress=False)["status"] == "ok"
    a = torch.load(tmp_path / "straight" / "state.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "state.pt", weights_only=False)
    assert a["ada"] == b["ada"] and a["ada"]["p"] == pytest.approx(3 * size)
    for net in ("G", "D"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key}"
