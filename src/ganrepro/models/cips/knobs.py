"""The multi-stage paper's CIPS sizes (torch-free: the family's defaults and scale_knobs read them
when a run is resolved; the networks read them as constructor defaults)."""

# CIPS's defaults except z: the paper says z in R^128, CIPS uses 512.
PAPER_RESOLUTION = 256
PAPER_Z_DIM = 128
PAPER_W_DIM = 512
PAPER_HIDDEN = 512          # width of each coordinate embedding (CIPS fc_dim)
PAPER_WIDTH = 512           # width of the first four groups
PAPER_CHANNEL_MULTIPLIER = 2
PAPER_MAPPING_LAYERS = 8
PAPER_D_CHANNEL_BASE = 32768  # rosinality's StyleGAN2 D with channel multiplier 2
PAPER_D_CHANNEL_MAX = 512
