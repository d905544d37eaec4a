"""`snakemake --report`: one self-contained HTML report with every table and figure, by paper and table.

Reuses the session's tiny DAG run (`tiny_run` in tests/conftest.py): the report is built from that run's
outputs and Snakemake metadata, without re-running anything.
"""

import ast
import base64
import csv
import io
import json
import math
import re
import statistics
import subprocess
import zipfile

import pytest
import yaml

from dagutil import REPO, snakemake_cmd, snakemake_env
from ganrepro.orchestration.dag import PipelineDAG

pytestmark = pytest.mark.slow

REPORT_TIMEOUT_S = 300
PAPER = "r3gan"


def _build(work, name):
    out = work / name
    proc = subprocess.run(snakemake_cmd(work, "--config", "scale=tiny", "--report", str(out)),
                          capture_output=True, text=True, env=snakemake_env(work), timeout=REPORT_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return out


def _expected(work):
    """``{path relative to work: file bytes}`` of every table (csv, md) and figure of the paper, and the
    grouping the report must show: ``{table: [csv, md], "figures": [pngs]}``."""
    dag = PipelineDAG("tiny")
    groups = {t: [f"results/tables/{PAPER}/{t}.{ext}" for ext in ("csv", "md")] for t in dag.tables(PAPER)}
    groups["figures"] = [f"results/figures/{PAPER}/{f}.png" for f in dag.figures(PAPER)]
    files = {p: (work / p).read_bytes() for paths in groups.values() for p in paths}
    return files, groups


def _js_object(html: str, name: str) -> dict:
    """The JSON object the report assigns to ``var <name> = {...};``."""
    m = re.search(rf"var {name} = (\{{.*?\}});\n", html, re.S)
    assert m, f"no `var {name}` in the report"
    return json.loads(m.group(1))


def _data_uri_bytes(uri: str, mime: str, filename: str) -> bytes:
    prefix = f"data:{mime};charset=utf8;filename={filename};base64,"
    assert uri.startswith(prefix), uri[:120]
    return base64.b64decode(uri[len(prefix):])


@pytest.fixture(scope="module")
def html_report(tiny_run) -> str:
    return _build(tiny_run, "report.html").read_text(encoding="utf-8")


def test_html_report_embeds_every_table_and_figure_byte_for_byte_grouped_with_config(tiny_run, html_report):
    html = html_report
    files, groups = _expected(tiny_run)
    assert len(groups) >= 10  # >= 9 tables and the figures
    # Grouped by paper (category) and table (subcategory), each group holding exactly its files.
    categories = _js_object(html, "categories")
    assert set(PipelineDAG("tiny").papers) <= set(categories)  # every paper has its category
    for key, paths in groups.items():  # each table / the figures group holds exactly its files
        assert sorted(categories[PAPER][key]) == sorted(paths), key
    assert {"samples", "agreement"} <= set(categories[PAPER])  # the look outputs have their own groups
    # Every result is embedded as a data URI holding the file's exact bytes (the report stands alone).
    results = _js_object(html, "results")
    assert set(files) <= set(results)
    mimes = {"csv": "text/csv", "md": "text/markdown", "png": "image/png"}
    preset = yaml.safe_load((REPO / "params" / "scales" / "tiny.yaml").read_text())
    for path, data in files.items():
        entry = results[path]
        name = path.rsplit("/", 1)[1]
        stem, ext = name.rsplit(".", 1)
        assert entry["mime_type"] == mimes[ext]
        assert _data_uri_bytes(entry["data_uri"], mimes[ext], name) == data, path
        # The caption and the job properties show the config that produced the file.
        caption = entry["caption"]
        assert "at scale <strong>tiny</strong>" in caption
        if ext == "png":
            assert entry["job_properties"]["rule"] == f"figures_{PAPER}"  # one job per paper: all its figures
            assert f"<strong>{PAPER} figures</strong>" in caption
        else:
            assert entry["job_properties"]["rule"] == f"tables_{PAPER}"  # one job per paper: all its tables
            assert f"<strong>{PAPER} tables</strong> (" in caption and stem in caption
        assert ast.literal_eval(entry["job_properties"]["params"].split("preset=", 1)[1]) == preset
        assert "params/scales/tiny.yaml" in caption and "{{" not in caption  # templates rendered
        for key, value in preset.items():  # the preset as an RST list, one item per key
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                item = f'<li><tt class="docutils literal">{key}</tt>: <tt class="docutils literal">{value}</tt></li>'
                assert item in caption, (path, item)


def _cost_value(run_dir, paper: str, row: dict) -> float:
    """A ``source: cost`` cell recomputed from results/metrics/tiny/cost_bench/<paper>.json and the
    reported spec (the row's ``cost:`` entry, the metric's field, factor and reference row)."""
    from ganrepro.config import load_params

    spec = load_params().reported[paper]["tables"][row["table"]]
    metric = spec["metrics"][row["metric"]]
    bench = json.loads((run_dir / "results" / "metrics" / "tiny" / "cost_bench" / f"{paper}.json").read_text())
    rows = {r["row"]: r for r in spec["rows"]}
    measured = lambda r: bench["rows"][rows[r]["cost"]][metric["field"]] * metric.get("factor", 1.0)
    rounds = lambda r: bench["rows"][rows[r]["cost"]].get(f"{metric['field']}_samples")
    value = measured(row["row"])
    if metric.get("relative_to"):
        ref = metric["relative_to"]
        if rounds(row["row"]) and rounds(ref):  # timed in interleaved rounds: the median of the per-round ratios
            return rows[ref]["reported"][row["metric"]] * statistics.median(
                a / b for a, b in zip(rounds(row["row"]), rounds(ref)))
        value = rows[ref]["reported"][row["metric"]] * value / measured(ref)
    return value


def test_report_numbers_are_the_metric_records(tiny_run, html_report):
    # The embedded CSVs carry the measured values: each reproduced cell is the value of the metric it
    # names in results/metrics/tiny/<paper>/<experiment>.json, and delta = reproduced - reported.
    results = _js_object(html_report, "results")
    checked = 0
    for path, entry in results.items():
        if not path.endswith(".csv") or path.endswith("/agreement.csv"):
            continue
        paper = path.split("/")[2]  # results/tables/<paper>/<table>.csv
        text = _data_uri_bytes(entry["data_uri"], "text/csv", path.rsplit("/", 1)[1]).decode()
        for row in csv.DictReader(io.StringIO(text)):
            if row["status"] != "reproduced":
                continue
            if row["metric_name"].startswith("cost:"):  # measured by the paper's cost benchmark, not a run
                value = _cost_value(tiny_run, paper, row)
            else:
                record = json.loads((tiny_run / "results" / "metrics" / "tiny" / paper / f"{row['experiment']}.json")
                                    .read_text())
                value = record["metrics"][row["metric_name"]]["value"]
            assert float(row["reproduced"]) == pytest.approx(value, rel=1e-12), (path, row["metric_name"])
            if row["reported"] not in ("", "None") and row["delta"] not in ("", "None"):
                assert float(row["delta"]) == pytest.approx(float(row["reproduced"]) - float(row["reported"]),
                                                            rel=1e-9, abs=1e-12)
            assert math.isfinite(value)
            checked += 1
    assert checked >= 10  # every table with measured cells contributes


def test_zip_report_contains_every_file_byte_for_byte(tiny_run):
    archive = zipfile.ZipFile(_build(tiny_run, "report.zip"))
    files, _ = _expected(tiny_run)
    names = archive.namelist()
    assert any(n.endswith("report.html") for n in names)
    for path, data in files.items():
        members = [n for n in names if n.endswith("/" + path.rsplit("/", 1)[1])]
        assert members, f"{path} not in {names}"
        assert any(archive.read(n) == data for n in members), path
