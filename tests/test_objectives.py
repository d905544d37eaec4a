"""R3GAN's objective name, two step structures: R3GAN's (D then G) and stylegan2-ada's (config A)."""

from __future__ import annotations

import pytest
import torch

from ganrepro.objectives import Phase, lazy_ratio, objective_for
from ganrepro.objectives.adversarial import PL_INTERVAL
from ganrepro.objectives.r3gan import R3GANObjective
from ganrepro.objectives.stylegan2 import StyleGAN2Objective
from ganrepro.training.loop import train
from test_training import _cfg


def _record_phases(monkeypatch, cls):
    calls = []
    original = cls.accumulate_gradients

    def spy(self, phase, batch, sched, gain):
        net = {"G": self.nets.G, "D": self.nets.D}[phase[0]]
        opt = self.nets.opt[phase[0]]
        calls.append({"step": batch["step"], "phase": phase, "lr": opt.param_groups[0]["lr"],
                      "beta2": opt.param_groups[0]["betas"][1],
                      "trainable": all(p.requires_grad for p in net.parameters())})
        return original(self, phase, batch, sched, gain)

    monkeypatch.setattr(cls, "accumulate_gradients", spy)
    return calls


def test_config_a_runs_stylegan2_ada_phases_g_first_with_separate_regularisation_steps(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, exp="t2-a-stylegan2", kimg=0.04)  # 5 steps at batch 8
    assert cfg["loss"]["phases"] == "stylegan2" and cfg["loss"]["reg_interval"] == 16
    assert cfg["objective"] == "r3gan" and objective_for(cfg) is StyleGAN2Objective
    calls = _record_phases(monkeypatch, StyleGAN2Objective)
    train(cfg, progress=False)
    order = [(c["step"], c["phase"]) for c in calls]
    assert order == [(0, "Gmain"), (0, "Greg"), (0, "Dmain"), (0, "Dreg"), (1, "Gmain"), (1, "Dmain"),
                     (2, "Gmain"), (2, "Dmain"), (3, "Gmain"), (3, "Dmain"),
                     (4, "Gmain"), (4, "Greg"), (4, "Dmain")]
    lr = cfg["schedule"]["lr"]["start"]
    beta2 = cfg["schedule"]["beta2"]["end"]  # no burn-in in the roadmap preset
    for c in calls:  # the lazy-regulariser correction on both phases of each network (stylegan2-ada)
        ratio = lazy_ratio(PL_INTERVAL) if c["phase"].startswith("G") else lazy_ratio(16)
        mult = cfg["optim"][c["phase"][0]].get("lr_mult", 1.0)  # the small-scale recipe's G/D ratio
        assert c["lr"] == pytest.approx(lr * mult * ratio) and c["beta2"] == pytest.approx(beta2 ** ratio)
        assert c["trainable"]


def test_r3gan_phases_are_d_then_g_every_step(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, exp="t6-e-cifar10", kimg=0.016)
    assert objective_for(cfg) is R3GANObjective
    calls = _record_phases(monkeypatch, R3GANObjective)
    train(cfg, progress=False)
    assert [(c["step"], c["phase"]) for c in calls] == [(0, "D"), (0, "G"), (1, "D"), (1, "G")]
    lr, g_mult = cfg["schedule"]["lr"]["start"], cfg["optim"]["G"].get("lr_mult", 1.0)
    assert g_mult == 0.5  # R3GAN's small-scale recipe: G at half D's lr
    assert [c["lr"] for c in calls[:2]] == pytest.approx([lr, lr * g_mult])


def test_stylegan2_phases_draw_their_own_latents_and_one_real_batch(tmp_path):
    from ganrepro.data import open_archive
    from ganrepro.training.loop import build, seed_step

    cfg = _cfg(tmp_path, exp="t2-a-stylegan2")
    archive = open_archive(cfg["dataset"]["path"])
    nets = build(cfg, archive, torch.device("cpu"))
    obj = objective_for(cfg)(cfg, nets, archive, torch.device("cpu"))
    assert [p.name for p in obj.phases()] == ["Gmain", "Greg", "Dmain", "Dreg"]
    assert obj.phases()[1] == Phase("Greg", "G", interval=4, lr_ratio=0.8)
    seed_step(0, 3)
    b = obj.make_batch(3, 24, {})
    assert not torch.equal(b["z_Gmain"], b["z_Greg"]) and not torch.equal(b["z_Gmain"], b["z_Dmain"])
    seed_step(0, 3)
    again = obj.make_batch(3, 24, {})
    assert all(torch.equal(b[k], again[k]) for k in ("real", "z_Gmain", "z_Greg", "z_Dmain"))


def test_non_finite_gradients_are_sanitised_before_the_step():
    from ganrepro.models.precision import sanitize_gradients

    net = torch.nn.Linear(3, 1)
    net.weight.grad = torch.tensor([[float("nan"), float("inf"), -float("inf")]])
    net.bias.grad = torch.tensor([0.5])
    sanitize_gradients(net)
    assert net.weight.grad.tolist() == [[0.0, 1e5, -1e5]] and net.bias.grad.tolist() == [0.5]
