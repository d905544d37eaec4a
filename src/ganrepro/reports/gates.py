"""Learning gates: does each network of a small-scale run measurably learn its data?

Two kinds, both declared per paper in ``params/experiments/<paper>.yaml: learning_gates``:

* metric gates: one run's metric against a bound (StackedMNIST modes >= 950, class accuracy >= 0.9,
  EpiGRAF's multi-view consistency <= 1.0 frontal / 0.6 360-degree, ...);
* the index gate: every trained run's learning index (``stages/learning_index.py``) at least
  ``index_min``. Runs whose every reported cell is "Fail" (the paper says they diverge) are exempt and
  say so; a run that failed here does not pass.

A value that is not a number (nan: e.g. a learning index whose untrained FID is no worse than the real
one, a view consistency of a generator that draws one picture for every latent) fails; a run without a
record (or without the metric) is "missing".

Read from the runs' metrics records (``results/metrics/<scale>/<paper>/<run>.json``), written to
``results/README.md`` by the overview.
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import paths
from ..config import list_experiments, load_params
from ..config.resolve import seed_variants
from ..utils_io import read_json


def _record(scale: str, paper: str, experiment: str) -> dict | None:
    path = Path(paths.metrics(scale, paper, experiment))
    return read_json(path) if path.is_file() else None


def metric_value(record: dict | None, metric: str) -> float | None:
    """The value of the record's metric whose kind is ``metric`` (modes, reverse_kl, class_acc, fid, ...)."""
    for entry in (record or {}).get("metrics", {}).values():
        if entry.get("metric") == metric:
            return float(entry["value"])
    return None


def reported_fail(params, paper: str) -> set[str]:
    """Experiments every reported cell of which is 'Fail' (the paper says the run diverges)."""
    out: dict[str, bool] = {}
    for table in params.reported.get(paper, {}).get("tables", {}).values():
        for row in table.get("rows", []):
            exp = row.get("experiment")
            if exp:
                cells = list((row.get("reported") or {}).values())
                fail = bool(cells) and all(str(v).lower() == "fail" for v in cells)
                out[exp] = out.get(exp, True) and fail
    return {e for e, fail in out.items() if fail}


def _verdict(value: float | None, lo: float | None, hi: float | None) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float) and math.isnan(value):
        return "FAIL (nan)"
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    return "pass" if ok else "FAIL"


def metric_gates(paper: str, scale: str, params=None) -> list[dict]:
    params = params or load_params()
    spec = params.experiments[paper].get("learning_gates") or {}
    rows = []
    for gate in spec.get("metrics", []):
        value = metric_value(_record(scale, paper, gate["experiment"]), gate["metric"])
        bound = " and ".join(b for b in (f">= {gate['min']:g}" if "min" in gate else "",
                                         f"<= {gate['max']:g}" if "max" in gate else "") if b)
        rows.append({"run": gate["experiment"], "gate": f"{gate['metric']} {bound}", "value": value,
                     "verdict": _verdict(value, gate.get("min"), gate.get("max"))})
    return rows


def learning_index_min(paper: str, params=None) -> float | None:
    """The paper's learning gate on every run (``learning_gates: index_min``), or None when it has none."""
    spec = ((params or load_params()).experiments.get(paper) or {}).get("learning_gates") or {}
    return float(spec["index_min"]) if "index_min" in spec else None


def index_gates(paper: str, scale: str, params=None) -> list[dict]:
    params = params or load_params()
    lo = learning_index_min(paper, params)
    if lo is None:
        return []
    exempt = reported_fail(params, paper)
    rows = []
    for base in list_experiments(paper, params):
        for run in seed_variants(base, params.scale(scale).get("seeds", 1)):
            record = _record(scale, paper, run)
            learning = (record or {}).get("learning") or {}
            value = learning.get("index")
            verdict = _verdict(value, lo, None)
            if base in exempt:
                verdict = f"exempt ({verdict})"  # the paper reports Fail: no learning is asked of it
            elif record and record.get("train_status") != "ok":
                verdict = "FAIL (training failed)"
            rows.append({"run": run, "gate": f"learning index >= {lo:g}", "value": value, "verdict": verdict,
                         "fid": learning.get("fid"), "fid_init": learning.get("fid_init"),
                         "fid_real": learning.get("fid_real")})
    return rows


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def gates_section(paper: str, scale: str, params=None) -> list[str]:
    """Markdown lines for the overview: the metric gates, then a summary and the runs below the index gate."""
    params = params or load_params()
    if not params.scale(scale).get("small_scale_recipe"):
        return []  # the gates ask whether small scales learn; the paper scale is judged by its tables
    metric_rows, index_rows = metric_gates(paper, scale, params), index_gates(paper, scale, params)
    if not metric_rows and not index_rows:
        return []
    out = [f"#### Learning gates ({scale})", ""]
    if metric_rows:
        out += ["| run | gate | value | verdict |", "|---|---|---|---|"]
        out += [f"| {r['run']} | {r['gate']} | {_fmt(r['value'])} | **{r['verdict']}** |" for r in metric_rows]
        out.append("")
    if index_rows:
        judged = [r for r in index_rows if not r["verdict"].startswith("exempt")]
        passed = sum(r["verdict"] == "pass" for r in judged)
        vals = sorted(r["value"] for r in judged if isinstance(r["value"], float) and not math.isnan(r["value"]))
        median = vals[len(vals) // 2] if vals else None
        out.append(f"Learning index (fraction of the log-FID gap closed between the untrained generator and held-out "
                   f"real images): **{passed} of {len(judged)} runs pass** {index_rows[0]['gate']} "
                   f"(min {_fmt(vals[0] if vals else None)}, median {_fmt(median)}); "
                   f"{len(index_rows) - len(judged)} exempt (the paper reports them as Fail).")
        below = [r for r in index_rows if r["verdict"] != "pass"]
        if below:
            out += ["", "| run | index | FID | FID untrained | FID real | verdict |", "|---|---|---|---|---|---|"]
            out += [f"| {r['run']} | {_fmt(r['value'])} | {_fmt(r['fid'])} | {_fmt(r['fid_init'])} | "
                    f"{_fmt(r['fid_real'])} | {r['verdict']} |" for r in below]
        out.append("")
    return out

