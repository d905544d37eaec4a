"""`ganrepro gpu-check --device cpu --tiny`: the GPU session's script, dry-run on the CPU at the tiny scale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganrepro.orchestration import gpu_check

pytestmark = pytest.mark.slow  # ~40 s: snakemake, 14 bench runs, both cost benchmarks

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLCONFIGDIR=str(out / ".mpl"))
    proc = subprocess.run([sys.executable, "-m", "ganrepro.cli", "gpu-check", "--device", "cpu", "--tiny",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, out


def _table(stdout: str) -> list[list[str]]:
    lines = stdout.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("section"))
    return [line.split("  ") for line in lines[start + 1:]]


def test_every_section_prints_its_rows(dry_run):
    stdout, _ = dry_run
    assert "device cpu, scale tiny" in stdout
    rows = {}
    for line in stdout.splitlines():
        if line.split(" ", 1)[0] in gpu_check.SECTIONS:
            rows.setdefault(line.split(" ", 1)[0], []).append(line)
    assert len(rows["tests"]) == 1 and "ok:" in rows["tests"][0]  # on the CPU the CUDA tests skip
    assert len(rows["dag"]) == 1 and "ok:" in rows["dag"][0]
    assert len(rows["bench"]) == len(gpu_check.BENCH_RUNS) * len(gpu_check.PRECISIONS)
    for paper, exp in gpu_check.BENCH_RUNS:
        assert any(f"{paper} {exp}" in line for line in rows["bench"])
    assert any("inr_multistage image " in line and "reference" in line for line in rows["cost"])
    assert any("epigraf patch32 " in line and "time patch32 / patch64" in line for line in rows["cost"])


def test_numbers_parse_and_files_are_written(dry_run):
    _, out = dry_run
    data = json.loads((out / "gpu_check.json").read_text())
    assert data["plan"]["scale"] == "tiny" and data["plan"]["device"] == "cpu"
    bench = [r for r in data["rows"] if r["section"] == "bench"]
    assert all(r["result"].startswith("ok") and r["img/s"] > 0 and r["s/iter"] > 0 and r["peak MB"] > 0 for r in bench)
    cost = [r for r in data["rows"] if r["section"] == "cost"]
    assert all(r["s/iter"] > 0 for r in cost)
    printed = (out / "gpu_check.txt").read_text()
    for r in bench + cost:  # the printed numbers are the recorded ones
        assert f"{r['s/iter']:.4f}" in printed
    for name in ("gpu_check.txt", "cuda_tests.log", "dag.log", "cost_epigraf.txt", "cost_inr_multistage.txt"):
        assert (out / name).stat().st_size > 0


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_requested_without_a_gpu_fails_loudly_instead_of_falling_back(tmp_path):
    rows = gpu_check.run_gpu_check(device="cuda", out=str(tmp_path))
    assert [r["section"] for r in rows] == ["device"] and rows[0]["result"].startswith("FAILED")
    assert "FAILED" in (tmp_path / "gpu_check.txt").read_text()
