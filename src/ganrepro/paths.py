"""Every path of the pipeline, in one place (relative to the workspace root).

The workspace is where data/, runs/, results/ and logs/ live: the checkout itself, or the directory
Snakemake runs in (``--directory``; the Snakefile exports it as ``GANREPRO_WORKDIR``). Commands
started in a subdirectory of the checkout resolve against its root (``workspace_root``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

WORKDIR_ENV = "GANREPRO_WORKDIR"


def _is_checkout(d: Path) -> bool:
    return (d / "Snakefile").is_file() and (d / "params" / "scales").is_dir()


def workspace_root(start: str | os.PathLike | None = None) -> Path:
    """$GANREPRO_WORKDIR, else the nearest checkout at or above `start` (default: the current directory).

    With GANREPRO_PARAMS set (params copied elsewhere) and no checkout above, `start` itself.
    """
    env = os.environ.get(WORKDIR_ENV)
    if env:
        return Path(env).resolve()
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        if _is_checkout(d):
            return d
    if os.environ.get("GANREPRO_PARAMS"):  # explicit params elsewhere (tests, a copied workspace): work here
        return here
    raise ConfigError(
        f"{here} is not inside a ganrepro checkout (no Snakefile + params/ here or above). "
        f"Run the command from the checkout, or set {WORKDIR_ENV}=/path/to/workspace."
    )


# --- data and instruments ----------------------------------------------------------------------------
def dataset_dir(scale: str, key: str) -> str:
    return f"data/{scale}/{key}"


def dataset_manifest(scale: str, key: str) -> str:
    return f"{dataset_dir(scale, key)}/manifest.json"


def instruments_dir(scale: str) -> str:
    return f"data/{scale}/instruments"


def instrument(scale: str, name: str) -> str:
    """A measuring instrument the pipeline trains itself (feature_cnn, digit_cnn)."""
    return f"{instruments_dir(scale)}/{name}.pt"


def fidelity_cache(scale: str) -> str:
    return f"data/{scale}/fidelity-cache"


# --- runs ----------------------------------------------------------------------------------------------
def run_dir(scale: str, paper: str, experiment: str) -> str:
    return f"runs/{scale}/{paper}/{experiment}"


def network(scale: str, paper: str, experiment: str) -> str:
    return f"{run_dir(scale, paper, experiment)}/network.pt"


def result(scale: str, paper: str, experiment: str) -> str:
    return f"{run_dir(scale, paper, experiment)}/result.json"


def run_config(run_dir: str | os.PathLike) -> Path:
    """The resolved config a run was trained with, written by the train stage when it starts."""
    return Path(run_dir) / "config.json"


KEPT_NETWORK = "networks/network-{step:07d}.pt"  # a G_ema a run keeps at a milestone step (``keep_networks``)


def kept_network(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / KEPT_NETWORK.format(step=step)


# --- results ---------------------------------------------------------------------------------------------
RESULTS = "results"
SNAPSHOT = f"{RESULTS}/snapshot"  # the committed snapshot of the latest smoke run (never a DAG output)
TABLES = f"{RESULTS}/tables"      # <paper>/<table>.csv|md
FIGURES = f"{RESULTS}/figures"    # <paper>/<figure>.png, <paper>/samples/
OVERVIEW = f"{RESULTS}/README.md"  # where the reproduction stands, per paper (ganrepro overview)
GPU_CHECK = f"{RESULTS}/gpu_check"
LOGS = "logs"                     # one log per DAG job (paths.log), read back by `ganrepro dag-timing`
SUBMITIT = f"{LOGS}/submitit"     # submitit's job folder (ganrepro launch)


def metrics(scale: str, paper: str, experiment: str) -> str:
    return f"{RESULTS}/metrics/{scale}/{paper}/{experiment}.json"


def tagged_metrics(scale: str, paper: str, experiment: str, tag: str = "official") -> str:
    """The record of a network evaluated with an experiment's protocol but not trained by its run
    (``ganrepro evaluate --network``; tag ``official``: an imported official checkpoint, read by the tables)."""
    return f"{RESULTS}/metrics/{scale}/{paper}/{experiment}@{tag}.json"


def param_counts(paper: str) -> str:
    return f"{RESULTS}/metrics/params/{paper}.json"


def cost_bench(scale: str, paper: str) -> str:
    """The paper's cost benchmark at this scale (tables' ``source: cost`` cells)."""
    return f"{RESULTS}/metrics/{scale}/cost_bench/{paper}.json"


def tables_dir(paper: str) -> str:
    return f"{TABLES}/{paper}"


def table(paper: str, name: str, ext: str) -> str:
    return f"{tables_dir(paper)}/{name}.{ext}"


def figures_dir(paper: str) -> str:
    return f"{FIGURES}/{paper}"


def figure(paper: str, name: str) -> str:
    return f"{figures_dir(paper)}/{name}.png"


def samples_dir(paper: str) -> str:
    return f"{figures_dir(paper)}/samples"


def sample_grid(paper: str, experiment: str) -> str:
    return f"{samples_dir(paper)}/{experiment}.png"


def real_grid(paper: str, dataset: str) -> str:
    return f"{samples_dir(paper)}/real/{dataset}.png"


def log(*parts: str) -> str:
    """A DAG job's log: ``log(scale, "train", paper, exp)`` -> ``logs/<scale>/train/<paper>/<exp>.log``;
    jobs of no one scale leave it out (``log("tables", paper)``)."""
    return "/".join([LOGS, *parts]) + ".log"
