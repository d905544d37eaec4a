"""`snakemake --report`: one self-contained HTML report with every table and figure, by paper and table.

Reuses the session's tiny DAG run (`tiny_run` in tests/conftest.py): the report is built from that run's
outputs and Snakemake metadata, without re-running anything.
"""

import base64
import re
import subprocess
import zipfile

import pytest

from dagutil import snakemake_cmd, snakemake_env
from ganrepro.orchestration.dag import PipelineDAG

pytestmark = pytest.mark.slow

REPORT_TIMEOUT_S = 300


def _build(work, name):
    out = work / name
    proc = subprocess.run(snakemake_cmd(work, "--config", "scale=tiny", "--report", str(out)),
                          capture_output=True, text=True, env=snakemake_env(work), timeout=REPORT_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return out


def _expected(work):
    dag = PipelineDAG("tiny")
    tables = dag.tables("r3gan")
    figures = [f"{f}.png" for f in dag.figures("r3gan")]
    return tables, figures


def test_html_report_has_every_table_and_figure_grouped_with_config(tiny_run):
    html_path = _build(tiny_run, "report.html")
    html = html_path.read_text(encoding="utf-8")
    assert len(html) > 100_000  # results are embedded (data URIs): the file stands alone
    tables, figures = _expected(tiny_run)
    assert len(tables) >= 9
    for table in tables:
        for ext in ("csv", "md"):
            assert f"{table}.{ext}" in html, f"{table}.{ext} missing from the report"
    for fig in figures:
        assert fig in html, f"{fig} missing from the report"
    # Grouped by paper (category) and table (subcategory).
    assert '"r3gan"' in html or "r3gan" in html
    for table in tables:
        assert re.search(rf'["\']{table}["\']', html), f"no subcategory {table}"
    assert "figures" in html
    # Every result is embedded as a data URI: the figures are the real PNGs.
    for fig in figures:
        prefix = f"data:image/png;charset=utf8;filename={fig};base64,"
        assert prefix in html, fig
        png = base64.b64encode((tiny_run / "results" / "figures" / "r3gan" / fig).read_bytes()[:48]).decode()
        assert prefix + png[:40] in html, fig
    for table in tables:
        assert f"data:text/csv;charset=utf8;filename={table}.csv;base64," in html, table
    # Captions show the config that produced each result (scale preset values rendered by Jinja).
    assert "params/scales/tiny.yaml" in html
    assert "width_divisor" in html and "kimg" in html
    assert re.search(r'<li><tt class=\\?"docutils literal\\?">width_divisor</tt>', html)  # an RST list
    assert "{{" not in html.split("<script")[0]  # no unrendered caption templates


def test_zip_report_contains_every_file(tiny_run):
    zip_path = _build(tiny_run, "report.zip")
    names = zipfile.ZipFile(zip_path).namelist()
    tables, figures = _expected(tiny_run)
    assert any(n.endswith("report.html") for n in names)
    for table in tables:
        for ext in ("csv", "md"):
            assert any(n.endswith(f"/{table}.{ext}") for n in names), f"{table}.{ext} not in {names}"
    for fig in figures:
        assert any(n.endswith(f"/{fig}") for n in names), fig
