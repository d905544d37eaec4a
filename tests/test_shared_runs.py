"""One run per identical training configuration (config/shared.py): an experiment that trains exactly what an
earlier one trains shares its run directory and training job, keeps its own metrics record and table rows;
anything that changes training keeps two runs apart, and the owner keeps the G_ema snapshots its sharers read."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from ganrepro.config import load_params, resolve_run
from ganrepro.config.run_config import run_config
from ganrepro.config.shared import run_owners
from ganrepro.errors import ConfigError
from ganrepro.orchestration.dag import PipelineDAG
from ganrepro.orchestration.dvc import build_stages
from ganrepro.orchestration.stage_table import STAGES

# Table 3's config E and Table 1's RpGAN + R1 + R2 row: 768 vs 256 channels in the paper, the same minimum
# width at small scales; EpiGRAF's patch-32 ablation and its default (patch 64) at 16 px.
SHARED = [("r3gan", "t3-e-stackedmnist", "t1-rpgan-r1r2"), ("epigraf", "t2-patch32-ffhq512", "t1-epigraf-ffhq512")]
# At paper scale the learning runs are the paper presets themselves (learning_kimg: null): they differ from
# Table 3's and Table 6's rows only in the snapshots they keep, which is no difference in training.
PAPER_SHARED = [("r3gan", "learn-e-stackedmnist", "t3-e-stackedmnist"), ("r3gan", "learn-e-cifar10", "t6-e-cifar10")]


@pytest.mark.parametrize("scale", ["tiny", "smoke"])
@pytest.mark.parametrize("paper,exp,owner", SHARED)
def test_a_run_identical_to_an_earlier_one_trains_in_its_directory_and_keeps_its_own_record(paper, exp, owner, scale):
    cfg, own = resolve_run(paper, exp, scale), resolve_run(paper, owner, scale)
    assert cfg["paths"]["trained_by"] == owner and "trained_by" not in own["paths"]
    for key in ("run_dir", "network", "result"):
        assert cfg["paths"][key] == own["paths"][key]
    assert cfg["paths"]["metrics"].endswith(f"/{exp}.json") and cfg["paths"]["metrics"] != own["paths"]["metrics"]
    assert cfg["experiment"] == exp and cfg["tables"] != own["tables"]  # its own rows


def test_the_paper_scale_keeps_apart_the_rows_the_paper_trains_differently():
    for paper, exp, _ in SHARED:
        assert resolve_run(paper, exp, "paper")["paths"]["run_dir"].endswith(f"/{exp}")
    dag = PipelineDAG("paper")
    assert sorted(set(dag.runs) - set(dag.trained_runs())) == sorted((p, e) for p, e, _ in PAPER_SHARED)


@pytest.mark.parametrize("paper,exp,owner", PAPER_SHARED)
def test_a_paper_scale_learning_run_is_trained_by_its_table_row_which_keeps_its_snapshots(paper, exp, owner):
    cfg, own = resolve_run(paper, exp, "paper"), resolve_run(paper, owner, "paper")
    assert cfg["paths"]["trained_by"] == owner and cfg["train"]["kimg"] == own["train"]["kimg"]
    assert own["train"]["keep_networks"] == cfg["train"]["keep_networks"] == 8


def test_the_owner_keeps_what_its_sharers_read_and_its_own_curve_stays_its_own(in_tmp_workdir):
    """Smoke: the StackedMNIST learning run (40 kimg, 8 snapshots) is Table 1's RpGAN + R1 + R2 row, the shapes'
    (64 kimg) Table 6's row; those runs keep the 8 snapshots, and the learning figure draws the learning runs only."""
    from ganrepro.papers.r3gan.learning import learning_runs

    owner, learn = resolve_run("r3gan", "t1-rpgan-r1r2", "smoke"), resolve_run("r3gan", "learn-e-stackedmnist", "smoke")
    assert learn["paths"]["trained_by"] == "t1-rpgan-r1r2" and owner["train"]["keep_networks"] == 8
    assert resolve_run("r3gan", "t3-e-stackedmnist", "smoke")["train"]["keep_networks"] == 0  # its own ask
    assert resolve_run("r3gan", "learn-e-cifar10", "smoke")["paths"]["trained_by"] == "t6-e-cifar10"
    assert resolve_run("r3gan", "t6-e-cifar10", "smoke")["train"]["keep_networks"] == 8
    assert resolve_run("r3gan", "t1-rpgan-r1r2", "tiny")["train"]["keep_networks"] == 0  # at tiny nothing reads them
    assert [c["experiment"] for c in learning_runs("r3gan", "smoke")] == ["learn-e-stackedmnist", "learn-e-cifar10"]


def test_sharers_asking_for_different_snapshot_counts_are_refused_naming_the_key():
    configs = {"a": {"train": {"keep_networks": 4}}, "b": {"train": {"keep_networks": 8}}, "c": {"train": {}}}
    with pytest.raises(ConfigError, match=r"a, b, c train the same network .*keep_networks"):
        run_owners("toy", "tiny", argparse.Namespace(), list(configs), configs.__getitem__)


def test_seed_variants_share_with_the_same_seed_of_the_owner():
    params = load_params()
    params = dataclasses.replace(params, scales={**params.scales, "tiny": dict(params.scale("tiny"), seeds=2)})
    cfg = resolve_run("r3gan", "t3-e-stackedmnist-seed1", "tiny", params)
    assert cfg["paths"]["trained_by"] == "t1-rpgan-r1r2-seed1" and cfg["seed"] == 1
    assert cfg["paths"]["run_dir"].endswith("/t1-rpgan-r1r2-seed1")


def test_any_training_difference_keeps_runs_apart():
    configs = {"a": {"loss": {"r2": True}, "experiment": "a"}, "b": {"loss": {"r2": True}, "experiment": "b"},
               "c": {"loss": {"r2": False}, "experiment": "c"},
               "d": {"loss": {"r2": True}, "experiment": "d", "eval": {"num_fake": 7}, "tables": ["t9"]}}
    owners = run_owners("toy", "tiny", argparse.Namespace(), list(configs), configs.__getitem__)
    assert owners == {"a": "a", "b": "a", "c": "c", "d": "a"}  # names, evaluation and tables are not training


@pytest.mark.parametrize("scale", ["tiny", "smoke"])
def test_the_dag_trains_a_shared_run_once_and_evaluates_every_experiment_from_it(scale):
    dag = PipelineDAG(scale)
    trained = set(dag.trained_runs())
    for paper, exp, owner in SHARED:
        assert (paper, exp) not in trained and (paper, owner) in trained
        inputs = STAGES["evaluate"].inputs(dag, paper=paper, exp=exp)
        assert resolve_run(paper, owner, scale)["paths"]["network"] in inputs
    assert len(trained) == len(dag.runs) - len(SHARED) - 2 * (scale == "smoke")  # + the two learning runs
    stages = build_stages(scale)
    assert "train_r3gan_t3-e-stackedmnist" not in stages and "train_r3gan_t1-rpgan-r1r2" in stages
    assert "evaluate_r3gan_t3-e-stackedmnist" in stages


def test_a_shared_run_reads_the_owners_training_config_with_its_own_names(in_tmp_workdir):
    own = resolve_run("r3gan", "t1-rpgan-r1r2", "tiny")
    stored = dict(own, paths=dict(own["paths"], note="as written by the owner's training"))
    path = in_tmp_workdir / own["paths"]["run_dir"] / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(stored))
    got = run_config("r3gan", "t3-e-stackedmnist", "tiny")
    assert got["experiment"] == "t3-e-stackedmnist" and got["paths"] == resolve_run("r3gan", "t3-e-stackedmnist", "tiny")["paths"]
    assert got["tables"] == ["table3", "table9"] and got["model_paper"]["widths"] == [768] * 4
    stored["loss"] = dict(stored["loss"], r2=False)  # the owner was trained otherwise: refused, naming the key
    path.write_text(json.dumps(stored))
    with pytest.raises(ConfigError, match="differs in: loss"):
        run_config("r3gan", "t3-e-stackedmnist", "tiny")


def test_asking_for_a_shared_runs_own_network_names_the_file_that_holds_it():
    with pytest.raises(ConfigError, match=r"trains exactly what t1-rpgan-r1r2 trains .*t1-rpgan-r1r2/network\.pt"):
        PipelineDAG("tiny").train_inputs("r3gan", "t3-e-stackedmnist")


def test_training_a_shared_run_by_its_own_name_is_refused_naming_the_owners_command(in_tmp_workdir):
    from ganrepro.stages.train import run_training

    with pytest.raises(ConfigError, match=r"ganrepro train --paper r3gan --experiment t1-rpgan-r1r2 --scale tiny"):
        run_training("r3gan", "t3-e-stackedmnist", "tiny")


def test_names_stay_in_the_resume_identity_and_the_dag_fingerprint():
    """Sharing compares the training without names; a saved state and the DAG's rerun trigger keep them, so
    the runs trained before sharing existed resume instead of starting over."""
    from ganrepro.config.identity import run_identity, training_hash

    a, b = resolve_run("r3gan", "t1-rpgan-r1r2", "tiny"), resolve_run("r3gan", "t3-e-stackedmnist", "tiny")
    assert training_hash(a) == training_hash(b) and run_identity(a) != run_identity(b)


def test_launch_submits_one_job_per_run(capsys):
    from ganrepro.orchestration.launch import runs_to_train

    names = ["t3-e-stackedmnist", "t1-rpgan-r1r2", "t1-gan-r1"]
    assert runs_to_train(PipelineDAG("tiny", ("r3gan",)), "r3gan", names) == ["t1-rpgan-r1r2", "t1-gan-r1"]
    assert "r3gan/t3-e-stackedmnist: trained by t1-rpgan-r1r2's run" in capsys.readouterr().out
    assert runs_to_train(PipelineDAG("paper", ("r3gan",)), "r3gan", names) == names


def _store_owner(workdir, paper: str, owner: str, scale: str, **train) -> dict:
    stored = resolve_run(paper, owner, scale)
    stored["train"].update(train)
    path = workdir / stored["paths"]["run_dir"] / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(stored))
    return stored


def test_sharers_read_the_snapshots_they_ask_for_from_the_owners_stored_config(in_tmp_workdir):
    """Smoke: the owner's config.json records 8 kept G_emas; the learning run reads them, Table 3's row none."""
    from ganrepro.stages.evaluate import kept_networks

    _store_owner(in_tmp_workdir, "r3gan", "t1-rpgan-r1r2", "smoke")
    learn, row = run_config("r3gan", "learn-e-stackedmnist", "smoke"), run_config("r3gan", "t3-e-stackedmnist", "smoke")
    assert learn["train"]["keep_networks"] == 8 and row["train"]["keep_networks"] == 0
    assert learn["paths"]["run_dir"] == row["paths"]["run_dir"]
    net_dir = in_tmp_workdir / learn["paths"]["run_dir"] / "networks"
    net_dir.mkdir()
    for step in (125, 2500):  # one milestone of the 40-kimg run (2500 steps, 8 kept) and one that is not
        (net_dir / f"network-{step:07d}.pt").write_bytes(b"")
    assert [p.name for p in kept_networks(learn)] == ["network-0002500.pt"] and kept_networks(row) == []


def test_a_run_that_kept_other_snapshots_than_its_group_reads_is_refused_naming_the_trainer(in_tmp_workdir):
    """An owner trained before a sharer joined kept none: reading it as 8 would draw no curve without a word."""
    _store_owner(in_tmp_workdir, "r3gan", "t1-rpgan-r1r2", "smoke", keep_networks=0)
    for exp in ("learn-e-stackedmnist", "t1-rpgan-r1r2"):
        with pytest.raises(ConfigError, match=r"trained keeping 0 G_ema snapshots, params ask for 8 .*t1-rpgan-r1r2"):
            run_config("r3gan", exp, "smoke")
    assert run_config("r3gan", "t3-e-stackedmnist", "smoke")["train"]["keep_networks"] == 0  # reads none of them


class _Resolved(Exception):
    pass


def test_sweeps_ablations_and_benchmarks_keep_what_the_experiment_asks_for_itself(monkeypatch, tmp_path):
    """They train a copy in a directory of their own: an owner's copy keeps only its own snapshots."""
    from ganrepro.orchestration import ablate, bench, sweep

    assert resolve_run("r3gan", "t1-rpgan-r1r2", "smoke", own_keeps=True)["train"]["keep_networks"] == 0
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs.get("own_keeps"))
        raise _Resolved

    for module in (sweep, ablate, bench):
        monkeypatch.setattr(module, "resolve_run", spy)
    for call in (lambda: sweep.run_sweep("r3gan", "t1-rpgan-r1r2", "smoke", grid=[], seeds=[0]),
                 lambda: ablate.run_ablation("r3gan", "t1-rpgan-r1r2", "smoke", sets=[], seeds=[0]),
                 lambda: bench.bench_one("r3gan", "t1-rpgan-r1r2", "smoke", steps=1, device="cpu", root=tmp_path)):
        with pytest.raises(_Resolved):
            call()
    assert calls == [True, True, True]


def test_dvc_params_of_a_seed_variant_name_its_experiments_entries():
    from ganrepro.orchestration.dvc import _run_params

    params = load_params()
    dag = PipelineDAG("tiny", ("r3gan",))
    dag.__dict__["params"] = dataclasses.replace(params, scales={**params.scales, "tiny": dict(params.scale("tiny"), seeds=2)})
    entries = _run_params(dag, "r3gan", "t1-rpgan-r1r2-seed1", "train")[0]["params/experiments/r3gan.yaml"]
    assert "experiments.t1-rpgan-r1r2" in entries and "experiments.t3-e-stackedmnist" in entries
    assert not any("seed1" in e for e in entries)


def test_dvc_retrains_an_owner_when_a_sharers_entry_changes():
    stages = build_stages("smoke")
    entries = stages["train_r3gan_t6-e-cifar10"]["params"][0]["params/experiments/r3gan.yaml"]
    assert "experiments.t6-e-cifar10" in entries and "experiments.learn-e-cifar10" in entries
    assert "experiments.learn-e-cifar10" not in stages["evaluate_r3gan_t6-e-cifar10"]["params"][0]["params/experiments/r3gan.yaml"]
