"""``ganrepro evaluate --network PATH``: any network.pt measured with an experiment's protocol, without a
training result; the record goes to ``<experiment>@official.json``, the trained run's record is untouched, and
the numbers are those ``evaluate`` computes for the same network as a trained run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganrepro import paths
from ganrepro.checkpoints.importer import write_network
from ganrepro.cli import main
from ganrepro.config import resolve_run
from ganrepro.data import open_archive
from ganrepro.metrics.fidelity import metric_names
from ganrepro.models import build_networks
from ganrepro.stages.prepare import prepare_dataset, train_extractor

PAPER, EXP, SCALE = "r3gan", "t4-e-ffhq256", "tiny"
RUN = ["--paper", PAPER, "--experiment", EXP, "--scale", SCALE]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory with the tiny dataset and feature extractor of the experiment's protocol."""
    work = tmp_path_factory.mktemp("evalnet")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        cfg = resolve_run(PAPER, EXP, SCALE)
        prepare_dataset(Path(cfg["dataset"]["path"]).name, SCALE)
        train_extractor(SCALE)
    return work


def tiny_network(path: Path, cfg: dict, num_classes: int | None = None) -> Path:
    ds = cfg["dataset"]
    size = dict(resolution=ds["resolution"], img_channels=ds["channels"],
                num_classes=ds["num_classes"] if num_classes is None else num_classes)
    G, D = build_networks(cfg["model"], **size)
    source = path.with_suffix(".src")
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"official")
    write_network(path, (G, D, G), cfg=cfg, source=source, **size)
    return path


def _enter(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("GANREPRO_WORKDIR", str(workdir))  # the CLI's workspace: this directory, not the checkout


def test_evaluate_network_writes_the_official_record_with_the_protocols_metric_names(workdir, monkeypatch):
    _enter(workdir, monkeypatch)
    cfg = resolve_run(PAPER, EXP, SCALE)
    trained = Path(paths.metrics(SCALE, PAPER, EXP))
    trained.parent.mkdir(parents=True, exist_ok=True)
    trained.write_text('{"sentinel": true}')
    net = tiny_network(workdir / "imported" / "network.pt", cfg)
    assert main(["evaluate", *RUN, "--network", str(net)]) == 0
    out = Path(paths.tagged_metrics(SCALE, PAPER, EXP))
    assert out.name == f"{EXP}@official.json" and out.parent == trained.parent
    record = json.loads(out.read_text())
    ev = cfg["eval"]
    real_total = len(open_archive(cfg["dataset"]["path"]))
    names = dict(num_fake=ev["num_fake"], tag=ev["extractor"]["tag"], num_real=ev["num_real"], real_total=real_total)
    expected = [n for kind in ev["metrics"] for n in metric_names(kind, **names)]
    assert sorted(record["metrics"]) == sorted(expected) and len(expected) == 4
    assert all(isinstance(e["value"], float) for e in record["metrics"].values())
    assert record["network"] == str(net) and record["imported_from"]["sha256"] and record["tag"] == "official"
    assert json.loads(trained.read_text()) == {"sentinel": True}  # the trained run's record is untouched
    # the same network as a trained run's: evaluate_run computes the same numbers (one shared protocol)
    run = cfg["paths"]
    Path(run["network"]).parent.mkdir(parents=True, exist_ok=True)
    Path(run["network"]).write_bytes(net.read_bytes())
    Path(run["result"]).write_text(json.dumps({"status": "ok", "kimg": 0.16}))
    assert main(["evaluate", *RUN]) == 0
    as_trained = json.loads(trained.read_text())["metrics"]
    assert {k: v["value"] for k, v in as_trained.items()} == {k: v["value"] for k, v in record["metrics"].items()}


def test_evaluate_network_refuses_a_network_of_another_kind(workdir, monkeypatch, capsys):
    _enter(workdir, monkeypatch)
    cfg = resolve_run(PAPER, EXP, SCALE)
    net = tiny_network(workdir / "other" / "network.pt", cfg, num_classes=3)  # a class-conditional G
    assert main(["evaluate", *RUN, "--network", str(net)]) == 2
    err = capsys.readouterr().err
    assert "'num_classes': 3}" in err and "'num_classes': 0}" in err and "--paper/--experiment/--scale" in err
    assert main(["evaluate", *RUN, "--network", str(workdir / "missing.pt")]) == 2
    assert "network not found" in capsys.readouterr().err
