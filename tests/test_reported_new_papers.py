"""The reported numbers of EpiGRAF and multi-stage INR training (params/reported/*.yaml).

Checks the structure the table code (reports/tables.py) and the budget (config/resolve.py) read, that
the prose's derived claims recompute from the stored cells, and pins key values so a typo fails.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from ganrepro.config.load import load_params, read_yaml
from ganrepro.config.resolve import _experiment, _gpu_hours

REPORTED = Path(__file__).resolve().parents[1] / "params" / "reported"
PAPERS = ("epigraf", "inr_multistage")
NON_NUMERIC_CELLS = ("Fail", "OOM")


@pytest.fixture(scope="module", params=PAPERS)
def paper(request) -> tuple[str, dict]:
    return request.param, read_yaml(REPORTED / f"{request.param}.yaml")


def load(name: str) -> dict:
    return read_yaml(REPORTED / f"{name}.yaml")


def cell(data: dict, ref: list) -> float:
    table, row, metric = ref
    rows = {r["row"]: r for r in data["tables"][table]["rows"]}
    return rows[row]["reported"][metric]


def row_of(data: dict, table: str, row: str) -> dict:
    return next(r for r in data["tables"][table]["rows"] if r["row"] == row)


def test_header_and_every_row_has_what_the_table_code_reads(paper):
    name, data = paper
    assert data["paper"] == name and data["title"] and data["versions"]
    for tid, table in data["tables"].items():
        assert table["title"] and table["protocol"].strip(), tid
        assert "dataset" in table, tid
        assert table["metrics"] and table["rows"], tid
        for metric, spec in table["metrics"].items():
            assert spec["label"] and spec["better"] in ("higher", "lower", None), (tid, metric)
        ids = [r["row"] for r in table["rows"]]
        assert len(ids) == len(set(ids)), f"{tid}: duplicate row ids"
        for row in table["rows"]:
            where = f"{name}.{tid}.{row['row']}"
            assert row["label"] and "experiment" in row, where
            assert set(row["reported"]) == set(table["metrics"]), where
            assert row["version"] in data["versions"], where
            exp = row["experiment"]
            assert exp is None or re.fullmatch(r"[a-z0-9][a-z0-9-]*", exp), where


def test_cells_are_numbers_or_the_printed_words(paper):
    name, data = paper
    for tid, table in data["tables"].items():
        for row in table["rows"]:
            cells = [row["reported"]] + ([row["reported_submission"]] if "reported_submission" in row else [])
            for values in cells:
                for metric, value in values.items():
                    if table["metrics"][metric]["better"] is None:
                        assert value is None or isinstance(value, (str, int, float)), (tid, row["row"], metric)
                        continue
                    number = isinstance(value, (int, float)) and not isinstance(value, bool)
                    assert value is None or number or value in NON_NUMERIC_CELLS, (tid, row["row"], metric, value)
                    if number:
                        assert not math.isnan(value) and value >= 0, (tid, row["row"], metric)
                        assert math.isfinite(value) or metric == "gpu_days", (tid, row["row"], metric)


def test_rows_that_share_an_experiment_agree_on_its_table_dataset(paper):
    """Rows that share an experiment id (a reused run) must not label it with two datasets."""
    _, data = paper
    seen: dict[str, str] = {}
    for tid, table in data["tables"].items():
        for row in table["rows"]:
            exp, ds = row["experiment"], row.get("dataset") or table["dataset"]
            if exp and ds:
                assert seen.setdefault(exp, ds) == ds, f"{exp}: {seen[exp]} vs {ds}"


def test_every_experiment_dataset_has_a_budget_the_planner_can_compute(paper):
    """Each row's experiment trains on a dataset (params/experiments, the one source of that fact) whose
    paper-scale GPU-hours the planner finds in the reported `compute` block."""
    name, data = paper
    owners: dict[str, str] = {}
    for key, entry in data["compute"].items():
        assert entry["duration_mimg"] > 0, key
        for ds in entry["datasets"]:
            assert ds not in owners, f"{ds} in compute.{owners.get(ds)} and compute.{key}: the first would win"
            owners[ds] = key
    params = load_params()
    checked = 0
    for tid, table in data["tables"].items():
        for row in table["rows"]:
            if not row["experiment"]:
                continue
            _, run = _experiment(params, name, row["experiment"])
            ds = run["dataset"]
            assert ds in params.datasets, (tid, row["row"], ds)
            assert ds in owners, f"{tid}.{row['row']}: dataset {ds} of {row['experiment']} has no compute entry"
            entry = data["compute"][owners[ds]]
            hours = _gpu_hours(params, name, ds, {"duration_mimg": entry["duration_mimg"]})
            assert hours == pytest.approx(entry.get("gpu_hours") or entry["gpus"] * entry["wall_hours"])
            checked += 1
    assert checked >= 3


OPS = {
    "ratio": lambda a, b: a / b,
    "difference": lambda a, b: a - b,
    "relative_change": lambda a, b: a / b - 1,
    "relative_reduction": lambda a, b: 1 - a / b,
}


def recompute(data: dict, claim: dict) -> float:
    if claim["op"] == "rank":
        table, row, metric = claim["a"]
        target = row_of(data, table, row)
        same = [r["reported"][metric] for r in data["tables"][table]["rows"] if r["dataset"] == target["dataset"]]
        return 1 + sum(isinstance(v, (int, float)) and v < target["reported"][metric] for v in same)
    b = claim["b_value"] if "b_value" in claim else cell(data, claim["b"])
    return OPS[claim["op"]](cell(data, claim["a"]), b)


def test_claims_recompute_from_the_stored_cells(paper):
    _, data = paper
    checked = 0
    for cid, claim in data["claims"].items():
        assert claim["quote"], cid
        if not claim["op"]:
            continue
        got = recompute(data, claim)
        assert got == pytest.approx(claim["computed"], abs=1e-3), cid
        if claim.get("value") is not None:
            assert (abs(claim["value"] - got) <= claim["tolerance"] + 1e-9) == claim["agrees"], cid
        checked += 1
    assert checked >= 6


# --- pinned values ---------------------------------------------------------------------------------

def test_epigraf_table1_key_cells_and_the_version_disagreements():
    data = load("epigraf")
    fid = {r["row"]: r["reported"]["fid"] for r in data["tables"]["table1"]["rows"]}
    assert (fid["epigraf_ffhq256"], fid["epigraf_ffhq512"], fid["epigraf_cats256"],
            fid["epigraf_mplants256"], fid["epigraf_mfood256"]) == (9.71, 9.92, 6.93, 19.42, 18.15)
    assert fid["pigan_ffhq512"] == fid["gram_ffhq512"] == "OOM"
    assert (fid["stylenerf_ffhq256"], fid["eg3d_ffhq512"], fid["mvcgan_cats256"]) == (8.00, 4.7, 39.16)
    differ = {r["row"]: (r["reported"]["fid"], r["reported_submission"]["fid"])
              for r in data["tables"]["table1"]["rows"] if "reported_submission" in r}
    assert differ == {"stylenerf_cats256": (5.91, 27.91), "pigan_mplants256": (75.64, 46.72),
                      "gram_mplants256": (188.6, 211.7), "gram_mfood256": (178.9, 248.3)}
    other_tables = [r for t, tab in data["tables"].items() if t != "table1" for r in tab["rows"]]
    assert not any("reported_submission" in r for r in other_tables)


def test_epigraf_costs_agree_between_tables_and_compute():
    data = load("epigraf")
    cost = {r["row"]: r["reported"]["gpu_days"] for r in data["tables"]["table1_cost"]["rows"]}
    assert (cost["epigraf_256"], cost["epigraf_512"], cost["eg3d_512"], cost["pigan_512"]) == (16, 24, 76, math.inf)
    assert row_of(data, "table1_cost", "gram_256")["geometry_constraints"] == "iso-surfaces"
    t2 = {r["row"]: r["reported"] for r in data["tables"]["table2"]["rows"]}
    assert [t2[f"patch{p}_ffhq512"]["gpu_days"] for p in (32, 64, 128)] == [19, 24, 34]
    assert (t2["d_standard_ffhq512"]["fid"], t2["d_4scale_mplants256"]["fid"]) == (11.57, 43.11)
    assert t2["d_hyper_ffhq512"] == t2["patch64_ffhq512"] == {"fid": 9.92, "gpu_days": 24}
    c512 = data["compute"]["epigraf_512"]
    assert c512["gpu_hours"] == 24 * c512["gpu_days"] == 24 * cost["epigraf_512"]
    assert data["compute"]["epigraf_256"]["gpu_days"] == cost["epigraf_256"]
    for p in (32, 128):
        assert c512["cost_ratio"][f"patch{p}"] == pytest.approx(t2[f"patch{p}_ffhq512"]["gpu_days"] / 24, abs=1e-4)
    assert (round(c512["cost_ratio"]["patch32"], 2), round(c512["cost_ratio"]["patch128"], 2)) == (0.79, 1.42)


def test_epigraf_tables_3_and_4():
    data = load("epigraf")
    t3 = {r["row"]: r["reported"] for r in data["tables"]["table3"]["rows"]}
    assert t3["full_ffhq512"] == {"fid": 3.83, "gpu_days": 8}
    assert [t3[f"patch64{x}_bedroom256"]["fid"] for x in ("", "_x2", "_x4")] == [6.73, 5.42, 4.31]
    assert [t3[f"patch64{x}_ffhq512"]["gpu_days"] for x in ("", "_x2", "_x4")] == [6, 12, 24]
    t4 = {r["row"]: r["reported"] for r in data["tables"]["table4"]["rows"]}
    assert t4["mplants"]["num_images"] == 1108 * 128 and t4["mfood"]["num_images"] == 199 * 128
    assert (t4["ffhq"]["num_images"], t4["cats"]["num_images"], t4["ffhq"]["yaw"]) == (70000, 10000, "Normal(0, 0.3)")
    assert row_of(data, "table4", "mplants")["pose"]["pitch"] == {"dist": "usphere", "mu": 1.5707963, "zeta": 1.5707963}


def test_inr_table1_key_cells():
    data = load("inr_multistage")
    fid = {t: {r["row"]: r["reported"]["fid"] for r in data["tables"][f"table1_{t}"]["rows"]}
           for t in ("ffhq", "church", "afhq")}
    assert [fid[t]["image"] for t in fid] == [8.51, 6.42, 10.00]
    assert [fid[t]["patch"] for t in fid] == [41.65, 18.48, 39.39]
    assert [fid[t]["multistage"] for t in fid] == [24.38, 10.08, 17.13]
    assert all(fid[t]["gradaccum"] is None for t in fid)
    assert [data["tables"][f"table1_{t}"]["training_days"] for t in fid] == [5, 6, 4]
    cost = {r["row"]: r["reported"] for r in data["tables"]["table1_cost"]["rows"]}
    assert cost["image"] == {"gpu_mem_gb": 86, "sec_per_iter": 3.04}
    assert cost["patch"] == {"gpu_mem_gb": 30, "sec_per_iter": 0.82}
    assert cost["multistage"] == {"gpu_mem_gb": 31, "sec_per_iter": 0.71}
    assert [data["compute"][k]["wall_hours"] for k in ("ffhq256", "lsun_church256", "afhq256")] == [120, 144, 96]
    assert (data["claims"]["memory_vs_image"]["value"], data["claims"]["time_vs_image"]["value"]) == (2.8, 4.3)
