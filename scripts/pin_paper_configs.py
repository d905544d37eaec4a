"""Write tests/data/paper_scale_configs.json: every resolved paper-scale run config (the pin that
tests/test_paper_scale_pin.py compares against). Re-run it only in a commit that changes a paper-scale
default on purpose (and say so in the commit message): `python scripts/pin_paper_configs.py`."""

import json
from pathlib import Path

from ganrepro.config import list_experiments, load_params, resolve_run


def paper_scale_configs() -> dict:
    params = load_params()
    return {f"{paper}/{exp}": resolve_run(paper, exp, "paper", params)
            for paper in sorted(params.experiments) for exp in list_experiments(paper, params)}


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "paper_scale_configs.json"
    out.write_text(json.dumps(paper_scale_configs(), indent=1, sort_keys=True) + "\n")
    print(out)
