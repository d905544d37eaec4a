"""Small-scale recipes, the learning index and the learning gates (issue: small scales that learn)."""

import json
import math
from pathlib import Path

import pytest

from ganrepro import paths
from ganrepro.config import load_params, resolve_run
from ganrepro.config.resolve import recipe_layer
from ganrepro.reports.gates import gates_section, index_gates, metric_gates, reported_fail
from ganrepro.stages.learning_index import learning_index


# --- the recipe ----------------------------------------------------------------------------------------
def test_recipe_scales_and_holds_schedule_entries():
    base = {"schedule": {"lr": [2e-4, 5e-5], "gamma": {"curve": "cosine", "start": 1.0, "end": 0.1, "mimg": 2},
                         "aug_p": [0.0, 0.5]}}
    layer = recipe_layer(base, {"schedule": {"lr": {"curve": "constant", "scale": 10},
                                             "gamma": {"scale": 4}, "aug_p": [0.0, 0.0]},
                                "model": {"widths": [64]}})
    assert layer["schedule"]["lr"] == {"curve": "constant", "start": pytest.approx(2e-3)}
    assert layer["schedule"]["gamma"] == {"curve": "cosine", "start": 4.0, "end": pytest.approx(0.4), "mimg": 2}
    assert layer["schedule"]["aug_p"] == [0.0, 0.0]
    assert layer["model"] == {"widths": [64]}


def _r3gan_recipe():
    return load_params().experiments["r3gan"].get("small_scale")


@pytest.mark.skipif(not _r3gan_recipe(), reason="R3GAN has no small-scale recipe")
def test_recipe_applies_at_small_scales_only_and_experiments_keep_what_the_paper_changes():
    recipe = _r3gan_recipe()
    smoke, paper = resolve_run("r3gan", "t6-e-cifar10", "smoke"), resolve_run("r3gan", "t6-e-cifar10", "paper")
    assert smoke["recipe"]["source"].endswith("r3gan.yaml: small_scale") and "recipe" not in paper
    assert paper["schedule"]["lr"]["start"] == 2e-4 and paper["schedule"]["lr"]["curve"] == "cosine"
    lr_rule = recipe["schedule"]["lr"]
    assert smoke["schedule"]["lr"]["curve"] == lr_rule["curve"] == "constant"
    assert smoke["schedule"]["lr"]["start"] == pytest.approx(lr_rule["start"])
    # gamma: the paper's first value held, scaled linearly with resolution (CIFAR-10: 0.05 at 32 px -> 16 px)
    assert smoke["schedule"]["gamma"] == {"curve": "constant", "start": pytest.approx(0.05 * 16 / 32),
                                          "end": pytest.approx(0.05 * 16 / 32), "kimg": 0.0}
    assert smoke["schedule"]["aug_p"]["start"] == 0.0 and paper["schedule"]["aug_p"]["end"] == 0.55
    assert smoke["train"]["kimg"] == recipe["scales"]["smoke"]["kimg"]
    # Table 2, config A: the paper sets its own lr (equalized learning rate): the recipe does not touch it
    a = resolve_run("r3gan", "t2-a-stylegan2", "smoke")
    assert a["schedule"]["lr"]["start"] == 2.5e-3
    # every row of a table gets the same recipe: Table 1's four rows differ only in the loss
    t1 = [resolve_run("r3gan", e, "smoke") for e in ("t1-rpgan-r1r2", "t1-gan-r1r2", "t1-rpgan-r1", "t1-gan-r1")]
    for cfg in t1[1:]:
        assert {k: cfg[k] for k in ("schedule", "model", "optim", "train")} == \
            {k: t1[0][k] for k in ("schedule", "model", "optim", "train")}


# --- the learning index --------------------------------------------------------------------------------
def test_learning_index_is_the_fraction_of_the_log_fid_gap_closed():
    assert learning_index(100.0, 100.0, 1.0) == pytest.approx(0.0)
    assert learning_index(1.0, 100.0, 1.0) == pytest.approx(1.0)
    assert learning_index(10.0, 100.0, 1.0) == pytest.approx(0.5)
    assert learning_index(200.0, 100.0, 1.0) < 0  # worse than untrained
    assert math.isnan(learning_index(10.0, 1.0, 2.0))  # untrained no worse than real: undefined
    assert math.isnan(learning_index(float("nan"), 100.0, 1.0))


# --- the gates -----------------------------------------------------------------------------------------
def _write(scale, paper, exp, metrics, index=None, status="ok"):
    record = {"train_status": status, "metrics": {f"{m}-x": {"value": v, "metric": m} for m, v in metrics.items()}}
    if index is not None:
        record["learning"] = {"index": index, "fid": 10.0, "fid_init": 100.0, "fid_real": 2.0}
    path = Path(paths.metrics(scale, paper, exp))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_reported_fail_rows_are_the_papers_diverging_runs():
    assert reported_fail(load_params(), "r3gan") == {"t1-rpgan-r1", "t1-gan-r1"}


def test_gates_read_the_metrics_records(in_tmp_workdir):
    params = load_params()
    gates = params.experiments["r3gan"].get("learning_gates") or {}
    if not gates:
        pytest.skip("R3GAN declares no learning gates")
    _write("smoke", "r3gan", "learn-e-stackedmnist", {"modes": 990, "reverse_kl": 0.5}, index=0.9)
    _write("smoke", "r3gan", "learn-e-cifar10", {"class_acc": 0.95}, index=0.7)
    _write("smoke", "r3gan", "t1-rpgan-r1", {"modes": 10}, index=0.1)       # exempt: the paper says Fail
    _write("smoke", "r3gan", "t1-rpgan-r1r2", {"modes": 900}, index=0.59)   # below the index gate
    _write("smoke", "r3gan", "t1-gan-r1r2", {}, index=0.9, status="failed")
    rows = {(r["run"], r["gate"].split()[0]): r["verdict"] for r in metric_gates("r3gan", "smoke", params)}
    assert rows[("learn-e-stackedmnist", "modes")] == "pass"
    assert rows[("learn-e-stackedmnist", "reverse_kl")] == "FAIL"
    assert rows[("learn-e-cifar10", "class_acc")] == "pass"
    idx = {r["run"]: r["verdict"] for r in index_gates("r3gan", "smoke", params)}
    assert idx["learn-e-stackedmnist"] == "pass" and idx["t1-rpgan-r1r2"] == "FAIL"
    assert idx["t1-rpgan-r1"].startswith("exempt") and idx["t1-gan-r1r2"].startswith("FAIL")
    assert idx["t6-e-cifar10"] == "missing"
    text = "\n".join(gates_section("r3gan", "smoke", params))
    assert "| learn-e-stackedmnist | reverse_kl <= 0.2 | 0.5 | **FAIL** |" in text
    assert "2 exempt" in text


def test_tables_name_the_recipe_and_the_learning_index():
    from ganrepro.reports.tables import _learning_index, recipe_text

    text = recipe_text({"source": "params/experiments/x.yaml: small_scale",
                        "schedule": {"lr": {"curve": "constant", "scale": 10}, "aug_p": {"scale": 0}},
                        "scales": {"smoke": {"kimg": 12}}})
    assert text == "params/experiments/x.yaml: small_scale (lr x10 held; aug_p x0; smoke: kimg 12)"
    assert recipe_text(None) == ""
    assert _learning_index({"learning": {"index": 0.61234}}) == 0.612
    assert _learning_index({"learning": {"index": float("nan")}}) == "" and _learning_index(None) == ""
