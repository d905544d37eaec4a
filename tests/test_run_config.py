"""A run's config is resolved once, written into the run, and read back from there: evaluation uses the config the
run was trained with, and a table's protocol columns come from the record of the run that produced the number."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ganrepro import paths
from ganrepro.config import resolve_run
from ganrepro.config.run_config import run_config
from ganrepro.errors import ConfigError
from ganrepro.reports.tables import build_table

PAPER, EXP, SCALE = "r3gan", "t4-e-ffhq256", "tiny"


def _store(cfg: dict) -> Path:
    path = paths.run_config(cfg["paths"]["run_dir"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg))
    return path


def test_an_untrained_run_is_its_plan(in_tmp_workdir):
    assert run_config(PAPER, EXP, SCALE) == resolve_run(PAPER, EXP, SCALE)


def test_a_trained_run_keeps_its_training_config_and_takes_todays_protocol(in_tmp_workdir):
    planned = resolve_run(PAPER, EXP, SCALE)
    stored = copy.deepcopy(planned)
    stored["eval"]["num_fake"] = 7        # evaluated then with another protocol: no trained weight changes
    stored["train"]["note"] = "from the run"  # (a key only the run has: shows what is read from where)
    _store(stored)
    with pytest.raises(ConfigError, match=r"differs in: train;.*Re-run its training"):
        run_config(PAPER, EXP, SCALE)  # `train` is training config: the extra key makes it another run
    del stored["train"]["note"]
    _store(stored)
    got = run_config(PAPER, EXP, SCALE)
    assert got["eval"] == planned["eval"] and got == planned


def test_a_run_trained_with_other_params_is_refused_naming_the_keys(in_tmp_workdir):
    stored = copy.deepcopy(resolve_run(PAPER, EXP, SCALE))
    stored["loss"]["gamma"] = 123.0
    stored["seed"] = 99
    path = _store(stored)
    with pytest.raises(ConfigError, match=r"differs in: loss, seed; .*config\.json"):
        run_config(PAPER, EXP, SCALE)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        run_config(PAPER, EXP, SCALE)


def test_table_protocol_columns_come_from_the_record_that_produced_the_number(in_tmp_workdir):
    cfg = copy.deepcopy(resolve_run(PAPER, EXP, SCALE))
    cfg["dataset"]["title"] = "the data this run saw"
    cfg["eval"]["num_fake"] = 77
    metric = "fid200_r400-cnn_shapes8"
    record = {"paper": PAPER, "experiment": EXP, "scale": SCALE, "train_status": "ok", "train_kimg": 0.16,
              "metrics": {metric: {"value": 40.0, "metric": "fid"}},
              "provenance": {"seeds": {"eval": 123456}, "git": {"commit": "abc1234", "dirty": False}, "config": cfg}}
    Path(paths.metrics(SCALE, PAPER, EXP)).parent.mkdir(parents=True)
    Path(paths.metrics(SCALE, PAPER, EXP)).write_text(json.dumps(record))
    df = build_table(PAPER, "table4", SCALE)
    ours = df[(df["row"] == "ours_config_e") & (df["metric"] == "fid")].iloc[0]
    assert ours["reproduced"] == 40.0
    assert ours["dataset_used"] == "the data this run saw" and ours["generated_samples"] == 77
    planned = df[(df["row"] != "ours_config_e") & df["experiment"].astype(bool)]
    assert (planned["dataset_used"] != "the data this run saw").all()  # rows without a record: the plan
