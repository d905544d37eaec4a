"""Where commands run and what params validation catches (issue 8 rows owned by the config/DAG layer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dagutil import REPO
from ganrepro.config.load import load_params
from ganrepro.errors import ConfigError
from ganrepro.orchestration.dag import PipelineDAG, normalize_papers
from ganrepro.paths import workspace_root

GANREPRO = [sys.executable, "-m", "ganrepro.cli"]


def _params_copy(tmp_path: Path, edit) -> Path:
    import shutil

    dest = tmp_path / "params"
    shutil.copytree(REPO / "params", dest)
    path = dest / "experiments" / "r3gan.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def _validate(params: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, GANREPRO_PARAMS=str(params))
    return subprocess.run(GANREPRO + ["validate"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_unknown_table_reference_is_refused_naming_file_key_and_tables(tmp_path):
    params = _params_copy(tmp_path, lambda d: d["experiments"]["t1-gan-r1"].update(tables=["table99"]))
    with pytest.raises(ConfigError, match=r"experiments\.t1-gan-r1\.tables: unknown table 'table99'.*table1"):
        load_params(params)
    proc = _validate(params, tmp_path)
    assert proc.returncode == 2 and "table99" in proc.stderr and "Traceback" not in proc.stderr


def test_widths_inconsistent_with_the_resolution_are_refused_by_validate(tmp_path):
    params = _params_copy(tmp_path, lambda d: d["presets"]["ffhq64"]["model"].update(widths=[768, 768, 768]))
    proc = _validate(params, tmp_path)
    assert proc.returncode == 2 and "widths has 3 entries but resolution 64 needs 5" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_papers_config_accepts_a_bare_word_and_shows_the_right_spelling_otherwise():
    assert normalize_papers("r3gan") == ("r3gan",) and normalize_papers("all") == tuple(load_params().experiments)
    with pytest.raises(ConfigError, match=r"unknown paper\(s\) 'nope'.*papers=\["):
        normalize_papers(["nope"])
    with pytest.raises(ConfigError, match=r"unknown paper\(s\) 'r3gn'.*--config 'papers=\[r3gan\]'"):
        normalize_papers("r3gn")  # the spelling shown is the paper meant
    with pytest.raises(ConfigError, match=r"papers=\{'r3gan': None\} is not a paper name.*'papers=\[r3gan\]'"):
        normalize_papers({"r3gan": None})  # what YAML makes of papers={r3gan}


def test_commands_resolve_paths_against_the_checkout_from_a_subdirectory(tmp_path, monkeypatch):
    monkeypatch.delenv("GANREPRO_WORKDIR", raising=False)
    monkeypatch.delenv("GANREPRO_PARAMS", raising=False)
    assert workspace_root(REPO / "src" / "ganrepro") == REPO
    with pytest.raises(ConfigError, match="not inside a ganrepro checkout"):
        workspace_root(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("GANREPRO_WORKDIR", "GANREPRO_PARAMS")}
    proc = subprocess.run(GANREPRO + ["tables", "--paper", "r3gan", "--scale", "tiny", "--table", "nope"],
                          cwd=REPO / "docs", env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "unknown table 'nope'" in proc.stderr  # found the checkout's params
    assert not (REPO / "docs" / "results").exists()  # nothing written relative to the subdirectory


def test_every_job_gets_the_scales_thread_count():
    dag = PipelineDAG("tiny", "all")
    assert dag.threads() == load_params().scale("tiny")["threads"] == 1
    assert {dag.threads(p, e) for (p, e) in dag.runs} == {1}
