"""Resolve (paper, experiment, scale) into one plain, JSON-serialisable run config.

Order: experiment-registry defaults <- preset (the paper's hyperparameters) <- experiment <- scale.
The scale shrinks resolution, widths, batch and duration and compresses every schedule by the same
ratio; it never switches a mechanism off. The paper-scale architecture is kept beside the trained one
so that parameter counts can always be reported at the paper's widths.

Torch-free: the DAG resolves every run when the Snakefile is parsed. Model families and objectives
are looked up by name (their registering modules hold only knobs and validation).
"""

from __future__ import annotations


from .. import paths
from ..errors import ConfigError
from ..models.registry import get_family
from ..objectives import check_objective
from .identity import run_identity
from .load import Params, load_params
from .merge import deep_merge
from .plugins import import_modules
from .shared import owner_keeps, run_owners, shared_paths

_RUN_KEYS_NOT_COPIED = ("preset", "tables")


def list_experiments(paper: str, params: Params | None = None) -> list[str]:
    params = params or load_params()
    if paper not in params.experiments:
        raise ConfigError(f"unknown paper {paper!r}; allowed: {', '.join(sorted(params.experiments))}.")
    return list(params.experiments[paper]["experiments"])


SEED_SUFFIX = "-seed"  # <experiment>-seed<k>: the k-th extra training seed of an experiment (scale `seeds`)


def seed_variants(experiment: str, seeds: int) -> list[str]:
    """The runs of one experiment at a scale with `seeds` training seeds: itself, then -seed1, -seed2, ..."""
    return [experiment] + [f"{experiment}{SEED_SUFFIX}{k}" for k in range(1, int(seeds))]


def split_seed(name: str) -> tuple[str, int]:
    base, sep, k = name.rpartition(SEED_SUFFIX)
    return (base, int(k)) if sep and k.isdigit() and int(k) > 0 else (name, 0)


def _experiment(params: Params, paper: str, name: str, recipe: dict | None = None) -> tuple[dict, dict]:
    names = list_experiments(paper, params)
    if name not in names:
        raise ConfigError(
            f"unknown experiment {paper}/{name!r}; allowed: {', '.join(names)} "
            f"(params/experiments/{paper}.yaml)."
        )
    reg = params.experiments[paper]
    exp = reg["experiments"][name]
    layers = [reg["defaults"], reg["presets"][exp["preset"]]]
    if recipe:  # the small-scale recipe sits between the paper's setting and what an experiment changes
        layers.append(recipe_layer(deep_merge(*layers), recipe))
    layers.append(exp)
    merged = deep_merge(*layers)
    merged["model"] = _merge_model([layer.get("model", {}) for layer in layers])
    return reg, merged


RECIPE_KEYS = ("schedule", "model", "optim", "loss", "ada")  # what a small-scale recipe may set (besides `scales`)


def recipe_layer(base: dict, recipe: dict) -> dict:
    """The params layer a paper's ``small_scale`` recipe adds over its preset (docs/CHOICES.md).

    A schedule entry ``{scale: k}`` multiplies the preset's values by ``k``; ``{curve: constant,
    scale: k}`` holds ``k`` times the preset's first value (no burn-in decay); any other entry
    is merged over the preset's (a list replaces it; a dict's keys override). The other sections are
    merged as values (``ada: null`` turns the adaptive augmentation off). Applied at scales whose preset
    says ``small_scale_recipe: true`` only: the paper scale never reads it.
    """
    layer = {k: v for k, v in recipe.items() if k in RECIPE_KEYS and k != "schedule"}
    sched = {}
    for name, rule in (recipe.get("schedule") or {}).items():
        entry = (base.get("schedule") or {}).get(name)
        sched[name] = _scaled_entry(entry, rule) if isinstance(rule, dict) and "scale" in rule else rule
    if sched:
        layer["schedule"] = sched
    return layer


def _scaled_entry(entry, rule: dict):
    k = float(rule["scale"])
    if entry is None:
        raise ConfigError(f"small_scale recipe scales schedule entry {rule!r}, but the preset has no such entry")
    start, end = (entry[0], entry[1]) if isinstance(entry, list) else (entry["start"], entry.get("end", entry["start"]))
    if rule.get("curve") == "constant":
        return {"curve": "constant", "start": float(start) * k}
    if isinstance(entry, list):
        return [float(start) * k, float(end) * k]
    return {**entry, "start": float(start) * k, "end": float(end) * k}


def small_scale_recipe(reg: dict, scale: dict) -> dict | None:
    """The paper's small-scale recipe when this scale applies one (``small_scale_recipe: true``)."""
    return reg.get("small_scale") if scale.get("small_scale_recipe") else None


def _merge_model(layers: list[dict]) -> dict:
    """Merge model layers, restarting at a layer that switches family (no knobs leak across families)."""
    model: dict = {}
    for layer in layers:
        if "family" in layer and layer["family"] != model.get("family"):
            model = {}
        model = deep_merge(model, layer)
    return model


def scale_model(model: dict, *, resolution: int, paper_resolution: int, scale: dict) -> dict:
    """The architecture trained at this scale (same family, same knobs, fewer/narrower channels)."""
    family = get_family(model["family"])
    return family.scale_knobs(model, resolution=resolution, paper_resolution=paper_resolution, scale=scale)


def _dataset_block(params: Params, key: str, scale: dict, resolution: int) -> dict:
    ds = params.datasets[key]
    block = {
        "key": key,
        "title": ds["title"],
        "paper_resolution": ds["resolution"],
        "resolution": resolution,
        "channels": ds["channels"],
        "num_classes_paper": ds["num_classes"],
        "path": paths.dataset_dir(scale["name"], key),
    }
    if scale["data"] == "embedded":
        st = ds["standin"]
        block.update(
            source="embedded",
            standin_for=ds["title"],
            title=st["title"],
            # A stand-in keeps the paper dataset's conditioning: conditional datasets stay conditional.
            num_classes=min(st.get("num_classes", 0), ds["num_classes"]) if ds["num_classes"] else 0,
            spec={
                "source": "embedded",
                "generator": st["generator"],
                "resolution": resolution,
                "count": scale["dataset"]["count"],
                "num_classes": st.get("num_classes", 0),
                "seed": _stable_seed(key),
                "standin_for": ds["title"],
            },
        )
    else:
        spec = dict(ds["real"], resolution=resolution, num_classes=ds["num_classes"])
        if scale["dataset"]["count"]:
            spec["count"] = scale["dataset"]["count"]
        block.update(source=ds["real"]["source"], standin_for=None, num_classes=ds["num_classes"], spec=spec)
    return block


def scaled_resolution(paper_resolution: int, scale: dict, dataset: dict | None = None) -> int:
    """min(paper resolution, the scale's); an embedded stand-in may set a floor (`standin.min_resolution`)."""
    res = min(paper_resolution, scale["resolution"]) if scale["resolution"] else paper_resolution
    floor = (dataset or {}).get("standin", {}).get("min_resolution") if scale["data"] == "embedded" else None
    return min(paper_resolution, max(res, floor)) if floor else res


def dataset_config(key: str, scale_name: str, params: Params | None = None) -> dict:
    """How dataset `key` is prepared at this scale (path, source, stand-in, preparation spec)."""
    params = params or load_params()
    scale = params.scale(scale_name)
    if key not in params.datasets:
        raise ConfigError(f"unknown dataset {key!r}; allowed: {', '.join(sorted(params.datasets))} (params/datasets.yaml).")
    ds = params.datasets[key]
    return _dataset_block(params, key, scale, scaled_resolution(ds["resolution"], scale, ds))


def _stable_seed(text: str) -> int:
    """A seed derived from a name, identical on every machine and Python run (no hash randomisation)."""
    return sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % (2**31)


def instrument_paths(scale_name: str) -> dict:
    return {
        "dir": paths.instruments_dir(scale_name),
        "feature_cnn": paths.instrument(scale_name, "feature_cnn"),
        "digit_cnn": paths.instrument(scale_name, "digit_cnn"),
    }


ADA_MAX_STEP = 0.05  # small scales: one ADA adjustment moves p by at most this much (CHOICE)


def resolve_select(run: dict, where: str) -> str:
    """The run's ``eval.select`` (final | best_fid); best_fid needs an FID evaluation."""
    select = run["eval"].get("select", "final")
    if select == "best_fid" and run["eval"]["kind"] != "fidelity":
        raise ConfigError(f"{where}: eval.select best_fid picks a snapshot by FID, but eval.kind is "
                          f"{run['eval']['kind']!r}; use select: final for this experiment")
    return select


def resolve_ada(ada: dict | None, *, time_ratio: float, batch: int) -> dict | None:
    """ADA's controller settings (training/ada.py) at this scale, or None when off. ``kimg`` (the images
    over which p can go 0 -> 1) is compressed by the time ratio like every schedule, but not below the
    length at which one adjustment every ``interval`` steps moves p by ``ADA_MAX_STEP``."""
    if not ada:
        return None
    interval = int(ada.get("interval", 4))
    floor = batch * interval / (1000.0 * ADA_MAX_STEP)
    kimg = float(ada.get("kimg", 500))
    return {"target": float(ada.get("target", 0.6)), "interval": interval, "paper_kimg": kimg,
            "kimg": kimg if time_ratio >= 1 else max(kimg * time_ratio, floor)}


def resolve_schedule(sched: dict, *, time_ratio: float, gamma_factor: float) -> dict:
    """Params' schedule -> ``{name: {curve, start, end, kimg}}`` (``training/schedules.py``).

    An entry is ``[start, end]`` (a cosine over the run's ``burnin_mimg``: R3GAN's burn-in) or
    ``{curve: cosine|linear|constant, start, end, mimg}``. Every span is compressed by the scale's
    time ratio. Entries named ``*_mimg`` are durations: renamed ``*_kimg`` and compressed too.
    Entries named ``gamma`` (penalty weights) follow the scale's resolution rule for gamma.
    """
    burnin_kimg = float(sched.get("burnin_mimg", 0.0)) * 1000.0 * time_ratio
    out = {}
    for name, entry in sched.items():
        if name == "burnin_mimg" or entry is None:  # `name: null` removes an inherited schedule entry
            continue
        if isinstance(entry, dict):
            e = {"curve": entry["curve"], "start": float(entry["start"]),
                 "end": float(entry.get("end", entry["start"])),
                 "kimg": float(entry.get("mimg", 0.0)) * 1000.0 * time_ratio}
        else:
            e = {"curve": "cosine", "start": float(entry[0]), "end": float(entry[1]), "kimg": burnin_kimg}
        if name.endswith("_mimg"):
            name = name[: -len("_mimg")] + "_kimg"
            e["start"], e["end"] = e["start"] * 1000.0 * time_ratio, e["end"] * 1000.0 * time_ratio
        if name == "gamma":
            e["start"], e["end"] = e["start"] * gamma_factor, e["end"] * gamma_factor
        out[name] = e
    return out


def resolve_optim(optim: dict) -> dict:
    """Per-network Adam settings; a string value names a schedule entry (``lr``, ``beta2``)."""
    shared = {"lr": "lr", "beta1": optim.get("beta1", 0.0), "beta2": "beta2", "eps": optim.get("eps", 1e-8)}
    return {net: {**shared, **optim.get(net, {})} for net in ("G", "D")}


GAMMA_EXPONENT = {"none": 0, "linear": 1, "quadratic": 2}  # gamma x (resolution / paper resolution) ** exponent


def gamma_resolution_factor(rule: str, resolution: int, paper_resolution: int) -> float:
    """How a penalty weight moves with resolution: the StyleGAN rule of thumb is quadratic; R3GAN's small-scale
    recipe measured linear (docs/SWEEPS.md)."""
    return (resolution / paper_resolution) ** GAMMA_EXPONENT[rule]


def resolve_run(paper: str, experiment: str, scale_name: str, params: Params | None = None, *,
                own_keeps: bool = False) -> dict:
    """The run config of ``paper/experiment`` at ``scale_name``; a run whose training is identical to an
    earlier experiment's shares that experiment's run directory (``config/shared.py``: trained once), and
    keeps the G_ema snapshots its sharers read. ``own_keeps``: only those the experiment asks for itself
    (sweeps, ablations and benchmarks, which train a copy in a directory of their own)."""
    params = params or load_params()
    cfg = _resolve_own(paper, experiment, scale_name, params)
    owner = _owner(paper, experiment, scale_name, params)
    if owner != experiment:
        cfg["paths"] = shared_paths(cfg["paths"], scale_name, paper, owner)
    elif not own_keeps:  # the owner keeps the snapshots its sharers read too
        own = cfg["train"]["keep_networks"]
        cfg["train"]["keep_networks"] = _keeps(paper, scale_name, params).get(split_seed(experiment)[0], own)
    if cfg["init_from"]:  # a stage starts from the network of the run that trained its predecessor
        pre = _owner(paper, cfg["init_from"]["experiment"], scale_name, params)
        cfg["init_from"]["network"] = paths.network(scale_name, paper, pre)
    return cfg


def _owner(paper: str, experiment: str, scale_name: str, params: Params) -> str:
    """The experiment whose run trains ``experiment`` (itself, unless an earlier one trains the same)."""
    base, seed_index = split_seed(experiment)
    owners = run_owners(paper, scale_name, params, list_experiments(paper, params),
                        lambda e: _resolve_own(paper, e, scale_name, params))
    owner = owners.get(base, base)
    return f"{owner}{SEED_SUFFIX}{seed_index}" if seed_index else owner


def _keeps(paper: str, scale_name: str, params: Params) -> dict[str, int]:
    return owner_keeps(paper, scale_name, params, list_experiments(paper, params),
                       lambda e: _resolve_own(paper, e, scale_name, params))


def _resolve_own(paper: str, experiment: str, scale_name: str, params: Params) -> dict:
    """The run config with the experiment's own run directory (``resolve_run`` without sharing)."""
    scale = params.scale(scale_name)
    base, seed_index = split_seed(experiment)
    if seed_index and seed_index >= scale.get("seeds", 1):
        raise ConfigError(f"{paper}/{experiment}: seed {seed_index} is beyond the scale's `seeds: "
                          f"{scale.get('seeds', 1)}` (params/scales/{scale_name}.yaml).")
    recipe = small_scale_recipe(params.experiments[paper], scale) if paper in params.experiments else None
    if recipe and recipe.get("scales", {}).get(scale_name):  # the paper's own sizes/lengths at this scale
        scale = {**scale, **recipe["scales"][scale_name]}
    reg, run = _experiment(params, paper, base, recipe)
    import_modules(reg.get("modules", []))  # a paper's own modules register its objective, families, data
    run["seed"] = run["seed"] + seed_index
    ds_key = run["dataset"]
    paper_res = params.datasets[ds_key]["resolution"]
    resolution = scaled_resolution(paper_res, scale, params.datasets[ds_key])

    paper_kimg = float(run["duration_mimg"]) * 1000.0
    # At small scales every run shows the scale's kimg, times `duration_factor` (a run the paper trains
    # 2x or 4x longer stays 2x or 4x longer) and `scale_kimg_factor` (a paper whose steps cost more).
    factor = float(run.get("duration_factor", 1.0)) * float(run.get("scale_kimg_factor", 1.0))
    kimg = float(_preset_kimg(scale, run["preset"])) * factor if scale["kimg"] else paper_kimg
    if run.get("learning") and scale.get("learning_kimg") and run["preset"] not in (scale.get("preset_kimg") or {}):
        kimg = float(scale["learning_kimg"])  # trained long enough to learn its stand-in (a preset's own length wins)
    time_ratio = kimg / paper_kimg
    batch = scale["batch"] or run["batch"]

    gamma_factor = gamma_resolution_factor(scale["gamma_scaling"], resolution, paper_res)
    schedule = resolve_schedule(run["schedule"], time_ratio=time_ratio, gamma_factor=gamma_factor)

    dataset = _dataset_block(params, ds_key, scale, resolution)
    model_paper = dict(run["model"])
    model = scale_model(model_paper, resolution=resolution, paper_resolution=paper_res, scale=scale)
    if model.get("reduced_precision_stages") and (scale["device"] == "cpu" or run["mixed_precision"] != "bf16"):
        model["reduced_precision_stages"] = 0  # bf16 stages only where they pay off (CUDA, bf16 runs): fp32 on CPU
    instruments = instrument_paths(scale_name)
    if scale["extractor"]["kind"] == "cnn":
        extractor = {"kind": "cnn", "weights": instruments["feature_cnn"], "tag": f"cnn_shapes{resolution}"}
        pr_extractor = None  # the same stand-in CNN features for precision/recall
    else:
        extractor = {"kind": "inception", "weights": None, "tag": "inception"}
        pr_extractor = {"kind": "vgg16", "weights": None, "tag": "vgg16"}  # as in the StyleGAN/R3GAN code

    check_objective(run["objective"])  # fails here, naming the objective, if it is not registered
    run_dir = paths.run_dir(scale_name, paper, experiment)
    init_from = None
    if run.get("init_from"):
        init_from = {"experiment": run["init_from"],
                     "network": paths.network(scale_name, paper, run["init_from"]),
                     "identity": _init_identity(params, paper, run["init_from"], scale_name)}
    return {
        "paper": paper,
        "experiment": experiment,
        "scale": scale_name,
        "tables": list(run["tables"]),
        "preset": run["preset"],
        "base_experiment": base,
        "seed_index": seed_index,
        "objective": run["objective"],
        "seed": run["seed"],
        "init_from": init_from,
        "dataset": dataset,
        "model": model,
        "model_paper": model_paper,
        "loss": dict(run["loss"]),
        "optim": resolve_optim(run["optim"]),
        "schedule": schedule,
        "augment": run["augment"],
        "xflip": run["xflip"],
        "divergence": dict(run["divergence"]),
        "train": {
            "kimg": kimg,
            "paper_kimg": paper_kimg,
            "batch": batch,
            "paper_batch": run["batch"],
            "batch_gpu": _batch_gpu(run, batch, scale),
            "tick_kimg": scale["tick_kimg"],
            "snapshot_ticks": scale["snapshot_ticks"],
            "keep_networks": int(run.get("keep_networks", 0)),  # G_ema saved at this many points (learning curves)
            "device": scale["device"],
            "mixed_precision": run["mixed_precision"],
            "threads": run.get("threads", scale.get("threads", 1)),
            "sanitize_gradients": run.get("sanitize_gradients", True),  # official: non-finite grads -> finite
            "time_ratio": time_ratio,
            "gamma_factor": gamma_factor,
        },
        "eval": {
            "kind": run["eval"]["kind"],
            "select": resolve_select(run, f"{paper}/{experiment}"),  # final | best_fid (stages/evaluate.py)
            **({"render": run["eval"]["render"]} if "render" in run["eval"] else {}),  # 3D: official | deterministic
            # EpiGRAF: N latents x V yaws scored for multi-view consistency (papers/epigraf/consistency.py)
            **({"view_consistency": dict(run["eval"]["view_consistency"])} if "view_consistency" in run["eval"] else {}),
            "snapshot_num_fake": scale["eval"].get("snapshot_num_fake", scale["eval"]["num_fake"]),
            "num_fake": scale["eval"]["num_fake"],
            "num_real": scale["eval"]["num_real"],
            "mode_samples": scale["eval"]["mode_samples"],
            "metrics": list(scale["eval"]["metrics"]),
            "kid_subsets": scale["eval"].get("kid_subsets", 100),
            # the stand-in CNN also reads the class of conditional fakes when it knows the stand-in's classes
            "class_accuracy": bool(scale["extractor"]["kind"] == "cnn" and dataset["num_classes"]
                                   and dataset.get("spec", {}).get("generator") == "shapes"),
            "extractor": extractor,
            "pr_extractor": pr_extractor,
            "digit_classifier": instruments["digit_cnn"],
        },
        "resources": {"gpus": run["gpus"], "gpu_hours_paper": _gpu_hours(params, paper, ds_key, run)},
        # only papers with a small-scale recipe carry it (the tables' protocol columns name it)
        **({"recipe": {"source": f"params/experiments/{paper}.yaml: small_scale", **recipe}} if recipe else {}),
        # only runs with ADA carry the key: the identity (resume) of every other run is unchanged by it
        **({"ada": ada} if (ada := resolve_ada(run.get("ada"), time_ratio=time_ratio, batch=batch)) else {}),
        "paths": {
            "run_dir": run_dir,
            "network": paths.network(scale_name, paper, experiment),
            "result": paths.result(scale_name, paper, experiment),
            "metrics": paths.metrics(scale_name, paper, experiment),
        },
    }


def _preset_kimg(scale: dict, preset: str):
    """The scale's kimg, or the paper's small-scale recipe's length for this preset (``preset_kimg``): every
    run of a preset (every row of its tables) gets the same length, so the rows stay comparable."""
    lengths = scale.get("preset_kimg") or {}
    return lengths.get(preset, scale["kimg"])


def _batch_gpu(run: dict, batch: int, scale: dict) -> int | None:
    """Micro-batch size. At the paper's batch, the run's ``batch_gpu``; where the scale sets its own batch
    (one device), the paper's number of micro-batches per device is kept (gradient accumulation over 4
    rounds stays 4 rounds), not the micro-batch size."""
    batch_gpu = run.get("batch_gpu")
    if not batch_gpu:
        return None
    if scale["batch"]:
        rounds = max(1, int(run["batch"]) // int(run.get("gpus", 1)) // int(batch_gpu))
        batch_gpu = max(1, batch // rounds)
    return batch_gpu if batch % batch_gpu == 0 else None


def _init_identity(params: Params, paper: str, experiment: str, scale_name: str) -> str:
    """The identity of the run a stage starts from: part of this run's identity (a changed predecessor reruns it)."""
    return run_identity(_resolve_own(paper, experiment, scale_name, params))


def _gpu_hours(params: Params, paper: str, ds_key: str, run: dict) -> float | None:
    """GPU-hours of this run at paper scale, from the paper's reported compute for its dataset.

    The paper reports wall time for one reference run per dataset; a run of another length is
    estimated in proportion to the images it shows.
    """
    for entry in params.reported.get(paper, {}).get("compute", {}).values():
        if ds_key in entry.get("datasets", []):
            hours = entry.get("gpu_hours") or entry["gpus"] * entry["wall_hours"]
            return float(hours) * float(run["duration_mimg"]) / float(entry["duration_mimg"])
    return None
