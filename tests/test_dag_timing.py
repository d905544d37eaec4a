"""`ganrepro dag-timing`: per-kind job time from the logs' birth and modification times."""

import os

import pytest

from ganrepro.orchestration.timing import _birth, job_times, report


def _log(root, rel, seconds):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    start = _birth(path)
    if start is None:
        pytest.skip("this filesystem keeps no birth times")
    os.utime(path, (start + seconds, start + seconds))
    return start


def test_jobs_are_grouped_by_kind_and_timed_from_birth_to_last_write(tmp_path):
    logs = tmp_path / "logs"
    _log(logs, "tiny/train/r3gan/a.log", 5)
    _log(logs, "tiny/train/r3gan/b.log", 7)
    _log(logs, "tables/r3gan/t1.log", 2)
    _log(logs, "overview.log", 1)
    _log(logs, "smoke/train/r3gan/a.log", 100)
    times = job_times(logs, scale="tiny")
    assert sorted(times) == ["overview", "tables", "train"]
    assert [round(e - s) for s, e in times["train"]] == [5, 7]
    text = report(logs, cores=2, scale="tiny")
    assert text.splitlines()[1].split()[:3] == ["train", "2", "12"]
    assert "4 jobs, 15 job-seconds" in text


def test_a_paper_filter_keeps_the_jobs_whose_log_path_names_it(tmp_path):
    logs = tmp_path / "logs"
    _log(logs, "tiny/train/r3gan/a.log", 5)
    _log(logs, "tiny/train/epigraf/a.log", 3)
    _log(logs, "cost_bench/epigraf.log", 2)
    _log(logs, "overview.log", 1)
    times = job_times(logs, paper="epigraf")
    assert {k: [round(e - s) for s, e in v] for k, v in times.items()} == {"train": [3], "cost_bench": [2]}
