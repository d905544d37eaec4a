"""Building the DAG (parsing the Snakefile, dvc.yaml, `ganrepro plan`) does not import torch or plotting.

Every resolved run, path, dependency and resource of every paper at tiny and paper scale is computed in a
fresh interpreter that imports what the Snakefile imports; torch, seaborn and matplotlib must stay out.
"""

from __future__ import annotations

import json
import subprocess
import sys

from dagutil import REPO

HEAVY = ("torch", "torchvision", "torch_fidelity", "seaborn", "matplotlib", "scipy", "pandas")

_BUILD_EVERY_DAG = """
import json, sys
from snakemake.utils import min_version, validate  # the Snakefile's own imports
from ganrepro import paths
from ganrepro.orchestration.dag import PipelineDAG
from ganrepro.orchestration.dvc import build_stages

for scale in ("tiny", "paper"):
    dag = PipelineDAG(scale, "all")
    dag.final_targets(), dag.budget_summary(), dag.threads(), dag.datasets
    for paper, exp in dag.trained_runs():
        dag.fingerprint(paper, exp), dag.train_inputs(paper, exp), dag.train_launcher(paper, exp)
        dag.runtime_minutes(paper, exp), dag.gpu_hours_label(paper, exp)
    for paper, exp in dag.runs:
        dag.instruments(paper, exp)
    for paper in dag.papers:
        dag.figures(paper), [dag.table_metrics(paper, t) for t in dag.tables(paper)]
build_stages("tiny")
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def _heavy_modules_after(code: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code.replace("{heavy}", repr(HEAVY))], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_building_every_dag_imports_no_torch_nor_plotting():
    assert _heavy_modules_after(_BUILD_EVERY_DAG) == []


def test_networks_and_objectives_still_load_from_the_torch_free_registries():
    """The lazy halves load where they are used: building networks and asking for the objective class."""
    code = """
import json, sys
from ganrepro.config import resolve_run
from ganrepro.models import build_networks
from ganrepro.objectives import objective_for
cfgs = [resolve_run(p, e, "tiny") for p, e in {runs}]
assert "torch" not in sys.modules
from torch import nn
from ganrepro.objectives import Objective
for cfg in cfgs:
    ds = cfg["dataset"]
    G, D = build_networks(cfg["model"], resolution=ds["resolution"], img_channels=ds["channels"],
                          num_classes=ds["num_classes"])
    assert isinstance(G, nn.Module) and isinstance(D, nn.Module), (type(G), type(D))
    cls = objective_for(cfg)
    assert issubclass(cls, Objective) and cls.name == cfg["objective"], (cls, cls.name)
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""
    runs = [("r3gan", "t2-a-stylegan2"), ("r3gan", "t1-gan-r1"), ("epigraf", "t1-epigraf-cats256"),
            ("inr_multistage", "multistage-ffhq-s2")]
    assert "torch" in _heavy_modules_after(code.replace("{runs}", repr(runs)))
