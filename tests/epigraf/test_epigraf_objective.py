"""The EpiGRAF objective through the seam: batch layout, phases, losses, lazy R1, sampling."""

import math

import pytest
import torch

from ganrepro.data.archive import open_archive, write_archive
from ganrepro.papers.epigraf.standins3d import make_objects3d
from ganrepro.papers.epigraf.models.family import build, scale_knobs
from ganrepro.objectives import get_objective, take
from ganrepro.objectives.base import Nets
from ganrepro.papers.epigraf.objective import blur, paper_loss
from ganrepro.training.augment import AugmentPipe
from ganrepro.training.ema import make_ema

TINY_SCALE = dict(min_width=8, width_divisor=96, z_dim_max=16)


@pytest.fixture
def setup(tmp_path):
    g = make_objects3d("food3d", count=16, resolution=16, seed=0, num_classes=2)
    path = write_archive(tmp_path / "food", g.images, g.labels, dataset="food", source="test",
                         extra_arrays=g.extra_arrays, num_classes=2)
    archive = open_archive(path)
    arch = scale_knobs({"camera": "sphere360"}, resolution=16, paper_resolution=256, scale=TINY_SCALE)
    torch.manual_seed(0)
    G, D = build(arch, resolution=16, img_channels=3, num_classes=2)
    nets = Nets(G=G, D=D, G_ema=make_ema(G), augment=AugmentPipe.from_preset("none"),
                opt={"G": torch.optim.Adam(G.parameters(), 1e-3, betas=(0.0, 0.99)),
                     "D": torch.optim.Adam(D.parameters(), 1e-3, betas=(0.0, 0.99))})
    cfg = {"seed": 0, "train": {"batch": 8, "mixed_precision": "none"}, "dataset": {"num_classes": 2, "path": str(path)},
           "xflip": True, "loss": paper_loss()}
    return get_objective("epigraf")(cfg, nets, archive, torch.device("cpu")), cfg, nets


def test_batch_layout_and_phases(setup):
    obj, _, nets = setup
    sched = {"patch_beta": 0.8, "blur_sigma": 1.0, "aug_p": 0.0, "gamma": 0.05, "density_noise": 1.0}
    torch.manual_seed(1)
    b = obj.make_batch(0, 0, sched)
    r = nets.D.patch_resolution
    assert b["real"].shape == (8, 3, r, r) and b["real_r1"].shape == (8, 3, r, r)
    for k in ("patch_real", "patch_r1", "patch_d", "patch_g"):
        assert b[k].shape == (8, 3) and (b[k][:, 0] >= obj.min_scale - 1e-6).all()
    assert not torch.equal(b["patch_real"], b["patch_r1"])  # R1 reads fresh patches
    assert b["cam_d"].shape == (8, 3) and b["c_d"].dtype == torch.int64
    torch.manual_seed(1)
    again = obj.make_batch(0, 0, sched)  # a pure function of the RNG state and position
    assert all(torch.equal(b[k], again[k]) for k in b if torch.is_tensor(b[k]))
    phases = {p.name: p for p in obj.phases()}
    assert phases["Dreg"].interval == 16 and phases["D"].lr_ratio == pytest.approx(16 / 17)
    stats = {}
    for name in ("G", "D", "Dreg"):
        net = nets.net(phases[name].net)
        net.zero_grad(set_to_none=True)
        stats.update(obj.accumulate_gradients(name, take(b, slice(0, 8)), sched, gain=1.0))
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    # non-saturating losses at a near-zero-logit initialisation are about 2 log 2 (D) and log 2 (G)
    assert stats["loss_d"] == pytest.approx(2 * math.log(2), abs=0.3)
    assert stats["loss_g"] == pytest.approx(math.log(2), abs=0.2)
    assert stats["loss_d_reg"] >= 0 and stats["grad_sq_fake"] >= 0
    losses, grad_sq = obj.guard_values(stats)
    assert set(losses) == {"loss_d", "loss_g", "loss_d_reg"} and grad_sq == stats["grad_sq_fake"]


def test_missing_patch_schedule_is_a_config_error(setup):
    from ganrepro.errors import ConfigError
    obj = setup[0]
    with pytest.raises(ConfigError, match="patch_beta"):
        obj.make_batch(0, 0, {"aug_p": 0.0})


def test_missing_density_noise_schedule_is_a_config_error(setup):
    from ganrepro.errors import ConfigError
    obj = setup[0]
    sched = {"patch_beta": 0.8, "aug_p": 0.0}
    with pytest.raises(ConfigError, match="density_noise"):
        obj.accumulate_gradients("G", obj.make_batch(0, 0, sched), sched, gain=1.0)


def test_sample_renders_full_images_at_dataset_poses(setup):
    obj, cfg, nets = setup
    nets.G_ema.eval()
    torch.manual_seed(0)
    imgs = type(obj).sample(cfg, nets.G_ema, torch.randn(3, nets.G.z_dim), torch.tensor([0, 1, 0]))
    assert imgs.shape == (3, 3, 16, 16) and torch.isfinite(imgs).all()


def test_blur_keeps_constants_and_smooths():
    x = torch.zeros(1, 3, 16, 16)
    x[..., 8, 8] = 1.0
    y = blur(x, 1.0)
    assert y.shape == x.shape and y.sum() == pytest.approx(3.0, abs=1e-4) and y.max() < 0.5
    assert torch.equal(blur(x, 0.0), x)
    assert torch.allclose(blur(torch.ones(1, 3, 16, 16), 2.0)[..., 6:10, 6:10], torch.ones(1, 3, 4, 4))
