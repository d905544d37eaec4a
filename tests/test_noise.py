"""Noise made visible in the reports: flips inside the cells' noise are ties, tau has an interval, the table
CSVs carry each FID's bootstrap interval, the overview prints them (reports/noise.py, agreement, tables)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from ganrepro.reports.agreement import rank_agreement, table_agreement, write_agreement
from ganrepro.reports.noise import noise_interval, noise_sd, tau_b_rows, tau_interval

ROWS = ["a", "b", "c", "d"]
REPORTED = [1.0, 2.0, 3.0, 4.0]  # FID, lower is better: the paper ranks a < b < c < d
SNAPSHOT = Path(__file__).resolve().parents[1] / "results" / "snapshot" / "smoke" / "metrics" / "smoke" / "r3gan"


def test_flip_with_overlapping_intervals_is_a_tie_with_disjoint_intervals_a_flip():
    ours = [10.0, 12.0, 11.0, 20.0]  # b and c swapped by 1.0
    overlapping = [(9.5, 10.5), (11.4, 12.6), (10.5, 11.5), (19, 21)]  # b's and c's intervals meet at 11.4-11.5
    tie = rank_agreement(ROWS, REPORTED, ours, "lower", ci=overlapping)
    assert tie["flips"] == [] and tie["ties"] == [("b", "c")]
    disjoint = [(9.5, 10.5), (11.6, 12.4), (10.5, 11.5), (19, 21)]
    flip = rank_agreement(ROWS, REPORTED, ours, "lower", ci=disjoint)
    assert flip["flips"] == [("b", "c")] and flip["ties"] == []
    assert tie["tau"] == flip["tau"]  # the point tau does not depend on the noise


def test_overlapping_intervals_of_pairs_in_the_papers_order_are_not_ties():
    ci = [(0, 100)] * 4  # everything overlaps, but no pair is reversed
    out = rank_agreement(ROWS, REPORTED, [10.0, 11.0, 12.0, 13.0], "lower", ci=ci)
    assert out["flips"] == [] and out["ties"] == []


def test_noise_interval_is_the_hull_of_ci_and_std_and_sd_the_larger_of_the_two():
    assert noise_interval(5.0) == (5.0, 5.0)
    assert noise_interval(5.0, 1.0, (4.5, 7.0)) == (4.0, 7.0)
    assert noise_sd(0.5, (4.0, 4.0 + 2 * 1.959963984540054)) == pytest.approx(1.0)
    assert noise_sd(2.0, (4.0, 5.0)) == 2.0 and noise_sd() == 0.0


def test_tau_b_of_draws_is_scipys_with_ties_in_the_paper():
    rng = np.random.default_rng(0)
    reported = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0]
    draws = rng.normal(size=(5, 6))
    assert tau_b_rows(reported, draws) == pytest.approx([kendalltau(reported, d)[0] for d in draws])


def test_tau_interval_degenerates_to_the_point_without_noise_and_contains_tau_with_it():
    ours = [10.0, 12.0, 11.0, 20.0]
    tau = kendalltau(REPORTED, ours)[0]
    assert tau_interval(REPORTED, ours, [0.0] * 4) == pytest.approx((tau, tau))
    lo, hi = tau_interval(REPORTED, ours, [0.6] * 4)
    assert lo < tau <= hi and lo >= -1 and hi <= 1 and hi == pytest.approx(1.0)  # b, c can swap back: tau 1
    wide_lo, _ = tau_interval(REPORTED, ours, [5.0] * 4)
    assert wide_lo < lo  # more noise, wider interval
    assert tau_interval(REPORTED, ours, [0.6] * 4) == (lo, hi)  # seeded
    out = rank_agreement(ROWS, REPORTED, ours, "lower")
    assert out["tau_lo"] == out["tau_hi"] == pytest.approx(out["tau"])


def _csv(reproduced, ci=None):
    lines = []
    for i, (row, rep) in enumerate(zip(ROWS, reproduced)):
        line = {"table": "table2", "row": row, "metric": "fid", "reported": str(REPORTED[i]), "reproduced": str(rep),
                "status": "reproduced", "scale": "tiny", "dataset_used": "shapes", "standin_for": "FFHQ"}
        line["ci_lo"], line["ci_hi"] = (str(ci[i][0]), str(ci[i][1])) if ci and ci[i] else ("", "")
        lines.append(line)
    return pd.DataFrame(lines)


def test_table_agreement_reads_the_ci_columns():
    spec = {"metrics": {"fid": {"better": "lower"}}, "rows": [{"row": r} for r in ROWS]}
    ours = [10.0, 12.0, 11.0, 20.0]
    (tie,) = [x for x in table_agreement("p", "t", _csv(ours, [None, (11, 13), (10.5, 11.5), None]), spec)
              if x["kind"] == "rank"]
    assert tie["flips"] == "" and tie["ties"] == "b~c" and tie["tau_lo"] < tie["tau"] <= tie["tau_hi"]
    (flip,) = [x for x in table_agreement("p", "t", _csv(ours), spec) if x["kind"] == "rank"]
    assert flip["flips"] == "b>c" and flip["ties"] == "" and flip["tau_lo"] == flip["tau_hi"] == pytest.approx(flip["tau"])


def test_agreement_files_and_overview_show_tau_interval_and_ties(tmp_path):
    from ganrepro.reports.overview import write_overview

    tables = tmp_path / "results" / "tables"
    (tables / "r3gan").mkdir(parents=True)
    df = _csv([10.0, 12.0, 11.0, 20.0], [(9, 11), (11, 13), (10.5, 11.5), (19, 21)])
    df["experiment"] = "t2-run"
    rows = ["config_a_stylegan2", "config_b_stripped", "config_c_rpgan", "config_d_resnet"]
    df["row"] = rows
    df.to_csv(tables / "r3gan" / "table2.csv", index=False)
    csv, md = write_agreement("r3gan", tables)
    rank = pd.read_csv(csv).query("kind == 'rank'").iloc[0]
    assert rank["ties"] == "config_b_stripped~config_c_rpgan" and pd.isna(rank["flips"])
    lo, hi = rank["tau_lo"], rank["tau_hi"]
    assert lo < rank["tau"] <= hi
    assert f"| {rank['tau']:.2f} [{lo:.2f}, {hi:.2f}] |" in md.read_text()
    text = write_overview(["r3gan"], tmp_path / "results" / "README.md", tables_dir=tables,
                          figures_dir=tmp_path / "results" / "figures").read_text()
    assert (f"| fid {rank['tau']:.2f} [{lo:.2f}, {hi:.2f}] | fid: none, 1 tie (config_b_stripped~config_c_rpgan) |"
            in text)


@pytest.mark.skipif(not (SNAPSHOT / "t2-a-stylegan2.json").is_file(), reason="no committed smoke snapshot")
def test_table_csv_and_markdown_carry_the_fid_interval(tmp_path, monkeypatch):
    from ganrepro.reports.tables import build_table, to_markdown

    records = tmp_path / "results" / "metrics" / "smoke" / "r3gan"
    shutil.copytree(SNAPSHOT, records)
    path = records / "t2-a-stylegan2.json"
    record = json.loads(path.read_text())
    name = next(k for k in record["metrics"] if k.startswith("fid"))
    value = record["metrics"][name]["value"]
    record["metrics"][name]["ci95"] = [value - 1.0, value + 2.0]
    path.write_text(json.dumps(record))
    stripped = records / "t2-b-stripped.json"  # a record without an interval (older runs): no ci cells
    other = json.loads(stripped.read_text())
    for entry in other["metrics"].values():
        entry.pop("ci95", None)
    stripped.write_text(json.dumps(other))
    monkeypatch.chdir(tmp_path)
    df = build_table("r3gan", "table2", "smoke")
    fid = df[df["metric"] == "fid"].set_index("row")
    assert fid.loc["config_a_stylegan2", "ci_lo"] == value - 1.0 and fid.loc["config_a_stylegan2", "ci_hi"] == value + 2.0
    assert fid.loc["config_b_stripped", ["ci_lo", "ci_hi"]].isna().all()  # its record has no interval
    assert df[df["metric"] != "fid"][["ci_lo", "ci_hi"]].isna().all().all()  # parameter counts have none
    assert f"{value:.4g} [{value - 1.0:.4g}, {value + 2.0:.4g}]" in to_markdown(df, "r3gan", "table2", "smoke")


def test_cells_over_seeds_average_the_seeds_intervals():
    from ganrepro.reports.tables import _over_seeds

    cells = [{"reproduced": v, "status": "reproduced", "metric_name": "fid", "ci": [v - 1, v + 3]} for v in (10.0, 12.0)]
    cell, std = _over_seeds(cells)
    assert cell["reproduced"] == 11.0 and cell["ci"] == [10.0, 14.0] and std == pytest.approx(2 ** 0.5)
    cells[1]["ci"] = None  # one seed without an interval: none for the mean
    assert _over_seeds(cells)[0]["ci"] is None


def test_table_columns_keep_the_first_eight_readers_rely_on():
    from ganrepro.reports.tables import COLUMNS

    assert COLUMNS[:10] == ["table", "row", "metric", "reported", "reproduced", "reproduced_std", "delta", "status",
                            "ci_lo", "ci_hi"]
