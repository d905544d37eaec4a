"""Each stage is declared once (orchestration/stage_table.py): Snakemake's jobs and dvc.yaml's stages are the
same jobs, with the same command, the same inputs (besides the code DVC tracks) and the same outputs."""

from __future__ import annotations

import re
import subprocess

import pytest

from dagutil import snakemake_cmd, snakemake_env
from ganrepro.orchestration.dag import PipelineDAG
from ganrepro.orchestration.dvc import build_stages
from ganrepro.orchestration.stage_table import STAGES, keys, stage_name

SCALE = "tiny"


def _snakemake_jobs(work) -> dict[str, dict]:
    """stage name -> {inputs, outputs, command} of every job in Snakemake's dry run (rule `all` left out)."""
    proc = subprocess.run(snakemake_cmd(work, "-n", "-p", "--config", f"scale={SCALE}"), env=snakemake_env(work),
                          capture_output=True, text=True, timeout=300, check=True)
    jobs, job = {}, None
    for line in proc.stdout.splitlines():
        head = re.match(r"(?:local)?rule (\S+):$", line)
        if head:
            job = None if head.group(1) == "all" else {"rule": head.group(1), "input": [], "output": [], "wildcards": {}}
            continue
        if job is None:
            continue
        field = re.match(r"    (input|output|wildcards): (.*)$", line)
        if field and field.group(1) == "wildcards":
            job["wildcards"] = dict(kv.split("=", 1) for kv in field.group(2).split(", "))
        elif field:
            job[field.group(1)] = field.group(2).split(", ")
        elif line.startswith("Shell command: "):
            job["command"] = re.sub(r" > \S+ 2>&1$", "", line[len("Shell command: "):])
            rule = job["rule"]
            kind, _, paper = rule.partition("_") if rule.split("_")[0] in ("tables", "figures") else (
                rule.replace("_", "-"), "", "")
            key = {"paper": paper} if paper else job["wildcards"]
            jobs[stage_name(kind, key)] = job
            job = None
    return jobs


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return _snakemake_jobs(tmp_path_factory.mktemp("dry")), build_stages(SCALE)


def test_snakemake_and_dvc_run_the_same_jobs(both):
    snake, dvc = both
    assert len(dvc) > 100 and set(snake) == set(dvc)


def test_every_job_has_the_same_command_inputs_and_outputs_in_both(both):
    snake, dvc = both
    for name, stage in dvc.items():
        job = snake[name]
        assert job["command"] == stage["cmd"], name
        data_deps = {d for d in stage["deps"] if not d.startswith("src/")}  # DVC also tracks the code it runs
        assert set(job["input"]) - {""} == data_deps, name
        outs = {next(iter(o)) if isinstance(o, dict) else o
                for k in ("outs", "metrics", "plots") for o in stage.get(k, [])}
        assert set(job["output"]) == outs, name


def test_the_table_covers_every_stage_kind_and_names_real_entry_modules():
    import importlib.util

    dag = PipelineDAG(SCALE)
    assert {k for k in STAGES if keys(dag, k)} == set(STAGES)
    for stage in STAGES.values():
        assert all(importlib.util.find_spec(m) for m in stage.entry), stage.kind


def test_evaluate_reads_its_dataset_in_both_tools(both):
    """The inputs used to differ: DVC's evaluate depended on the dataset's manifest, Snakemake's did not."""
    snake, dvc = both
    name = "evaluate_r3gan_t1-rpgan-r1r2"
    assert "data/tiny/stackedmnist/manifest.json" in snake[name]["input"]


def test_every_stage_command_parses_with_the_cli_and_reaches_its_handler():
    import shlex

    from ganrepro.cli import _parser
    from ganrepro.cli_commands import COMMANDS

    dag = PipelineDAG(SCALE)
    for kind, stage in STAGES.items():
        for key in keys(dag, kind)[:3]:
            args = _parser().parse_args(shlex.split(stage.command(dag, **key))[1:])
            assert args.cmd == kind and COMMANDS[kind].__name__ == "_cmd_" + kind.replace("-", "_")
            assert getattr(args, "scale", dag.scale) == dag.scale and getattr(args, "paper", None) == key.get("paper")


def test_no_rule_made_in_a_loop_builds_its_shell_line_from_the_loop_variable():
    """Snakemake evaluates a rule's `shell:` expression again when the job runs, after the loop has ended: a line
    built from the loop's variable runs the last paper's command in every paper's job (it did, once)."""
    from dagutil import REPO

    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        lines = smk.read_text().splitlines()
        loops = {m.group(1) for line in lines for m in [re.match(r"for (\w+) in ", line.strip())] if m}
        for i, line in enumerate(lines):
            if line.strip() == "shell:":
                expr = lines[i + 1].split("#")[0]
                assert not any(re.search(rf"\b{v}\b", expr) for v in loops), f"{smk.name}:{i + 2}: {expr.strip()}"
