"""R3GAN Table 9: the hyperparameters as actually used at this scale (Mimg units, as the paper prints them)."""

from __future__ import annotations

from ...config import run_config


def _stages_high_to_low(values: list) -> str:
    return "-".join(str(v) for v in reversed(values))


def used_settings(paper: str, experiment: str, scale: str) -> dict:
    cfg = run_config(paper, experiment, scale)
    s, m, t = cfg["schedule"], cfg["model"], cfg["train"]
    widths = m.get("widths", [])
    expanded = [int(w * m.get("expansion", 1)) for w in widths]
    groups = [e // m["group_size"] if m.get("group_size") else 1 for e in expanded]
    return {
        "resolution": cfg["dataset"]["resolution"],
        "conditional": cfg["dataset"]["num_classes"] > 0,
        "gpus": cfg["resources"]["gpus"] if t["device"] == "cuda" else 0,
        "duration_mimg": t["kimg"] / 1000,
        "burnin_mimg": s["lr"]["kimg"] / 1000,
        "batch": t["batch"],
        "lr_start": s["lr"]["start"], "lr_end": s["lr"]["end"],  # the lr schedule (D's)
        "g_lr_mult": float(cfg["optim"]["G"].get("lr_mult", 1.0)),
        "gamma_start": s["gamma"]["start"], "gamma_end": s["gamma"]["end"],
        "beta2_start": s["beta2"]["start"], "beta2_end": s["beta2"]["end"],
        "ema_halflife_start_mimg": s["ema_halflife_kimg"]["start"] / 1000,
        "ema_halflife_end_mimg": s["ema_halflife_kimg"]["end"] / 1000,
        "channels": _stages_high_to_low(widths),
        "blocks": _stages_high_to_low([m.get("blocks_per_stage", 2)] * len(widths)),
        "groups": _stages_high_to_low(groups),
        "xflips": cfg["xflip"],
        "aug_p_end": s["aug_p"]["end"] if cfg["augment"] != "none" else None,
    }
