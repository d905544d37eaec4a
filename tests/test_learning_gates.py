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
    assert smoke["train"]["kimg"] == recipe["scales"]["smoke"]["preset_kimg"]["cifar10"]
    # Table 2, config A: the paper sets its own lr (equalized learning rate): the recipe does not touch it
    a = resolve_run("r3gan", "t2-a-stylegan2", "smoke")
    assert a["schedule"]["lr"]["start"] == 2.5e-3
    # every row of a table gets the same recipe: Table 1's four rows differ only in the loss (and in the
    # snapshots the first keeps for the StackedMNIST learning run it trains: config/shared.py)
    t1 = [resolve_run("r3gan", e, "smoke") for e in ("t1-rpgan-r1r2", "t1-gan-r1r2", "t1-rpgan-r1", "t1-gan-r1")]
    assert [cfg["train"]["keep_networks"] for cfg in t1] == [8, 0, 0, 0]
    t1[0]["train"]["keep_networks"] = 0
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


# --- EpiGRAF and the INR paper: the index gate on every trained run, EpiGRAF's view-consistency gate ----------
EPIGRAF_T1 = ("t1-epigraf-ffhq256", "t1-epigraf-ffhq512", "t1-epigraf-cats256", "t1-epigraf-mplants256",
              "t1-epigraf-mfood256")


def test_epigraf_and_inr_declare_their_gates():
    params = load_params()
    for paper in ("epigraf", "inr_multistage"):
        gates = params.experiments[paper]["learning_gates"]
        assert gates["index_min"] == 0.6 and not reported_fail(params, paper)  # no run exempt: none reported Fail
    views = params.experiments["epigraf"]["learning_gates"]["metrics"]
    assert sorted(g["experiment"] for g in views) == sorted(EPIGRAF_T1)
    bounds = {g["experiment"]: g["max"] for g in views if g["metric"] == "view_consistency"}
    assert bounds == {"t1-epigraf-ffhq256": 1.0, "t1-epigraf-ffhq512": 1.0, "t1-epigraf-cats256": 1.0,
                      "t1-epigraf-mplants256": 0.6, "t1-epigraf-mfood256": 0.6}  # frontal span / whole circle
    assert all(g["why"] for g in views)
    # every gated run measures the metric (eval.view_consistency), at every scale
    for exp in EPIGRAF_T1:
        for scale in ("tiny", "smoke", "paper"):
            assert resolve_run("epigraf", exp, scale)["eval"]["view_consistency"] == {"latents": 16, "views": 7}
    assert "view_consistency" not in resolve_run("epigraf", "t2-d-standard-ffhq512", "smoke")["eval"]


def test_learning_index_applies_to_epigraf_and_inr_at_small_scales_only():
    from ganrepro.stages.learning_index import applies

    for paper, exp in (("epigraf", "t1-epigraf-mplants256"), ("epigraf", "t3-sg2-full-bedroom256"),
                       ("inr_multistage", "multistage-ffhq-s1"), ("inr_multistage", "patch-church")):
        assert applies(resolve_run(paper, exp, "smoke")) and applies(resolve_run(paper, exp, "tiny"))
        assert not applies(resolve_run(paper, exp, "paper"))


def test_epigraf_gates_pass_and_fail(in_tmp_workdir):
    params = load_params()
    values = {"t1-epigraf-ffhq256": 0.62, "t1-epigraf-ffhq512": 1.0, "t1-epigraf-cats256": float("inf"),
              "t1-epigraf-mplants256": 0.74, "t1-epigraf-mfood256": float("nan")}
    for exp, v in values.items():
        _write("smoke", "epigraf", exp, {"fid": 5.0, "view_consistency": v}, index=0.7)
    _write("smoke", "epigraf", "t2-d-standard-ffhq512", {"fid": 9.0}, index=0.2)
    _write("smoke", "epigraf", "t3-sg2-full-bedroom256", {"fid": 9.0}, index=0.9, status="failed")
    rows = {r["run"]: r for r in metric_gates("epigraf", "smoke", params)}
    assert {r: rows[r]["verdict"] for r in rows} == {
        "t1-epigraf-ffhq256": "pass", "t1-epigraf-ffhq512": "pass", "t1-epigraf-cats256": "FAIL",
        "t1-epigraf-mplants256": "FAIL", "t1-epigraf-mfood256": "FAIL (nan)"}  # 0.74 passes frontal, not 360
    assert rows["t1-epigraf-ffhq256"]["gate"] == "view_consistency <= 1"
    idx = {r["run"]: r["verdict"] for r in index_gates("epigraf", "smoke", params)}
    assert all(idx[e] == "pass" for e in EPIGRAF_T1)
    assert idx["t2-d-standard-ffhq512"] == "FAIL" and idx["t3-sg2-full-bedroom256"] == "FAIL (training failed)"
    assert idx["f6-beta-t10k-cats256"] == "missing" and len(idx) == 27
    text = "\n".join(gates_section("epigraf", "smoke", params))
    assert "| t1-epigraf-mplants256 | view_consistency <= 0.6 | 0.74 | **FAIL** |" in text
    assert "| t1-epigraf-ffhq256 | view_consistency <= 1 | 0.62 | **pass** |" in text
    assert "| t1-epigraf-cats256 | view_consistency <= 1 | inf | **FAIL** |" in text
    assert "**5 of 27 runs pass** learning index >= 0.6" in text and "0 exempt" in text
    assert gates_section("epigraf", "paper", params) == []  # the paper scale is judged by its tables


def test_inr_index_gate_pass_and_fail(in_tmp_workdir):
    params = load_params()
    _write("smoke", "inr_multistage", "image-ffhq", {"fid": 5.0}, index=0.8)
    _write("smoke", "inr_multistage", "multistage-ffhq-s1", {"fid": 30.0}, index=0.1)
    _write("smoke", "inr_multistage", "multistage-ffhq", {"fid": 50.0}, index=float("nan"))
    assert metric_gates("inr_multistage", "smoke", params) == []
    idx = {r["run"]: r["verdict"] for r in index_gates("inr_multistage", "smoke", params)}
    assert idx["image-ffhq"] == "pass" and idx["multistage-ffhq-s1"] == "FAIL"
    assert idx["multistage-ffhq"] == "FAIL (nan)" and idx["patch-afhq"] == "missing" and len(idx) == 16
    text = "\n".join(gates_section("inr_multistage", "smoke", params))
    assert "**1 of 16 runs pass** learning index >= 0.6" in text
    assert "| multistage-ffhq-s1 | 0.1 | 10 | 100 | 2 | FAIL |" in text  # learning: FID 10, untrained 100, real 2


def test_a_gate_on_an_unknown_run_is_refused(tmp_path):
    import shutil

    from ganrepro.errors import ConfigError

    root = tmp_path / "params"
    shutil.copytree(Path(paths.__file__).resolve().parents[2] / "params", root)
    path = root / "experiments" / "inr_multistage.yaml"
    path.write_text(path.read_text() + "  metrics: [{experiment: image-ffhqq, metric: fid, max: 10}]\n")
    with pytest.raises(ConfigError, match="learning_gates.metrics.0..experiment: unknown experiment 'image-ffhqq'"):
        load_params(root)
