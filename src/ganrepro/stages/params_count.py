"""Stage: parameter counts of every experiment's networks at the PAPER's widths (any training scale)."""

from __future__ import annotations

from ..config import list_experiments, load_params, resolve_run
from ..models import build_networks, count_params
from ..provenance import provenance
from ..utils_io import write_json


def count_paper_params(paper: str, out_path: str) -> dict:
    params = load_params()
    counts = {}
    for exp in list_experiments(paper, params):
        cfg = resolve_run(paper, exp, "paper", params)
        ds = params.datasets[cfg["dataset"]["key"]]
        G, D = build_networks(cfg["model_paper"], resolution=ds["resolution"], img_channels=ds["channels"],
                              num_classes=ds["num_classes"])
        counts[exp] = {"params_g": count_params(G), "params_d": count_params(D),
                       "resolution": ds["resolution"], "arch": cfg["model_paper"]}
        del G, D
    record = {"paper": paper, "protocol": "networks instantiated at the paper's widths and resolution",
              "counts": counts, "provenance": provenance()}
    write_json(out_path, record)
    return record
