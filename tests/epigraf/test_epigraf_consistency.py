"""EpiGRAF's multi-view consistency metric (papers/epigraf/consistency.py) on toy and tiny generators."""

import math

import numpy as np
import pytest
import torch

from ganrepro.papers.epigraf.standins3d import make_objects3d, multiview_objects3d
from ganrepro.metrics.train_instruments import train_feature_extractor
from ganrepro.papers.epigraf.models.generator import EpiGRAFGenerator
from ganrepro.papers import hooks
from ganrepro.config.plugins import paper_modules
from ganrepro.papers.epigraf.consistency import (METRIC, consistency_ratio, evaluate_metrics, render_views,
                                                view_cameras, view_consistency, yaw_span)

RES = 16
TINY_G = dict(z_dim=16, w_dim=16, plane_resolution=16, feat_dim=4, channel_base=128, channel_max=16, mlp_hidden=8,
              n_coarse=4, n_fine=4, patch_resolution=8)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    """A tiny stand-in feature CNN (the FID extractor of small scales), trained for one epoch on noise."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 3, RES, RES), dtype=np.uint8)
    y = rng.integers(0, 2, 64)
    path = tmp_path_factory.mktemp("cnn") / "cnn.pt"
    train_feature_extractor(x, y, seed=0, epochs=1, out_path=path, dataset="toy", width=4)
    return {"kind": "cnn", "weights": str(path), "tag": "cnn_toy16"}


class _Toy(torch.nn.Module):
    """A stand-in 'generator' with EpiGRAF's evaluation interface whose image is a function of ``use``."""

    def __init__(self, use: str):
        super().__init__()
        self.z_dim, self.c_dim, self.use = 8, 0, use
        self.proj = torch.nn.Linear(8, 3 * RES * RES)
        torch.nn.init.normal_(self.proj.weight, std=0.5)

    def render_full(self, z, c, camera, perturb=False):
        assert perturb is False  # the metric renders with fixed depths
        if self.use == "latent":      # ignores the camera: every view of a latent is the same picture
            src = z
        elif self.use == "camera":    # a pure function of the camera: every latent draws the same picture
            src = torch.cat([camera, camera, camera[:, :2]], dim=1) * 3
        else:                         # one picture whatever the latent and the camera
            src = torch.zeros_like(z)
        return torch.tanh(self.proj(src)).reshape(len(z), 3, RES, RES)


def test_ratio_of_constructed_features():
    f = torch.randn(5, 1, 12).expand(5, 4, 12)                   # the same features in every view
    out = consistency_ratio(f)
    assert out["value"] == 0.0 and out["same_latent"] == 0.0 and out["different_latent"] > 0
    g = torch.randn(1, 4, 12).expand(5, 4, 12)                   # the same features for every latent
    assert consistency_ratio(g)["value"] == math.inf
    assert math.isnan(consistency_ratio(torch.ones(5, 4, 12))["value"])
    h = torch.randn(6, 5, 12)                                    # no structure: views as different as latents
    assert consistency_ratio(h)["value"] == pytest.approx(1.0, abs=0.25)
    with pytest.raises(ValueError):
        consistency_ratio(torch.randn(1, 4, 12))


def test_cameras_are_the_figures():
    frontal, circle = view_cameras("frontal", 7), view_cameras("sphere360", 4)
    assert frontal.shape == (7, 3) and frontal[0, 0] == pytest.approx(-0.5) and frontal[-1, 0] == pytest.approx(0.5)
    assert torch.allclose(circle[:, 0], torch.tensor([-math.pi, -math.pi / 2, 0.0, math.pi / 2]))
    assert (frontal[:, 1] == math.pi / 2).all() and yaw_span("sphere360", 4)[1] == pytest.approx(math.pi / 2)


def test_toy_generators_score_zero_and_inf(extractor):
    torch.manual_seed(0)
    (name, ignores), = view_consistency(_Toy("latent"), camera="frontal", extractor=extractor, latents=4, views=3,
                                        seed=1).items()
    assert name == f"{METRIC}4x3-cnn_toy16" and ignores["metric"] == METRIC
    assert ignores["same_latent"] == 0.0 and ignores["value"] == 0.0 and ignores["different_latent"] > 0
    (_, camera_only), = view_consistency(_Toy("camera"), camera="frontal", extractor=extractor, latents=4, views=3,
                                         seed=1).items()
    assert camera_only["different_latent"] == 0.0 and camera_only["same_latent"] > 0
    assert camera_only["value"] == math.inf  # high: views of one latent differ, latents do not
    (_, constant), = view_consistency(_Toy("nothing"), camera="frontal", extractor=extractor, latents=4, views=3,
                                      seed=1).items()
    assert math.isnan(constant["value"])     # a collapsed generator is not called consistent


def test_tiny_epigraf_generator(extractor):
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=RES, camera="sphere360", **TINY_G).eval()
    z = torch.randn(3, G.z_dim)
    views = render_views(G, z, view_cameras("sphere360", 4), batch=5)
    assert views.shape == (3, 4, 3, RES, RES) and views.dtype == torch.uint8
    ref = multiview_objects3d("plants3d", count=3, resolution=RES, seed=5, cameras=view_cameras("sphere360", 4).numpy())
    (name, e), = view_consistency(G, camera="sphere360", extractor=extractor, latents=3, views=4, seed=2,
                                  reference=ref, reference_source="toy").items()
    assert name == f"{METRIC}3x4-cnn_toy16" and len(e["yaws"]) == 4 and e["camera"] == "sphere360"
    for entry in (e, e["reference"]):
        assert 0 < entry["value"] < math.inf and 0 < entry["adjacent"] < math.inf
    again = view_consistency(G, camera="sphere360", extractor=extractor, latents=3, views=4, seed=2)
    assert again[name]["value"] == e["value"]  # deterministic rendering: the same number twice


def test_reference_objects_are_the_standins_scenes():
    data = make_objects3d("heads3d", count=2, resolution=RES, seed=11)
    poses = data.extra_arrays["poses"]
    views = multiview_objects3d("heads3d", count=2, resolution=RES, seed=11, cameras=poses)
    assert views.shape == (2, 2, 3, RES, RES)
    assert np.array_equal(views[0, 0], data.images[0]) and np.array_equal(views[1, 1], data.images[1])


def test_the_evaluate_hook_runs_where_params_ask(extractor):
    assert hooks("epigraf", paper_modules("epigraf")).metrics is not None
    G = _Toy("latent")
    cfg = {"eval": {"extractor": extractor, "view_consistency": {"latents": 3, "views": 2}},
           "model": {"camera": "frontal"},
           "dataset": {"spec": {"source": "embedded", "generator": "cats3d", "resolution": RES, "seed": 3}}}
    out = evaluate_metrics(cfg, G, {}, "cpu")
    (name, e), = out.items()
    assert name == f"{METRIC}3x2-cnn_toy16" and e["value"] == 0.0
    assert e["reference"]["source"].startswith("held-out stand-in scenes (embedded:cats3d")
    assert 0 < e["reference"]["value"] < 1  # real objects: views of one object closer than two objects
    assert evaluate_metrics({**cfg, "eval": {"extractor": extractor}}, G, {}, "cpu") == {}  # not asked for
