"""Multi-stage patch-based training for INR GANs (Lee et al. 2022) on CIPS.

Importing this package registers the ``cips`` model family and the ``inr_multistage`` objective.
"""

from ganrepro.models.cips import family as _family  # noqa: F401  (registers the model family)

from . import objective as _objective  # noqa: F401  (registers the objective)

from ganrepro.papers import lazy, register_paper

_FIGURES = "ganrepro.papers.inr_multistage.figures"
register_paper("inr_multistage", figures={name: lazy(_FIGURES, name) for name in (
    "fig2_samples", "fig3_stages", "fig4_extrapolation", "fig_losses")})
