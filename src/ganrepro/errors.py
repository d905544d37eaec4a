"""Errors that reach users. Every message names the problem and the fix."""


class GanreproError(Exception):
    """Base class: the CLI prints these without a traceback and exits with status 2."""


class ConfigError(GanreproError):
    """A params file is malformed, or an experiment/scale/dataset name is unknown."""


class DatasetError(GanreproError):
    """A dataset is missing, incomplete or corrupt."""


class ResultFileError(GanreproError):
    """A file the pipeline wrote earlier (metrics, result, counts) is truncated or corrupt."""


class WeightsError(GanreproError):
    """Pretrained weights (e.g. Inception-v3 for FID) are not available offline."""


class TrainingDiverged(GanreproError):
    """Training produced a non-finite loss or an exploding discriminator gradient."""

    def __init__(self, reason: str, step: int, kimg: float):
        super().__init__(f"training diverged at step {step} ({kimg:.3f} kimg): {reason}")
        self.reason = reason
        self.step = step
        self.kimg = kimg
