"""A new paper is its params files plus its own modules: a toy paper added from those alone runs the tiny DAG,
with its own objective, model family and stand-in dataset (tests/toy_paper/), and nothing in src/ or in the
shared params files names it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from dagutil import REPO, params_with_tiny, snakemake_cmd, snakemake_env

TOY = Path(__file__).parent / "toy_paper"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("toy")
    params = params_with_tiny(work / "params")
    for name in os.listdir(params / "experiments"):  # the toy paper alone: nothing else trains
        (params / "experiments" / name).unlink()
    shutil.copy(TOY / "toy.yaml", params / "experiments" / "toy.yaml")
    shutil.copy(TOY / "toy_reported.yaml", params / "reported" / "toy.yaml")
    env = snakemake_env(work, GANREPRO_PARAMS=str(params), PYTHONPATH=f"{TOY}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.run(snakemake_cmd(work, "--cores", "2", "--config", "scale=tiny"), env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work


@pytest.mark.slow
def test_toy_paper_trains_evaluates_and_tabulates(toy_run):
    df = pd.read_csv(toy_run / "results" / "tables" / "toy" / "table1.csv", keep_default_na=False)
    ours = df[df["row"] == "plain"].iloc[0]
    assert ours["status"] == "reproduced" and float(ours["reproduced"]) > 0
    assert "cnn_shapes" in ours["metric_name"]
    assert df[df["row"] == "other"].iloc[0]["status"] == "reported-only"
    result = json.loads((toy_run / "runs" / "tiny" / "toy" / "plain" / "result.json").read_text())
    assert result["status"] == "ok" and result["provenance"]["config"]["objective"] == "toy"
    cfg = result["provenance"]["config"]
    assert cfg["optim"]["D"]["lr"] == 4.0e-4 and cfg["optim"]["G"]["lr"] == "lr"  # per-network optimiser settings
    assert (toy_run / "results" / "figures" / "toy" / "toy_fig.png").is_file()  # the paper's own figure
    assert (toy_run / "results" / "figures" / "toy" / "training_curves.png").is_file()  # the generic one
    assert not (toy_run / "runs" / "tiny" / "r3gan").exists()


@pytest.mark.slow
def test_toy_paper_brings_its_own_family_and_data_and_touches_nothing_shared(toy_run):
    cfg = json.loads((toy_run / "runs" / "tiny" / "toy" / "plain" / "result.json").read_text())["provenance"]["config"]
    assert cfg["model"]["family"] == "toy_mlp" and cfg["dataset"]["key"] == "toy_rings64"
    manifest = json.loads((toy_run / "data" / "tiny" / "toy_rings64" / "manifest.json").read_text())
    assert manifest["source"] == "embedded:toy_rings"
    for shared in ("datasets.yaml", "scales/smoke.yaml", "schema/experiments.schema.yaml"):  # only its own files
        assert (toy_run / "params" / shared).read_text() == (REPO / "params" / shared).read_text(), shared
    names = ("toy_mlp", "toy_rings", "toy_objective", "toy_model")
    mentions = [str(p) for p in (REPO / "src").rglob("*.py") if any(n in p.read_text() for n in names)]
    assert not mentions, f"src/ names the toy paper: {mentions}"


@pytest.mark.slow
def test_toy_paper_state_holds_its_objective_state(toy_run):
    import torch

    state = torch.load(toy_run / "runs" / "tiny" / "toy" / "plain" / "state.pt", weights_only=False)
    assert state["objective"]["d_steps"] == state["step"] > 0
