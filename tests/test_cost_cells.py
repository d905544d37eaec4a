"""Tables' ``source: cost`` cells: read from the paper's cost benchmark record, absolute or relative."""

import pytest

from ganrepro.reports.tables import cost_cell

BENCH = {"device": "cpu", "memory": "rss", "batch": 4, "resolution": 64,
         "rows": {"image": {"peak_mb": 2048.0, "sec_per_iter": 3.0}, "patch": {"peak_mb": 512.0, "sec_per_iter": 1.5}}}
SPEC = {
    "metrics": {"mem": {"source": "cost", "field": "peak_mb", "factor": 1 / 1024},
                "days": {"source": "cost", "field": "sec_per_iter", "relative_to": "default"}},
    "rows": [{"row": "default", "cost": "image", "reported": {"days": 24}},
             {"row": "small", "cost": "patch", "reported": {"days": 19}},
             {"row": "other_dataset", "reported": {"days": None}},
             {"row": "unbenchmarked", "cost": "accumulation", "reported": {"days": None}}],
}


def rows(name):
    return next(r for r in SPEC["rows"] if r["row"] == name)


def test_absolute_cell_is_the_measured_field_times_its_factor_and_names_the_protocol():
    cell = cost_cell(SPEC, "mem", rows("small"), BENCH)
    assert cell["reproduced"] == pytest.approx(0.5) and cell["status"] == "reproduced"
    assert cell["metric_name"] == "cost:peak_mb (rss memory, cpu, batch 4, 64 px)"


@pytest.mark.parametrize("row, expected", [("default", 24.0), ("small", 12.0)])
def test_relative_cell_is_the_reference_rows_reported_cost_times_the_measured_ratio(row, expected):
    cell = cost_cell(SPEC, "days", rows(row), BENCH)
    assert cell["reproduced"] == pytest.approx(expected)
    assert "relative to default x its reported 24" in cell["metric_name"]


def test_rows_without_a_cost_entry_are_reported_only_and_an_absent_benchmark_is_missing():
    assert cost_cell(SPEC, "mem", rows("other_dataset"), BENCH)["status"] == "reported-only"
    assert cost_cell(SPEC, "mem", rows("unbenchmarked"), BENCH)["status"] == "missing"
    assert cost_cell(SPEC, "mem", rows("small"), None) == {"reproduced": None, "status": "missing", "metric_name": ""}
