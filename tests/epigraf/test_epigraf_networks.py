"""EpiGRAF generator and discriminators: shapes, gradients, modulation range, routing, chunking."""

import math

import pytest
import torch

from ganrepro.papers.epigraf.models import EpiGRAFGenerator, PatchDiscriminator, ScaleRoutedDiscriminator, scale_buckets

TINY_G = dict(z_dim=16, w_dim=16, plane_resolution=16, feat_dim=4, channel_base=128, channel_max=16, mlp_hidden=8,
              n_coarse=4, n_fine=4, patch_resolution=8)
TINY_D = dict(patch_resolution=8, channel_base=128, channel_max=16, hyper_dim=16, const_emb_dim=8)


def cams(n):
    return torch.stack([torch.linspace(-0.5, 0.5, n), torch.full((n,), math.pi / 2), torch.zeros(n)], dim=1)


def patches(n, s=0.5):
    return torch.tensor([[s, 0.1, 0.3]]).repeat(n, 1)


@pytest.mark.parametrize("num_classes", [0, 3])
def test_generator_patch_shapes_and_gradients_reach_the_planes(num_classes):
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=32, num_classes=num_classes, **TINY_G).train()
    G.density_noise_std = 0.5
    c = torch.randint(0, 3, (4,)) if num_classes else None
    out = G(torch.randn(4, 16), c, cams(4), patches(4))
    assert out.shape == (4, 3, 8, 8) and torch.isfinite(out).all()
    out.square().mean().backward()
    last = G.synthesis.blocks[-1]
    for param in (last.torgb.weight, last.conv1.weight, G.decoder.fc0.weight, G.mapping.layers[0].weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_full_image_chunked_rendering_equals_unchunked():
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=16, num_classes=0, **TINY_G).eval()
    z = torch.randn(2, 16)
    whole = G.render_full(z, None, cams(2), chunk=16 * 16)
    chunked = G.render_full(z, None, cams(2), chunk=37)
    assert whole.shape == (2, 3, 16, 16)
    assert torch.allclose(whole, chunked, atol=1e-6)
    # a patch of scale 1 at offset 0 is the full image (same rays)
    ws = G.mapping(z, None)
    planes = G.planes(ws, "const")
    full = G.render(planes, cams(2), resolution=8, perturb=False)
    patch = G.render(planes, cams(2), resolution=8, patch=torch.tensor([[1.0, 0.0, 0.0]] * 2), perturb=False)
    assert torch.allclose(full, patch, atol=1e-6)


def test_hypernetwork_modulations_lie_in_0_2_and_depend_on_the_patch():
    torch.manual_seed(0)
    D = PatchDiscriminator(resolution=32, **TINY_D)
    assert D.num_extra_blocks == 2 and len(D.blocks) == 3  # virtual 32, 16, 8
    p = torch.rand(64, 3) * torch.tensor([0.75, 0.25, 0.25]) + torch.tensor([0.25, 0, 0])
    sig = D.modulations(p)
    assert len(sig) == 3 and [s.shape[1] for s in sig] == [b.conv1.weight.shape[1] for b in D.blocks]
    p_code = D.patch_code(p)
    for s, block in zip(sig, D.blocks):
        assert (s > 0).all() and (s < 2).all() and s.std(0).mean() > 1e-3
        assert torch.allclose(s, 1 + torch.tanh(block.affine(p_code)), atol=1e-6)
    logits = D(torch.randn(64, 3, 8, 8), None, p)
    assert logits.shape == (64,)
    assert not torch.allclose(D(torch.ones(2, 3, 8, 8), None, patches(2, 0.3)),
                              D(torch.ones(2, 3, 8, 8), None, patches(2, 0.9)))


def test_standard_discriminator_ignores_patch_parameters():
    torch.manual_seed(0)
    D = PatchDiscriminator(resolution=32, hyper_mod=False, patch_cond=False, **TINY_D)
    x = torch.randn(4, 3, 8, 8)
    ref = D(x, None, patches(4, 0.25))
    for p in (patches(4, 1.0), torch.rand(4, 3), None):
        assert torch.equal(D(x, None, p), ref)


def test_camera_conditioning_uses_dropout_in_training_only():
    torch.manual_seed(0)
    D = PatchDiscriminator(resolution=16, camera_cond=True, **TINY_D).eval()
    x = torch.randn(4, 3, 8, 8)
    a, b = D(x, None, patches(4), cams(4)), D(x, None, patches(4), cams(4).flip(0))
    assert not torch.allclose(a, b)
    assert torch.equal(D(x, None, patches(4), cams(4)), a)  # eval: deterministic


def test_scale_specific_discriminators_route_by_scale_bucket():
    assert scale_buckets(torch.tensor([0.25, 0.4, 0.62, 0.63, 0.99, 1.0]), 2, 0.25).tolist() == [0, 0, 0, 1, 1, 1]
    assert scale_buckets(torch.tensor([0.25, 0.45, 0.5, 0.7, 0.85, 1.0]), 4, 0.25).tolist() == [0, 1, 1, 2, 3, 3]
    torch.manual_seed(0)
    D = ScaleRoutedDiscriminator(num_discriminators=4, resolution=32, mbstd_group=1, **TINY_D)
    x = torch.randn(6, 3, 8, 8)
    p = torch.tensor([[0.3, 0, 0], [0.95, 0, 0], [0.5, 0, 0], [0.3, 0.1, 0.1], [0.8, 0, 0], [0.6, 0, 0]])
    logits = D(x, None, p)
    for i, k in enumerate(D.route(p).tolist()):
        assert torch.allclose(logits[i], D.discriminators[k](x[i:i + 1], None, p[i:i + 1])[0], atol=1e-5)
    logits.sum().backward()  # only the Ds that saw a patch get gradients
    used = set(D.route(p).tolist())
    for k, sub in enumerate(D.discriminators):
        assert (sub.from_rgb.weight.grad is not None) == (k in used)


def test_pose_conditioned_generator_maps_class_and_view_and_the_default_ignores_the_view():
    torch.manual_seed(0)
    G = EpiGRAFGenerator(resolution=16, num_classes=3, camera_cond=True, **TINY_G).eval()
    assert G.mapping.c_dim == 3 + 2 and G.c_dim == 3
    z, c = torch.randn(2, TINY_G["z_dim"]), torch.tensor([0, 2])
    cams = torch.tensor([[0.3, 1.4, 0.0], [-0.2, 1.7, 0.0]])
    cond = G.mapping_input(c, cams, 2, z.device)
    assert torch.equal(cond[:, :3], torch.eye(3)[[0, 2]])
    assert torch.allclose(cond[:, 3:], cams[:, :2] / (2 * math.pi))
    # the view changes the latent code (hence the planes), not just the rays
    ws_a = G.mapping(z, G.mapping_input(c, cams, 2, z.device))
    ws_b = G.mapping(z, G.mapping_input(c, cams.flip(0), 2, z.device))
    assert not torch.allclose(ws_a, ws_b)
    assert G(z, c, cams, torch.tensor([[0.5, 0.1, 0.2]] * 2)).shape == (2, 3, 8, 8)
    plain = EpiGRAFGenerator(resolution=16, num_classes=3, **TINY_G).eval()
    assert plain.mapping.c_dim == 3 and plain.mapping_input(c, cams, 2, z.device) is c
