"""Which network evaluation measures: the final G_ema, or the best of the kept snapshots by FID@N."""

from __future__ import annotations

import math

import pytest
import torch

from ganrepro.stages import evaluate
from ganrepro.training.state import set_aside


def _cfg(tmp_path, select="best_fid", n=500, steps=40, keep=4):
    return {"paths": {"run_dir": str(tmp_path / "run"), "network": str(tmp_path / "run" / "network.pt")},
            "eval": {"select": select, "snapshot_num_fake": n},
            "train": {"kimg": steps * 10 / 1000, "batch": 10, "keep_networks": keep}}


def _kept(tmp_path, fids, every=10):
    nets = tmp_path / "run" / "networks"
    nets.mkdir(parents=True, exist_ok=True)
    table = {}
    for i, fid in enumerate(fids):
        path = nets / f"network-{(i + 1) * every:07d}.pt"
        torch.save({}, path)
        table[str(path)] = fid
    return table


@pytest.fixture
def fake_fid(monkeypatch):
    calls = []

    def install(table):
        def snapshot_fid(cfg, network, num_fake, device="cpu", seed=None):
            assert seed == evaluate.SELECT_SEED != evaluate.EVAL_SEED  # selection draws its own fakes
            calls.append((str(network), num_fake))
            step = int(str(network)[-10:-3])
            return {"kimg": step / 10, "fid": table[str(network)], "metric": f"fid{num_fake}_full-cnn_x", "network": str(network)}
        monkeypatch.setattr(evaluate, "snapshot_fid", snapshot_fid)
        return calls
    return install


@pytest.mark.parametrize("fids, best", [([30.0, 20.0, 25.0, 40.0], 1), ([5.0, 9.0, 5.0], 0), ([math.nan, 12.0, 13.0], 1)])
def test_best_fid_picks_the_lowest_earliest_finite_snapshot(tmp_path, fake_fid, fids, best):
    table = _kept(tmp_path, fids)
    calls = fake_fid(table)
    network, sel = evaluate.select_network(_cfg(tmp_path, steps=10 * len(fids), keep=len(fids)), "cpu")
    assert network == sorted(table)[best]
    assert sel["select"] == "best_fid" and sel["kimg"] == best + 1
    assert [p["fid"] for p in sel["snapshots"]] == pytest.approx(fids, nan_ok=True)
    assert sel["suffix"] == f"_at-best-fid500-of-{len(fids)}" and sel["by"] == "fid500_full-cnn_x"
    assert [n for _, n in calls] == [500] * len(fids)  # every snapshot measured at the snapshot protocol


def test_only_the_current_lengths_milestones_are_candidates(tmp_path, fake_fid):
    # a run first trained 40 steps (milestones 10, 20, 30, 40), then extended to 80 (20, 40, 60, 80)
    table = {**_kept(tmp_path, [1.0, 50.0, 2.0, 40.0]), **_kept(tmp_path, [50.0, 40.0, 30.0, 20.0], every=20)}
    fake_fid(table)
    network, sel = evaluate.select_network(_cfg(tmp_path, steps=80), "cpu")
    assert [p["kimg"] for p in sel["snapshots"]] == [2.0, 4.0, 6.0, 8.0]  # steps 20, 40, 60, 80
    assert network.endswith("network-0000080.pt") and sel["suffix"].endswith("-of-4")


def test_final_network_when_selected_or_nothing_was_kept(tmp_path, fake_fid):
    calls = fake_fid({})
    assert evaluate.select_network(_cfg(tmp_path, "final"), "cpu") == (str(tmp_path / "run" / "network.pt"),
                                                                         {"select": "final"})
    network, sel = evaluate.select_network(_cfg(tmp_path), "cpu")
    assert network.endswith("network.pt") and sel["select"] == "final" and "keep_networks" in sel["why"]
    assert calls == []


def test_snapshots_of_another_config_are_set_aside_with_its_state(tmp_path):
    run = tmp_path / "run"
    _kept(tmp_path, [1.0, 2.0])
    (run / "state.pt").write_bytes(b"x")
    moved = set_aside(run, "abc")
    assert {p.name for p in moved} == {"state.config-abc.pt", "networks.config-abc"}
    assert not (run / "networks").exists() and len(list((run / "networks.config-abc").iterdir())) == 2
    _kept(tmp_path, [3.0])  # the same config set aside a second time: nothing is overwritten
    (run / "state.pt").write_bytes(b"y")
    again = set_aside(run, "abc")
    assert {p.name for p in again} == {"state.config-abc.1.pt", "networks.config-abc.1"}
    assert (run / "state.config-abc.pt").read_bytes() == b"x"
