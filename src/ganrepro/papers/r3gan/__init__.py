"""R3GAN: its objective is the worked example in ganrepro.objectives (r3gan.py, stylegan2.py); here, its report hooks."""

from .. import lazy, register_paper

register_paper("r3gan", figures={"fig1_g_loss": lazy("ganrepro.papers.r3gan.figures", "fig1_g_loss"),
                                 "learning_curves": lazy("ganrepro.papers.r3gan.learning", "learning_curves"),
                                 "learning_samples": lazy("ganrepro.papers.r3gan.learning", "learning_samples")},
               settings=lazy("ganrepro.papers.r3gan.settings", "used_settings"))
