"""A CIPS ``.pt`` (state dicts g, d, g_ema under the official names and the optimisers' states, as
advimman/CIPS ``train.py`` saves them) imports into the cips family; G then
computes the official CIPSskip forward (written here from the official names)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ganrepro.checkpoints.importer import import_networks
from ganrepro.models import build_networks
from ganrepro.models.cips.coords import grid

torch.set_num_threads(1)
ARCH = {"family": "cips", "z_dim": 16, "w_dim": 16, "hidden": 8, "width": 16, "channel_multiplier": 2,
        "mapping_layers": 2, "d_channel_base": 128, "d_channel_max": 16}
RES = 8  # groups: log2(8) - 1 = 2


def official_g(res, seed):
    """{name: tensor} of CIPSskip at this size, random (non-zero) values."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {f"style.{i}.{p}": r(16, 16) if p == "weight" else r(16) for i in (1, 2) for p in ("weight", "bias")}
    sd["lff.ffm.conv.weight"], sd["lff.ffm.conv.bias"], sd["emb.input"] = r(8, 2, 1, 1), r(8), r(1, 8, res, res)

    def styled(prefix, cin, cout, rgb=False):
        sd[f"{prefix}.conv.weight"] = r(1, cout, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"], sd[f"{prefix}.conv.modulation.bias"] = r(cin, 16), 1 + 0.1 * r(cin)
        if rgb:
            sd[f"{prefix}.bias"] = r(1, cout, 1, 1)
        else:
            sd[f"{prefix}.noise.weight"], sd[f"{prefix}.activate.bias"] = r(1), r(cout)

    styled("conv1", 16, 16)
    for i in range(2):
        styled(f"linears.{2 * i}", 16, 16), styled(f"linears.{2 * i + 1}", 16, 16), styled(f"to_rgbs.{i}", 16, 3, True)
    return sd


def official_forward(sd, z, coords):
    """CIPSskip forward (noise off): PixelNorm -> EqualLinear lrelu (lr 0.01) -> w; [sin(conv(coords)), emb]."""
    x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
    for i in (1, 2):
        x = F.leaky_relu(F.linear(x, sd[f"style.{i}.weight"] * 0.01 / 4) + sd[f"style.{i}.bias"] * 0.01, 0.2) * 2 ** 0.5
    w = x
    b = z.shape[0]
    feat = torch.cat([torch.sin(F.conv2d(coords, sd["lff.ffm.conv.weight"], sd["lff.ffm.conv.bias"])),
                      sd["emb.input"].expand(b, -1, -1, -1)], 1)  # training mode: the table at the grid

    def mod(prefix, h, demod=True):
        weight = sd[f"{prefix}.conv.weight"][0, :, :, 0, 0] / math.sqrt(h.shape[1])  # [out, in]
        s = F.linear(w, sd[f"{prefix}.conv.modulation.weight"] / 4) + sd[f"{prefix}.conv.modulation.bias"]
        wt = weight[None] * s[:, None, :]  # [B, out, in]
        if demod:
            wt = wt * (wt.square().sum(2, keepdim=True) + 1e-8).rsqrt()
        return torch.einsum("boi,bihw->bohw", wt, h)

    def styled(prefix, h):
        return F.leaky_relu(mod(prefix, h) + sd[f"{prefix}.activate.bias"].view(1, -1, 1, 1), 0.2) * 2 ** 0.5

    h, rgb = styled("conv1", feat), 0
    for i in range(2):
        h = styled(f"linears.{2 * i + 1}", styled(f"linears.{2 * i}", h))
        rgb = rgb + mod(f"to_rgbs.{i}", h, demod=False) + sd[f"to_rgbs.{i}.bias"]
    return rgb


def official_d(seed):
    """rosinality D names from a project D's tensors (the same function: the parity tests pin it)."""
    torch.manual_seed(seed)
    _, D = build_networks(ARCH, resolution=RES, img_channels=3, num_classes=0)
    names = {"net.from_rgb.weight": "convs.0.0.weight", "net.from_rgb.bias": "convs.0.1.bias",
             "net.epilogue.conv.weight": "final_conv.0.weight", "net.epilogue.conv.bias": "final_conv.1.bias"}
    sd = {}
    for k, v in D.state_dict().items():
        p = k.split(".")
        if k in names:
            sd[names[k]] = v
        elif p[1] == "blocks":
            i = int(p[2]) + 1
            sd[{"conv0": f"convs.{i}.conv1.{0 if p[-1] == 'weight' else 1}", "skip": f"convs.{i}.skip.1",
                "conv1": f"convs.{i}.conv2.{1 if p[-1] == 'weight' else 2}"}[p[3]] + f".{p[-1]}"] = v
            sd[f"convs.{i}.conv2.0.kernel"] = sd[f"convs.{i}.skip.0.kernel"] = (
                torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64)
        else:
            sd[f"final_linear.{0 if p[2] == 'fc' else 1}.{p[-1]}"] = v
    return D, sd


def test_cips_pt_imports_and_matches_the_official_forward(tmp_path):
    g, g_ema = official_g(RES, 0), official_g(RES, 1)
    D_ref, d = official_d(2)
    path = tmp_path / "cips-000100.pt"
    g_optim = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))], lr=0.0016, betas=(0.0, 0.99 ** 0.8))
    g_optim.param_groups[0]["params"][0].grad = torch.ones(2)
    g_optim.step()  # a non-empty Adam state, as advimman/CIPS train.py saves next to the networks
    torch.save({"g": g, "d": d, "g_ema": g_ema, "g_optim": g_optim.state_dict(), "d_optim": g_optim.state_dict()},
               path)
    G, D, G_ema = import_networks(path, ARCH, resolution=RES, img_channels=3, num_classes=0)
    assert float(G.mapping.w_avg.abs().sum()) == 0.0  # CIPS keeps none
    z = torch.randn(3, 16)
    coords = grid(RES, RES, RES)[None].expand(3, -1, -1, -1)
    with torch.no_grad():
        for sd, net in ((g, G), (g_ema, G_ema)):
            ref = official_forward(sd, z, coords)
            out = net(z, noise_mode="none")
            assert out.shape == ref.shape == (3, 3, RES, RES)
            assert (out - ref).abs().max() < 1e-4 * ref.abs().max()
        x = torch.randn(4, 3, RES, RES)
        assert torch.allclose(D(x), D_ref(x), atol=1e-5)
