"""The scale names are stated once in code (ganrepro/scales.py); every other statement of them must agree."""

from pathlib import Path

import yaml

from ganrepro.scales import MAIN_SCALE, SCALES, SMALL_SCALES

ROOT = Path(__file__).resolve().parents[1]


def test_scale_names_are_the_preset_files():
    assert sorted(p.stem for p in (ROOT / "params" / "scales").glob("*.yaml")) == sorted(SCALES)


def test_schema_enums_agree():
    scale_schema = yaml.safe_load((ROOT / "params/schema/scale.schema.yaml").read_text())
    assert tuple(scale_schema["properties"]["name"]["enum"]) == SCALES
    for name in ("experiments.schema.yaml", "r3gan.experiments.schema.yaml"):
        text = (ROOT / "params/schema" / name).read_text()
        assert f"propertyNames: {{enum: [{', '.join(SMALL_SCALES)}]}}" in text, name


def test_small_scales_apply_the_recipe_and_paper_does_not():
    for name in SCALES:
        preset = yaml.safe_load((ROOT / "params/scales" / f"{name}.yaml").read_text())
        assert bool(preset.get("small_scale_recipe")) == (name in SMALL_SCALES), name


def test_main_scale_is_snakemakes_default_and_the_cli_default():
    from ganrepro.cli import _parser as build_parser

    assert yaml.safe_load((ROOT / "workflow/config.yaml").read_text())["scale"] == MAIN_SCALE
    args = build_parser().parse_args(["tables", "--paper", "r3gan"])
    assert args.scale == MAIN_SCALE
