"""Coordinate grids (paper Eq. 1, 3), the learned embedding's interpolated read, CIPS's INR property."""

import pytest
import torch

from ganrepro.models.cips import CIPSDiscriminator, CIPSGenerator, LearnedEmbedding
from ganrepro.models.cips.coords import crop, extrapolation_grid, grid, rcrop
from ganrepro.models.cips.generator import group_widths


@pytest.mark.parametrize("H, W, N", [(32, 32, 32), (32, 32, 8), (64, 32, 16), (256, 256, 64)])
def test_grid_matches_eq1(H, W, N):
    """grid(H, W, N)[:, k, l] is pixel (H/N k, W/N l) mapped by CIPS's linspace(-1, 1, side)."""
    g = grid(H, W, N)
    assert g.shape == (2, N, N)
    for k in (0, 1, N - 1):
        for l in (0, N // 2, N - 1):
            x_pix, y_pix = W / N * l, H / N * k
            assert g[0, k, l].item() == pytest.approx(-1 + 2 * x_pix / (W - 1), abs=1e-6)
            assert g[1, k, l].item() == pytest.approx(-1 + 2 * y_pix / (H - 1), abs=1e-6)


def test_dense_grid_is_cips_linspace_and_sparse_grid_subsamples_it():
    H = 32
    dense = grid(H, H, H)
    lin = torch.linspace(-1, 1, H)
    assert torch.allclose(dense[0], lin[None, :].expand(H, H)) and torch.allclose(dense[1], lin[:, None].expand(H, H))
    assert torch.allclose(grid(H, H, H // 4), dense[:, ::4, ::4])
    assert torch.allclose(grid(H, H, H // 2), dense[:, ::2, ::2])
    with pytest.raises(ValueError):
        grid(32, 32, 12)


def test_rcrop_is_a_window_of_consecutive_grid_entries():
    g = grid(32, 32, 16)
    offsets = torch.tensor([[0, 0], [3, 7], [8, 8]])
    windows, same = rcrop(g, 8, offsets=offsets)
    assert same is offsets and windows.shape == (3, 2, 8, 8)
    for b, (r, c) in enumerate(offsets.tolist()):
        assert torch.equal(windows[b], g[:, r:r + 8, c:c + 8])
    torch.manual_seed(0)
    drawn, off = rcrop(g, 8, batch=64, step=2)
    assert (off % 2 == 0).all() and off.min() >= 0 and off.max() <= 8 and len(set(map(tuple, off.tolist()))) > 10
    with pytest.raises(ValueError):
        crop(g, torch.tensor([[9, 0]]), 8)


def test_extrapolation_grid_extends_beyond_the_unit_frame():
    H, m = 16, 4
    e = extrapolation_grid(H, H, m)
    assert e.shape == (2, H + 2 * m, H + 2 * m)
    assert torch.allclose(e[:, m:m + H, m:m + H], grid(H, H, H))
    assert e.min() < -1.2 and e.max() > 1.2


@pytest.mark.parametrize("size", [8, 16])
def test_learned_embedding_at_training_grid_equals_direct_indexing(size):
    emb = LearnedEmbedding(5, size)
    read = emb(grid(size, size, size)[None])
    assert torch.allclose(read[0], emb.table[0], atol=1e-5)
    sparse = emb(grid(size, size, size // 4)[None])  # a sparse grid reads the entries it lies on
    assert torch.allclose(sparse[0], emb.table[0, :, ::4, ::4], atol=1e-5)
    official = LearnedEmbedding(5, size, align_corners=False)  # CIPS's call: interpolated, not exact
    official.table.data.copy_(emb.table.data)
    assert not torch.allclose(official(grid(size, size, size)[None])[0], emb.table[0], atol=1e-2)


def test_learned_embedding_interpolates_between_entries():
    emb = LearnedEmbedding(3, 8)
    half = (grid(8, 8, 8)[:, :1, 0:1] + grid(8, 8, 8)[:, :1, 1:2]) / 2  # midway between columns 0 and 1
    mid = emb(half[None])[0, :, 0, 0]
    assert torch.allclose(mid, emb.table[0, :, 0, :2].mean(1), atol=1e-5)


def tiny_G(**kw):
    return CIPSGenerator(resolution=32, z_dim=8, w_dim=16, hidden=8, width=16, **kw)


def test_generator_crop_equals_crop_of_dense_evaluation():
    """INR property: G evaluates each coordinate independently (noise off)."""
    torch.manual_seed(0)
    G = tiny_G()
    z = torch.randn(3, 8)
    dense = G(z, noise_mode="none")
    assert dense.shape == (3, 3, 32, 32)
    windows, off = rcrop(grid(32, 32, 32), 8, batch=3)
    assert torch.allclose(G(z, coords=windows, noise_mode="none"), crop(dense, off, 8), atol=1e-5)
    sparse = G(z, coords=grid(32, 32, 8), noise_mode="none")  # shared [2, h, w] coordinates
    assert torch.allclose(sparse, dense[:, :, ::4, ::4], atol=1e-5)
    beyond = G(z, coords=extrapolation_grid(32, 32, 4), noise_mode="none")
    assert beyond.shape == (3, 3, 40, 40) and torch.allclose(beyond[:, :, 4:36, 4:36], dense, atol=1e-5)


def test_generator_noise_is_per_pixel_and_off_at_init():
    torch.manual_seed(0)
    G = tiny_G()
    z = torch.randn(2, 8)
    assert torch.equal(G(z, noise_mode="random"), G(z, noise_mode="none"))  # strength starts at 0
    for layer in [G.input, *G.layers]:
        layer.noise_strength.data.fill_(0.5)
    assert not torch.allclose(G(z, noise_mode="random"), G(z, noise_mode="none"))


def test_cips_widths_and_paper_sizes():
    assert group_widths(256, 512, 2) == [512, 512, 512, 512, 512, 256, 128]
    with torch.device("meta"):
        G = CIPSGenerator()
        D = CIPSDiscriminator(resolution=64)
    assert G.z_dim == 128 and len(G.layers) == 14 and len(G.to_rgbs) == 7
    assert G.embedding.table.shape == (1, 512, 256, 256)
    assert len(G.mapping.layers) == 8
    assert D.net.from_rgb.weight.shape[1] == 3  # RGB only (the official README's --img2dis; 5 with coord_channels)
    assert CIPSDiscriminator(resolution=64, coord_channels=True).net.from_rgb.weight.shape[1] == 5


def test_discriminator_is_built_at_its_input_size():
    D = CIPSDiscriminator(resolution=8, channel_base=256, channel_max=16)
    coords = grid(32, 32, 8)[None].expand(2, -1, -1, -1)
    assert D(torch.randn(2, 3, 8, 8), coords=coords).shape == (2,)
    with pytest.raises(ValueError):
        D(torch.randn(2, 3, 16, 16), coords=coords)
