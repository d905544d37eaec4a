"""DVC parity: dvc.yaml is generated from params/ like the Snakefile's DAG, runs the same commands and
reproduces the same numbers.

Fast tests check the committed dvc.yaml, the params each stage declares and the job-by-job match with
Snakemake's dry run. Slow tests run DVC in a temporary copy of the working tree (a git repo of its
own, tiny-scale dvc.yaml) and compare with Snakemake at tiny scale: the session's whole-DAG run
(`tiny_run`, conftest.py) when other tests need it anyway, else the same targets beside DVC.
They reproduce R3GAN's tables (one stage writes all of a paper's tables) and compare two (table1:
StackedMNIST mode counting; table6: conditional CIFAR-10 stand-in with the feature extractor), which
exercises every kind of stage except figures. The DVC copy's params keep only the runs behind those two
tables (`KEPT_EXPERIMENTS`; the other rows become reported-only), so DVC trains 5 runs; set
GANREPRO_TEST_DVC_FULL=1 to run the whole `dvc repro` on the full params (every run, table and figure).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dagutil import REPO, snakemake_cmd, snakemake_env
from ganrepro.config import dataset_config, list_experiments, load_params, resolve_run
from ganrepro.orchestration import dvc as gdvc

BIN = Path(sys.executable).parent
FULL = os.environ.get("GANREPRO_TEST_DVC_FULL") == "1"
TARGETS = [] if FULL else ["tables_r3gan"]
COMPARED_TABLES = ["table1", "table6"]
# The runs behind the compared tables (Table 1's four losses, Table 6's config E): outside FULL mode the DVC
# copy's params keep only these, so `dvc repro` (one stage at a time) trains 5 runs, not every R3GAN run.
KEPT_EXPERIMENTS = sorted({row["experiment"] for table in COMPARED_TABLES
                           for row in load_params().reported["r3gan"]["tables"][table]["rows"] if row.get("experiment")})
COMPARED = ["table", "row", "metric", "reported", "reproduced", "delta", "status", "metric_name", "scale",
            "experiment", "generated_samples", "real_samples", "seeds", "images_trained_kimg"]


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


# --- fast: the committed file and what each stage declares ---------------------------------------------
def test_committed_dvc_yaml_is_current():
    proc = subprocess.run([str(BIN / "ganrepro"), "dvc-yaml", "--check"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_check_fails_naming_the_fix(tmp_path, capsys):
    from ganrepro.cli import main

    stale = tmp_path / "dvc.yaml"
    stale.write_text(gdvc.render_dvc_yaml("smoke").replace("kimg", "kimg_old", 1))
    assert main(["dvc-yaml", "--scale", "smoke", "--out", str(stale), "--check"]) == 1
    assert f"ganrepro dvc-yaml --scale smoke --out {stale}" in capsys.readouterr().err
    assert main(["dvc-yaml", "--scale", "tiny", "--out", str(stale), "--check"]) == 1
    assert "generated for scale smoke, not tiny" in capsys.readouterr().err
    assert main(["dvc-yaml", "--scale", "tiny", "--out", str(stale)]) == 0
    assert main(["dvc-yaml", "--scale", "tiny", "--out", str(stale), "--check"]) == 0


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _perturbed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1
    if isinstance(value, list):
        return value[:-1]
    return {"cpu": "cuda", "cuda": "cpu", "embedded": "real", "real": "embedded", "quadratic": "none",
            "none": "quadratic", "cnn": "inception", "inception": "cnn"}.get(value, f"{value}-changed")


def _covered(key: str, declared: list[str]) -> bool:
    return any(key == d or key.startswith(d + ".") for d in declared)


@pytest.mark.parametrize("scale", ["tiny", "smoke", "paper"])
def test_scale_keys_cover_every_key_that_changes_a_stage(scale):
    """Perturb each key of the scale preset: if a resolved run's training part, its evaluation part or a
    dataset's preparation changes, the matching DVC stages must declare that key (else no rerun)."""
    params = load_params()
    exps = list_experiments("r3gan", params)
    datasets = sorted({resolve_run("r3gan", e, scale, params)["dataset"]["key"] for e in exps})

    def views(p):
        runs = [resolve_run("r3gan", e, scale, p) for e in exps]
        train = [{k: v for k, v in r.items() if k not in ("eval", "paths", "tables", "resources")} for r in runs]
        ev = [(r["eval"], r["train"]["device"]) for r in runs]
        data = [dataset_config(d, scale, p) for d in datasets]
        return train, ev, data

    base = views(params)
    missing = []
    for key, value in _leaves(params.scale(scale)):
        if key in ("name", "description") or value is None:
            continue
        scales = copy.deepcopy(params.scales)
        node = scales[scale]
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = _perturbed(value)
        train, ev, data = views(replace(params, scales=scales))
        for kind, before, after in (("train", base[0], train), ("evaluate", base[1], ev),
                                    ("prepare-data", base[2], data)):
            if before != after and not _covered(key, gdvc.SCALE_KEYS[kind]):
                missing.append(f"{kind}: {key}")
    assert not missing, f"add to ganrepro.orchestration.dvc.SCALE_KEYS: {missing}"


def test_code_deps_follow_imports():
    train = gdvc.code_deps(gdvc.ENTRY_MODULES["train"])
    assert "src/ganrepro/training" in train and "src/ganrepro/stages/train.py" in train
    assert not any(d.startswith(("src/ganrepro/reports", "src/ganrepro/cli.py")) for d in train)
    assert "src/ganrepro/reports/tables.py" in gdvc.code_deps(gdvc.ENTRY_MODULES["tables"])
    for deps in map(gdvc.code_deps, gdvc.ENTRY_MODULES.values()):
        assert all((REPO / d).exists() for d in deps), deps


def _snakemake_jobs(work: Path) -> dict[str, dict]:
    """Command -> {inputs, outputs} of every job in Snakemake's dry run at tiny scale."""
    proc = _run(snakemake_cmd(work, "--cores", "1", "--config", "scale=tiny", "-n", "-p"), work,
                env=snakemake_env(work), timeout=180)
    jobs, block = {}, {}
    for line in (proc.stdout + proc.stderr).splitlines():
        s = line.strip()
        for field in ("input", "output"):
            if s.startswith(f"{field}: "):
                block[field] = set(s[len(field) + 2:].split(", "))
        if s.startswith("Shell command: "):
            cmd = s[len("Shell command: "):].split(" > ")[0]
            if cmd != "None":  # rule all
                jobs[cmd] = {"inputs": block.get("input", set()), "outputs": block.get("output", set())}
            block = {}
    return jobs


def test_stages_are_snakemakes_jobs(tmp_path):
    """Same jobs, same commands (less Snakemake's log redirection), same outputs; DVC's deps include
    Snakemake's inputs (plus source code and, for evaluation, the dataset)."""
    jobs = _snakemake_jobs(tmp_path)
    stages = gdvc.build_stages("tiny")
    assert len(jobs) == len(stages) > 50
    for name, st in stages.items():
        assert st["cmd"] in jobs, f"stage {name}: {st['cmd']!r} is not a Snakemake job"
        job = jobs[st["cmd"]]
        outs = {next(iter(o)) for kind in ("outs", "metrics", "plots") for o in st.get(kind, [])}
        assert outs == job["outputs"], name
        assert job["inputs"] <= set(st.get("deps", [])), name


# --- slow: DVC runs the pipeline in a temporary copy of the working tree ------------------------------
SKIP_COPY = ("results/", "runs/", "data/", "logs/", "benchmarks/", "dvc.lock")


def _copy_worktree(dest: Path) -> Path:
    """Tracked and untracked-but-not-ignored files (the working tree as the lead would commit it)."""
    listing = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], REPO, timeout=60).stdout
    for rel in filter(None, listing.split("\0")):
        src = REPO / rel
        if rel.startswith(SKIP_COPY) or not src.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    return dest


def _keep_only_compared_runs(work: Path) -> None:
    """Trim the copy's R3GAN params to ``KEPT_EXPERIMENTS``: the other runs and the gates that name them go,
    and the paper's rows they measured become reported-only. The compared tables' rows come from the kept
    runs alone, so their cells are the full DAG's."""
    path = work / "params" / "experiments" / "r3gan.yaml"
    reg = yaml.safe_load(path.read_text())
    reg["experiments"] = {k: v for k, v in reg["experiments"].items() if k in KEPT_EXPERIMENTS}
    gates = reg.get("learning_gates") or {}
    gates["metrics"] = [g for g in gates.get("metrics", []) if g["experiment"] in KEPT_EXPERIMENTS]
    path.write_text(yaml.safe_dump(reg, sort_keys=False))
    reported = work / "params" / "reported" / "r3gan.yaml"
    reported.write_text(yaml.safe_dump(_unmeasured(yaml.safe_load(reported.read_text())), sort_keys=False))


def _unmeasured(node):
    """``node`` with every ``experiment:`` outside ``KEPT_EXPERIMENTS`` set to null (a reported-only row)."""
    if isinstance(node, list):
        return [_unmeasured(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: (None if k == "experiment" and isinstance(v, str) and v not in KEPT_EXPERIMENTS else _unmeasured(v))
            for k, v in node.items()}


def _dvc_env(work: Path) -> dict:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(work / ".dvc" / "tmp" / "site-cache"),
               PYTHONPATH=str(work / "src"), MPLCONFIGDIR=str(work / ".cache" / "mpl"),
               TORCH_HOME=str(work / ".cache" / "torch"), GIT_AUTHOR_NAME="ganrepro-test",
               GIT_AUTHOR_EMAIL="test@ganrepro", GIT_COMMITTER_NAME="ganrepro-test",
               GIT_COMMITTER_EMAIL="test@ganrepro")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("GANREPRO_PARAMS", None)
    return env


def _dvc(work: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return _run([str(BIN / "dvc"), *args], work, env=_dvc_env(work), timeout=timeout)


def _snakemake_targets() -> list[str]:
    return [f"results/tables/r3gan/{t}.csv" for t in COMPARED_TABLES]


@pytest.fixture(scope="module")
def tiny_pair(request, tmp_path_factory):
    """(DVC workspace, its `dvc repro` log, a Snakemake tiny run) for the same targets.

    DVC: a git repo copied from the working tree, dvc.yaml regenerated for tiny, `dvc repro`.
    Snakemake: the session's whole-DAG run when another module needs it anyway (or in FULL mode);
    otherwise only the compared tables, run beside DVC (DVC runs one stage at a time: one core each).
    """
    shared = FULL or any("tiny_run" in getattr(item, "fixturenames", ()) and item.path != Path(__file__)
                         for item in request.session.items)
    smk_work = None if shared else tmp_path_factory.mktemp("smk")  # shared: read after `dvc repro`, which
    # runs beside the session's DAG (it started in the background with the tests: conftest.py)
    smk, smk_log = None, None
    work = _copy_worktree(tmp_path_factory.mktemp("dvc"))
    if not FULL:
        _keep_only_compared_runs(work)
    env = _dvc_env(work)
    assert (work / ".dvc" / "config").is_file(), "the working tree has no .dvc/: run `dvc init` at the root"
    try:
        if not shared:
            smk_log = (smk_work / "snakemake.log").open("w")
            smk = subprocess.Popen(snakemake_cmd(smk_work, *_snakemake_targets(), "--cores", "1", "--config",
                                                 "scale=tiny", "--quiet"),
                                   env=snakemake_env(smk_work), stdout=smk_log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _run([str(BIN / "ganrepro"), "dvc-yaml", "--scale", "tiny"], work, env=env, timeout=120)
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "tiny dvc.yaml"]):
            _run(cmd, work, env=env, timeout=60)
        log = _dvc(work, "repro", *TARGETS, timeout=2700).stdout  # the kept runs: one stage has all R3GAN's tables
        if shared:
            smk_work = request.getfixturevalue("tiny_run")
        if smk is not None:
            smk.wait(timeout=900)
            assert smk.returncode == 0, (smk_work / "snakemake.log").read_text()[-6000:]
    finally:
        if smk is not None and smk.poll() is None:
            smk.kill()
            smk.wait(timeout=60)
        if smk_log is not None:
            smk_log.close()
    return work, log, smk_work


@pytest.fixture(scope="module")
def dvc_tiny(tiny_pair):
    return tiny_pair[0], tiny_pair[1]


def _table(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "results" / "tables" / "r3gan" / f"{name}.csv", keep_default_na=False)


def _reproduced_tables(work: Path) -> list[str]:
    if FULL:
        return list(load_params().reported["r3gan"]["tables"])
    return COMPARED_TABLES


@pytest.mark.slow
def test_dvc_repro_equals_snakemake(tiny_pair):
    work, log, tiny_run = tiny_pair
    statuses = set()
    for name in _reproduced_tables(work):
        ours, theirs = _table(work, name), _table(tiny_run, name)
        pd.testing.assert_frame_equal(ours[COMPARED], theirs[COMPARED], obj=f"{name}.csv (DVC vs Snakemake)")
        statuses |= set(ours["status"])
        dvc_json = json.loads((work / "results" / "tables" / "r3gan" / f"{name}.json").read_text())
        assert dvc_json == json.loads((tiny_run / "results" / "tables" / "r3gan" / f"{name}.json").read_text())
    assert "reproduced" in statuses  # numbers were compared, not only reported-only cells
    assert "Running stage 'train_r3gan_t1-gan-r1'" in log
    status = _dvc(work, "status", *TARGETS).stdout
    assert "up to date" in status, status  # a second `dvc repro` would be a no-op
    runs = work / ".dvc" / "cache" / "runs"
    cached = [yaml.safe_load(p.read_text())["cmd"] for p in runs.rglob("*") if p.is_file()] if runs.exists() else []
    # Uncached outs are never run-cached; only figures (plots-only outs, a pure function of the runs) may be.
    assert all(" ganrepro figures " in f" {cmd} " for cmd in cached), cached


@pytest.mark.slow
def test_metrics_show_lists_table_metrics(dvc_tiny):
    work, _ = dvc_tiny
    shown = json.loads(_dvc(work, "metrics", "show", "--json").stdout)
    data = shown[""]["data"]
    for name in _reproduced_tables(work):
        path = f"results/tables/r3gan/{name}.json"
        assert data[path]["data"] == json.loads((work / path).read_text())
    assert data["results/tables/r3gan/table1.json"]["data"]["rpgan_r1_r2"]["modes"] >= 1


@pytest.mark.slow
def test_figures_are_registered_plots(dvc_tiny, tmp_path):
    work, _ = dvc_tiny
    proc = subprocess.run([str(BIN / "dvc"), "plots", "show", "--json", "-o", str(tmp_path / "plots")], cwd=work,
                          env=_dvc_env(work), capture_output=True, text=True, timeout=300)
    shown = json.loads(proc.stdout)
    figures = {f"results/figures/r3gan/{f}.png" for f in ("fig1_g_loss", "training_curves")}
    assert figures <= set(shown["data"])
    if FULL:  # the figures exist and DVC renders them as images
        assert proc.returncode == 0, proc.stderr
        for fig in figures:
            assert shown["data"][fig][0]["type"] == "image"
            assert Path(shown["data"][fig][0]["url"]).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_exp_run_set_param(dvc_tiny):
    """`dvc exp run -S` edits the params file the CLI reads; the experiment trains with it and is listed."""
    work, _ = dvc_tiny
    stage = "train_r3gan_t6-e-cifar10"  # trained by the fixture to 0.16 kimg (20 steps): extended to 30 steps
    log = _dvc(work, "exp", "run", "-n", "tiny-kimg", "-S", "params/scales/tiny.yaml:kimg=0.24", stage,
               timeout=900).stdout
    assert f"Running stage '{stage}'" in log
    tiny = yaml.safe_load((work / "params" / "scales" / "tiny.yaml").read_text())
    assert tiny["kimg"] == 0.24 and tiny["batch"] == 8
    result = json.loads((work / "runs" / "tiny" / "r3gan" / "t6-e-cifar10" / "result.json").read_text())
    assert result["total_steps"] == 30 and result["kimg"] == pytest.approx(0.24)
    shown = json.loads(_dvc(work, "exp", "show", "--json").stdout)
    exps = [e for row in shown for e in (row.get("experiments") or []) if e.get("name") == "tiny-kimg"]
    assert len(exps) == 1, shown
    params = exps[0]["revs"][0]["data"]["params"]["params/scales/tiny.yaml"]["data"]
    assert params["kimg"] == 0.24

    # A second experiment on the now trained run changes its seed: it must train again, not resume the
    # finished state of the first (stats.jsonl of a resumed finished run would stay as it was).
    stats = work / "runs" / "tiny" / "r3gan" / "t6-e-cifar10" / "stats.jsonl"
    before = stats.read_text()
    _dvc(work, "exp", "run", "-n", "tiny-seed", "-S", "params/experiments/r3gan.yaml:+experiments.t6-e-cifar10.seed=1",
         stage, timeout=900)
    result = json.loads((work / "runs" / "tiny" / "r3gan" / "t6-e-cifar10" / "result.json").read_text())
    assert result["provenance"]["seeds"]["train"] == 1 and result["total_steps"] == 30
    assert stats.read_text() != before, "the seed-1 experiment resumed the seed-0 state instead of training"
