"""`ganrepro ablate`: train an experiment with one setting changed, beside the unchanged one, and print FID.

For questions the tables raise ("which official default costs config E at smoke scale?"), answered
with the pipeline's own pieces: the experiment's resolved config at the scale, each ``--set
dotted.key=YAML`` applied to it after resolution as its own variant, trained by the one training loop
in a scratch directory for every ``--seeds`` index, and measured with the tables' FID protocol (the
scale's extractor, real set and ``num_fake``). The dataset and the scale's feature extractor must
exist (the DAG builds them; or ``ganrepro prepare-data`` / ``ganrepro train-extractor``).
"""

from __future__ import annotations

import copy
import json
import statistics
import tempfile
from pathlib import Path

import yaml

from ..config import resolve_run
from ..errors import ConfigError
from ..stages.evaluate import snapshot_fid
from ..training.loop import train


def apply_override(cfg: dict, assignment: str) -> dict:
    """A copy of ``cfg`` with ``a.b.c=VALUE`` set (VALUE parsed as YAML). The key must exist, except under
    ``model`` (a knob left at its family default is absent; the family refuses unknown knobs at build)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected dotted.key=VALUE, e.g. model.resample_filter=[1,2,1]")
    path, raw = assignment.split("=", 1)
    out = copy.deepcopy(cfg)
    node, keys = out, path.split(".")
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            raise ConfigError(f"--set {assignment!r}: {path!r} is not a key of the resolved config "
                              f"(see `ganrepro resolve` for its keys)")
        node = node[key]
    if keys[-1] not in node and keys[0] != "model":  # model knobs absent here take the family's defaults
        raise ConfigError(f"--set {assignment!r}: {path!r} is not a key of the resolved config "
                          f"(see `ganrepro resolve`); known here: {sorted(node)}")
    node[keys[-1]] = yaml.safe_load(raw)
    return out


def _check_inputs(cfg: dict) -> None:
    if not Path(cfg["dataset"]["path"]).exists():
        raise ConfigError(f"{cfg['dataset']['path']}: dataset not prepared. Build it: "
                          f"`ganrepro prepare-data --dataset {cfg['dataset']['key']} --scale {cfg['scale']}` "
                          "(or run the DAG), then re-run the same command.")
    weights = (cfg["eval"]["extractor"] or {}).get("weights")
    if weights and not Path(weights).exists():
        raise ConfigError(f"{weights}: feature extractor not trained. Build it: "
                          f"`ganrepro train-extractor --scale {cfg['scale']}` (or run the DAG), then re-run.")


def run_ablation(paper: str, experiment: str, scale: str, *, sets: list[str], seeds: list[int],
                 work: str | None = None) -> list[dict]:
    base = resolve_run(paper, experiment, scale, own_keeps=True)  # a copy in its own directory
    _check_inputs(base)
    variants = [("default", base)] + [(s, apply_override(base, s)) for s in sets]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganrepro-ablate-", dir=work) as tmp:
        for name, cfg in variants:
            for k in seeds:
                run = copy.deepcopy(cfg)
                run["seed"] = int(base["seed"]) + int(k)
                d = Path(tmp) / f"v{len(rows)}"
                run["paths"] = {"run_dir": str(d), "network": str(d / "network.pt"),
                                "result": str(d / "result.json"), "metrics": str(d / "metrics.json")}
                result = train(run, progress=False)
                fid = (snapshot_fid(run, run["paths"]["network"], run["eval"]["num_fake"])
                       if result["status"] == "ok" else {"fid": float("nan"), "metric": "Fail"})
                rows.append({"variant": name, "seed": run["seed"], "status": result["status"], "fid": fid["fid"],
                             "metric": fid["metric"], "kimg": result["kimg"]})
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{paper}/{experiment} at {scale}, {rows[0]['metric']} (mean over seeds {seeds}):")
    for name, _ in variants:
        vals = [r["fid"] for r in rows if r["variant"] == name]
        spread = f" +- {statistics.stdev(vals):.2f}" if len(vals) > 1 else ""
        print(f"  {name:<40} {statistics.fmean(vals):8.2f}{spread}   ({', '.join(f'{v:.2f}' for v in vals)})")
    return rows
