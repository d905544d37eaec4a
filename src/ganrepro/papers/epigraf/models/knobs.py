"""EpiGRAF sizes the torch-free family module (resolving a run) and the networks both read."""

# The official config's background sizes (configs/model/epigraf.yaml bg_model; the paper's Appx B says 16 steps).
PAPER_BACKGROUND = dict(bg_width=128, bg_blocks=2, bg_steps=8, bg_start=1.0)
