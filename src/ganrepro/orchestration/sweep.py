"""`ganrepro sweep`: a grid of resolved-config settings over a few seeds, one table out.

How the small-scale recipes in ``params/`` were found (docs/SWEEPS.md keeps the tables). Each
``--grid dotted.key=[v1, v2, ...]`` is one axis (values parsed as YAML); the sweep trains every
combination for every ``--seeds`` index with the one training loop, in ``--work`` (default
``runs/sweeps/<name>/``: re-running the same command skips finished cells and resumes interrupted
ones), and measures each with the instruments of the tables: FID with the scale's extractor, the learning index
(stages/learning_index.py), and the run's learning metric (StackedMNIST modes and reverse KL, or the class accuracy of conditional fakes).
With ``--grid train.keep_networks=N`` each cell also scores its N kept G_emas: the learning index along the run.
``--jobs N`` trains N cells at once (each with the scale's thread count).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

from ..config import resolve_run
from ..config.identity import config_hash
from ..errors import ConfigError
from .ablate import _check_inputs, apply_override


def parse_axis(spec: str) -> tuple[str, list]:
    """``key=[a, b]`` -> (key, [a, b]); a scalar value is a one-value axis."""
    if "=" not in spec:
        raise ConfigError(f"--grid {spec!r}: expected dotted.key=[v1, v2, ...], e.g. 'schedule.lr.start=[1e-3, 2e-3]'")
    key, raw = spec.split("=", 1)
    values = yaml.safe_load(raw)
    return key, values if isinstance(values, list) else [values]


def grid_cells(axes: list[tuple[str, list]]) -> list[list[str]]:
    """Every combination, as lists of ``key=YAML`` assignments (the ablate syntax)."""
    keys = [k for k, _ in axes]
    combos = itertools.product(*[vals for _, vals in axes]) if axes else [()]
    return [[f"{k}={json.dumps(v)}" for k, v in zip(keys, combo)] for combo in combos]


def cell_config(base: dict, sets: list[str], seed_offset: int, work: Path) -> dict:
    cfg = base
    for assignment in sets:
        cfg = apply_override(cfg, assignment)
    cfg = copy.deepcopy(cfg)
    cfg["seed"] = int(base["seed"]) + int(seed_offset)
    # the base config's hash too: after a params change the same command trains afresh, never reuses a cell
    tag = hashlib.sha1(json.dumps([sets, seed_offset, config_hash(base)]).encode()).hexdigest()[:10]
    d = work / tag
    cfg["paths"] = {"run_dir": str(d), "network": str(d / "network.pt"),
                    "result": str(d / "result.json"), "metrics": str(d / "metrics.json")}
    return cfg


def measure(cfg: dict) -> dict:
    """FID plus the run's learning metric, with the tables' instruments (final G_ema); with
    ``train.keep_networks``, also the learning index of every kept G_ema (``index_curve``)."""
    from ..stages.evaluate import learning_metrics, snapshot_fid
    from ..stages.learning_index import learning_record

    point = snapshot_fid(cfg, cfg["paths"]["network"], cfg["eval"]["num_fake"])
    out = {"fid": point["fid"], "learning_index": learning_record(cfg, point["fid"], point["metric"])["index"],
           "spread": _spread(cfg)}
    out.update(learning_metrics(cfg, cfg["paths"]["network"]))
    if curve := index_curve(cfg):
        out["curve"] = curve
    return out


def index_curve(cfg: dict) -> list[dict]:
    """``[{kimg, fid, index}]`` of every G_ema the cell kept, in training order, with the tables' FID protocol:
    does the run still learn at its end, or has it stalled (docs/SWEEPS.md, the index against run length)?"""
    from ..stages.evaluate import kept_networks, snapshot_fid
    from ..stages.learning_index import learning_record

    points = []
    for path in kept_networks(cfg):
        p = snapshot_fid(cfg, path, cfg["eval"]["num_fake"])
        points.append({"kimg": p["kimg"], "fid": p["fid"], "index": learning_record(cfg, p["fid"], p["metric"])["index"]})
    return points


def _spread(cfg: dict, num: int = 1000) -> float:
    """Fakes' within-class variety over the real images' (metrics/diversity.py): near 0 = the latent is ignored."""
    import numpy as np

    from ..data import open_archive
    from ..metrics.diversity import spread_ratio
    from ..stages.eval_draw import EVAL_SEED, eval_labels, sample_images
    from ..training.loop import generator_sampler, load_generator

    archive = open_archive(cfg["dataset"]["path"])
    G, payload = load_generator(cfg["paths"]["network"])
    labels = eval_labels(archive, num, EVAL_SEED, cfg["dataset"]["num_classes"])
    fakes = sample_images(G, num, seed=EVAL_SEED, labels=labels, sample=generator_sampler(G, payload), device="cpu")
    idx = np.sort(np.random.default_rng(EVAL_SEED).choice(len(archive), size=min(num, len(archive)), replace=False))
    reals = np.asarray(archive.images[idx])
    real_labels = None if labels is None else np.asarray(archive.labels)[idx]
    return spread_ratio(fakes, labels, reals, real_labels)


def run_cell(cfg: dict) -> dict:
    from ..training.loop import train

    done = Path(cfg["paths"]["run_dir"]) / "sweep.json"
    if done.is_file():
        row = json.loads(done.read_text())
        if row["status"] == "ok" and "curve" not in row and cfg["train"].get("keep_networks"):
            row["curve"] = index_curve(cfg)  # a cell measured before curves existed: score its kept networks now
            done.write_text(json.dumps(row))
        return row
    result = train(cfg, progress=False)
    row = {"status": result["status"], "kimg": result["kimg"]}
    if result["status"] == "ok":
        row.update(measure(cfg))
    done.write_text(json.dumps(row))
    return row


def run_sweep(paper: str, experiment: str, scale: str, *, grid: list[str], seeds: list[int], jobs: int = 1,
              work: str | None = None, out: str | None = None) -> list[dict]:
    base = resolve_run(paper, experiment, scale, own_keeps=True)  # a copy in its own directory
    _check_inputs(base)
    axes = [parse_axis(g) for g in grid]
    root = Path(work or Path("runs") / "sweeps" / f"{scale}-{paper}-{experiment}")
    root.mkdir(parents=True, exist_ok=True)
    cells = [(sets, k, cell_config(base, sets, k, root)) for sets in grid_cells(axes) for k in seeds]
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(run_cell, [c for _, _, c in cells]))
    rows = [{"setting": ", ".join(s) or "default", "seed": k, **r} for (s, k, _), r in zip(cells, results)]
    table = summarise(rows, title=f"{paper}/{experiment} at {scale}, seeds {seeds}")
    print(table)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(table + "\n")
    return rows


NOT_METRICS = ("setting", "seed", "status", "kimg", "curve")


def summarise(rows: list[dict], title: str) -> str:
    """Markdown: one line per setting, each metric as mean (+- std over seeds); then, for cells that kept
    networks, the learning index along the run (one line per setting and seed)."""
    metrics = [k for k in rows[0] if k not in NOT_METRICS] if rows else []
    for r in rows:
        metrics += [k for k in r if k not in metrics and k not in NOT_METRICS]
    lines = [f"### {title}", "", "| setting | kimg | " + " | ".join(metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        group = [r for r in rows if r["setting"] == setting]
        cells = []
        for m in metrics:
            vals = [r[m] for r in group if isinstance(r.get(m), (int, float))]
            if not vals:
                cells.append("Fail" if any(r["status"] != "ok" for r in group) else "-")
                continue
            spread = f" ± {statistics.stdev(vals):.3g}" if len(vals) > 1 else ""
            cells.append(f"{statistics.fmean(vals):.4g}{spread}")
        lines.append(f"| {setting} | {group[0]['kimg']:.3g} | " + " | ".join(cells) + " |")
    curves = [r for r in rows if r.get("curve")]
    if curves:
        lines += ["", "Learning index along the run (kimg: index of each kept G_ema):", "",
                  "| setting | seed | index at kimg |", "|---|---|---|"]
        lines += [f"| {r['setting']} | {r['seed']} | " + ", ".join(f"{p['kimg']:.3g}: {p['index']:.3g}" for p in r["curve"])
                  + " |" for r in curves]
    return "\n".join(lines)
