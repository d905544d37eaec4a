"""R3GAN: its objective is the worked example in ganrepro.objectives.r3gan; here, its own report hooks."""

from .. import register_paper
from .figures import fig1_g_loss
from .learning import learning_curves, learning_samples
from .settings import used_settings

register_paper("r3gan", figures={"fig1_g_loss": fig1_g_loss, "learning_curves": learning_curves,
                                 "learning_samples": learning_samples}, settings=used_settings)
