"""EpiGRAF (Skorokhodov et al., NeurIPS 2022): patch sampling, objective, dataset statistics, figures.

Importing this package registers the ``epigraf`` objective, the ``epigraf`` / ``epigraf2d`` model
families and the paper's report hooks (Table 4 from the archives, Figs 3, 5, 6, 7, multi-view samples).
"""

from ganrepro.models.epigraf import family as _family  # noqa: F401  (registers the model families)

from .. import register_paper
from . import objective as _objective  # noqa: F401  (registers the objective)
from .convergence import fig6_convergence
from .figures import fig3_scale_pdfs, fig5_geometry, fig7_modulations, multiview_grid, patch_schedule_curves
from .settings import used_settings

register_paper("epigraf", settings=used_settings,
               figures={"fig3_scale_pdfs": fig3_scale_pdfs, "fig5_geometry": fig5_geometry,
                        "fig6_convergence": fig6_convergence, "patch_schedule_curves": patch_schedule_curves,
                        "fig7_modulations": fig7_modulations, "multiview_samples": multiview_grid})
