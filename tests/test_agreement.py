"""Agreement with the paper: Kendall's tau on hand-made tables, flipped pairs, ties within one std, steps."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from ganrepro.reports.agreement import (BASE_FROM_ORDER, BASE_FROM_PARAMS, FAIL, compare, rank_agreement,
                                        table_agreement, write_agreement)

ROWS = ["a", "b", "c", "d"]


@pytest.mark.parametrize("better", ["lower", "higher"])
def test_identical_order_is_plus_one_reversed_is_minus_one(better):
    reported = [1.0, 2.0, 3.0, 4.0]
    same = rank_agreement(ROWS, reported, [10.0, 20.0, 30.0, 40.0], better)
    assert same["tau"] == pytest.approx(1.0) and same["flips"] == []
    rev = rank_agreement(ROWS, reported, [40.0, 30.0, 20.0, 10.0], better)
    assert rev["tau"] == pytest.approx(-1.0) and len(rev["flips"]) == 6


def test_one_swap_gives_two_thirds_and_lists_the_pair_oriented_by_better():
    # FID (lower is better): the paper has b better than c; the reproduction swaps them.
    result = rank_agreement(ROWS, [1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], "lower")
    assert result["tau"] == pytest.approx((5 - 1) / 6)  # 5 concordant, 1 discordant of 6 pairs
    assert result["flips"] == [("b", "c")]
    # higher is better: the paper's better row of the pair is c
    assert rank_agreement(ROWS, [1.0, 2.0, 3.0, 4.0], [10.0, 30.0, 20.0, 40.0], "higher")["flips"] == [("c", "b")]


def test_pairwise_tau_equals_scipy_without_ties():
    rng = np.random.default_rng(3)
    x, y = list(rng.normal(size=7)), list(rng.normal(size=7))
    result = rank_agreement([str(i) for i in range(7)], x, y, "lower", std=[0.0] * 7)
    assert result["tau_within_std"] == pytest.approx(kendalltau(x, y)[0])
    assert result["tau_within_std"] == pytest.approx(result["tau"])


def test_orderings_within_one_std_are_ties_not_flips():
    reported = [1.0, 2.0, 3.0]
    reproduced = [10.5, 10.0, 30.0]  # a and b swapped, but only by 0.5
    plain = rank_agreement(ROWS[:3], reported, reproduced, "lower")
    assert plain["flips"] == [("a", "b")]
    seeded = rank_agreement(ROWS[:3], reported, reproduced, "lower", std=[0.6, 0.2, 0.1])
    assert seeded["flips"] == [] and seeded["ties_within_std"] == [("a", "b")]
    assert seeded["tau_within_std"] == pytest.approx(2 / math.sqrt(3 * 2))  # C=2, D=0, one tie in y
    # stds smaller than the gap but whose +-1 std intervals overlap: not within one std, yet a tie (noise)
    overlapping = rank_agreement(ROWS[:3], reported, reproduced, "lower", std=[0.4, 0.4, 0.1])
    assert overlapping["flips"] == [] and overlapping["ties"] == [("a", "b")] and overlapping["ties_within_std"] == []
    # intervals apart leave the flip in place
    apart = rank_agreement(ROWS[:3], reported, reproduced, "lower", std=[0.2, 0.2, 0.1])
    assert apart["flips"] == [("a", "b")] and apart["ties"] == []


def test_compare_fail_is_worse_than_any_number():
    assert compare(FAIL, 1e9, "lower") == -1 and compare(3.0, FAIL, "higher") == 1 and compare(FAIL, FAIL, "lower") == 0
    assert compare(1.0, 2.0, "lower") == 1 and compare(1.0, 2.0, "higher") == -1


def _csv(rows, *, std=None, data=None):
    """A long table CSV as `ganrepro tables` writes it (strings, as read back with keep_default_na=False)."""
    lines = []
    for i, (row, reported, reproduced) in enumerate(rows):
        line = {"table": "t", "row": row, "metric": "fid", "reported": reported, "reproduced": reproduced,
                "status": "reproduced" if reproduced else "reported-only", "scale": "tiny",
                "dataset_used": (data or ["shapes"] * len(rows))[i], "standin_for": "FFHQ"}
        if std is not None:
            line["reproduced_std"] = std[i]
        lines.append(line)
    return pd.DataFrame(lines).astype(str)


SPEC = {"metrics": {"fid": {"better": "lower"}, "params_g": {"better": None}},
        "rows": [{"row": "a"}, {"row": "b"}, {"row": "c"}, {"row": "d", "modifies": "b"}]}


def test_table_agreement_rank_and_steps_with_modifies_and_previous_row():
    df = _csv([("a", "10", "40"), ("b", "8", "30"), ("c", "9", "20"), ("d", "7", "25")])
    lines = table_agreement("p", "t", df, SPEC)
    (rank,) = [x for x in lines if x["kind"] == "rank"]
    assert rank["n_rows"] == 4 and set(rank["flips"].split("; ")) == {"b>c", "d>c"}
    assert rank["tau"] == pytest.approx(kendalltau([10, 8, 9, 7], [40, 30, 20, 25])[0])
    steps = {x["row"]: x for x in lines if x["kind"] == "step"}
    assert (steps["b"]["base_row"], steps["b"]["base_from"]) == ("a", BASE_FROM_ORDER)
    assert (steps["b"]["paper_step"], steps["b"]["our_step"], steps["b"]["agrees"]) == ("better", "better", True)
    assert (steps["c"]["paper_step"], steps["c"]["our_step"], steps["c"]["agrees"]) == ("worse", "better", False)
    assert (steps["d"]["base_row"], steps["d"]["base_from"]) == ("b", BASE_FROM_PARAMS)  # modifies: b, not c
    assert (steps["d"]["paper_step"], steps["d"]["our_step"]) == ("better", "better")


def test_flips_are_explained_by_the_rows_learning_index_and_the_overview_says_which_are_left():
    from ganrepro.reports.overview import flips_explained

    df = _csv([("a", "10", "40"), ("b", "8", "30"), ("c", "9", "20"), ("d", "7", "25")])
    df["learning_index"] = ["0.9", "0.7", "0.3", "0.8"]  # c is below the gate: b>c is explained, d>c too
    (rank,) = [x for x in table_agreement("p", "t", df, SPEC, index_min=0.6) if x["kind"] == "rank"]
    assert set(rank["flips"].split("; ")) == {"b>c", "d>c"}
    assert set(rank["flips_unlearned"].split("; ")) == {"b>c (index 0.70, 0.30)", "d>c (index 0.80, 0.30)"}
    df["learning_index"] = ["0.9", "0.7", "", "0.8"]  # c not measured (paper scale): not counted as learned
    (rank,) = [x for x in table_agreement("p", "t", df, SPEC, index_min=0.6) if x["kind"] == "rank"]
    assert rank["flips_unlearned"] == "" and set(rank["flips_unmeasured"].split("; ")) == {"b>c", "d>c"}
    df["learning_index"] = ["0.9", "0.7", "0.65", "0.8"]  # every run passes: nothing is explained by learning
    (rank,) = [x for x in table_agreement("p", "t", df, SPEC, index_min=0.6) if x["kind"] == "rank"]
    assert rank["flips_unlearned"] == rank["flips_unmeasured"] == "" and rank["index_min"] == 0.6
    (no_gate,) = [x for x in table_agreement("p", "t", df, SPEC) if x["kind"] == "rank"]
    assert no_gate["flips_unlearned"] == "" and no_gate["index_min"] is None

    cost = {**SPEC, "metrics": {"fid": {"better": "lower", "source": "cost"}}}  # a benchmark's cell: no gate
    (timed,) = [x for x in table_agreement("p", "t", df, cost, index_min=0.6) if x["kind"] == "rank"]
    assert timed["flips"] and timed["flips_unlearned"] == "" and timed["index_min"] is None

    frame = pd.DataFrame([{**rank, "flips_unlearned": "b>c (index 0.70, 0.30)"}]).astype(str)
    (sentence,) = flips_explained(frame)
    assert "2 flipped pair(s)" in sentence and "1 of them involve a run below the learning gate (index < 0.6" in sentence
    assert sentence.endswith("not explained by learning: d>c.")


def test_previous_row_on_other_data_is_not_a_step_and_reported_only_rows_are_skipped():
    df = _csv([("a", "10", "40"), ("b", "8", "30"), ("c", "9", ""), ("d", "7", "25")],
              data=["shapes", "digits", "shapes", "shapes"])
    lines = table_agreement("p", "t", df, SPEC)
    # rows on other data are ranked apart: a and d on shapes (c is reported-only), b alone on digits
    assert not [x for x in lines if x["kind"] == "rank"]
    same = _csv([("a", "10", "40"), ("b", "8", "30"), ("c", "9", "35"), ("d", "7", "25")],
                data=["shapes", "digits", "shapes", "shapes"])
    (rank,) = [x for x in table_agreement("p", "t", same, SPEC) if x["kind"] == "rank"]
    assert rank["n_rows"] == 3 and rank["data"] == "FFHQ"  # one group of 3 on shapes (named by what it stands in for)
    steps = {x["row"]: x for x in lines if x["kind"] == "step"}
    assert set(steps) == {"d"}  # b: previous row a on other data; c: not reproduced


def test_step_within_std_is_a_tie():
    df = _csv([("a", "10", "40"), ("b", "8", "39"), ("c", "9", "20"), ("d", "7", "25")],
              std=["2", "2", "1", "1"])
    steps = {x["row"]: x for x in table_agreement("p", "t", df, SPEC) if x["kind"] == "step"}
    assert steps["b"]["our_step"] == "tie" and steps["b"]["agrees"] is False


def test_write_agreement_files(tmp_path):
    """table2 of the real r3gan params (8 rows, fid lower is better), reproduced in the paper's order but one swap."""
    from ganrepro.config import load_params

    rows = load_params().reported["r3gan"]["tables"]["table2"]["rows"]
    reported = [r["reported"]["fid"] for r in rows]
    order = sorted(range(len(rows)), key=lambda i: reported[i])
    ours = [0.0] * len(rows)
    for rank, i in enumerate(order):
        ours[i] = 30.0 + rank
    best, second = order[0], order[1]
    ours[best], ours[second] = ours[second], ours[best]
    df = _csv([(r["row"], str(rep), str(o)) for r, rep, o in zip(rows, reported, ours)])
    df["table"] = "table2"
    (tmp_path / "r3gan").mkdir()
    df.to_csv(tmp_path / "r3gan" / "table2.csv", index=False)
    csv, md = write_agreement("r3gan", tmp_path)
    out = pd.read_csv(csv)
    rank = out[out["kind"] == "rank"].iloc[0]
    n = len(rows)
    assert rank["table"] == "table2" and rank["n_rows"] == n
    assert rank["tau"] == pytest.approx(1 - 2 * 2 / (n * (n - 1)))
    assert rank["flips"] == f"{rows[best]['row']}>{rows[second]['row']}"
    text = md.read_text()
    assert "| table2 | fid | 8 |" in text and rows[best]["row"] in text and "Ablation steps" in text


def test_overview_counts_cells_shows_tau_and_links(tmp_path):
    from ganrepro.reports.overview import write_overview

    df = _csv([("config_a_stylegan2", "7.5", "30"), ("config_b_stripped", "12.5", "50"),
               ("config_c_rpgan", "11.8", "40"), ("config_d_resnet", "9.9", ""), ("x", "5", "Fail")])
    df["table"], df["experiment"] = "table2", "t2-run"
    df.loc[3, "status"] = "missing"
    df.loc[4, "status"] = "fail: diverged at step 3 (nan)"
    tables, figures = tmp_path / "results" / "tables", tmp_path / "results" / "figures"
    (tables / "r3gan").mkdir(parents=True)
    df.to_csv(tables / "r3gan" / "table2.csv", index=False)
    (tables / "r3gan" / "table2.md").write_text("# table2\n")
    write_agreement("r3gan", tables)
    (figures / "r3gan" / "samples" / "real").mkdir(parents=True)
    for png in ("samples/t2-a.png", "samples/real/ffhq256.png", "fig1.png"):
        (figures / "r3gan" / png).write_bytes(b"png")
    page = write_overview(["r3gan"], tmp_path / "results" / "README.md", tables_dir=tables, figures_dir=figures)
    text = page.read_text()
    # 3 reproduced, 1 failed, 0 reported-only, 1 missing, 0 other; tau of the 3 numeric rows = 1 (same order),
    # its interval a point (no cell carries noise)
    assert "| [table2](tables/r3gan/table2.md) | 3 | 1 | 0 | 1 | 0 | fid 1.00 [1.00, 1.00] | fid: none |" in text
    assert "| tiny | shapes for FFHQ |" in text
    assert "[agreement.md](tables/r3gan/agreement.md)" in text
    assert "[t2-a.png](figures/r3gan/samples/t2-a.png)" in text and "[ffhq256.png](figures/r3gan/samples/real/ffhq256.png)" in text
