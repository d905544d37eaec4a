"""Sample grids: geometry (one row per class, cell size), the cells are the generator's images, fixed seeds."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganrepro.data import write_archive
from ganrepro.models import build_networks
from ganrepro.reports.samples import (MIN_CELL_PX, PAD, _generate, latents, real_grid, sample_grid, sample_grid_aside,
                                      to_uint8)
from ganrepro.training.loop import load_generator

ARCH = {"family": "r3gan", "widths": [8, 8], "expansion": 2.0, "group_size": 8, "z_dim": 8, "c_embed_dim_g": 4}


def _network(path, *, num_classes, resolution=8, channels=3, seed=0):
    """A network.pt in the format `train` writes (G_ema + arch + config), with a result.json beside it."""
    torch.manual_seed(seed)
    G, _ = build_networks(ARCH, resolution=resolution, img_channels=channels, num_classes=num_classes)
    cfg = {"paper": "r3gan", "experiment": "t-test", "scale": "tiny",
           "dataset": {"title": "shapes", "standin_for": "CIFAR-10", "num_classes": num_classes}}
    path.mkdir(parents=True, exist_ok=True)
    torch.save({"G_ema": G.state_dict(), "arch": ARCH, "resolution": resolution, "img_channels": channels,
                "num_classes": num_classes, "status": "ok", "config": cfg}, path / "network.pt")
    (path / "result.json").write_text(json.dumps({"status": "ok", "kimg": 0.25}))
    return path / "network.pt"


def _pixels(png):
    return np.asarray(Image.open(png).convert("RGB"))


@pytest.mark.parametrize("num_classes", [0, 3])
def test_grid_geometry_rows_are_classes_and_cells_at_least_64px(tmp_path, num_classes):
    net = _network(tmp_path / "run", num_classes=num_classes)
    seeds = [0, 1, 2, 3, 4]
    grid = sample_grid(net, tmp_path / "g.png", seeds=seeds)
    assert grid.cell == 64 and grid.cell >= MIN_CELL_PX  # 8 px upscaled x8
    if num_classes:
        assert (grid.rows, grid.cols) == (3, 5)
        assert grid.row_labels == ("class 0", "class 1", "class 2") and grid.left > 0
    else:
        assert (grid.rows, grid.cols) == (1, 5) and grid.left == 0  # one row of seeds
    width, height = Image.open(tmp_path / "g.png").size
    assert (width, height) == grid.size
    assert width == grid.left + grid.cols * (grid.cell + PAD) + PAD
    assert height == grid.top + grid.rows * (grid.cell + PAD) + PAD


def test_cells_are_the_generators_images_for_class_and_seed(tmp_path):
    net = _network(tmp_path / "run", num_classes=3)
    seeds = [7, 11]
    grid = sample_grid(net, tmp_path / "g.png", seeds=seeds)
    pixels = _pixels(tmp_path / "g.png")
    G, payload = load_generator(net)
    for k in range(3):
        expected = to_uint8(_generate(G, payload, latents(seeds, G.z_dim), torch.full((2,), k)))
        for j in range(2):
            x0, y0, x1, y1 = grid.box(k, j)
            cell = pixels[y0:y1, x0:x1]
            assert np.array_equal(cell[::8, ::8], expected[j].transpose(1, 2, 0))  # nearest upscale x8
            assert np.array_equal(cell[7::8, 7::8], expected[j].transpose(1, 2, 0))
    # rows differ by class: the conditioning reaches the images
    assert not np.array_equal(pixels[slice(*grid.box(0, 0)[1::2])], pixels[slice(*grid.box(1, 0)[1::2])])


def test_same_seeds_identical_grids_other_seeds_differ(tmp_path):
    net = _network(tmp_path / "run", num_classes=0)
    sample_grid(net, tmp_path / "a.png", seeds=range(4))
    sample_grid(net, tmp_path / "b.png", seeds=range(4))
    sample_grid(net, tmp_path / "c.png", seeds=range(4, 8))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert not np.array_equal(_pixels(tmp_path / "a.png"), _pixels(tmp_path / "c.png"))


def test_grid_drawn_by_evaluation_equals_a_grid_job_and_leaves_the_global_rng_as_it_was(tmp_path):
    """`ganrepro evaluate --samples` draws the grid first with `sample_grid_aside`: the same pixels as a
    separate `ganrepro samples` job from the same RNG state, and what evaluation draws next is unchanged."""
    net = _network(tmp_path / "run", num_classes=0)
    torch.manual_seed(123)
    sample_grid(net, tmp_path / "job.png")
    after_plain_grid = torch.randn(4)
    torch.manual_seed(123)
    sample_grid_aside(net, tmp_path / "aside.png")
    after_aside = torch.randn(4)
    torch.manual_seed(123)
    untouched = torch.randn(4)
    assert np.array_equal(_pixels(tmp_path / "aside.png"), _pixels(tmp_path / "job.png"))
    assert torch.equal(after_aside, untouched)
    assert not torch.equal(after_plain_grid, untouched)  # building G draws from the global RNG: the restore matters


@pytest.mark.parametrize("noise", [True, False])
def test_grid_does_not_depend_on_the_global_rng_state(tmp_path, noise):
    """A StyleGAN2 G draws its noise inputs from torch's global RNG, which torch seeds differently in every
    process: the grid seeds it, so two jobs drawing the same network write the same pixels."""
    arch = {"family": "stylegan2", "channel_base": 128, "channel_max": 16, "z_dim": 16, "w_dim": 16,
            "mapping_layers": 2, "noise": noise}
    torch.manual_seed(0)
    G, _ = build_networks(arch, resolution=8, img_channels=3, num_classes=0)
    with torch.no_grad():  # a trained G's noise strengths (they start at 0)
        for name, p in G.named_parameters():
            if "noise_strength" in name:
                p.fill_(0.5)
    cfg = {"paper": "r3gan", "experiment": "t-noise", "scale": "tiny", "dataset": {"title": "shapes"}}
    (tmp_path / "run").mkdir()
    torch.save({"G_ema": G.state_dict(), "arch": arch, "resolution": 8, "img_channels": 3, "num_classes": 0,
                "status": "ok", "config": cfg}, tmp_path / "run" / "network.pt")
    (tmp_path / "run" / "result.json").write_text(json.dumps({"status": "ok", "kimg": 0.25}))
    for i, state in enumerate((1, 2)):
        torch.manual_seed(state)
        sample_grid(tmp_path / "run" / "network.pt", tmp_path / f"{i}.png")
    assert np.array_equal(_pixels(tmp_path / "0.png"), _pixels(tmp_path / "1.png"))
    G_loaded, payload = load_generator(tmp_path / "run" / "network.pt")
    z = latents(range(8), G_loaded.z_dim)
    before = torch.get_rng_state()
    _generate(G_loaded, payload, z, None)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's RNG is left as it was
    torch.manual_seed(1)
    a = G_loaded(z, None)
    torch.manual_seed(2)
    b = G_loaded(z, None)
    assert torch.equal(a, b) != noise  # the noise inputs really draw from the global RNG (the case that matters)


def test_latent_of_a_seed_does_not_depend_on_the_other_seeds():
    assert torch.equal(latents([3, 5], 8)[1], latents([5], 8)[0])


def test_grid_of_two_runs_shares_the_latents(tmp_path):
    """Two runs of a table sampled with the same seeds get the same z in the same column."""
    a = load_generator(_network(tmp_path / "a", num_classes=0, seed=0))[0]
    b = load_generator(_network(tmp_path / "b", num_classes=0, seed=1))[0]
    assert a.z_dim == b.z_dim
    assert torch.equal(latents(range(4), a.z_dim), latents(range(4), b.z_dim))


@pytest.mark.parametrize("labelled", [True, False])
def test_real_grid_rows_per_class_or_spread(tmp_path, labelled):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 1, 16, 16), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 4) if labelled else np.full(12, -1)
    write_archive(tmp_path / "ds", images, labels.astype(np.int64), dataset="shapes16", source="test",
                  num_classes=3 if labelled else 0)
    grid = real_grid(tmp_path / "ds", tmp_path / "real.png", n=4)
    pixels = _pixels(tmp_path / "real.png")
    assert grid.cell == 64 and Image.open(tmp_path / "real.png").size == grid.size
    if labelled:
        assert (grid.rows, grid.cols) == (3, 4)
        first_of_class_2 = images[8, 0]
        x0, y0, x1, y1 = grid.box(2, 0)
    else:
        assert (grid.rows, grid.cols) == (1, 4)
        first_of_class_2 = images[0, 0]
        x0, y0, x1, y1 = grid.box(0, 0)
    cell = pixels[y0:y1:4, x0:x1:4]
    assert np.array_equal(cell[..., 0], first_of_class_2) and np.array_equal(cell[..., 1], first_of_class_2)


def test_many_seeds_wrap_into_rows_of_eight_with_white_padding(tmp_path):
    net = _network(tmp_path / "run", num_classes=0)
    grid = sample_grid(net, tmp_path / "g.png", seeds=range(10))
    assert (grid.rows, grid.cols) == (2, 8)
    x0, y0, x1, y1 = grid.box(1, 7)  # the 16th cell: no seed, left white
    assert (_pixels(tmp_path / "g.png")[y0:y1, x0:x1] == 255).all()
