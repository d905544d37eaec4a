"""One generated page, ``results/README.md``: where the reproduction stands, per paper and table.

Per table: cells reproduced / failed / reported-only / missing, Kendall's tau with its interval under the
cells' noise, flipped pairs and ties (flips inside the noise) per metric (from ``agreement.csv``), the
scale, the stand-in data and the feature extractor used (from the table CSVs' protocol columns); then
links to every table, figure and sample grid of the paper. Links are relative to the page, so it reads
the same on GitHub and in a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .. import paths
from ..utils_io import atomic_write
from .agreement import read_table_csv, table_csvs, tau_text
from .gates import gates_section


def cell_counts(df: pd.DataFrame) -> dict[str, int]:
    """Cells of a long table by outcome (settings and paper-width parameter counts count as 'other')."""
    status = df["status"].astype(str)
    counts = {
        "reproduced": int((status == "reproduced").sum()),
        "failed": int(status.str.startswith("fail").sum()),
        "reported-only": int((status == "reported-only").sum()),
        "missing": int((status == "missing").sum()),
    }
    counts["other"] = len(df) - sum(counts.values())
    return counts


def _unique(values) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if str(v) and str(v) != "nan"))


def _protocol(df: pd.DataFrame) -> dict[str, str]:
    ours = df[df.get("experiment", pd.Series("", index=df.index)).astype(str) != ""]
    standins = _unique(f"{r.dataset_used} for {r.standin_for}" if r.standin_for else r.dataset_used
                       for r in ours.itertuples())
    return {"scale": ", ".join(_unique(df["scale"])) if "scale" in df else "",
            "standins": "; ".join(standins), "extractor": ", ".join(_unique(ours.get("extractor", [])))}


def _agreement(tables_dir: Path, paper: str) -> pd.DataFrame:
    path = tables_dir / paper / "agreement.csv"
    return pd.read_csv(path, keep_default_na=False, dtype=str) if path.is_file() else pd.DataFrame()


def _tau_text(agreement: pd.DataFrame, table: str) -> tuple[str, str]:
    """('fid 0.79 [0.52, 0.93]', 'fid: 1 (a>b), 2 ties') for one table, or ('', '') when no metric was
    eligible. An agreement.csv from before noise intervals (no tau_lo, tau_hi, ties) shows tau alone."""
    if agreement.empty:
        return "", ""
    ranks = agreement[(agreement["table"] == table) & (agreement["kind"] == "rank")]
    taus, flips = [], []
    for r in ranks.itertuples():
        tau = tau_text(r.tau, getattr(r, "tau_lo", ""), getattr(r, "tau_hi", ""))
        taus.append(f"{r.metric} {tau or 'n/a'}")
        n = len(r.flips.split("; ")) if r.flips else 0
        ties = getattr(r, "ties", "")
        n_ties = len(ties.split("; ")) if ties else 0
        text = f"{r.metric}: {n} ({r.flips})" if n else f"{r.metric}: none"
        flips.append(text + (f", {n_ties} tie{'s' if n_ties > 1 else ''} ({ties})" if n_ties else ""))
    return ", ".join(taus), "; ".join(flips)


def flips_explained(agreement: pd.DataFrame) -> list[str]:
    """One sentence per (table, metric) with flips beyond the noise: how many of them involve a run below
    the learning gate (``flips_unlearned``, reports/agreement.py), which are left between learned runs."""
    if agreement.empty or "flips_unlearned" not in agreement:
        return []
    out = []
    for r in agreement[(agreement["kind"] == "rank") & (agreement["flips"] != "")].itertuples():
        flips = r.flips.split("; ")
        unlearned = [x for x in r.flips_unlearned.split("; ") if x]
        unmeasured = [x for x in getattr(r, "flips_unmeasured", "").split("; ") if x]
        explained = {u.split(" (")[0] for u in unlearned} | set(unmeasured)
        learned = [f for f in flips if f not in explained]
        where = f"{r.table} ({r.metric}{', ' + r.data if r.data else ''})"
        if not r.index_min:
            out.append(f"- {where}: {len(flips)} flipped pair(s) beyond the noise, on a metric the learning index does "
                       "not bear on (a cost benchmark) or for a paper without a learning gate: not explained here.")
            continue
        text = f"- {where}: {len(flips)} flipped pair(s) beyond the noise"
        if unlearned:
            text += (f"; {len(unlearned)} of them involve a run below the learning gate (index < {float(r.index_min):g}: "
                     f"{'; '.join(unlearned)}): networks that have not learned their data, so their order says "
                     "nothing about the paper's claim")
        if unmeasured:
            text += f"; {len(unmeasured)} with a run whose learning index was not measured ({'; '.join(unmeasured)})"
        text += (f"; {len(learned)} between runs that pass the gate, not explained by learning: {'; '.join(learned)}."
                 if learned else "; none between runs that pass the gate.")
        out.append(text)
    return out


def _steps_text(agreement: pd.DataFrame, table: str) -> str:
    if agreement.empty:
        return ""
    steps = agreement[(agreement["table"] == table) & (agreement["kind"] == "step") & (agreement["agrees"] != "")]
    return f"{(steps['agrees'] == 'True').sum()}/{len(steps)}" if len(steps) else ""


def _link(path: Path, page_dir: Path, text: str | None = None) -> str:
    return f"[{text or path.name}]({Path(os.path.relpath(path, page_dir)).as_posix()})"


def paper_section(paper: str, tables_dir: Path, figures_dir: Path, page_dir: Path,
                  scale: str | None = None) -> list[str]:
    agreement = _agreement(tables_dir, paper)
    out = [f"## {paper}", "",
           "| table | reproduced | failed | reported only | missing | settings / param counts | Kendall tau [95%] "
           "| flipped pairs (ties: flips inside the noise) | steps agreeing | scale | data used (stand-in for) | extractor |",
           "|---|---:|---:|---:|---:|---:|---|---|---:|---|---|---|"]
    for path in table_csvs(paper, tables_dir):
        df = read_table_csv(path)
        counts, proto = cell_counts(df), _protocol(df)
        tau, flips = _tau_text(agreement, path.stem)
        md = path.with_suffix(".md")
        name = _link(md, page_dir, path.stem) if md.is_file() else path.stem
        out.append(f"| {name} | {counts['reproduced']} | {counts['failed']} | {counts['reported-only']} | "
                   f"{counts['missing']} | {counts['other']} | {tau or '-'} | {flips or '-'} | {_steps_text(agreement, path.stem) or '-'} | "
                   f"{proto['scale']} | {proto['standins'] or '-'} | {proto['extractor'] or '-'} |")
    out.append("")
    explained = flips_explained(agreement)
    if explained:
        out += ["Flips beyond the noise, against each run's learning index (the measurement that explains them "
                "or does not):", "", *explained, ""]
    if scale:
        out += gates_section(paper, scale)
    links = []
    if (tables_dir / paper / "agreement.md").is_file():
        links.append(f"- agreement with the paper: {_link(tables_dir / paper / 'agreement.md', page_dir)}")
    figures = sorted((figures_dir / paper).glob("*.png"))
    if figures:
        links.append("- figures: " + ", ".join(_link(p, page_dir) for p in figures))
    samples = sorted((figures_dir / paper / "samples").glob("*.png"))
    real = sorted((figures_dir / paper / "samples" / "real").glob("*.png"))
    if samples:
        links.append("- sample grids (EMA generator, the same latent seeds in every run): "
                     + ", ".join(_link(p, page_dir) for p in samples))
    if real:
        links.append("- real images of each dataset: " + ", ".join(_link(p, page_dir) for p in real))
    return out + links + [""]


def write_overview(papers, out: str | Path = paths.OVERVIEW, *, tables_dir: str | Path = paths.TABLES,
                   figures_dir: str | Path = paths.FIGURES, scale: str | None = None) -> Path:
    """Write the overview page for ``papers`` (names as in params/reported) and return its path."""
    out, tables_dir, figures_dir = Path(out), Path(tables_dir), Path(figures_dir)
    lines = ["# Where the reproduction stands", "",
             "Generated by `ganrepro overview` from `results/tables/*/*.csv` and `agreement.csv`; do not edit.",
             "Per table: cells reproduced / failed (diverged) / reported only (other methods' numbers the paper "
             "quotes) / missing; Kendall's tau between the paper's and the reproduced values of each metric "
             "with at least 3 rows in both (+1 = same ranking), with its 95% interval when every reproduced cell is "
             "redrawn from its noise (FID bootstrap interval over evaluation samples, std over seeds); `a>b` = "
             "the paper has a better than b, the reproduction has b better beyond the noise; ties (`a~b`): "
             "such pairs within it; ablation steps whose direction (better / worse than the row they "
             "modify) agrees with the paper's. At small scales only orderings can agree, not absolute numbers.",
             "Learning gates (small scales): whether the networks measurably learned their data (and paper-specific "
             "checks, e.g. EpiGRAF's multi-view consistency), from the runs' metrics records (`reports/gates.py`; thresholds in `params/experiments/<paper>.yaml: learning_gates`).",
             ""]
    for paper in papers:
        lines += paper_section(paper, tables_dir, figures_dir, out.parent, scale)
    text = "\n".join(lines)
    return atomic_write(out, lambda p: p.write_text(text))
