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
