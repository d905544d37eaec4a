"""Stage: a paper's cost benchmark (memory and time per training iteration), for tables' ``source: cost``
cells. The benchmark and its settings per scale are data: ``cost_bench: {module, scales}`` in
params/experiments/<paper>.yaml; the module's ``run(settings)`` returns ``{device, memory, rows}``."""

from __future__ import annotations

import importlib

from ..config import load_params
from ..errors import ConfigError
from ..provenance import provenance
from ..utils_io import write_json


def cost_bench_spec(paper: str, params=None) -> dict | None:
    """``{module, scales}`` of the paper's cost benchmark, or None when it has none."""
    params = params or load_params()
    return params.experiments[paper].get("cost_bench")


def bench_settings(paper: str, scale: str, params=None) -> dict:
    spec = cost_bench_spec(paper, params)
    if spec is None:
        raise ConfigError(f"{paper} has no cost benchmark (no `cost_bench:` in params/experiments/{paper}.yaml)")
    if scale not in spec["scales"]:
        raise ConfigError(f"{paper}: no cost benchmark settings for scale {scale!r} (params/experiments/"
                          f"{paper}.yaml cost_bench.scales has {', '.join(sorted(spec['scales']))}); add them")
    return dict(spec["scales"][scale])


def run_cost_bench(paper: str, scale: str, out_path: str) -> dict:
    params = load_params()
    spec = cost_bench_spec(paper, params)
    settings = bench_settings(paper, scale, params)
    settings.setdefault("threads", int(params.scale(scale).get("threads") or 0))  # the job's, as training's
    result = importlib.import_module(spec["module"]).run(settings)
    record = {"paper": paper, "scale": scale, "module": spec["module"], "settings": settings,
              "protocol": (f"{result['memory']} peak memory and seconds per training iteration ({result['timer']}, "
                           f"median of {result['rounds']} interleaved rounds), device {result['device']}, batch "
                           f"{result['batch']}, resolution {result['resolution']}"),
              **result, "provenance": provenance(config={"cost_bench": settings}, device=result["device"])}
    write_json(out_path, record)
    print(result.get("text", ""))
    return record
