"""The step comparison harness: two workers on the same tree compute the same numbers, interleaved."""

from pathlib import Path

from ganrepro.orchestration.bench_compare import compare_config

REPO = Path(__file__).resolve().parents[1]


def test_compare_config_same_tree_agrees(tmp_path):
    config = ("E tiny", "r3gan", "t2-e-inverted", "tiny", None, 1, 1)
    r = compare_config(config, {"old": REPO, "new": REPO}, repeats=2, threads=1, tmp=tmp_path)
    assert r["max_rel_diff"] == 0.0
    assert r["old_s"] > 0 and r["new_s"] > 0 and r["blocks"] == 2
