"""Experiments as data: load and validate params/, resolve (experiment x scale) into a run config."""

from .load import load_params, params_root
from .resolve import dataset_config, instrument_paths, list_experiments, resolve_run
from .run_config import run_config

__all__ = ["dataset_config", "instrument_paths", "list_experiments", "load_params", "params_root", "resolve_run", "run_config"]
