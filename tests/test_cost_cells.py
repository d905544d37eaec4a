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


TIMED = {**BENCH, "timer": "cpu time",
         "rows": {"image": {"peak_mb": 2048.0, "sec_per_iter": 3.0, "sec_per_iter_samples": [3.0, 2.0, 4.0]},
                  "patch": {"peak_mb": 512.0, "sec_per_iter": 1.5, "sec_per_iter_samples": [1.5, 1.5, 1.0]}}}


def test_timed_cells_carry_the_rounds_min_max_and_a_ratio_is_taken_per_round():
    days = cost_cell(SPEC, "days", rows("small"), TIMED)
    # per round patch / image = 0.5, 0.75, 0.25 -> median 0.5 x 24; min-max 0.25-0.75 x 24
    assert days["reproduced"] == pytest.approx(12.0) and days["ci"] == pytest.approx((6.0, 18.0))
    assert "cpu time: median [min-max] of 3 interleaved rounds relative to default" in days["metric_name"]
    assert cost_cell(SPEC, "days", rows("default"), TIMED)["ci"] == pytest.approx((24.0, 24.0))
    mem = cost_cell(SPEC, "mem", rows("small"), TIMED)  # memory: one measurement, no interval
    assert mem["ci"] is None and mem["metric_name"] == "cost:peak_mb (rss memory, cpu, batch 4, 64 px)"


def test_summaries_of_rounds():
    from ganrepro.cost_timing import interleave, summarize

    assert summarize([4.0, 1.0, 3.0, 2.0]) == {"median": 2.5, "q1": 1.75, "q3": 3.25, "min": 1.0, "max": 4.0, "n": 4}
    calls = []
    out = interleave({"a": lambda r: calls.append(("a", r)) or r, "b": lambda r: calls.append(("b", r)) or -r}, 2)
    assert calls == [("a", -1), ("b", -1), ("a", 0), ("b", 0), ("a", 1), ("b", 1)]  # warm-up round, then A B A B
    assert out == {"a": [0, 1], "b": [0, -1]}


def test_a_relative_cell_whose_reference_has_no_rounds_keeps_value_and_interval_in_reported_units():
    mixed = {**BENCH, "rows": {"image": {"sec_per_iter": 3.0},
                               "patch": {"sec_per_iter": 1.5, "sec_per_iter_samples": [1.5, 1.2, 1.8]}}}
    cell = cost_cell(SPEC, "days", rows("small"), mixed)
    assert cell["reproduced"] == pytest.approx(12.0)  # 1.5 / 3.0 x 24
    assert cell["ci"] == pytest.approx((1.2 / 3 * 24, 1.8 / 3 * 24))  # not seconds beside GPU-days
