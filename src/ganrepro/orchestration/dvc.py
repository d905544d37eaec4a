"""dvc.yaml, generated from the same DAG as the Snakefile (`PipelineDAG`), so params/ stay the one source.

    ganrepro dvc-yaml                 write dvc.yaml for the default scale (workflow/config.yaml: smoke)
    ganrepro dvc-yaml --scale tiny    the same pipeline at another scale (one scale per workspace)
    ganrepro dvc-yaml --check         exit 1 when the committed dvc.yaml differs from what params/ generate

Every stage runs the command its Snakemake rule runs (without Snakemake's log redirection) with the
same paths. What DVC adds:

- `params:` are file-qualified keys of params/: each training stage lists the three layers its run is
  merged from (`defaults`, `presets.<preset>`, `experiments.<exp>`), its dataset's registry entry and
  the keys of the scale preset that change training (`SCALE_KEYS`). `dvc exp run -S
  params/scales/<scale>.yaml:kimg=...` edits the file the CLI reads, so the experiment really changes.
- `deps:` are the stage's inputs plus the source it imports (a static import closure of the stage's
  entry module: editing the report code does not retrain anything).
- Every out is `cache: false`: outputs stay plain workspace files as with Snakemake (results/ is in
  git; runs/ and data/ can be hundreds of GB at paper scale). That also keeps the run cache off: DVC
  3.x saves no run-cache entry for a stage with an uncached out (Stage.run: `no_cache_outs`; metrics
  and plots do not count, so the figures stage, a pure function of the runs, may be run-cached). Training
  and data outs are moreover `persist: true`, which no DVC version run-caches (stage/cache.py
  `_can_hash`) and which leaves them in place until the command overwrites them: network.pt,
  result.json and a dataset's manifest.json stand for undeclared files beside them (state.pt,
  stats.jsonl, images.npy) that a run-cache restore would not bring back consistently. Training state
  is never an out (DVC deletes outs before a rerun; training resumes from state.pt).
- Tables' JSON (`results/tables/<paper>/<table>.json`, reproduced cells) are `metrics:`; figures are
  image `plots:`.
"""

from __future__ import annotations

import ast
import difflib
import sys
from functools import cache
from pathlib import Path

import yaml

from ..config.load import read_yaml
from ..scales import MAIN_SCALE
from ..config.plugins import import_all_papers, paper_modules
from ..standins import provider_module
from .dag import PipelineDAG
from .stage_table import STAGES, keys, stage_name

# Keys of params/scales/<scale>.yaml each kind of stage depends on. tests/test_dvc.py perturbs every key
# of every scale file and fails if one that changes a resolved run / dataset is missing here.
SCALE_KEYS = {  # `threads` everywhere: the intra-op thread count changes floating-point results
    "prepare-data": ["data", "resolution", "dataset.count", "threads"],
    "train-extractor": ["resolution", "dataset.extractor_count", "extractor", "threads"],
    "train-digit-classifier": ["resolution", "digit_classifier", "threads"],
    "train": ["device", "data", "resolution", "width_divisor", "min_width", "z_dim_max", "batch", "kimg",
              "tick_kimg", "snapshot_ticks", "gamma_scaling", "dataset.count", "threads", "learning_kimg",
              "small_scale_recipe"],
    "evaluate": ["device", "data", "resolution", "extractor.kind", "eval", "threads"],
    "cost-bench": ["threads"],  # the benchmark's own sizes are in params/experiments/<paper>.yaml cost_bench
}

# The module each stage's CLI command runs (cli.py only dispatches and is deliberately not a dep): the stage table's.
ENTRY_MODULES = {kind: stage.entry[0] for kind, stage in STAGES.items()}


def _env(dag: PipelineDAG) -> str:
    """Snakemake's `OMP_NUM_THREADS={threads}`: the scale's thread count (the loop also sets torch's)."""
    return f"OMP_NUM_THREADS={dag.threads()}"


def _repo_root() -> Path:
    """The checkout this package runs from (src/ganrepro -> ../..); dvc.yaml paths are relative to it."""
    return _package_dir().parents[1]


def default_scale() -> str:
    """The scale Snakemake runs by default (workflow/config.yaml), so both tools agree."""
    cfg = _repo_root() / "workflow" / "config.yaml"
    return read_yaml(cfg)["scale"] if cfg.is_file() else MAIN_SCALE


def _default_papers():
    """workflow/config.yaml's `papers` (normally "all": every file in params/experiments/)."""
    cfg = _repo_root() / "workflow" / "config.yaml"
    return read_yaml(cfg)["papers"] if cfg.is_file() else "all"


def _code(*modules: str) -> list[str]:
    """The source the stage's command runs: the import closures of its modules (in order, once each)."""
    return list(dict.fromkeys(d for m in modules for d in code_deps(m)))


def _paper_deps(dag: PipelineDAG, paper: str) -> list[str]:
    """The paper's own code (objective, figures, settings): the modules its params list, imported by name at run
    time (those inside the package; a plug-in module elsewhere is the user's to track)."""
    return _code(*(m for m in paper_modules(paper, dag.params) if _module_path(m)))


# --- source dependencies: static import closure ---------------------------------------------------
def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def _module_path(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != "ganrepro":
        return None
    base = _package_dir().joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imports_of(module: str, strings: bool = True) -> set[str]:
    path = _module_path(module)
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "ganrepro")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "ganrepro":
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if _module_path(f"{base}.{a.name}"))
        elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("ganrepro."):
            found.add(node.value)  # a module named by string: ganrepro.papers.lazy(...), importlib
    return {m for m in found if _module_path(m)}


@cache
def import_closure(module: str, strings: bool = True) -> frozenset[str]:
    """Every ganrepro module `module` may import (parents included; imports inside functions too; with
    ``strings``, modules named in string constants as well: ``lazy(...)`` targets, importlib)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        mod = todo.pop()
        parts = mod.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            parent = ".".join(parts[:i])
            if parent not in seen and _module_path(parent):
                seen.add(parent)
                todo.append(parent)
        todo.extend(m for m in _imports_of(mod, strings) if m not in seen)
        seen.update(_imports_of(mod, strings))
    return frozenset(seen)


def code_deps(module: str) -> list[str]:
    """The closure as repo-relative paths: a subpackage fully imported becomes its directory."""
    pkg = _package_dir()
    root = _repo_root()
    files = {_module_path(m) for m in import_closure(module)}
    out = []
    for child in sorted(pkg.iterdir()):
        if child.is_dir() and (child / "__init__.py").is_file():
            members = {p for p in child.rglob("*.py") if "__pycache__" not in p.parts}
            used = members & files
            if used and used == members:
                out.append(child)
            else:
                out += sorted(used)
        elif child.suffix == ".py" and child in files:
            out.append(child)
    return [_rel(p, root) for p in out]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # an installed (non-editable) package: code is versioned by the package, not here
        return path.as_posix()


# --- stages ---------------------------------------------------------------------------------------
def _out(path: str, *, persist: bool = False) -> dict:
    spec = {"cache": False}
    if persist:
        spec["persist"] = True
    return {path: spec}


def _scale_params(scale: str, kind: str) -> dict:
    return {f"params/scales/{scale}.yaml": list(SCALE_KEYS[kind])}


def _standin_deps(dag: PipelineDAG, key: str) -> list[str]:
    """The file of a paper's own stand-in generator for dataset ``key`` (registered by name from its package;
    the modules running it imports, not the ones its package names for later: the paper's training code,
    figures and objective are no input)."""
    import_all_papers(dag.params)  # each paper's modules register its stand-ins
    module = provider_module(dag.params.datasets[key]["standin"]["generator"])
    if not module or not _module_path(module):
        return []
    files = {_rel(_module_path(m), _repo_root()) for m in import_closure(module, strings=False)}  # what running it imports
    return sorted(files - set(code_deps(ENTRY_MODULES["prepare-data"])))


def _dataset_params(dag: PipelineDAG, key: str) -> dict:
    """The params entry of one dataset, in the file that declares it (datasets.yaml or a paper's own)."""
    return {dag.params.dataset_file(key): [f"datasets.{key}"]}


def _run_params(dag: PipelineDAG, paper: str, exp: str, kind: str) -> list[dict]:
    reg = dag.params.experiments[paper]
    base = dag.run(paper, exp)["base_experiment"]  # a seed variant (`-seed1`) reads its experiment's entry
    preset = reg["experiments"][base]["preset"]
    # a shared run's training keeps the snapshots its sharers ask for (config/shared.py): their entries too
    sharers = sorted({dag.run(paper, e)["base_experiment"] for e in dag.experiments(paper) if kind == "train"
                      and dag.run(paper, e)["paths"].get("trained_by") == exp})
    return [
        {f"params/experiments/{paper}.yaml": ["defaults", f"presets.{preset}", f"experiments.{base}"]
         + [f"experiments.{e}" for e in sharers] + (["small_scale"] if reg.get("small_scale") else [])},
        _dataset_params(dag, dag.run(paper, exp)["dataset"]["key"]),
        _scale_params(dag.scale, kind),
    ]


_DESC = {  # what `dvc stage list` says of each stage
    "prepare-data": "prepare dataset {dataset} at scale {scale}",
    "train-extractor": "train the stand-in feature extractor at scale {scale}",
    "train-digit-classifier": "train the StackedMNIST digit classifier at scale {scale}",
    "train": "train {paper}/{exp} at scale {scale} (resumes from state.pt, which is not an out)",
    "evaluate": "evaluate {paper}/{exp} at scale {scale}; its sample grid (fixed seeds)",
    "count-params": "{paper}: parameter counts at the paper's widths",
    "cost-bench": "{paper}: cost benchmark (memory, time per iteration) at scale {scale}",
    "tables": "{paper}: every table at scale {scale}, reproduced beside reported, and their agreement",
    "figures": "{paper}: every figure at scale {scale} and the real-image grids of its datasets",
    "overview": "results/README.md: where the reproduction stands, per paper and table",
}
_PAPER_CODE = {"train", "evaluate", "cost-bench", "tables", "figures"}  # stages that import the paper's modules
_INSTRUMENT_PARAMS = {"train-extractor": "instruments.extractor", "train-digit-classifier": "instruments.digits"}


def _params(dag: PipelineDAG, kind: str, key: dict) -> list:
    if kind == "prepare-data":
        return [_dataset_params(dag, key["dataset"]), _scale_params(dag.scale, kind)]
    if kind in _INSTRUMENT_PARAMS:
        return [{"params/datasets.yaml": [_INSTRUMENT_PARAMS[kind]]}, _scale_params(dag.scale, kind)]
    if kind in ("train", "evaluate"):
        return _run_params(dag, key["paper"], key["exp"], kind)
    paper = key.get("paper")
    if kind == "count-params":
        return [{f"params/experiments/{paper}.yaml": ["defaults", "presets", "experiments"]
                 + (["datasets"] if dag.params.experiments[paper].get("datasets") else [])},
                {"params/datasets.yaml": ["datasets"]}]
    if kind == "cost-bench":
        return [{f"params/experiments/{paper}.yaml": [f"cost_bench.scales.{dag.scale}", "cost_bench.module"]},
                _scale_params(dag.scale, kind)]
    if kind == "tables":
        return [{f"params/reported/{paper}.yaml": [f"tables.{t}" for t in dag.tables(paper)]}]
    return []


def _outs(kind: str, outputs: list[str]) -> dict:
    """outs (persist: true where a command rewrites them in place), or metrics and plots."""
    if kind in ("prepare-data", "train"):
        return {"outs": [_out(f, persist=True) for f in outputs]}
    if kind == "evaluate":  # the metrics record; the sample grid
        return {"outs": [_out(outputs[0])], "plots": [_out(f) for f in outputs[1:]]}
    if kind == "tables":
        metrics = [f for f in outputs if f.endswith(".json")]
        return {"outs": [_out(f) for f in outputs if f not in metrics],
                **({"metrics": [_out(f) for f in metrics]} if metrics else {})}
    if kind == "figures":
        return {"plots": [_out(f) for f in outputs]}
    return {"outs": [_out(f) for f in outputs]}


def _dvc_stage(dag: PipelineDAG, kind: str, key: dict) -> dict:
    """One stage of dvc.yaml from the stage table: its command, its inputs plus the code it runs, its params."""
    stage = STAGES[kind]
    program = dag.train_launcher(key["paper"], key["exp"]) if kind == "train" else "ganrepro"
    modules = list(stage.entry)
    if kind == "cost-bench":
        modules.append(dag.params.experiments[key["paper"]]["cost_bench"]["module"])
    code = _code(*modules) + (_standin_deps(dag, key["dataset"]) if kind == "prepare-data" else [])
    code += _paper_deps(dag, key["paper"]) if kind in _PAPER_CODE else []
    params = _params(dag, kind, key)
    return {"desc": _DESC[kind].format(scale=dag.scale, **key),
            "cmd": f"{_env(dag)} {stage.command(dag, program, **key)}",
            "deps": list(dict.fromkeys(stage.inputs(dag, **key) + code)),
            **({"params": params} if params else {}),
            **_outs(kind, stage.outputs(dag, **key))}


def build_stages(scale: str, papers: tuple[str, ...] | None = None) -> dict[str, dict]:
    """Stage name -> DVC stage definition, in execution order (names: kind[_paper][_item])."""
    dag = PipelineDAG(scale, papers or _default_papers())
    order = [(kind, key) for kind in ("prepare-data", "train-extractor", "train-digit-classifier", "train", "evaluate")
             for key in keys(dag, kind)]
    per_paper = ("count-params", "cost-bench", "tables", "figures")
    order += [(kind, {"paper": p}) for p in dag.papers for kind in per_paper if {"paper": p} in keys(dag, kind)]
    order += [("overview", {})]
    return {stage_name(kind, key): _dvc_stage(dag, kind, key) for kind, key in order}


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain strings (deps, param keys) on one wrapped line each."""

    def represent_list(self, data):
        flow = bool(data) and all(isinstance(x, str) for x in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def render_dvc_yaml(scale: str | None = None, papers: tuple[str, ...] | None = None) -> str:
    scale = scale or default_scale()
    header = (
        f"# GENERATED by `ganrepro dvc-yaml --scale {scale}` from params/ (the Snakefile's DAG,\n"
        "# ganrepro.orchestration.dag). Do not edit: change params/ and regenerate; tests check it is current.\n"
        "#   dvc repro                      every table and figure at this scale\n"
        "#   dvc repro tables_r3gan         a paper's tables and what they need\n"
        f"#   dvc exp run -S params/scales/{scale}.yaml:kimg=12.8 train_inr_multistage_image-ffhq\n"
        "#   ganrepro dvc-yaml --scale tiny other scale: regenerates this file (one scale per workspace)\n"
        f"# scale: {scale}\n"
    )
    body = yaml.dump({"stages": build_stages(scale, papers)}, Dumper=_Dumper, sort_keys=False, width=110,
                     default_flow_style=False)
    return header + body


def dvc_yaml_command(scale: str | None, out: str, check: bool = False) -> int:
    """`ganrepro dvc-yaml`: write (or with `check`, compare) the generated dvc.yaml."""
    scale = scale or default_scale()
    text = render_dvc_yaml(scale)
    if out == "-":
        if check:
            raise SystemExit("ganrepro dvc-yaml: --check needs a file (--out), not '-'")
        sys.stdout.write(text)
        return 0
    path = Path(out)
    if check:
        current = path.read_text() if path.is_file() else ""
        if current == text:
            print(f"{path}: up to date with params/ (scale {scale})")
            return 0
        committed = next((ln.split(":", 1)[1].strip() for ln in current.splitlines() if ln.startswith("# scale:")), None)
        if committed and committed != scale:
            print(f"{path} was generated for scale {committed}, not {scale}: run `ganrepro dvc-yaml --check "
                  f"--scale {committed}`, or switch this workspace with `ganrepro dvc-yaml --scale {scale} --out {path}`.",
                  file=sys.stderr)
            return 1
        diff = "".join(list(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                 f"{path} (committed)", f"{path} (from params/)"))[:60])
        print(f"{path} is {'missing' if not current else 'out of date'} for scale {scale}: params/, the DAG "
              f"or the source layout changed. Regenerate it with `ganrepro dvc-yaml --scale {scale} --out {path}` "
              f"and commit it.\n{diff}", file=sys.stderr)
        return 1
    path.write_text(text)
    print(f"{path}: written for scale {scale} (`dvc repro` runs it; `dvc dag` shows it)")
    return 0
