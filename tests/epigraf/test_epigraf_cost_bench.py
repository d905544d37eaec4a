"""EpiGRAF cost benchmark (Table 2's training-cost column) at a tiny size."""

import pytest

from ganrepro.papers.epigraf import cost_bench as cb

TINY = cb.BenchConfig(resolution=32, batch=2, iters=1, width_divisor=64, samples=4)


@pytest.fixture(scope="module")
def rows():
    return cb.benchmark(TINY, memory="saved", subprocesses=False)


def test_every_configuration_runs_with_its_patch_and_discriminator(rows):
    by_name = {r["config"]: r for r in rows}
    assert list(by_name) == [c[0] for c in cb.CONFIGS]
    assert [by_name[n]["patch_px"] for n in ("patch32", "patch64", "patch128")] == [4, 4, 8]  # 512 px -> 32 px
    assert by_name["d_scale_specific4"]["num_d"] == 4 and by_name["d_standard"]["d_variant"] == "standard"
    # the hypernetwork and the K routed Ds have parameters the standard D lacks
    assert by_name["d_standard"]["params_d_m"] < by_name["patch64"]["params_d_m"]
    assert by_name["d_scale_specific4"]["params_d_m"] == pytest.approx(4 * by_name["d_standard"]["params_d_m"])
    for r in rows:
        assert r["sec_per_iter"] > 0 and r["peak_mb"] > 0
        phases = r["phase_sec"]  # one round: the median of each phase is that round's
        assert r["sec_per_iter"] == pytest.approx(phases["G"] + phases["D"] + phases["Dreg"] / 16)
        assert r["timer"] == "cpu time" and r["sec_per_iter_samples"] == [r["sec_per_iter"]]


def test_larger_patches_keep_more_activations(rows):
    by_name = {r["config"]: r for r in rows}
    assert by_name["patch32"]["peak_mb"] < by_name["patch128"]["peak_mb"]


def test_table_has_every_row_and_the_papers_ratios(rows):
    paper = cb.paper_costs()
    assert paper["patch64"] == (24, 1.0)
    assert paper["patch32"][1] == pytest.approx(19 / 24) and paper["patch128"][1] == pytest.approx(34 / 24)
    table = cb.format_table(rows, TINY, paper)
    lines = table.splitlines()
    assert "device cpu" in lines[0]
    body = {line.split()[0]: line.split() for line in lines[2:]}
    assert sorted(body) == sorted(c[0] for c in cb.CONFIGS)
    # memory ratio, time ratio per round (median [min-max]), paper days and ratio of the reference
    assert body["patch64"][-5:] == ["1.00", "1.00", "[1.00-1.00]", "24", "1.00"]
    assert body["patch128"][-1] == "1.42" and body["d_scale_specific2"][-1] == "1.17"
