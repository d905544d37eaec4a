"""`ganrepro sweep`'s pieces, the recipe's G/D lr ratio and the spread diagnostic (docs/SWEEPS.md)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganrepro.config import resolve_run
from ganrepro.errors import ConfigError
from ganrepro.metrics.diversity import spread_ratio, within_class_std
from ganrepro.orchestration.sweep import cell_config, grid_cells, parse_axis, summarise
from ganrepro.training.loop import _set_optimizer
from ganrepro.training.schedules import value_at, values_at


def test_axis_and_grid():
    assert parse_axis("train.kimg=[4, 8]") == ("train.kimg", [4, 8])
    assert parse_axis("train.kimg=12") == ("train.kimg", [12])
    with pytest.raises(ConfigError, match="dotted.key"):
        parse_axis("train.kimg")
    cells = grid_cells([("a", [1, 2]), ("b", ["x"])])
    assert cells == [["a=1", 'b="x"'], ["a=2", 'b="x"']]


def test_cell_config_applies_the_setting_and_seed(tmp_path: Path):
    base = resolve_run("r3gan", "learn-e-cifar10", "tiny")
    a = cell_config(base, ['optim.G.lr_mult=0.25'], 1, tmp_path)
    b = cell_config(base, ['optim.G.lr_mult=0.25'], 1, tmp_path)
    c = cell_config(base, ['optim.G.lr_mult=0.5'], 1, tmp_path)
    assert a["optim"]["G"]["lr_mult"] == 0.25 and a["seed"] == base["seed"] + 1
    assert a["paths"]["run_dir"] == b["paths"]["run_dir"] != c["paths"]["run_dir"]  # resumable, distinct cells
    assert base["optim"]["G"]["lr_mult"] == 0.5  # the recipe's ratio, untouched by the cell


def test_summarise_mean_and_std():
    rows = [{"setting": "s", "seed": k, "status": "ok", "kimg": 12, "fid": v} for k, v in enumerate([1.0, 3.0])]
    table = summarise(rows, "t")
    assert "| s | 12 | 2 ± 1.41 |" in table


def test_index_curve_scores_every_kept_network_in_order_and_the_table_prints_it(tmp_path: Path, monkeypatch):
    from ganrepro.orchestration import sweep
    from ganrepro.stages import evaluate, learning_index

    run = tmp_path / "cell"
    (run / "networks").mkdir(parents=True)
    for step in (25, 50, 75, 100):  # milestones of a 100-step run keeping 4, plus one of an earlier length
        torch.save({}, run / "networks" / f"network-{step:07d}.pt")
    torch.save({}, run / "networks" / "network-0000030.pt")
    cfg = {"paths": {"run_dir": str(run), "network": str(run / "network.pt")}, "eval": {"num_fake": 64},
           "train": {"kimg": 1.6, "batch": 16, "keep_networks": 4}}
    fids = {25: 40.0, 50: 20.0, 75: 30.0, 100: 10.0}
    seen = []

    def snapshot_fid(c, network, num_fake, device="cpu", seed=None):
        step = int(Path(network).stem.split("-")[1])
        seen.append((step, num_fake))
        return {"kimg": step * 16 / 1000, "fid": fids[step], "metric": "fid64", "network": str(network)}

    monkeypatch.setattr(evaluate, "snapshot_fid", snapshot_fid)
    monkeypatch.setattr(learning_index, "learning_record", lambda c, fid, metric: {"index": 1.0 / fid})
    curve = sweep.index_curve(cfg)
    assert seen == [(25, 64), (50, 64), (75, 64), (100, 64)]  # the current length's milestones, the tables' N
    assert [p["kimg"] for p in curve] == pytest.approx([0.4, 0.8, 1.2, 1.6])
    assert [p["index"] for p in curve] == pytest.approx([0.025, 0.05, 1 / 30, 0.1])
    rows = [{"setting": "s", "seed": 0, "status": "ok", "kimg": 1.6, "fid": 10.0, "curve": curve},
            {"setting": "t", "seed": 0, "status": "ok", "kimg": 1.6, "fid": 12.0}]
    table = summarise(rows, "t")
    assert "| s | 1.6 | 10 |" in table and "curve" not in table.split("Learning index")[0]
    assert "| s | 0 | 0.4: 0.025, 0.8: 0.05, 1.2: 0.0333, 1.6: 0.1 |" in table
    assert "| t | 0 |" not in table  # a cell that kept nothing has no curve line


def test_a_cached_cell_without_a_curve_gets_one_and_keeps_its_numbers(tmp_path: Path, monkeypatch):
    from ganrepro.orchestration import sweep

    run = tmp_path / "cell"
    run.mkdir()
    cached = {"status": "ok", "kimg": 1.6, "fid": 10.0, "learning_index": 0.1}
    (run / "sweep.json").write_text(json.dumps(cached))
    cfg = {"paths": {"run_dir": str(run)}, "train": {"keep_networks": 4}}
    curve = [{"kimg": 1.6, "fid": 10.0, "index": 0.1}]
    monkeypatch.setattr(sweep, "index_curve", lambda c: curve)
    assert sweep.run_cell(cfg) == {**cached, "curve": curve}  # measured now, without training again
    assert json.loads((run / "sweep.json").read_text())["curve"] == curve  # and kept
    cfg["train"]["keep_networks"] = 0
    (run / "sweep.json").write_text(json.dumps(cached))
    assert sweep.run_cell(cfg) == cached  # nothing kept: nothing to score


def test_measure_adds_the_curve_only_when_networks_were_kept(monkeypatch):
    from ganrepro.orchestration import sweep
    from ganrepro.stages import evaluate, learning_index

    monkeypatch.setattr(evaluate, "snapshot_fid", lambda c, n, k, device="cpu", seed=None: {"fid": 5.0, "metric": "fid"})
    monkeypatch.setattr(evaluate, "learning_metrics", lambda c, n: {})
    monkeypatch.setattr(learning_index, "learning_record", lambda c, fid, metric: {"index": 0.5})
    monkeypatch.setattr(sweep, "_spread", lambda c: 1.0)
    cfg = {"paths": {"network": "n.pt"}, "eval": {"num_fake": 8}}
    monkeypatch.setattr(sweep, "index_curve", lambda c: [])
    assert "curve" not in sweep.measure(cfg)
    monkeypatch.setattr(sweep, "index_curve", lambda c: [{"kimg": 1.0, "fid": 5.0, "index": 0.5}])
    assert sweep.measure(cfg)["curve"] == [{"kimg": 1.0, "fid": 5.0, "index": 0.5}]


def test_constant_schedule_entry_needs_only_start():
    assert value_at({"curve": "constant", "start": 2e-3}, 5.0) == 2e-3
    assert values_at({"lr": {"curve": "constant", "start": 1.0},
                      "g": {"curve": "linear", "start": 0.0, "end": 1.0, "kimg": 2.0}}, 1.0) == {"lr": 1.0, "g": 0.5}
    with pytest.raises(KeyError):
        value_at({"curve": "linear", "start": 0.0}, 1.0)  # a varying curve still needs its end and span


@pytest.mark.parametrize("mult, ratio, want", [(None, 1.0, 2e-3), (0.5, 1.0, 1e-3), (0.5, 0.8, 8e-4)])
def test_lr_mult_scales_the_scheduled_lr(mult, ratio, want):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    settings = {"lr": "lr", "beta1": 0.0, "beta2": "beta2", **({"lr_mult": mult} if mult else {})}
    _set_optimizer(opt, settings, {"lr": 2e-3, "beta2": 0.99}, ratio)
    assert opt.param_groups[0]["lr"] == pytest.approx(want)
    assert opt.param_groups[0]["betas"] == pytest.approx((0.0, 0.99 ** ratio))


def test_paper_scale_has_no_lr_mult():
    assert "lr_mult" not in resolve_run("r3gan", "t6-e-cifar10", "paper")["optim"]["G"]


def test_spread_ratio():
    rng = np.random.default_rng(0)
    reals = rng.integers(0, 256, size=(40, 3, 4, 4), dtype=np.uint8)
    labels = np.repeat([0, 1], 20)
    same = np.repeat(reals[:1], 40, axis=0)  # every latent draws one picture
    assert spread_ratio(same, labels, reals, labels) == pytest.approx(0.0, abs=1e-6)
    assert spread_ratio(reals, labels, reals, labels) == pytest.approx(1.0)
    assert within_class_std(reals, None) > 0
