"""Regenerate a paper's tables: reproduced numbers beside reported ones, with the protocol of each cell.

Output per table: `<table>.csv` in long format (one line per row x metric; columns table, row, metric,
reported, reproduced, reproduced_std (over seeds), delta, status, ci_lo, ci_hi (the metric's
evaluation-sample interval: FID's bootstrap ci95, averaged over seeds; for a cost cell timed over
interleaved rounds, the min-max over the rounds), official, then protocol columns) and
`<table>.md` laid out like the paper (`value ± std` over seeds, else `value [lo, hi]`).
``official``: the released checkpoint of the row's experiment measured with the same protocol (``ganrepro
evaluate --network``, ``<experiment>@official.json``); empty where none was supplied, and the markdown shows
the column only when some row has one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import load_params, resolve_run
from ..config.resolve import seed_variants
from ..cost_timing import paired_ratios, summarize
from ..utils_io import atomic_write
from ..papers import hooks
from .sources import (cost_record, find_metric, is_number, metrics_record, official_record, param_counts,
                      record_config)

COLUMNS = ["table", "row", "metric", "reported", "reproduced", "reproduced_std", "delta", "status", "ci_lo", "ci_hi",
           "official", "label", "scale", "experiment", "dataset_used", "standin_for", "resolution", "extractor",
           "metric_name", "generated_samples", "real_samples", "seeds", "images_trained_kimg", "learning_index",
           "recipe", "paper_version", "note", "commit"]

PARAM_METRICS = {"params_g": "params_g", "params_d": "params_d", "params_g_m": "params_g", "params_d_m": "params_d"}


def _protocol(cfg: dict, record: dict | None) -> dict:
    ds = cfg["dataset"]
    ev = cfg["eval"]
    extractor = ev["extractor"]["tag"] if ev["kind"] == "fidelity" else f"digit classifier ({Path(ev['digit_classifier']).stem})"
    seeds = f"train={cfg['seed']}"
    if record:
        seeds += f" eval={record['provenance']['seeds'].get('eval')}"
    return {
        "scale": cfg["scale"],
        "experiment": cfg["experiment"],
        "dataset_used": ds["title"],
        "standin_for": ds["standin_for"] or "",
        "resolution": ds["resolution"],
        "extractor": extractor,
        "generated_samples": ev["mode_samples"] if ev["kind"] == "modes" else ev["num_fake"],
        "real_samples": "" if ev["kind"] == "modes" else (ev["num_real"] or "all"),
        "seeds": seeds,
        "images_trained_kimg": record["train_kimg"] if record else "",
        "learning_index": _learning_index(record),
        "recipe": recipe_text(cfg.get("recipe")),
        "commit": _commit(record["provenance"]["git"]) if record else "",
    }


def _learning_index(record: dict | None):
    """The run's learning index (stages/learning_index.py), rounded, or '' before it is measured."""
    value = ((record or {}).get("learning") or {}).get("index")
    return "" if value is None or value != value else round(float(value), 3)


def recipe_text(recipe: dict | None) -> str:
    """One line naming a run's small-scale recipe: where it lives and what it sets ('' at paper scale)."""
    if not recipe:
        return ""
    parts = []
    for name, rule in (recipe.get("schedule") or {}).items():
        if isinstance(rule, dict) and "scale" in rule:
            parts.append(f"{name} x{rule['scale']:g}" + (" held" if rule.get("curve") == "constant" else ""))
        else:
            parts.append(f"{name} {rule}")
    for section in ("model", "optim", "loss"):
        parts += [f"{section}.{k}={v}" for k, v in (recipe.get(section) or {}).items()]
    if "ada" in recipe:
        parts.append("ADA off" if recipe["ada"] is None else f"ada={recipe['ada']}")
    for scale, sizes in (recipe.get("scales") or {}).items():
        parts.append(f"{scale}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    return f"{recipe['source']} ({'; '.join(parts)})"


def _commit(git: dict) -> str:
    """The commit that produced a number, flagged when the working tree had uncommitted changes."""
    if not git or not git.get("commit"):
        return "unknown"
    return git["commit"][:12] + ("+dirty" if git.get("dirty") else "")


def cost_cell(spec: dict, metric: str, row: dict, cost: dict | None) -> dict:
    """A ``source: cost`` cell: the paper's cost benchmark's measurement of the row's ``cost:`` entry,
    times ``factor``; with ``relative_to: <row>``, expressed as that row's reported cost times the measured
    ratio (the paper's unit, the measured relative cost). A field measured over interleaved rounds
    (``<field>_samples``, ``cost_timing``) is the median over the rounds (a ratio: per round) and its
    ``ci`` the min-max over them."""
    m = spec["metrics"][metric]
    key = row.get("cost")
    if key is None:
        return {"reproduced": None, "status": "reported-only", "metric_name": ""}
    if cost is None or key not in cost["rows"]:
        return {"reproduced": None, "status": "missing", "metric_name": ""}
    field, factor = m["field"], float(m.get("factor", 1.0))
    samples = [v * factor for v in cost["rows"][key].get(f"{field}_samples") or []]
    value = float(cost["rows"][key][field]) * factor
    name = f"cost:{field} ({cost['memory']} memory, {cost['device']}, batch {cost['batch']}, {cost['resolution']} px)"
    if samples:
        name += f", {cost.get('timer', 'time')}: median [min-max] of {len(samples)} interleaved rounds"
    ref_id = m.get("relative_to")
    if ref_id:
        ref = next(r for r in spec["rows"] if r["row"] == ref_id)
        measured_ref = cost["rows"][ref["cost"]]
        reported_ref = ref["reported"][metric]
        ref_samples = [v * factor for v in measured_ref.get(f"{field}_samples") or []]
        if samples and ref_samples:
            samples = [reported_ref * x for x in paired_ratios(samples, ref_samples)]
            value = summarize(samples)["median"]
        else:  # one side has no rounds: the value in reported units, and no interval in raw units beside it
            scale = reported_ref / (float(measured_ref[field]) * factor)
            value, samples = value * scale, [x * scale for x in samples]
        name += f" relative to {ref_id} x its reported {reported_ref:g}"
    ci = (min(samples), max(samples)) if samples else None
    return {"reproduced": value, "status": "reproduced", "metric_name": name, "ci": ci}


def _cell(spec: dict, metric: str, row: dict, cfg: dict | None, record: dict | None, counts: dict,
          settings, cost: dict | None = None) -> dict:
    """(reproduced, status, metric_name) for one row x metric."""
    exp = row.get("experiment")
    if spec["metrics"][metric].get("source") == "cost":  # measured by the paper's cost benchmark, not a run
        return cost_cell(spec, metric, row, cost)
    if not exp:
        return {"reproduced": None, "status": "reported-only", "metric_name": ""}
    if spec.get("source") == "settings":  # a table of hyperparameters (R3GAN Table 9): the values used
        value = settings(cfg["paper"], exp, cfg["scale"]).get(metric)
        if metric in PARAM_METRICS:
            c = counts.get(exp, {}).get(PARAM_METRICS[metric])
            return {"reproduced": None if c is None else round(c / 1e6, 3), "status": "paper-width count",
                    "metric_name": f"{PARAM_METRICS[metric]}_paper_widths"}
        return {"reproduced": value, "status": "setting used", "metric_name": metric}
    if metric in PARAM_METRICS:
        c = counts.get(exp, {}).get(PARAM_METRICS[metric])
        return {"reproduced": None if c is None else round(c / 1e6, 3),
                "status": "paper-width count" if c is not None else "missing",
                "metric_name": f"{PARAM_METRICS[metric]}_paper_widths"}
    if record is None:
        return {"reproduced": None, "status": "missing", "metric_name": ""}
    if record["train_status"] != "ok":
        fail = record.get("fail", {})
        return {"reproduced": "Fail", "status": f"fail: diverged at step {fail.get('step')} ({fail.get('reason')})",
                "metric_name": ""}
    found = find_metric(record, metric)
    if found is None:
        return {"reproduced": None, "status": "missing", "metric_name": ""}
    name, entry = found
    return {"reproduced": entry["value"], "status": "reproduced", "metric_name": name, "ci": entry.get("ci95")}


def build_table(paper: str, table: str, scale: str) -> pd.DataFrame:
    params = load_params()
    spec = params.reported[paper]["tables"][table]
    counts = param_counts(paper)
    settings = hooks(paper, params.experiments[paper].get("modules", [])).settings
    cost = cost_record(scale, paper) if any(m.get("source") == "cost" for m in spec["metrics"].values()) else None
    lines = []
    seeds = params.scale(scale).get("seeds", 1)
    for row in spec["rows"]:
        exp = row.get("experiment")
        record = metrics_record(scale, paper, exp) if exp else None
        cfg = (record_config(record) or resolve_run(paper, exp, scale, params)) if exp else None  # the plan, unrun
        official = official_record(scale, paper, exp) if exp and spec.get("source") != "settings" else None
        protocol = _protocol(cfg, record) if cfg else {"scale": scale, "experiment": ""}
        variants = seed_variants(exp, seeds)[1:] if exp and spec.get("source") != "settings" else []
        for metric in spec["metrics"]:
            reported = row["reported"].get(metric)
            cell = _cell(spec, metric, row, cfg, record, counts, settings, cost)
            std = None
            if variants and spec["metrics"][metric].get("source") != "cost":
                extra = [_cell(spec, metric, row, None, metrics_record(scale, paper, v), counts, settings)
                         for v in variants]
                cell, std = _over_seeds([cell, *extra])
            rep, ci = cell["reproduced"], cell.get("ci") or (None, None)
            delta = rep - reported if is_number(rep) and is_number(reported) else None
            lines.append({
                "table": table, "row": row["row"], "metric": metric, "reported": reported,
                "reproduced": rep, "reproduced_std": std, "delta": delta, "status": cell["status"],
                "ci_lo": ci[0], "ci_hi": ci[1], "official": _official(official, spec, metric), "label": row["label"],
                **protocol, "metric_name": cell["metric_name"], "paper_version": row.get("version", ""),
                "note": row.get("note", ""),
            })
    return pd.DataFrame(lines).reindex(columns=COLUMNS)


def _official(record: dict | None, spec: dict, metric: str):
    """The released checkpoint's value of a measured metric (None without an ``@official`` record)."""
    if record is None or spec["metrics"][metric].get("source") == "cost":
        return None
    found = find_metric(record, metric)
    return None if found is None else found[1]["value"]


def _over_seeds(cells: list[dict]) -> tuple[dict, float | None]:
    """Mean +- sample std of a cell over training seeds; a Fail counts when every seed failed. The
    evaluation-sample interval is the seeds' intervals averaged (when every finished seed has one)."""
    values = [c["reproduced"] for c in cells if is_number(c["reproduced"])]
    if not values:
        return cells[0], None
    mean = sum(values) / len(values)
    cis = [c.get("ci") for c in cells if is_number(c["reproduced"])]
    ci = [sum(c[k] for c in cis) / len(cis) for k in (0, 1)] if all(cis) else None
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    failed = sum(1 for c in cells if c["reproduced"] == "Fail")
    status = f"{cells[0]['status']} (mean +- std over {len(values)} seeds" + (f", {failed} failed)" if failed else ")")
    return {**cells[0], "reproduced": mean, "status": status, "ci": ci}, std


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _noise_text(cell) -> str:
    """' ± std' over seeds, else ' [lo, hi]' of the evaluation-sample interval, else ''."""
    std, lo, hi = cell.get("reproduced_std"), cell.get("ci_lo"), cell.get("ci_hi")
    if is_number(std):
        return f" ± {_fmt(std)}"
    return f" [{_fmt(lo)}, {_fmt(hi)}]" if is_number(lo) and is_number(hi) else ""


def to_markdown(df: pd.DataFrame, paper: str, table: str, scale: str) -> str:
    params = load_params()
    spec = params.reported[paper]["tables"][table]
    wide = []
    has_official = bool(df["official"].notna().any())
    for row_id, group in df.groupby("row", sort=False):
        first = group.iloc[0]
        line = {"": first["label"] + ("" if first["experiment"] else " (reported only)")}
        for _, cell in group.iterrows():
            label = spec["metrics"][cell["metric"]]["label"]
            line[f"{label} paper"] = _fmt(cell["reported"])
            line[f"{label} ours"] = _fmt(cell["reproduced"]) + _noise_text(cell)
            if has_official:
                line[f"{label} official"] = _fmt(cell["official"])
        wide.append(line)
    ours = df[df["experiment"] != ""]
    standins = sorted({f"{r.dataset_used} (stand-in for {r.standin_for})" for r in ours.itertuples() if r.standin_for})
    extractors = sorted({str(e) for e in ours["extractor"].dropna() if str(e)})
    head = [
        f"# {paper} {table}: {spec['title']}",
        "",
        f"- scale: **{scale}** (`params/scales/{scale}.yaml`)",
        f"- paper protocol: {spec.get('protocol', '').strip()}",
    ]
    if standins:
        head.append(f"- data used: {'; '.join(standins)}")
    if extractors:
        head.append(f"- reproduced with: {', '.join(extractors)}" +
                    ("  (NOT Inception: numbers are not comparable in absolute value to the paper's)"
                     if any(e.startswith("cnn_") for e in extractors) else ""))
    selected = sorted({n.split("_at-best-")[1] for n in df["metric_name"].dropna().astype(str) if "_at-best-" in n})
    if selected:
        head.append(f"- evaluated snapshot: the best of the G_emas each run kept, by {', '.join(selected)} "
                    "(FID on N fakes of each snapshot; `snapshot` in each metrics record lists them)")
    recipes = sorted({str(r) for r in ours.get("recipe", pd.Series(dtype=str)).dropna() if str(r)})
    if recipes:
        head.append(f"- small-scale recipe: {'; '.join(recipes)}")
    measured = sorted({n for n in df["metric_name"].dropna().astype(str) if n.startswith("cost:")})
    if measured:
        head.append(f"- cost cells measured by the paper's cost benchmark: {'; '.join(measured)} "
                    f"({paths.cost_bench(scale, paper)}); a time cell's [lo, hi] is the min-max over the rounds")
    if has_official:
        records = paths.tagged_metrics(scale, paper, "<experiment>")
        head.append("- official: the released checkpoint of the row's experiment, imported and measured with the "
                    f"same protocol (`ganrepro evaluate --network`; {records})")
    commits = sorted({c for c in ours["commit"].dropna() if c})
    if commits:
        head.append(f"- produced by commit(s): {', '.join(commits)}; per-cell provenance in results/metrics/")
    head += ["- long format with every protocol column: the .csv beside this file", ""]
    return "\n".join(head) + pd.DataFrame(wide).to_markdown(index=False) + "\n"


def write_tables(paper: str, scale: str, out: str = paths.TABLES, table: str | None = None) -> list[Path]:
    params = load_params()
    known = list(params.reported.get(paper, {}).get("tables", {}))
    if table is not None and table not in known:
        from ..errors import ConfigError

        raise ConfigError(f"unknown table {table!r} of {paper}; allowed: {', '.join(known) or '(none)'} "
                          f"(params/reported/{paper}.yaml).")
    names = [table] if table else known
    from ..utils_io import ensure_writable_dir

    ensure_writable_dir(Path(out) / paper)  # fail before building anything
    written = []
    for name in names:
        df = build_table(paper, name, scale)
        base = Path(out) / paper
        csv = atomic_write(base / f"{name}.csv", lambda p, df=df: df.to_csv(p, index=False))
        md_text = to_markdown(df, paper, name, scale)
        md = atomic_write(base / f"{name}.md", lambda p, t=md_text: p.write_text(t))
        metrics = atomic_write(base / f"{name}.json",
                               lambda p, m=reproduced_cells(df): p.write_text(json.dumps(m, indent=2) + "\n"))
        written += [csv, md, metrics]
    return written


def reproduced_cells(df: pd.DataFrame) -> dict:
    """{row: {metric: reproduced}} of the cells this pipeline produced (numbers, or "Fail"): the table as
    a metrics file (`dvc metrics show/diff`, experiment comparison); protocol columns stay in the CSV."""
    out: dict = {}
    for cell in df.itertuples():
        status = str(cell.status)
        if status in ("reproduced", "paper-width count") or status.startswith("fail"):
            value = cell.reproduced
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            out.setdefault(str(cell.row), {})[str(cell.metric)] = value.item() if hasattr(value, "item") else value
    return out
