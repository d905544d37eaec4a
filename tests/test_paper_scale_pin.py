"""Paper scale never changes by accident: every resolved paper-scale run config equals the pin.

Small-scale recipes (params `small_scale:`) must not reach the paper scale. A commit that moves a
paper-scale default on purpose (e.g. to the official code's value) re-writes the pin with
`python scripts/pin_paper_configs.py` and says so.
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = ROOT / "tests" / "data" / "paper_scale_configs.json"


def _current() -> dict:
    spec = importlib.util.spec_from_file_location("pin", ROOT / "scripts" / "pin_paper_configs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return json.loads(json.dumps(mod.paper_scale_configs(), sort_keys=True))


@pytest.fixture(scope="module")
def current():
    return _current()


def test_every_paper_scale_run_is_pinned(current):
    pinned = json.loads(PIN.read_text())
    assert sorted(current) == sorted(pinned)


def test_paper_scale_configs_equal_the_pin(current):
    pinned = json.loads(PIN.read_text())
    changed = [name for name in pinned if current.get(name) != pinned[name]]
    assert not changed, (f"paper-scale configs changed: {changed[:5]}; if on purpose, run "
                         "`python scripts/pin_paper_configs.py` and say so in the commit")


def test_the_pin_holds_the_papers_values():
    pinned = json.loads(PIN.read_text())
    e = pinned["r3gan/t6-e-cifar10"]
    assert e["schedule"]["lr"] == {"curve": "cosine", "start": 2e-4, "end": 5e-5, "kimg": 20000.0}
    assert e["schedule"]["aug_p"]["end"] == 0.55 and e["train"]["batch"] == 512
    assert "recipe" not in e
