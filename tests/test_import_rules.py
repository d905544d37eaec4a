"""Generic packages never import a paper: papers are found from params/ by name, at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganrepro.orchestration.dvc import _imports_of

PKG = Path(__file__).resolve().parents[1] / "src" / "ganrepro"
GENERIC = ("config", "data", "losses", "metrics", "models", "objectives", "reports", "stages", "training")
PAPERS = sorted(p.name for p in (PKG / "papers").iterdir() if (p / "__init__.py").is_file())


def _modules(package: str) -> list[str]:
    out = []
    for path in sorted((PKG / package).rglob("*.py")):
        parts = path.relative_to(PKG).with_suffix("").parts
        out.append(".".join(("ganrepro", *(parts[:-1] if parts[-1] == "__init__" else parts))))
    return out


def test_the_rule_sees_the_papers_and_their_imports():
    assert {"r3gan", "epigraf", "inr_multistage"} <= set(PAPERS)
    assert "ganrepro.papers.epigraf.standins3d" in _imports_of("ganrepro.papers.epigraf.consistency")


@pytest.mark.parametrize("package", GENERIC)
def test_generic_package_imports_no_paper(package):
    offending = [(mod, imp) for mod in _modules(package) for imp in _imports_of(mod)
                 if imp.split(".")[:2] == ["ganrepro", "papers"] and len(imp.split(".")) > 2
                 and imp.split(".")[2] in PAPERS]
    assert not offending, f"{package} imports a paper (find it from params/ by name instead): {offending}"


def _package_of(module: str) -> str:
    """The unit of the layering rule: a top-level sub-package or module of ganrepro, each paper its own."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "papers":
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    nodes = set(edges) | {b for bs in edges.values() for b in bs}

    def visit(root):
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop(); on_stack.discard(top); comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif child not in index:
                index[child] = low[child] = counter[0]; counter[0] += 1
                stack.append(child); on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def _graph(strings: bool) -> dict[str, set[str]]:
    """Every module of the package -> the ganrepro modules it imports."""
    return {mod: set(_imports_of(mod, strings)) - {mod} for mod in _modules("")}


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back():
    """Module level, imports inside functions included: no module needs a module that needs it."""
    assert not _cycles(_graph(strings=False))


def test_no_package_imports_itself_back():
    """Package level (each paper its own), modules named by string included (a lazy import is an import):
    config, models, objectives, data, checkpoints... form layers, none reaching back into another."""
    edges: dict[str, set[str]] = {}
    for mod, imps in _graph(strings=True).items():
        edges.setdefault(_package_of(mod), set()).update(
            _package_of(i) for i in imps if i != "ganrepro" and _package_of(i) != _package_of(mod))
    assert not _cycles(edges), "package import cycles (break the upward import)"


def test_registries_know_no_paper_until_its_params_modules_are_imported():
    """A paper is found from params/ (`modules:`), never by the registries' own convention."""
    import subprocess
    import sys

    code = ("from ganrepro.errors import ConfigError\n"
            "from ganrepro.models.registry import get_family\n"
            "from ganrepro.config.plugins import import_paper, paper_modules\n"
            "try:\n    get_family('epigraf')\nexcept ConfigError as e:\n    print('refused:', 'modules:' in str(e))\n"
            "print(paper_modules('epigraf'))\n"
            "import_paper('epigraf')\nprint(get_family('epigraf').name)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:3] == ["refused: True", "['ganrepro.papers.epigraf']", "epigraf"]


@pytest.mark.parametrize("paper,experiment", [("inr_multistage", "image-ffhq"), ("epigraf", "t1-epigraf-ffhq256")])
def test_a_process_given_only_a_resolved_config_builds_its_papers_networks(paper, experiment, tmp_path):
    """A SLURM job (it unpickles its config), a sweep's spawned worker: nothing resolved a run in that process."""
    import json
    import subprocess
    import sys

    from ganrepro.config import resolve_run

    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(resolve_run(paper, experiment, "tiny")))
    code = ("import json, sys, types, torch\n"
            "from ganrepro.training.loop import build\n"
            "from ganrepro.objectives import objective_for\n"
            "cfg = json.load(open(sys.argv[1]))\n"
            "archive = types.SimpleNamespace(resolution=cfg['dataset']['resolution'], channels=3)\n"
            "nets = build(cfg, archive, torch.device('cpu'))\n"
            "print(type(nets.G).__module__, objective_for(cfg).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(cfg_file)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    module, objective = out.stdout.split()
    assert objective != "R3GANObjective" and ("papers" in module or "cips" in module)
