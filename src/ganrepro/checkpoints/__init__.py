"""Official checkpoints read without running their code, mapped onto the project's networks."""

from .mapping import CheckpointError, map_tensors, register_importer
from .unpickle import UnsafeCheckpointError, load_pickle, load_torch

__all__ = ["CheckpointError", "UnsafeCheckpointError", "load_pickle", "load_torch", "map_tensors",
           "register_importer"]
