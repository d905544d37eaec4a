"""Stage: evaluate one trained run (FID/KID/precision/recall or StackedMNIST modes).

Which network is evaluated is the run's ``eval.select``: ``final`` (the G_ema at the end of training,
``network.pt``) or ``best_fid`` (EpiGRAF's protocol, "FID at the best FID@2k snapshot"): every
G_ema the run kept (``keep_networks``, ``runs/.../networks/``) is measured with the tables' FID
protocol on the scale's ``snapshot_num_fake`` fakes (2048 at paper scale), and the metrics are
computed on the best one; the record lists every snapshot's FID (the run's FID@N curve) and the
metric names say which snapshot was used (``..._at-best-fid500-of-4``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..paths import fidelity_cache, kept_network, tagged_metrics
from ..config import resolve_run
from ..config.run_config import run_config
from ..data import open_archive
from ..errors import ConfigError, GanreproError, ResultFileError
from ..metrics.conditioning import class_accuracy
from ..metrics.extractors import resolve_extractor
from ..metrics.fidelity import compute_fidelity
from ..metrics.modes import compute_modes, load_digit_classifier
from ..provenance import provenance
from ..training.loop import generator_sampler, load_generator, milestones, pick_device
from ..utils_io import ensure_writable_dir, read_json, write_json
from .eval_draw import EVAL_SEED, eval_labels, sample_images
from .learning_index import applies, learning_record

SELECT_SEED = EVAL_SEED + 1  # the snapshot-selection FIDs draw other fakes: the winner's final number is not biased


def snapshot_fid(cfg: dict, network: str | Path, num_fake: int, device="cpu", seed: int = EVAL_SEED) -> dict:
    """{kimg, fid, metric, network} of one saved G_ema, with the tables' FID protocol (the scale's
    extractor and real set) on ``num_fake`` fakes drawn from ``seed``."""
    ev = cfg["eval"]
    G, payload = load_generator(network, device)
    labels = eval_labels(open_archive(cfg["dataset"]["path"]), num_fake, seed, cfg["dataset"]["num_classes"])
    images = sample_images(G, num_fake, seed=seed, labels=labels, device=device,
                           sample=generator_sampler(G, payload))
    metrics = compute_fidelity(images, cfg["dataset"]["path"], extractor=ev["extractor"], metrics=["fid"],
                               num_fake=num_fake, num_real=ev["num_real"], seed=EVAL_SEED,
                               cache_dir=str(ensure_writable_dir(fidelity_cache(cfg["scale"]))), device=str(device),
                               fid_bootstrap=0)  # only the value is used
    name, entry = next((k, v) for k, v in metrics.items() if k.startswith("fid"))
    return {"kimg": payload.get("kimg"), "fid": entry["value"], "metric": name, "network": str(network)}


def learning_metrics(cfg: dict, network: str | Path, device="cpu") -> dict:
    """``{metric: value}`` of the run's learning evidence for one saved G_ema: StackedMNIST modes and
    reverse KL (``eval.kind: modes``), or how often conditional fakes are read as their class."""
    ev = cfg["eval"]
    G, payload = load_generator(network, device)
    sample = generator_sampler(G, payload)
    if ev["kind"] == "modes":
        images = sample_images(G, ev["mode_samples"], seed=EVAL_SEED, labels=None, device=device, sample=sample)
        metrics = compute_modes(images, load_digit_classifier(ev["digit_classifier"]), seed=EVAL_SEED)
    elif ev.get("class_accuracy"):
        labels = eval_labels(open_archive(cfg["dataset"]["path"]), ev["num_fake"], EVAL_SEED,
                             cfg["dataset"]["num_classes"])
        images = sample_images(G, ev["num_fake"], seed=EVAL_SEED, labels=labels, device=device, sample=sample)
        metrics = class_accuracy(images, labels, ev["extractor"]["weights"], tag=ev["extractor"]["tag"])
    else:
        return {}
    return {entry["metric"]: entry["value"] for entry in metrics.values()}


def kept_networks(cfg: dict) -> list[Path]:
    """The G_ema snapshots this config of the run kept (``keep_networks``), in training order: only the
    milestone steps of its current length (a run extended by a larger ``kimg`` keeps older files)."""
    total = int(round(cfg["train"]["kimg"] * 1000 / cfg["train"]["batch"]))
    steps = sorted(milestones(total, cfg["train"].get("keep_networks", 0)))
    return [p for p in (kept_network(cfg["paths"]["run_dir"], s) for s in steps) if p.is_file()]


def select_network(cfg: dict, device) -> tuple[str, dict]:
    """(network to evaluate, how it was chosen) under the run's ``eval.select`` (module docstring)."""
    ev = cfg["eval"]
    final = cfg["paths"]["network"]
    if ev.get("select", "final") == "final":
        return final, {"select": "final"}
    kept = kept_networks(cfg)
    if not kept:
        return final, {"select": "final", "why": "the run kept no snapshots (keep_networks: 0)"}
    points = [snapshot_fid(cfg, p, ev["snapshot_num_fake"], device, seed=SELECT_SEED) for p in kept]
    score = [p["fid"] if np.isfinite(p["fid"]) else np.inf for p in points]
    best = int(np.argmin(score))  # the earliest of equal FIDs
    suffix = f"_at-best-fid{ev['snapshot_num_fake']}-of-{len(points)}"
    return points[best]["network"], {"select": "best_fid", "by": points[best]["metric"], "kimg": points[best]["kimg"],
                                     "suffix": suffix, "snapshots": points}


def evaluate_run(paper: str, experiment: str, scale: str) -> dict:
    """Evaluate one run and write its metrics record.

    Everything knowable up front is checked before any sample is drawn: the output directories are
    writable, and the network and instruments exist and load (a missing or truncated file is a
    message naming it and the command that rebuilds it, not a traceback after minutes of work). The config
    is the one the run was trained with (``config.run_config``), with today's evaluation protocol.
    """
    cfg = run_config(paper, experiment, scale)
    paths = cfg["paths"]
    trained_as = paths.get("trained_by", experiment)  # a shared run is trained by its owner's command
    train_cmd = f"`ganrepro train --paper {paper} --experiment {trained_as} --scale {scale}`"
    rebuild_network = (f"re-run the same snakemake command, or {train_cmd} (a finished run only "
                       "re-writes its outputs from state.pt, it does not train again)")
    result = _load_checked(paths["result"], "training result", rebuild_network, read_json)
    ensure_writable_dir(Path(paths["metrics"]).parent)
    record = {"paper": paper, "experiment": experiment, "scale": scale, "train_status": result["status"],
              "train_kimg": result["kimg"], "metrics": {}}
    if result["status"] != "ok":
        record["fail"] = {"reason": result["reason"], "step": result["step"], "kimg": result["kimg"]}
    else:
        device = pick_device(cfg["train"]["device"])
        G, payload = _load_checked(paths["network"], "trained network", rebuild_network,
                                   lambda p: load_generator(p, device))
        _check_instruments(cfg)
        network, selection = select_network(cfg, device)
        record["snapshot"] = selection
        if network != paths["network"]:  # a kept snapshot won: evaluate it instead of the final G_ema
            G, payload = _load_checked(network, "trained network", rebuild_network, lambda p: load_generator(p, device))
        record["metrics"] = measure_network(cfg, G, payload, device)
        record["learning"] = _learning(cfg, record["metrics"], network, device)
        if selection.get("suffix"):
            record["metrics"] = {f"{k}{selection['suffix']}": v for k, v in record["metrics"].items()}
    record["provenance"] = provenance(config=cfg, seeds={"train": cfg["seed"], "eval": EVAL_SEED})
    write_json(paths["metrics"], record)
    return record


def _learning(cfg: dict, metrics: dict, network: str, device) -> dict:
    """The run's learning index (stages/learning_index.py) from the FID of the evaluated network; a modes
    run, which reports no FID, gets one with the same protocol for it."""

    if not applies(cfg):
        return {"skipped": "real data has no held-out split: the learning index is a small-scale instrument"}

    fid = next(((k, v["value"]) for k, v in metrics.items() if v.get("metric") == "fid"), None)
    if fid is None:
        point = snapshot_fid(cfg, network, cfg["eval"]["num_fake"], device)
        fid = (point["metric"], point["fid"])
    return learning_record(cfg, fid[1], fid[0], device)


def evaluate_network(paper: str, experiment: str, scale: str, network: str, tag: str = "official") -> dict:
    """Evaluate any ``network.pt`` (typically an imported official checkpoint) with the protocol of
    ``paper/experiment`` at ``scale``, without a training result. The record goes to
    ``paths.tagged_metrics`` (``<experiment>@<tag>.json``), never to the trained run's record; the tables
    show ``@official`` records in their ``official`` column."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", tag):
        raise ConfigError(f"--tag {tag!r}: use lower-case letters, digits, '-' and '_' (it names the record "
                          f"{experiment}@<tag>.json; the tables read --tag official)")
    cfg = resolve_run(paper, experiment, scale)
    out = tagged_metrics(scale, paper, experiment, tag)
    ensure_writable_dir(Path(out).parent)
    device = pick_device(cfg["train"]["device"])
    rebuild = (f"import one: `ganrepro import-checkpoint FILE --paper {paper} --experiment {experiment} "
               f"--scale {scale} --out {network}`")
    G, payload = _load_checked(network, "network", rebuild, lambda p: load_generator(p, device))
    _check_network_fits(cfg, payload, network)
    _check_instruments(cfg)
    record = {"paper": paper, "experiment": experiment, "scale": scale, "tag": tag, "network": str(network),
              "network_status": payload.get("status"), "imported_from": payload.get("provenance"),
              "train_status": "ok", "metrics": measure_network(cfg, G, payload, device)}
    record["provenance"] = provenance(config=cfg, seeds={"eval": EVAL_SEED})
    write_json(out, record)
    return record


def _check_network_fits(cfg: dict, payload: dict, network: str) -> None:
    ds = cfg["dataset"]
    want = {"resolution": ds["resolution"], "img_channels": ds["channels"], "num_classes": ds["num_classes"]}
    got = {k: payload.get(k) for k in want}
    if got != want:
        raise ConfigError(f"{network}: the network generates {got}, the protocol of {cfg['paper']}/"
                          f"{cfg['experiment']} at scale {cfg['scale']} needs {want}. Evaluate it with the "
                          "experiment and scale it was imported or trained for (--paper/--experiment/--scale)")


def _check_instruments(cfg: dict) -> None:
    """The protocol's extractors and classifier exist and load, before any sample is drawn."""
    ev, scale = cfg["eval"], cfg["scale"]
    if ev["kind"] == "modes":
        _load_checked(ev["digit_classifier"], "digit classifier", f"`ganrepro train-digit-classifier --scale {scale}`",
                      load_digit_classifier)
    # a modes run needs the feature extractor too where its learning index is measured (a FID)
    extractors = (ev["extractor"], ev["pr_extractor"]) if ev["kind"] != "modes" else (ev["extractor"],)
    for spec in extractors:
        if spec is not None and spec.get("weights"):
            _load_checked(spec["weights"], "feature extractor", f"`ganrepro train-extractor --scale {scale}`",
                          lambda _p, s=spec: resolve_extractor(s))


def measure_network(cfg: dict, G, payload: dict, device) -> dict:
    """``{metric name: entry}`` of generator ``G`` under the run's evaluation protocol (``cfg["eval"]``):
    StackedMNIST modes, or FID/KID/precision/recall (+ class accuracy) on the tables' fixed draw; then the
    paper's own metrics (``register_paper(metrics=...)``, e.g. EpiGRAF's multi-view consistency)."""
    from ..papers import hooks

    metrics = _protocol_metrics(cfg, G, payload, device)
    paper_metrics = hooks(cfg["paper"]).metrics
    if paper_metrics is not None:
        metrics.update(paper_metrics(cfg, G, payload, device))
    return metrics


def _protocol_metrics(cfg: dict, G, payload: dict, device) -> dict:
    ev = cfg["eval"]
    sample = generator_sampler(G, payload)
    if ev["kind"] == "modes":
        classifier = load_digit_classifier(ev["digit_classifier"])
        images = sample_images(G, ev["mode_samples"], seed=EVAL_SEED, labels=None, device=device, sample=sample)
        return compute_modes(images, classifier, tag=Path(ev["digit_classifier"]).stem, seed=EVAL_SEED)
    archive = open_archive(cfg["dataset"]["path"])
    labels = eval_labels(archive, ev["num_fake"], EVAL_SEED, cfg["dataset"]["num_classes"])
    images = sample_images(G, ev["num_fake"], seed=EVAL_SEED, labels=labels, device=device, sample=sample)
    metrics = compute_fidelity(
        images, cfg["dataset"]["path"], extractor=ev["extractor"], pr_extractor=ev["pr_extractor"],
        metrics=ev["metrics"], kid_subsets=ev["kid_subsets"], num_fake=ev["num_fake"], num_real=ev["num_real"],
        cache_dir=str(ensure_writable_dir(fidelity_cache(cfg["scale"]))), seed=EVAL_SEED, device=str(device))
    if labels is not None and ev.get("class_accuracy"):
        metrics.update(class_accuracy(images, labels, ev["extractor"]["weights"], tag=ev["extractor"]["tag"],
                                      seed=EVAL_SEED))
    return metrics


def _load_checked(path: str, what: str, rebuild: str, load):
    """`load(path)`, with a missing or unreadable file reported as a `ResultFileError` naming it and `rebuild`."""
    if not Path(path).is_file():
        raise ResultFileError(f"{path}: {what} not found. Build it: {rebuild}.")
    try:
        return load(path)
    except GanreproError:
        raise
    except Exception as exc:  # torch/pickle/zip errors of a truncated or foreign file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultFileError(
            f"{path}: cannot read the {what} ({reason}): the file is truncated or corrupt. "
            f"Delete it, then rebuild it: {rebuild}."
        ) from exc
