"""Training loop behaviour: determinism, bit-identical resume, divergence recorded as Fail."""

import json

import numpy as np
import pytest
import torch

from ganrepro.config import resolve_run
from ganrepro.data.archive import write_archive
from ganrepro.training.loop import load_generator, train
from ganrepro.utils_io import read_json
from trainutil import StopAfter


def _archive(path, *, n=64, res=8, classes=0, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, res, res), dtype=np.uint8)
    labels = rng.integers(0, classes, size=n) if classes else None
    write_archive(path, images, labels, dataset="random", source="test")
    return str(path)


def _cfg(tmp_path, exp="t3-e-stackedmnist", run="run", kimg=0.16, **overrides):
    cfg = resolve_run("r3gan", exp, "tiny")
    classes = cfg["dataset"]["num_classes"]
    cfg["dataset"]["path"] = _archive(tmp_path / f"data-{classes}", classes=classes)
    run_dir = tmp_path / run
    cfg["paths"] = {"run_dir": str(run_dir), "network": str(run_dir / "network.pt"),
                    "result": str(run_dir / "result.json"), "metrics": str(run_dir / "metrics.json")}
    cfg["train"].update(kimg=kimg, tick_kimg=0.04, snapshot_ticks=1)
    for key, value in overrides.items():
        cfg[key].update(value)
    return cfg


def _state(run_dir):
    return torch.load(run_dir / "state.pt", weights_only=False)


def _assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path):
    straight = _cfg(tmp_path, run="straight")
    resumed = _cfg(tmp_path, run="resumed")
    assert train(straight, progress=False)["status"] == "ok"
    first = train(resumed, hooks=StopAfter(7), progress=False)
    assert first["status"] == "suspended" and first["step"] == 7
    assert train(resumed, progress=False)["status"] == "ok"
    a, b = _state(tmp_path / "straight"), _state(tmp_path / "resumed")
    assert a["step"] == b["step"] == 20
    for net in ("G", "D", "G_ema"):
        _assert_same_tensors(a[net], b[net])
    # The stats log of the resumed run has the same ticks as the uninterrupted one.
    steps = lambda d: [json.loads(l)["step"] for l in (d / "stats.jsonl").read_text().splitlines()]
    assert steps(tmp_path / "straight") == steps(tmp_path / "resumed") == [5, 10, 15, 20]


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    a, b = _cfg(tmp_path, run="a", kimg=0.04), _cfg(tmp_path, run="b", kimg=0.04)
    c = _cfg(tmp_path, run="c", kimg=0.04)
    c["seed"] = 1
    for cfg in (a, b, c):
        train(cfg, progress=False)
    sa, sb, sc = (_state(tmp_path / r)["G"] for r in "abc")
    _assert_same_tensors(sa, sb)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_divergence_is_a_recorded_fail_not_a_crash(tmp_path):
    cfg = _cfg(tmp_path, run="fail", divergence={"grad_norm_max": 1e-30, "patience": 2})
    result = train(cfg, progress=False)
    assert result["status"] == "failed" and result["step"] == 2
    assert "gradient of D on fakes exploded" in result["reason"]
    on_disk = read_json(tmp_path / "fail" / "result.json")
    assert on_disk["status"] == "failed" and on_disk["provenance"]["git"] is not None
    assert (tmp_path / "fail" / "network.pt").exists()


@pytest.mark.parametrize("exp", ["t2-a-stylegan2", "t2-b-stripped", "t2-d-resnet-skips", "t6-e-cifar10", "t1-gan-r1"])
def test_every_family_and_loss_trains_and_logs_stats(tmp_path, exp):
    cfg = _cfg(tmp_path, exp=exp, kimg=0.08)
    assert train(cfg, progress=False)["status"] == "ok"
    lines = [json.loads(l) for l in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [5, 10]
    every_tick = ("loss_d", "loss_g", "grad_sq_fake", "sched_lr", "sched_gamma", "sec_per_kimg")
    for key in every_tick + (("grad_sq_real",) if cfg["loss"].get("phases") != "stylegan2" else ()):
        assert all(np.isfinite(l[key]) for l in lines), key
    assert np.isfinite(lines[0]["grad_sq_real"])  # config A: R1 measured on its lazy Dreg steps (step 0)
    if cfg["loss"]["pl_weight"] > 0:
        assert "loss_g_pl" in lines[0]
    G, payload = load_generator(tmp_path / "run" / "network.pt")
    c = torch.zeros(2, dtype=torch.long) if payload["num_classes"] else None
    assert G(torch.randn(2, G.z_dim), c).shape == (2, 3, 8, 8)


def test_lazy_regularisation_penalty_only_on_interval_steps(tmp_path):
    cfg = _cfg(tmp_path, exp="t2-a-stylegan2", kimg=0.04)  # reg_interval 16: only step 0 regularised
    cfg["train"]["tick_kimg"] = 0.008  # one step per tick
    train(cfg, progress=False)
    lines = [json.loads(l) for l in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert lines[0]["loss_d_reg"] > 0 and "loss_g_pl" in lines[0]  # Dreg and Greg ran at step 0
    assert all("loss_d_reg" not in l for l in lines[1:])  # their own phases: absent on other steps
    assert [("loss_g_pl" in l) for l in lines] == [True, False, False, False, True]  # Greg every 4 steps


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    # StackedMNIST preset: no augmentation, no noise inputs, so micro-batching changes only summation order.
    whole = _cfg(tmp_path, run="whole", kimg=0.008)
    split = _cfg(tmp_path, run="split", kimg=0.008)
    split["train"]["batch_gpu"] = 2
    train(whole, progress=False)
    train(split, progress=False)
    a, b = _state(tmp_path / "whole"), _state(tmp_path / "split")
    for net in ("G", "D"):
        for key in a[net]:
            assert torch.allclose(a[net][key], b[net][key], atol=1e-5, rtol=1e-4), (net, key)


def test_micro_batches_partition_the_global_batch():
    from ganrepro.training.loop import micro_batches

    assert micro_batches(8, 1, 0, None) == [slice(0, 8)]
    assert micro_batches(8, 2, 1, 2) == [slice(4, 6), slice(6, 8)]
    with pytest.raises(ValueError, match="not divisible"):
        micro_batches(8, 1, 0, 3)


def test_changed_config_sets_old_state_aside_and_longer_run_resumes(tmp_path):
    cfg = _cfg(tmp_path, run="r", kimg=0.04)
    train(cfg, progress=False)
    longer = _cfg(tmp_path, run="r", kimg=0.08)  # same trajectory, more steps: resumes at step 5
    train(longer, progress=False)
    assert _state(tmp_path / "r")["step"] == 10
    assert not list((tmp_path / "r").glob("state.config-*.pt"))
    other = _cfg(tmp_path, run="r", kimg=0.04)
    other["seed"] = 7  # another trajectory: old state kept beside, new run from scratch
    train(other, progress=False)
    assert _state(tmp_path / "r")["step"] == 5
    assert len(list((tmp_path / "r").glob("state.config-*.pt"))) == 1


def test_init_from_starts_g_g_ema_and_d_from_the_other_runs_network(tmp_path):
    from ganrepro.data import open_archive
    from ganrepro.training.loop import build, init_from_network

    first = _cfg(tmp_path, run="stage1", kimg=0.016)
    train(first, progress=False)
    second = _cfg(tmp_path, run="stage2")
    torch.manual_seed(123)  # different fresh weights than stage 1's
    nets = build(second, open_archive(second["dataset"]["path"]), torch.device("cpu"))
    saved = torch.load(tmp_path / "stage1" / "network.pt", weights_only=False)
    assert any(not torch.equal(v, saved["G"][k]) for k, v in nets.G.state_dict().items())
    init_from_network(nets, tmp_path / "stage1" / "network.pt")
    _assert_same_tensors(nets.G.state_dict(), saved["G"])
    _assert_same_tensors(nets.G_ema.state_dict(), saved["G_ema"])
    _assert_same_tensors(nets.D.state_dict(), saved["D"])


def test_per_network_optimiser_settings_and_lazy_ratio():
    from ganrepro.config.resolve import resolve_optim
    from ganrepro.training.loop import _set_optimizer

    optim = resolve_optim({"beta1": 0.0, "D": {"lr": 3e-4, "beta2": 0.9}})
    assert optim["G"] == {"lr": "lr", "beta1": 0.0, "beta2": "beta2", "eps": 1e-8}
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    sched = {"lr": 1e-3, "beta2": 0.99}
    _set_optimizer(opt, optim["G"], sched, 1.0)
    assert opt.param_groups[0]["lr"] == 1e-3 and opt.param_groups[0]["betas"] == (0.0, 0.99)
    _set_optimizer(opt, optim["D"], sched, 16 / 17)  # constants, with StyleGAN2's lazy correction
    assert opt.param_groups[0]["lr"] == pytest.approx(3e-4 * 16 / 17)
    assert opt.param_groups[0]["betas"][1] == pytest.approx(0.9 ** (16 / 17))


def test_thread_count_comes_from_the_resolved_config():
    from ganrepro.training.loop import set_threads

    before = torch.get_num_threads()
    try:
        cfg = resolve_run("r3gan", "t1-gan-r1", "tiny")
        assert cfg["train"]["threads"] == 1  # params/scales/tiny.yaml
        torch.set_num_threads(2)
        set_threads(cfg)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_objective_phases_run_at_their_interval(tmp_path):
    from ganrepro.objectives import Phase, get_objective

    cls = get_objective("r3gan")
    calls = []
    original = cls.accumulate_gradients

    def spy(self, phase, batch, sched, gain):
        calls.append((batch["step"], phase))
        return original(self, phase, batch, sched, gain)

    cls.accumulate_gradients = spy
    cls.phases, phases = (lambda self: [Phase("D", "D"), Phase("G", "G", interval=2)]), cls.phases
    try:
        train(_cfg(tmp_path, kimg=0.032), progress=False)  # 4 steps at batch 8
    finally:
        cls.accumulate_gradients, cls.phases = original, phases
    assert calls == [(0, "D"), (0, "G"), (1, "D"), (2, "D"), (2, "G"), (3, "D")]
