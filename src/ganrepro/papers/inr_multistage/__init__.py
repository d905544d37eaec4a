"""Multi-stage patch-based training for INR GANs (Lee et al. 2022) on CIPS.

Importing this package registers the ``cips`` model family and declares the ``inr_multistage``
objective and its stand-in generators (``standins.py``) (torch-free: its module is imported when training or evaluation asks for it).
"""

from ganrepro.models.cips import family as _family  # noqa: F401  (registers the model family)
from ganrepro.standins import register_generator
from ganrepro.objectives import declare
from ganrepro.papers import lazy, register_paper

declare("inr_multistage", "ganrepro.papers.inr_multistage.objective")
for _name in ("faces", "churches", "animals"):  # its fine-detailed stand-ins for FFHQ, LSUN Church, AFHQ
    register_generator(_name, lazy("ganrepro.papers.inr_multistage.standins", f"make_{_name}"))

_FIGURES = "ganrepro.papers.inr_multistage.figures"
register_paper("inr_multistage", figures={name: lazy(_FIGURES, name) for name in (
    "fig2_samples", "fig3_stages", "fig4_extrapolation", "fig_losses")})
