"""The submitit launcher's plumbing, without SLURM (the real cluster tests are in tests/slurm/)."""

from __future__ import annotations

import pkgutil
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("submitit")

import ganrepro.training  # noqa: E402
from ganrepro.errors import ConfigError, DatasetError  # noqa: E402
from ganrepro.orchestration.launch import SlurmResources, distributed_env, submit  # noqa: E402


def _env(**kw):
    base = dict(global_rank=0, local_rank=0, num_tasks=1, num_nodes=1, hostnames=["node7"], raw_job_id="4242")
    return SimpleNamespace(**{**base, **kw})


def test_distributed_env_from_job_environment():
    env = distributed_env(_env(global_rank=11, local_rank=3, num_tasks=16, num_nodes=2,
                               hostnames=["gpu-a01", "gpu-a02"]))
    assert env == {"RANK": "11", "WORLD_SIZE": "16", "LOCAL_RANK": "3", "LOCAL_WORLD_SIZE": "8",
                   "MASTER_ADDR": "gpu-a01", "MASTER_PORT": str(20000 + 4242)}
    # One node: loopback (node names need not resolve, e.g. the test cluster's grnode1).
    assert distributed_env(_env())["MASTER_ADDR"] == "127.0.0.1"
    # Jobs sharing a node get different ports; every task of a job (and its requeue) the same one.
    assert distributed_env(_env(raw_job_id="4243"))["MASTER_PORT"] != distributed_env(_env())["MASTER_PORT"]


def test_one_task_per_gpu_and_cluster_options_pass_through():
    params = SlurmResources(partition="gpu", account="proj", gpus_per_node=8, nodes=2, timeout_min=720,
                            cpus_per_task=8, additional={"qos": "high"}).executor_parameters()
    assert params == {"timeout_min": 720, "nodes": 2, "tasks_per_node": 8, "gpus_per_node": 8,
                      "cpus_per_task": 8, "slurm_partition": "gpu", "slurm_account": "proj",
                      "slurm_signal_delay_s": 90, "slurm_additional_parameters": {"qos": "high"}}
    cpu = SlurmResources(gpus_per_node=0).executor_parameters()
    assert cpu["tasks_per_node"] == 1 and "gpus_per_node" not in cpu


def test_submit_checks_names_and_data_before_submitting(in_tmp_workdir):
    with pytest.raises(ConfigError, match="unknown experiment"):
        submit("r3gan", ["no-such-experiment"], "tiny", folder="logs/submitit")
    with pytest.raises(DatasetError, match="prepare"):
        submit("r3gan", ["t3-e-stackedmnist"], "tiny", folder="logs/submitit")
    assert not Path("logs").exists()  # nothing was submitted


def test_training_code_knows_nothing_of_submitit():
    root = Path(ganrepro.training.__file__).parent
    files = sorted(root.rglob("*.py")) + sorted((root.parent / "objectives").rglob("*.py"))
    assert len(files) > 10
    for path in files:  # the loop, its sub-packages and the objectives: no scheduler, no DAG tool
        text = path.read_text()
        for tool in ("submitit", "snakemake", "dvc"):
            assert f"import {tool}" not in text and f"from {tool}" not in text, (path, tool)
