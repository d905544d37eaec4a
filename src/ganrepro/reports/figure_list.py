"""Which figures a paper has: its registered builders (``ganrepro.papers``) plus the generic ones.

Free of matplotlib / seaborn / torch: the DAG lists every paper's figures when the Snakefile is parsed;
a builder imports its plotting module on its first call (``ganrepro.papers.lazy``).
"""

from __future__ import annotations

from ..papers import hooks, lazy

GENERIC_FIGURES = {"training_curves": lazy("ganrepro.reports.figures", "training_curves")}


def figure_builders(paper: str) -> dict:
    """Figure name -> builder: the paper's own (registered in ganrepro.papers.<paper>) + the generic ones."""
    from ..config import load_params

    modules = load_params().experiments[paper].get("modules", [])
    return {**hooks(paper, modules).figures, **GENERIC_FIGURES}
