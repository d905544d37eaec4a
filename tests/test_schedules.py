import math

import pytest

from ganrepro.training.divergence import DivergenceGuard
from ganrepro.training.schedules import cosine_burnin, ema_beta, values_at
from ganrepro.errors import TrainingDiverged


@pytest.mark.parametrize("start,end", [(2e-4, 5e-5), (0.9, 0.99), (150.0, 15.0), (0.0, 0.3)])
def test_cosine_burnin_endpoints_midpoint_and_hold(start, end):
    assert cosine_burnin(start, end, 0, 100) == pytest.approx(start)
    assert cosine_burnin(start, end, 50, 100) == pytest.approx((start + end) / 2)
    assert cosine_burnin(start, end, 100, 100) == pytest.approx(end)
    assert cosine_burnin(start, end, 1e9, 100) == pytest.approx(end)


def test_cosine_burnin_is_monotone_and_zero_length_is_end():
    values = [cosine_burnin(1.0, 0.0, t, 10) for t in range(11)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert cosine_burnin(1.0, 0.0, 0, 0) == 0.0


def test_ema_beta_matches_paper_formula():
    # Table 9 caption: CIFAR-10, batch 512, half-life 5 Mimg -> 0.5 ** (512 / 5e6) ~ 0.99993.
    assert ema_beta(512, 5000.0) == pytest.approx(0.5 ** (512 / 5e6))
    assert ema_beta(512, 0.0) == 0.0
    # Half-life semantics: after half-life / batch steps the old weights have weight 1/2.
    assert ema_beta(64, 0.64) ** 10 == pytest.approx(0.5)


def test_values_at_every_entry_and_curve():
    sched = {"lr": {"curve": "cosine", "start": 1, "end": 0, "kimg": 10},
             "gamma": {"curve": "cosine", "start": 2, "end": 1, "kimg": 10},
             "patch_beta": {"curve": "linear", "start": 0.0, "end": 0.8, "kimg": 20},
             "blur": {"curve": "constant", "start": 3.0, "end": 0.0, "kimg": 0}}
    v = values_at(sched, 5)
    assert v["lr"] == pytest.approx(0.5) and v["gamma"] == pytest.approx(1.5)
    assert v["patch_beta"] == pytest.approx(0.2) and v["blur"] == 3.0
    late = values_at(sched, 1e6)  # every curve holds its end value after its span
    assert late["lr"] == 0 and late["patch_beta"] == pytest.approx(0.8) and late["blur"] == 3.0


def test_divergence_guard_non_finite_and_patience():
    guard = DivergenceGuard(grad_norm_max=10.0, patience=3)
    guard.check(step=1, kimg=0.1, losses={"loss_d": 1.0}, fake_grad_sq=100.0)
    guard.check(step=2, kimg=0.2, losses={"loss_d": 1.0}, fake_grad_sq=1.0)  # resets the streak
    guard.check(step=3, kimg=0.3, losses={"loss_d": 1.0}, fake_grad_sq=100.0)
    guard.check(step=4, kimg=0.4, losses={"loss_d": 1.0}, fake_grad_sq=100.0)
    with pytest.raises(TrainingDiverged, match="exploded") as info:
        guard.check(step=5, kimg=0.5, losses={"loss_d": 1.0}, fake_grad_sq=100.0)
    assert info.value.step == 5
    with pytest.raises(TrainingDiverged, match="non-finite loss_g"):
        DivergenceGuard(1.0, 1).check(step=1, kimg=0, losses={"loss_g": math.nan}, fake_grad_sq=0.0)


def test_a_null_entry_removes_an_inherited_schedule():
    from ganrepro.config.resolve import resolve_schedule

    out = resolve_schedule({"patch_beta": None, "patch_smin": {"curve": "linear", "start": 1.0, "end": 0.25, "mimg": 5}},
                           time_ratio=0.001, gamma_factor=1.0)
    assert set(out) == {"patch_smin"} and out["patch_smin"]["kimg"] == pytest.approx(5.0)


@pytest.mark.parametrize("exp, kind, paper_t", [("f6-uniform-t1k-cats256", "uniform", 1000),
                                                ("f6-uniform-t10k-cats256", "uniform", 10000),
                                                ("f6-beta-t10k-cats256", "beta", 10000)])
def test_fig6_runs_anneal_over_their_papers_T_compressed_by_the_scale(exp, kind, paper_t):
    from ganrepro.config import resolve_run
    from ganrepro.papers.epigraf.convergence import _label

    cfg = resolve_run("epigraf", exp, "smoke")
    entry = cfg["schedule"]["patch_smin" if kind == "uniform" else "patch_beta"]
    assert ("patch_beta" in cfg["schedule"]) == (kind == "beta")
    assert entry["kimg"] == pytest.approx(paper_t * cfg["train"]["time_ratio"])
    assert _label(cfg) == f"[{kind}] T = {paper_t // 1000}k" and cfg["train"]["keep_networks"] == 4
