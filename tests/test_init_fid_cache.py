"""The learning index's untrained end (``FID_init``) is measured once per untrained generator and protocol:
runs that differ only after initialisation share it; another seed, another protocol or another code version
measure again, and a cached value equals the measured one."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ganrepro.config import resolve_run
from ganrepro.paths import fidelity_cache
from ganrepro.stages import learning_index
from ganrepro.stages.prepare import prepare_dataset, train_extractor

PAPER, SCALE = "r3gan", "tiny"
EXP, SAME_G = "t1-gan-r1", "t1-rpgan-r1r2"  # Table 1's rows: one G, one seed, losses differ


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("initfid")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        prepare_dataset(Path(resolve_run(PAPER, EXP, SCALE)["dataset"]["path"]).name, SCALE)
        train_extractor(SCALE)
    return work


def _cache_files(cfg) -> list[Path]:
    return sorted(Path(fidelity_cache(cfg["scale"])).glob("init-*.json"))


def test_runs_sharing_an_untrained_generator_measure_it_once(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    cfg, same = resolve_run(PAPER, EXP, SCALE), resolve_run(PAPER, SAME_G, SCALE)
    assert cfg["loss"] != same["loss"] and cfg["model"] == same["model"] and cfg["seed"] == same["seed"]
    measured = []
    real_fid = learning_index._fid
    monkeypatch.setattr(learning_index, "_fid", lambda *a, **k: measured.append(1) or real_fid(*a, **k))

    first, hit1 = learning_index.init_fid(cfg)
    second, hit2 = learning_index.init_fid(same)
    assert (hit1, hit2) == (False, True) and second == first and len(measured) == 1
    assert len(_cache_files(cfg)) == 1

    for f in _cache_files(cfg):  # the cached number is the measured one
        f.unlink()
    again, hit3 = learning_index.init_fid(same)
    assert not hit3 and again == pytest.approx(first, rel=1e-9) and len(measured) == 2


@pytest.mark.parametrize("change", ["seed", "num_fake", "code"])
def test_another_generator_protocol_or_code_measures_again(workdir, monkeypatch, change):
    monkeypatch.chdir(workdir)
    cfg = resolve_run(PAPER, EXP, SCALE)
    base, _ = learning_index.init_fid(cfg)
    other = copy.deepcopy(cfg)
    if change == "seed":
        other["seed"] += 1  # another initialisation: other weights
    elif change == "num_fake":
        other["eval"]["num_fake"] += 8
    else:
        monkeypatch.setattr(learning_index, "_source_sha", lambda: "another version of the code")
    fid, hit = learning_index.init_fid(other)
    assert not hit
    if change != "code":
        assert fid != base
    else:
        assert fid == pytest.approx(base, rel=1e-9)  # same generator, same protocol: same number, re-measured
