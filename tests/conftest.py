import os

import pytest
import torch

os.environ.setdefault("MPLCONFIGDIR", "/tmp/ganrepro-mpl")
torch.set_num_threads(1)


@pytest.fixture
def in_tmp_workdir(tmp_path, monkeypatch):
    """Run a test from an empty working directory (all pipeline paths are relative to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
