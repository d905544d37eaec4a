"""`ganrepro ablate`: overrides of the resolved config, and an ablation whose unchanged variant
reproduces the DAG's own number for the same run."""

from __future__ import annotations

import json

import pytest

from ganrepro.errors import ConfigError
from ganrepro.orchestration.ablate import apply_override, run_ablation


def test_override_sets_a_nested_value_parsed_as_yaml_and_leaves_the_original():
    cfg = {"model": {"resample_filter": [1, 3, 3, 1], "widths": [8]}, "seed": 0}
    out = apply_override(cfg, "model.resample_filter=[1, 2, 1]")
    assert out["model"]["resample_filter"] == [1, 2, 1] and cfg["model"]["resample_filter"] == [1, 3, 3, 1]
    assert apply_override(cfg, "seed=3")["seed"] == 3


@pytest.mark.parametrize("bad, message", [("train.nope=1", "not a key"), ("nope.x=1", "not a key"),
                                          ("model.resample_filter", "dotted.key=VALUE")])
def test_override_refuses_unknown_keys_and_bad_syntax(bad, message):
    with pytest.raises(ConfigError, match=message):
        apply_override({"model": {"resample_filter": [1, 3, 3, 1]}, "train": {"kimg": 1}}, bad)


def test_model_knobs_at_their_family_default_can_be_set():
    # the resolved model lists only the knobs params set; the family validates the rest when it builds
    assert apply_override({"model": {"family": "r3gan"}}, "model.resample_filter=[1,2,1]")["model"] == {
        "family": "r3gan", "resample_filter": [1, 2, 1]}


@pytest.mark.slow
def test_unchanged_variant_reproduces_the_dags_fid_and_the_change_moves_it(tiny_run, monkeypatch, capsys):
    monkeypatch.chdir(tiny_run)
    monkeypatch.setenv("GANREPRO_WORKDIR", str(tiny_run))
    rows = run_ablation("r3gan", "t2-e-inverted", "tiny", sets=["model.resample_filter=[1,2,1]"], seeds=[0],
                        work=str(tiny_run))
    record = json.loads((tiny_run / "results" / "metrics" / "tiny" / "r3gan" / "t2-e-inverted.json").read_text())
    name, entry = next((k, v) for k, v in record["metrics"].items() if k.startswith("fid"))
    default, changed = rows
    assert default["variant"] == "default" and default["metric"] == name
    assert default["fid"] == pytest.approx(entry["value"], rel=1e-9)  # same config, seed, threads: same run
    assert changed["fid"] != pytest.approx(default["fid"]) and changed["status"] == "ok"
    assert "model.resample_filter=[1,2,1]" in capsys.readouterr().out
