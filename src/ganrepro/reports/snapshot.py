"""The committed snapshot of the latest smoke run, and a cell-by-cell comparison of a run against it.

Pipeline outputs (results/tables, figures, metrics) are never committed: a committed output would stop
Snakemake and DVC from running the job that makes it on a fresh clone. The latest smoke run lives in
``results/snapshot/<scale>/`` instead (``ganrepro snapshot --save``), and ``ganrepro snapshot``
compares the user's own tables with it cell by cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from .. import paths

KEY = ["table", "row", "metric"]


def _cells(tables_dir: Path) -> pd.DataFrame:
    frames = []
    for csv in sorted(Path(tables_dir).glob("*/*.csv")):
        if csv.stem == "agreement":
            continue
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if set(KEY) <= set(df.columns) and "reproduced" in df.columns:
            frames.append(df.assign(paper=csv.parent.name)[["paper", *KEY, "reproduced"]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["paper", *KEY, "reproduced"])


def compare_tables(new_dir: str | Path, old_dir: str | Path) -> pd.DataFrame:
    """One line per cell: paper, table, row, metric, old, new, and `same` | `changed` | `new` | `gone`."""
    new, old = _cells(Path(new_dir)), _cells(Path(old_dir))
    both = old.merge(new, on=["paper", *KEY], how="outer", suffixes=("_old", "_new"), indicator=True)
    status = both["_merge"].map({"both": "same", "left_only": "gone", "right_only": "new"}).astype(str)
    changed = (both["_merge"] == "both") & (both["reproduced_old"] != both["reproduced_new"])
    status[changed] = "changed"
    return pd.DataFrame({"paper": both["paper"], "table": both["table"], "row": both["row"], "metric": both["metric"],
                         "old": both["reproduced_old"], "new": both["reproduced_new"], "status": status})


def summary(diff: pd.DataFrame) -> str:
    lines = []
    for (paper, table), g in diff.groupby(["paper", "table"], sort=True):
        counts = g["status"].value_counts().to_dict()
        lines.append(f"{paper}/{table}: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("same", "changed", "new", "gone")))
        for _, r in g[g["status"] == "changed"].iterrows():
            lines.append(f"    {r['row']} {r['metric']}: {r['old'] or '-'} -> {r['new'] or '-'}")
    total = diff["status"].value_counts().to_dict()
    lines.append("all: " + ", ".join(f"{total.get(k, 0)} {k}" for k in ("same", "changed", "new", "gone")))
    return "\n".join(lines)


def snapshot_dir(scale: str) -> Path:
    return Path(paths.SNAPSHOT) / scale


def save_snapshot(scale: str) -> Path:
    """Copy this run's tables, figures, metrics and overview into results/snapshot/<scale>/ (to commit)."""
    dest = snapshot_dir(scale)
    if dest.exists():
        shutil.rmtree(dest)
    res = Path(paths.RESULTS)
    for sub in ("tables", "figures", f"metrics/{scale}", "metrics/params"):
        if (res / sub).is_dir():
            shutil.copytree(res / sub, dest / sub)
    if (res / "README.md").is_file():
        shutil.copy2(res / "README.md", dest / "README.md")
    return dest
