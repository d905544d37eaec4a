"""Does the reproduction agree with the paper? Rank agreement and ablation-step directions, per table.

At small scales absolute numbers cannot match the paper's; the ordering of rows can. From a paper's long
table CSVs (``results/tables/<paper>/<table>.csv``, written by ``reports.tables``) this module computes:

- **rank agreement**: for every (table, metric) whose metric has a direction (``better: higher|lower``
  in ``params/reported/<paper>.yaml``) and with at least ``MIN_ROWS`` rows numeric in both the paper and
  the reproduction, Kendall's tau-b (``scipy.stats.kendalltau``) between reported and reproduced values,
  +1 = same ranking, -1 = reversed, and the pairs of rows whose order flips;
- **ablation steps**: for every reproduced cell, whether the row is better or worse than the row it
  modifies, in the paper and here. The row it modifies is the row's ``modifies: <row id>`` in the reported
  params when present; otherwise the previous row of the table, used only when both rows were run on the
  same data (the output says which). "Fail" (diverged) counts as worse than any finished run.

Seeds: when a CSV has a ``reproduced_std`` column (mean +- std over training seeds), two reproduced values
whose difference is at most the larger of their two stds count as tied: such a pair is not a flip, a
step within one std is "tie", and ``tau_within_std`` is tau-b computed with those ties.

Noise (``reports/noise.py``): every cell's noise interval is the hull of its evaluation-sample interval
(``ci_lo``/``ci_hi``, FID's bootstrap ci95) and value +- its std over seeds. A pair the reproduction orders
the other way round from the paper is listed in ``ties`` (not ``flips``) when the two intervals overlap
or the pair is within one std; ``tau_lo``/``tau_hi`` bound tau under the cells' noise.

Flips explained by measurement: ``flips_unlearned`` lists the flips in which at least one of the two rows'
runs is below the paper's learning gate (its ``learning_index`` column under ``learning_gates: index_min``
in params/experiments/<paper>.yaml): an order between networks that have not learned their data says
nothing about the paper's claim (``flips_unmeasured``: a run without an index, e.g. at paper scale). Flips
between two runs that pass the gate are the ones left to explain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

from .. import paths
from ..config import load_params
from ..errors import ConfigError, ResultFileError
from ..utils_io import atomic_write
from .gates import learning_index_min
from .noise import noise_interval, noise_sd, overlap, tau_interval

MIN_ROWS = 3
FAIL = "Fail"
COLUMNS = ["paper", "table", "metric", "kind", "data", "n_rows", "tau", "p_value", "tau_within_std", "flips",
           "ties_within_std", "row", "base_row", "base_from", "paper_step", "our_step", "agrees", "scale", "note",
           "tau_lo", "tau_hi", "ties", "flips_unlearned", "flips_unmeasured", "index_min"]
BASE_FROM_PARAMS = "modifies"
BASE_FROM_ORDER = "previous row (no `modifies:` in params/reported)"


def parse_value(value) -> float | str | None:
    """A table cell as a float, ``FAIL``, or None (empty / not a number)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "fail":
            return FAIL
        try:
            number = float(text)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return float(value)


def compare(a, b, better: str, std_a: float = 0.0, std_b: float = 0.0) -> int:
    """+1 if ``a`` is better than ``b``, -1 if worse, 0 if tied (equal, both Fail, or within one std)."""
    if a == FAIL or b == FAIL:
        return 0 if a == b else (-1 if a == FAIL else 1)
    if abs(a - b) <= max(std_a, std_b):
        return 0
    sign = 1 if better == "higher" else -1
    return sign if a > b else -sign


def _tau_b(x_signs: list[int], y_signs: list[int]) -> float:
    """Kendall's tau-b from the pairwise order signs of two rankings (0 = tied pair)."""
    concordant = sum(1 for x, y in zip(x_signs, y_signs) if x * y > 0)
    discordant = sum(1 for x, y in zip(x_signs, y_signs) if x * y < 0)
    untied_x = sum(1 for x in x_signs if x)
    untied_y = sum(1 for y in y_signs if y)
    return (concordant - discordant) / math.sqrt(untied_x * untied_y) if untied_x and untied_y else float("nan")


def rank_agreement(rows: list[str], reported: list[float], reproduced: list[float], better: str,
                   std: list[float] | None = None, ci: list[tuple[float, float] | None] | None = None) -> dict:
    """Kendall's tau between reported and reproduced values of the same rows, and the flipped pairs.

    ``flips``: (a, b) where the paper has row a strictly better than row b and the reproduction has b
    strictly better than a, outside the noise; ``ties``: such pairs inside it (within one std, or noise
    intervals overlapping: module docstring); ``ties_within_std``: pairs the paper orders and the
    reproduction has within one std. ``tau_lo``, ``tau_hi``: tau's interval under the noise.
    """
    n = len(rows)
    if not (len(reported) == len(reproduced) == n) or any(v is not None and len(v) != n for v in (std, ci)):
        raise ValueError("rows, reported, reproduced (and std, ci) must have the same length")
    tau, p_value = kendalltau(reported, reproduced)
    std, ci = std or [0.0] * n, ci or [None] * n
    noise = [noise_interval(v, s, c) for v, s, c in zip(reproduced, std, ci)]
    pairs = list(combinations(range(n), 2))
    paper = [compare(reported[i], reported[j], better) for i, j in pairs]
    ours = [compare(reproduced[i], reproduced[j], better, std[i], std[j]) for i, j in pairs]
    raw = [compare(reproduced[i], reproduced[j], better) for i, j in pairs]
    flips, ties, ties_within_std = [], [], []
    for (i, j), p, o, r in zip(pairs, paper, ours, raw):
        if p * r < 0:
            pair = (rows[i], rows[j]) if p > 0 else (rows[j], rows[i])
            (ties if not o or overlap(noise[i], noise[j]) else flips).append(pair)
        if p and not o and reproduced[i] != reproduced[j]:
            ties_within_std.append((rows[i], rows[j]))
    lo, hi = tau_interval(reported, reproduced, [noise_sd(s, c) for s, c in zip(std, ci)])
    return {"n_rows": n, "tau": float(tau), "p_value": float(p_value), "tau_lo": lo, "tau_hi": hi,
            "tau_within_std": _tau_b(paper, ours), "flips": flips, "ties": ties, "ties_within_std": ties_within_std}


def step_word(sign: int) -> str:
    return {1: "better", -1: "worse", 0: "tie"}[sign]


def _spec(paper: str, table: str) -> dict:
    tables = load_params().reported.get(paper, {}).get("tables", {})
    if table not in tables:
        raise ConfigError(f"params/reported/{paper}.yaml: no table {table!r} (the CSV results/tables/{paper}/"
                          f"{table}.csv names it); regenerate the tables with `ganrepro tables --paper {paper}`")
    return tables[table]


@dataclass(frozen=True)
class Cell:
    """One row x metric of a table: reported, reproduced (float, FAIL or None), std over seeds, data used,
    evaluation-sample interval (FID's ci95) or None."""

    row: str
    reported: float | str | None
    reproduced: float | str | None
    std: float
    data: tuple[str, str]
    ci: tuple[float, float] | None = None
    index: float | None = None  # the run's learning index (stages/learning_index.py), when measured


def _cells(df: pd.DataFrame, metric: str) -> dict[str, Cell]:
    """{row: Cell} of ``metric`` in table order; a value counts as reproduced only with a reproduced or
    fail status (not for parameter counts or settings)."""
    out = {}
    for line in df[df["metric"] == metric].to_dict("records"):
        status = str(line["status"])
        ours = parse_value(line["reproduced"]) if status == "reproduced" or status.startswith("fail") else None
        std = parse_value(line.get("reproduced_std"))
        lo, hi = parse_value(line.get("ci_lo")), parse_value(line.get("ci_hi"))
        index = parse_value(line.get("learning_index"))
        out[line["row"]] = Cell(line["row"], parse_value(line["reported"]), ours,
                                std if isinstance(std, float) else 0.0,
                                (line.get("dataset_used", ""), line.get("standin_for", "")),
                                (lo, hi) if isinstance(lo, float) and isinstance(hi, float) else None,
                                index if isinstance(index, float) else None)
    return out


def _base_row(row: dict, previous: str | None, cells: dict[str, Cell]) -> tuple[str | None, str]:
    if row.get("modifies"):
        return row["modifies"], BASE_FROM_PARAMS
    if previous is None or previous not in cells or row["row"] not in cells:
        return None, BASE_FROM_ORDER
    same_data = cells[row["row"]].data == cells[previous].data
    return (previous if same_data else None), BASE_FROM_ORDER


def unlearned_flips(flips: list[tuple[str, str]], cells: dict[str, Cell],
                    index_min: float | None) -> tuple[list[str], list[str]]:
    """(flips with a run below the learning gate, as 'a>b (index 0.12, 0.34)'; flips with a run whose index
    was not measured, e.g. at paper scale, as 'a>b'). The rest are between runs that pass the gate."""
    if index_min is None:
        return [], []
    below, unmeasured = [], []
    for a, b in flips:
        ia, ib = cells[a].index, cells[b].index
        if any(i is not None and i < index_min for i in (ia, ib)):
            below.append(f"{a}>{b} (index {_index_text(ia)}, {_index_text(ib)})")
        elif ia is None or ib is None:
            unmeasured.append(f"{a}>{b}")
    return below, unmeasured


def _index_text(index: float | None) -> str:
    return "n/a" if index is None else f"{index:.2f}"


def table_agreement(paper: str, table: str, df: pd.DataFrame, spec: dict | None = None,
                    index_min: float | None = None) -> list[dict]:
    """Agreement lines (kind "rank" and "step") of one table's long CSV; ``spec``: the table's entry of
    ``params/reported/<paper>.yaml`` (``metrics`` with ``better``, ``rows`` with optional ``modifies``);
    ``index_min``: the learning gate that explains flips (``flips_unlearned``; None: not checked)."""
    spec = spec or _spec(paper, table)
    scale = str(df["scale"].iloc[0]) if len(df) else ""
    base = {"paper": paper, "table": table, "scale": scale}
    lines = []
    for metric, mspec in spec["metrics"].items():
        better = (mspec or {}).get("better")
        if better not in ("higher", "lower"):
            continue
        cells = _cells(df, metric)
        numeric_all = [c for c in cells.values() if isinstance(c.reported, float) and isinstance(c.reproduced, float)]
        groups: dict[tuple, list[Cell]] = {}
        for c in numeric_all:  # rows on different data (one table column per dataset) are ranked apart
            groups.setdefault(c.data, []).append(c)
        for data, numeric in groups.items():
            if len(numeric) < MIN_ROWS:
                continue
            has_std = "reproduced_std" in df.columns
            result = rank_agreement([c.row for c in numeric], [c.reported for c in numeric],
                                    [c.reproduced for c in numeric], better,
                                    [c.std for c in numeric] if has_std else None, [c.ci for c in numeric])
            label = (data[1] or data[0]) if len(groups) > 1 else ""
            # a cost cell (memory, time) is measured by a benchmark, not by what the networks learned
            gate = None if (mspec or {}).get("source") == "cost" else index_min
            below, unmeasured = unlearned_flips(result["flips"], cells, gate)
            lines.append({**base, "metric": metric, "kind": "rank", "data": label, "n_rows": result["n_rows"],
                          "tau": result["tau"], "tau_lo": result["tau_lo"], "tau_hi": result["tau_hi"],
                          "p_value": result["p_value"],
                          "tau_within_std": result["tau_within_std"] if has_std else None,
                          "flips": "; ".join(f"{a}>{b}" for a, b in result["flips"]),
                          "ties": "; ".join(f"{a}~{b}" for a, b in result["ties"]),
                          "ties_within_std": "; ".join(f"{a}~{b}" for a, b in result["ties_within_std"]),
                          "flips_unlearned": "; ".join(below),
                          "flips_unmeasured": "; ".join(unmeasured),
                          "index_min": gate})
        previous = None
        for row in spec["rows"]:
            base_id, base_from = _base_row(row, previous, cells)
            previous = row["row"]
            if base_id is None or row["row"] not in cells:
                continue
            if base_id not in cells:
                raise ConfigError(f"params/reported/{paper}.yaml: {table} row {row['row']!r} has modifies: "
                                  f"{base_id!r}, which is not a row of {table}; use one of {list(cells)}")
            a, b = cells[row["row"]], cells[base_id]
            if a.reproduced is None or b.reproduced is None:
                continue
            known = a.reported is not None and b.reported is not None
            paper_step = step_word(compare(a.reported, b.reported, better)) if known else ""
            our_step = step_word(compare(a.reproduced, b.reproduced, better, a.std, b.std))
            lines.append({**base, "metric": metric, "kind": "step", "row": a.row, "base_row": b.row,
                          "base_from": base_from, "paper_step": paper_step, "our_step": our_step,
                          "agrees": (paper_step == our_step) if known else None,
                          "note": "" if known else "the paper has no number for one of the two rows"})
    return lines


def read_table_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{path}: not a readable table CSV ({exc}); regenerate it with `ganrepro tables`") from exc
    missing = {"table", "row", "metric", "reported", "reproduced", "status"} - set(df.columns)
    if missing:
        raise ResultFileError(f"{path}: missing columns {sorted(missing)}; regenerate it with `ganrepro tables`")
    return df


def table_csvs(paper: str, tables_dir: str | Path = paths.TABLES) -> list[Path]:
    """The paper's table CSVs under ``tables_dir/<paper>/``, in params/reported order."""
    names = list(load_params().reported[paper]["tables"])
    return [p for name in names if (p := Path(tables_dir) / paper / f"{name}.csv").is_file()]


def agreement_frame(paper: str, tables_dir: str | Path = paths.TABLES) -> pd.DataFrame:
    lines, index_min = [], learning_index_min(paper)
    for path in table_csvs(paper, tables_dir):
        lines += table_agreement(paper, path.stem, read_table_csv(path), index_min=index_min)
    return pd.DataFrame(lines).reindex(columns=COLUMNS)


def _num(value, digits: int = 2) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def tau_text(tau, lo, hi) -> str:
    """'0.71 [0.43, 0.90]', or '0.71' without an interval, '' without tau."""
    lo_hi = [parse_value(v) for v in (lo, hi)]
    if any(not isinstance(v, float) for v in lo_hi):
        return _num(parse_value(tau))
    return f"{_num(parse_value(tau))} [{_num(lo_hi[0])}, {_num(lo_hi[1])}]"


def to_markdown(paper: str, df: pd.DataFrame) -> str:
    scale = next((s for s in df["scale"] if s), "?") if len(df) else "?"
    ranks, steps = df[df["kind"] == "rank"], df[df["kind"] == "step"]
    out = [f"# {paper}: agreement of the reproduction with the paper (scale {scale})", "",
           f"Kendall's tau-b between the paper's and the reproduced values of every table metric with at least "
           f"{MIN_ROWS} rows numeric in both (+1: same ranking, -1: reversed). `a>b` in *flipped pairs*: the "
           f"paper has row a better than row b, the reproduction has b better, beyond the noise; *ties*: such "
           f"pairs inside it (`a~b`: the two rows' noise intervals overlap, or within one std over seeds). "
           f"tau's 95% interval redraws every reproduced cell from its noise (FID bootstrap interval over the "
           f"evaluation samples, std over seeds). At small scales absolute "
           f"numbers are not comparable to the paper's; orderings are.", "", "## Rank agreement", ""]
    if len(ranks):
        with_std = ranks["tau_within_std"].notna().any()
        out.append("| table | metric | rows | Kendall tau [95%] | p | "
                   + ("tau (ties within 1 std) | " if with_std else "") + "flipped pairs | ties (flips inside the noise) |")
        out.append("|---|---|---:|---:|---:|" + ("---:|" if with_std else "") + "---|---|")
        for r in ranks.itertuples():
            std_cell = f" {_num(r.tau_within_std)} |" if with_std else ""
            where = f" ({r.data})" if isinstance(getattr(r, "data", ""), str) and getattr(r, "data", "") else ""
            out.append(f"| {r.table}{where} | {r.metric} | {int(r.n_rows)} | {tau_text(r.tau, r.tau_lo, r.tau_hi)} | "
                       f"{_num(r.p_value, 3)} |{std_cell} {r.flips or 'none'} | {r.ties or 'none'} |")
    else:
        out.append(f"No table has {MIN_ROWS} rows reproduced and reported on the same metric.")
    out += ["", "## Ablation steps", "",
            "Each reproduced row against the row it modifies: better / worse / tie in the paper and here.", ""]
    if len(steps):
        out += ["| table | metric | row | modifies | paper | ours | agrees |", "|---|---|---|---|---|---|---|"]
        for r in steps.itertuples():
            mark = {True: "yes", False: "**no**"}.get(r.agrees, "n/a")
            out.append(f"| {r.table} | {r.metric} | {r.row} | {r.base_row} | {r.paper_step or 'n/a'} | "
                       f"{r.our_step} | {mark} |")
        agreed = steps["agrees"].dropna()
        out += ["", f"{int(agreed.sum())} of {len(agreed)} steps agree with the paper's direction."]
        if (steps["base_from"] == BASE_FROM_ORDER).any():
            out.append("Rows without `modifies:` in `params/reported/" + paper + ".yaml` are compared with the "
                       "previous row of the table (only when both rows were run on the same data).")
    else:
        out.append("No reproduced row has a reproduced row it modifies.")
    return "\n".join(out) + "\n"


def write_agreement(paper: str, tables_dir: str | Path = paths.TABLES) -> list[Path]:
    """Write ``<tables_dir>/<paper>/agreement.csv`` and ``agreement.md``; return their paths."""
    df = agreement_frame(paper, tables_dir)
    base = Path(tables_dir) / paper
    csv = atomic_write(base / "agreement.csv", lambda p: df.to_csv(p, index=False))
    text = to_markdown(paper, df)
    md = atomic_write(base / "agreement.md", lambda p: p.write_text(text))
    return [csv, md]
