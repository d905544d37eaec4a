"""One metric-name format (metrics/names.py): the code's names and the docs' examples agree."""

import re
from pathlib import Path

import pytest

from ganrepro.metrics.fidelity import metric_names
from ganrepro.metrics.names import count_tag, metric_name, parse_metric_name

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "ARCHITECTURE.md", ROOT / "src/ganrepro/metrics/names.py"]
_EXAMPLE = re.compile(r"`((?:fid|kid|precision|recall|is|modes|reverse_kl|class_acc|view_consistency)\d[^`\s]*)`")


def test_count_tag():
    assert [count_tag(n) for n in (2000, 50000, 1500, 10000, 999)] == ["2k", "50k", "1500", "10k", "999"]


@pytest.mark.parametrize("kind, kwargs, want", [
    ("fid", dict(num_fake=2000, tag="cnn_shapes16", num_real=5000, real_total=10000), ["fid2k_r5k-cnn_shapes16"]),
    ("fid", dict(num_fake=50000, tag="inception", num_real=70000, real_total=70000), ["fid50k_full-inception"]),
    ("pr", dict(num_fake=50000, tag="vgg16", num_real=70000, real_total=70000),
     ["precision50k_k3-vgg16", "recall50k_k3-vgg16"]),
    ("pr", dict(num_fake=2000, tag="t", num_real=5000, real_total=10000), ["precision2k_k3_r5k-t", "recall2k_k3_r5k-t"]),
])
def test_fidelity_names(kind, kwargs, want):
    assert metric_names(kind, **kwargs) == want


def test_every_name_parses_back():
    for name in [metric_name("modes", 26000, "digits_cnn"), metric_name("reverse_kl", 10000, "digits_cnn"),
                 metric_name("class_acc", 2000, "cnn_shapes16"), metric_name("view_consistency", "16x7", "cnn_shapes32")]:
        parsed = parse_metric_name(name)
        assert parsed is not None and metric_name(parsed["kind"], parsed["count"], parsed["tag"],
                                                  *parsed["qualifiers"]) == name
    assert parse_metric_name("fid2000-full") is None and parse_metric_name("FID2k-x") is None
    with pytest.raises(ValueError, match="lower-case"):
        metric_name("fid2", 10, "x")


def test_docs_examples_are_in_the_format():
    examples = {m for doc in DOCS for m in _EXAMPLE.findall(doc.read_text())}
    assert len(examples) >= 6, examples
    for name in examples:
        parsed = parse_metric_name(name)
        assert parsed is not None, f"{name!r} in the docs is not in metrics/names.py's format"
