"""Fig 6 reads the FIDs of kept snapshots that evaluation already measured (the run's metrics record), and measures
only what no record holds: the same networks, fakes and protocol are never rendered twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganrepro.config import resolve_run
from ganrepro.papers.epigraf import convergence


@pytest.fixture
def cfg(in_tmp_workdir, monkeypatch):
    cfg = resolve_run("epigraf", "f6-beta-t10k-cats256", "tiny")
    kept = [in_tmp_workdir / f"network-{s}.pt" for s in (5, 10)]
    monkeypatch.setattr(convergence, "kept_networks", lambda c: kept)
    return cfg


def _record(cfg, networks, num_fake=None):
    path = Path(cfg["paths"]["metrics"])
    count = cfg["eval"]["snapshot_num_fake"] if num_fake is None else num_fake
    points = [{"kimg": i, "fid": 10.0 - i, "metric": f"fid{count}_r5k-cnn_shapes16", "network": str(n)}
              for i, n in enumerate(networks)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"snapshot": {"select": "best_fid", "snapshots": points}}))
    return points


def test_the_snapshot_fids_of_the_evaluation_are_read_not_measured_again(cfg, monkeypatch):
    points = _record(cfg, convergence.kept_networks(cfg))
    monkeypatch.setattr(convergence, "snapshot_fid", lambda *a, **k: pytest.fail("measured again"))
    assert convergence.snapshot_curve(cfg) == points


@pytest.mark.parametrize("stale", ["other networks", "other fake count"])
def test_snapshots_no_record_holds_are_measured_with_the_selection_draw(cfg, monkeypatch, stale):
    if stale == "other networks":
        _record(cfg, convergence.kept_networks(cfg)[:1])
    else:  # measured before snapshot_num_fake changed
        _record(cfg, convergence.kept_networks(cfg), num_fake=cfg["eval"]["snapshot_num_fake"] + 7)
    calls = []
    monkeypatch.setattr(convergence, "snapshot_fid",
                        lambda c, p, n, seed: calls.append((str(p), n, seed)) or {"network": str(p)})
    got = convergence.snapshot_curve(cfg)
    assert [c[0] for c in calls] == [str(p) for p in convergence.kept_networks(cfg)] == [g["network"] for g in got]
    assert {c[1] for c in calls} == {cfg["eval"]["snapshot_num_fake"]}
    assert {c[2] for c in calls} == {convergence.SELECT_SEED}
