"""EpiGRAF (Skorokhodov et al., NeurIPS 2022): patch sampling, objective, dataset statistics, figures.

Importing this package declares the ``epigraf`` objective, registers the ``epigraf`` / ``epigraf2d`` model
families, its stand-in generators (``standins3d.py``, ``rooms2d.py``) and the paper's report hooks (Table 4 from the archives, Figs 3, 5, 6, 7, multi-view samples)
and its evaluation metric (multi-view consistency of a Table 1 run, ``consistency.py``).

Torch-free: the objective module is imported when training or evaluation asks for it.
"""

from ganrepro.papers.epigraf.models import family as _family  # noqa: F401  (registers the model families)
from ganrepro.standins import register_generator
from ganrepro.objectives import declare

from .. import lazy, register_paper

declare("epigraf", "ganrepro.papers.epigraf.objective")

# its stand-ins: rendered from 3D geometry at known cameras (poses.npy per image), and a 2D room stand-in
_STANDINS = "ganrepro.papers.epigraf.standins3d"
for _name in ("plants3d", "food3d", "heads3d", "cats3d"):
    register_generator(_name, lazy(_STANDINS, f"make_{_name}"))
register_generator("rooms2d", lazy("ganrepro.papers.epigraf.rooms2d", "make_rooms2d"))

_FIGURES = "ganrepro.papers.epigraf.figures"
register_paper("epigraf", settings=lazy("ganrepro.papers.epigraf.settings", "used_settings"),
               metrics=lazy("ganrepro.papers.epigraf.consistency", "evaluate_metrics"),
               figures={"fig3_scale_pdfs": lazy(_FIGURES, "fig3_scale_pdfs"),
                        "fig5_geometry": lazy(_FIGURES, "fig5_geometry"),
                        "fig6_convergence": lazy("ganrepro.papers.epigraf.convergence", "fig6_convergence"),
                        "patch_schedule_curves": lazy(_FIGURES, "patch_schedule_curves"),
                        "fig7_modulations": lazy(_FIGURES, "fig7_modulations"),
                        "multiview_samples": lazy(_FIGURES, "multiview_grid")})
