"""The `snakemake --report` HTML in a real browser: headless Chromium (Debian's `chromium`, installed by
scripts/setup_browser.sh) opens it offline, its scripts run, and the DOM shows the tables' names and a sample
grid as an <img> with a non-zero natural size.

Reuses the session's tiny DAG run (`tiny_run`, tests/conftest.py) and adds the look targets (sample grids,
agreement, results/README.md) to it. The probe is a copy of the report with one extra <script> at the end that
drives the report's own React app (`app.showCategory`, `app.setView`, as its menu buttons do) and writes what
it sees into a <pre id="probe">; `--dump-dom` returns the DOM once the virtual-time budget has elapsed.
"""

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dagutil import snakemake_cmd, snakemake_env
from ganrepro.orchestration.dag import PipelineDAG

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_S = 600
PAPER = "r3gan"
# Offline: no proxy reaches anything, no host resolves, and no background services start.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--allow-file-access-from-files", "--window-size=1400,1000", "--virtual-time-budget=15000"]

PROBE = """
<script>
(function () {
  function report(obj) {
    var pre = document.createElement("pre");
    pre.id = "probe";
    pre.textContent = JSON.stringify(obj);
    document.body.appendChild(pre);
  }
  setTimeout(function () {
    try {
      app.showCategory(%(paper)s);  // the menu: the paper's tables, samples, agreement
    } catch (err) { report({error: String(err)}); }
  }, 1000);
  setTimeout(function () {  // a separate task: React applies the menu state first
    try {
      var path = Object.keys(results).filter(function (p) { return p.indexOf(%(grid)s) >= 0; })[0];
      app.setView({content: "img", contentPath: results[path].data_uri, resultPath: path});
    } catch (err) { report({error: String(err)}); }
  }, 2000);
  setTimeout(function () {
    var img = document.querySelector("#app img[src^='data:image/png']");
    report({path: path_of(img), images: document.querySelectorAll("#app img").length,
            width: img ? img.naturalWidth : 0, height: img ? img.naturalHeight : 0,
            complete: img ? img.complete : false, text: document.querySelector("#app").innerText});
  }, 4000);
  function path_of(img) {  // which result the shown image is
    return Object.keys(results).filter(function (p) { return img && results[p].data_uri === img.src; })[0] || "";
  }
})();
</script>
"""


def _chromium(*args, user_data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={user_data}", *args],
                          capture_output=True, text=True, timeout=180)


def _without_scripts(dom: str) -> str:
    """The rendered part of a DOM dump: names inside the embedded JSON or JS must not count."""
    return re.sub(r"<script\b.*?</script>", "", dom, flags=re.S | re.I)


@pytest.fixture(scope="module")
def report_html(tiny_run):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: run scripts/setup_browser.sh as root (apt-get install chromium)")
    dag = PipelineDAG("tiny", (PAPER,))
    look = [f"results/figures/{PAPER}/samples/{e}.png" for e in dag.experiments(PAPER)]
    look += ["results/README.md", f"results/tables/{PAPER}/agreement.csv"]
    env = snakemake_env(tiny_run)
    for args in ([*look, "--cores", "2"], ["all", *look, "--report", "report.html"]):
        proc = subprocess.run(snakemake_cmd(tiny_run, *args, "--config", "scale=tiny"), capture_output=True,
                              text=True, env=env, timeout=TIMEOUT_S)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return tiny_run / "report.html"


def test_report_renders_offline_with_table_names_and_a_visible_sample_grid(report_html, tmp_path):
    dag = PipelineDAG("tiny", (PAPER,))
    grid = f"samples/{dag.experiments(PAPER)[0]}.png"
    page = report_html.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']https?://""", page)  # nothing to fetch
    probe = tmp_path / "probe.html"
    head, tail = page.rsplit("</body>", 1)  # the last one: embedded sources contain the string too
    probe.write_text(head + PROBE % {"paper": json.dumps(PAPER), "grid": json.dumps(grid)} + "</body>" + tail,
                     encoding="utf-8")

    proc = _chromium("--dump-dom", probe.as_uri(), user_data=tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, "the probe did not run: " + _without_scripts(proc.stdout)[-2000:]
    seen = json.loads(html_lib.unescape(found.group(1)))
    assert "error" not in seen, seen
    assert seen["path"].endswith(grid) and seen["complete"]
    assert seen["width"] > 0 and seen["height"] > 0  # the PNG decoded: a visible image
    rendered = _without_scripts(proc.stdout)
    for name in dag.tables(PAPER) + ["samples", "agreement"]:  # the paper's menu lists every table
        assert name in seen["text"] and name in rendered, f"{name} not rendered"

    shot = tmp_path / "report.png"
    proc = _chromium(f"--screenshot={shot}", probe.as_uri(), user_data=tmp_path / "profile2")
    assert proc.returncode == 0 and shot.stat().st_size > 10_000, proc.stderr[-3000:]
    keep = Path(report_html).parent / "report_screenshot.png"  # left beside the report for a human to look at
    shutil.copyfile(shot, keep)
