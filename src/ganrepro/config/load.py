"""Read params/ (scales, datasets, experiments, reported numbers) and validate each file at load time."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import ConfigError
from .schema import validate



def params_root() -> Path:
    """params/ of the checkout (GANREPRO_PARAMS overrides it, e.g. for tests)."""
    env = os.environ.get("GANREPRO_PARAMS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "params" / "scales").is_dir():
            return parent / "params"
    return Path.cwd() / "params"


class _DuplicateKey(Exception):
    def __init__(self, key, line: int, first_line: int):
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


# libyaml's parser where PyYAML has it (several times faster: every job and every DAG build reads params/);
# the constructor and the resolver are the same Python classes either way, so the values are the same.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`: overriding merged keys is allowed
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKey(key, line, seen[key])
                    seen[key] = line
                except TypeError:  # unhashable key: the base class reports it
                    continue
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found. Is GANREPRO_PARAMS or the working directory right?")
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except _DuplicateKey as dup:
        raise ConfigError(
            f"{path}:{dup.line}: duplicate key {dup.key!r} (already set at line {dup.first_line}); YAML would "
            "silently keep only the last value. Keep one of the two lines and re-run."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}. Fix the syntax and re-run.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}.")
    return data


@dataclass(frozen=True)
class Params:
    root: Path
    scales: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)
    instruments: dict = field(default_factory=dict)
    experiments: dict = field(default_factory=dict)  # paper -> registry dict
    reported: dict = field(default_factory=dict)  # paper -> reported numbers dict
    dataset_files: dict = field(default_factory=dict)  # dataset -> the params file declaring it (relative)

    def dataset_file(self, key: str) -> str:
        """The params file (relative to the repository) that declares dataset ``key``."""
        return self.dataset_files.get(key, "params/datasets.yaml")

    def scale(self, name: str) -> dict:
        if name not in self.scales:
            raise ConfigError(
                f"unknown scale {name!r}; allowed: {', '.join(sorted(self.scales))} "
                f"(files in {self.root / 'scales'}). Use --config scale=NAME."
            )
        return self.scales[name]


def _load_schema(root: Path, name: str) -> dict:
    return read_yaml(root / "schema" / f"{name}.schema.yaml")


def paper_names(root: Path) -> tuple[str, ...]:
    """The registered papers: one experiments file each in params/experiments/ (the only list of papers)."""
    return tuple(sorted(p.stem for p in (root / "experiments").glob("*.yaml")))


def experiments_schema(root: Path, paper: str) -> dict:
    """A paper's own schema (params/schema/<paper>.experiments.schema.yaml) or the generic one."""
    own = root / "schema" / f"{paper}.experiments.schema.yaml"
    return read_yaml(own) if own.is_file() else _load_schema(root, "experiments")


@functools.lru_cache(maxsize=4)
def _load(root: str) -> Params:
    rootp = Path(root)
    scale_schema = _load_schema(rootp, "scale")
    scales = {}
    for path in sorted((rootp / "scales").glob("*.yaml")):
        data = read_yaml(path)
        validate(data, scale_schema, path)
        if data["name"] != path.stem:
            raise ConfigError(f"{path}: name {data['name']!r} must equal the file name {path.stem!r}.")
        scales[path.stem] = data
    ds_path = rootp / "datasets.yaml"
    ds = read_yaml(ds_path)
    validate(ds, _load_schema(rootp, "datasets"), ds_path)
    experiments, reported, datasets, dataset_files = {}, {}, dict(ds["datasets"]), {}
    for paper in paper_names(rootp):
        path = rootp / "experiments" / f"{paper}.yaml"
        data = read_yaml(path)
        validate(data, experiments_schema(rootp, paper), path)
        if data["paper"] != paper:
            raise ConfigError(f"{path}: paper {data['paper']!r} must equal the file name {paper!r}.")
        own = _own_datasets(rootp, data, datasets, path)
        datasets.update(own)
        dataset_files.update({key: f"params/experiments/{paper}.yaml" for key in own})
        experiments[paper] = data
    for paper, data in experiments.items():
        path, rep_path = rootp / "experiments" / f"{paper}.yaml", rootp / "reported" / f"{paper}.yaml"
        rep = read_yaml(rep_path) if rep_path.is_file() else {}
        _check_references(data, datasets, rep, path, rep_path)
        if rep:
            reported[paper] = rep
    return Params(rootp, scales, datasets, ds.get("instruments", {}), experiments, reported, dataset_files)


def _own_datasets(root: Path, reg: dict, known: dict, path: Path) -> dict:
    """The datasets a paper declares in its own params file (``datasets:``, the entries of datasets.yaml's
    schema): a paper added from its own files brings its data. A name already taken is an error."""
    own = reg.get("datasets") or {}
    validate({"datasets": own}, _load_schema(root, "datasets"), path)
    taken = sorted(set(own) & set(known))
    if taken:
        raise ConfigError(f"{path}: datasets {taken} are already declared (params/datasets.yaml or another "
                          "paper's params file); give the paper's own datasets names of their own.")
    return own


def _check_references(reg: dict, datasets: dict, reported: dict, path: Path, rep_path: Path) -> None:
    """Names that point elsewhere must exist: datasets, presets, tables, init_from experiments."""
    for name, preset in reg["presets"].items():
        if "dataset" in preset and preset["dataset"] not in datasets:
            raise ConfigError(
                f"{path}: presets.{name}.dataset: unknown dataset {preset['dataset']!r}; "
                f"allowed: {', '.join(sorted(datasets))} (params/datasets.yaml)."
            )
    tables = reported.get("tables", {})
    for name, exp in reg["experiments"].items():
        if exp["preset"] not in reg["presets"]:
            raise ConfigError(
                f"{path}: experiments.{name}.preset: unknown preset {exp['preset']!r}; "
                f"allowed: {', '.join(sorted(reg['presets']))}."
            )
        for table in exp.get("tables", []):
            if table not in tables:
                raise ConfigError(
                    f"{path}: experiments.{name}.tables: unknown table {table!r}; the paper's tables are "
                    f"{', '.join(tables) or '(none)'} ({rep_path}). Fix the name or add the table there."
                )
        src = exp.get("init_from")
        if src is not None and src not in reg["experiments"]:
            raise ConfigError(f"{path}: experiments.{name}.init_from: unknown experiment {src!r} of this paper.")
    _check_table_membership(reg, tables, path, rep_path)
    for scale, sizes in ((reg.get("small_scale") or {}).get("scales") or {}).items():
        for preset in (sizes or {}).get("preset_kimg") or {}:
            if preset not in reg["presets"]:
                raise ConfigError(f"{path}: small_scale.scales.{scale}.preset_kimg: unknown preset {preset!r}; "
                                  f"allowed: {', '.join(sorted(reg['presets']))}.")
    for i, gate in enumerate((reg.get("learning_gates") or {}).get("metrics", [])):
        if gate["experiment"] not in reg["experiments"]:  # a gate on no run would read 'missing' for ever
            raise ConfigError(f"{path}: learning_gates.metrics[{i}].experiment: unknown experiment "
                              f"{gate['experiment']!r} of this paper; allowed: {', '.join(reg['experiments'])}.")


def _check_table_membership(reg: dict, tables: dict, path: Path, rep_path: Path) -> None:
    """Which runs feed a table is stated on both sides (an experiment's ``tables:``, a row's ``experiment:``):
    they must agree, so that a one-sided edit is refused here rather than leaving a cell or a run orphaned."""
    for table, spec in tables.items():
        for row in spec.get("rows", []):
            exp = row.get("experiment")
            if exp and table not in (reg["experiments"].get(exp) or {}).get("tables", []):
                raise ConfigError(f"{rep_path}: tables.{table}, row {row.get('row')!r} is measured by experiment "
                                  f"{exp!r}, but {path} does not list {table!r} in experiments.{exp}.tables; add it "
                                  f"there (or change the row's experiment).")
    for name, exp in reg["experiments"].items():
        for table in exp.get("tables", []):
            if not any(r.get("experiment") == name for r in tables.get(table, {}).get("rows", [])):
                raise ConfigError(f"{path}: experiments.{name}.tables lists {table!r}, but no row of {table!r} in "
                                  f"{rep_path} names experiment {name!r}; add a row for it there or drop the table.")


def load_params(root: str | os.PathLike | None = None) -> Params:
    return _load(str(Path(root) if root else params_root()))
