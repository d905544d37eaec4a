"""The tables' ``official`` column: the released checkpoint's value from ``<experiment>@official.json`` beside
reported and reproduced; without such a record the column is empty and the markdown does not show it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ganrepro import paths
from ganrepro.reports.tables import build_table, to_markdown, write_tables

PAPER, TABLE, EXP, SCALE = "r3gan", "table4", "t4-e-ffhq256", "tiny"
FID = "fid200_r400-cnn_shapes8"


def _record(path: str, fid: float) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({
        "paper": PAPER, "experiment": EXP, "scale": SCALE, "train_status": "ok", "train_kimg": 0.16,
        "metrics": {FID: {"value": fid, "metric": "fid"}},
        "provenance": {"seeds": {"eval": 123456}, "git": {"commit": "abc1234", "dirty": False}}}))


def _cell(df: pd.DataFrame, row: str) -> pd.Series:
    return df[(df["row"] == row) & (df["metric"] == "fid")].iloc[0]


def test_without_an_official_record_the_column_is_empty_and_not_shown(in_tmp_workdir):
    _record(paths.metrics(SCALE, PAPER, EXP), 40.0)
    df = build_table(PAPER, TABLE, SCALE)
    assert "official" in df.columns and df["official"].isna().all()
    assert _cell(df, "ours_config_e")["reproduced"] == 40.0
    assert "official" not in to_markdown(df, PAPER, TABLE, SCALE)


def test_an_official_record_fills_its_rows_official_cell_only(in_tmp_workdir):
    _record(paths.metrics(SCALE, PAPER, EXP), 40.0)
    _record(paths.tagged_metrics(SCALE, PAPER, EXP, "official"), 12.5)
    df = build_table(PAPER, TABLE, SCALE)
    ours = _cell(df, "ours_config_e")
    assert ours["official"] == 12.5 and ours["reproduced"] == 40.0 and ours["reported"] == 2.75
    assert df[df["row"] != "ours_config_e"]["official"].isna().all()
    md = to_markdown(df, PAPER, TABLE, SCALE)
    cells = lambda text: [c.strip() for c in text.strip().strip("|").split("|")]  # noqa: E731
    header = next(line for line in md.splitlines() if line.startswith("|") and "FID paper" in line)
    assert cells(header)[1:] == ["FID paper", "FID ours", "FID official"]
    assert cells(next(line for line in md.splitlines() if line.startswith("| Ours")))[1:] == ["2.75", "40", "12.5"]
    assert "@official.json" in md
    csv = next(p for p in write_tables(PAPER, SCALE, out="tables", table=TABLE) if p.suffix == ".csv")
    assert pd.read_csv(csv).set_index("row").loc["ours_config_e", "official"] == 12.5


def test_an_official_record_without_a_trained_run_still_shows(in_tmp_workdir):
    _record(paths.tagged_metrics(SCALE, PAPER, EXP, "official"), 7.0)
    ours = _cell(build_table(PAPER, TABLE, SCALE), "ours_config_e")
    assert ours["official"] == 7.0 and ours["status"] == "missing" and pd.isna(ours["reproduced"])
