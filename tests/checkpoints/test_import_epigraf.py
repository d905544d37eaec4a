"""An EpiGRAF persistence pickle (G, D, G_ema under the official names of universome/epigraf
``networks_epigraf.py`` / ``networks_discriminator.py``) imports into the epigraf family. The parts only the
import maps (tri-plane MLP, hypernetwork, its per-block affines) are checked against a direct computation
from the official tensors; the rest against the project network the names were written from."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganrepro.checkpoints import CheckpointError
from ganrepro.checkpoints.importer import import_networks
from ganrepro.models import build_networks

from .officialfmt import dump_persistent, nest

torch.set_num_threads(1)
RES = 16
ARCH = {"family": "epigraf", "z_dim": 16, "w_dim": 16, "plane_resolution": 16, "feat_dim": 4, "g_channel_base": 256,
        "g_channel_max": 16, "mlp_hidden": 8, "n_coarse": 4, "n_fine": 4, "d_channel_base": 128,
        "d_channel_max": 16, "hyper_dim": 16, "const_emb_dim": 8, "patch_resolution": 8}
FILT = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64
BUFFERS = ("resample_filter", "w_avg", "noise_const", "fourier_coefs")


def official_freqs(max_x: float) -> torch.Tensor:
    """layers.py ``construct_log_spaced_freqs``: 2^k pi / 2^ceil(log2 max_x), k < ceil(log2 of that)."""
    period = 2.0 ** math.ceil(math.log2(max_x))
    return (2.0 ** torch.arange(int(math.ceil(math.log2(period))))) * math.pi / period


def official_g(G) -> dict:
    out = {}
    for k, v in G.state_dict().items():
        p = k.split(".")
        if p[0] == "mapping":
            k = f"mapping.fc{p[2]}.{p[3]}" if p[1] == "layers" else k
        elif p[0] == "decoder":
            k = f"synthesis.tri_plane_mlp.model.{p[1][2:]}.{p[2]}"
        else:
            block = G.synthesis.blocks[int(p[2])]
            if p[3] == "conv0" and p[4] == "weight" and not block.conv0.true_convolution:
                v = v.flip([2, 3])  # the official upsampling conv convolves
            k = ".".join(["synthesis.tri_plane_decoder", f"b{2 ** (int(p[2]) + 2)}"] + p[3:])
        out[k] = v
    for res in (4, 8, 16):
        b = f"synthesis.tri_plane_decoder.b{res}"
        out[f"{b}.resample_filter"] = out[f"{b}.conv1.resample_filter"] = FILT
        if res > 4:
            out[f"{b}.conv0.resample_filter"] = FILT
    return out


def official_d(D) -> dict:
    top = int(math.log2(RES))
    ren = {"patch_enc": "scalar_enc", "hyper": "hyper_mod_mapping", "head": "head_mapping", "epilogue": "b4"}
    out = {}
    for k, v in D.state_dict().items():
        p = k.split(".")
        if p[0] in ("hyper", "head") and p[1] == "layers":
            k = f"{ren[p[0]]}.fc{p[2]}.{p[3]}"
        elif p[0] == "from_rgb":
            k = f"b{RES}.fromrgb.{p[1]}"
        elif p[0] == "blocks":
            b = f"b{2 ** (top - int(p[1]))}"
            k = f"{b}.conv1.affine.{p[3]}" if p[2] == "affine" else ".".join([b] + p[2:])
        else:
            k = ".".join([ren[p[0]]] + p[1:])
        out[k] = v
    out["scalar_enc.fourier_encoder.fourier_coefs"] = official_freqs(1000.0)
    out["b8.fromrgb.weight"], out["b8.fromrgb.bias"] = torch.randn(16, 3, 1, 1) * 9, torch.randn(16)  # unused
    for name in ("b16", "b8"):
        for layer in ("", ".fromrgb", ".conv0", ".conv1", ".skip"):
            out[f"{name}{layer}.resample_filter"] = FILT
    out["b4.conv.resample_filter"] = FILT
    return out


def fc(sd, name, x, lr=1.0, act=False):
    """Official FullyConnectedLayer: weight x lr / sqrt(in), bias x lr, lrelu(0.2) x sqrt(2)."""
    w = sd[f"{name}.weight"]
    y = x @ (w * lr / math.sqrt(w.shape[1])).t() + sd[f"{name}.bias"] * lr
    return F.leaky_relu(y, 0.2) * math.sqrt(2) if act else y


def official_hyper_code(sd, patch):
    """scalar_enc (per scalar: sin, cos of 1000 x x freqs, const_embed[round(1000 x)]) -> hyper_mod_mapping."""
    x = patch * 1000.0
    raw = x[..., None] * sd["scalar_enc.fourier_encoder.fourier_coefs"]
    enc = torch.cat([raw.sin(), raw.cos(), sd["scalar_enc.const_embed.weight"][x.round().long()]], 2).flatten(1)
    h = fc(sd, "hyper_mod_mapping.embed", enc)
    h = h * (h.square().mean(1, keepdim=True) + 1e-8).rsqrt()
    return fc(sd, "hyper_mod_mapping.fc1", fc(sd, "hyper_mod_mapping.fc0", h, 0.01, True), 0.01, True)


def snapshot(tmp_path, seed=0, arch=ARCH):
    torch.manual_seed(seed)
    G, D = build_networks(arch, resolution=RES, img_channels=3, num_classes=0)
    for p in list(G.parameters()) + list(D.parameters()):  # biases, noise strengths off their init
        p.data.add_(torch.randn_like(p) * 0.1)
    snap = {"G": nest(official_g(G), buffers=BUFFERS), "D": nest(official_d(D), buffers=BUFFERS),
            "G_ema": nest(official_g(G), buffers=BUFFERS), "augment_pipe": None}
    path = tmp_path / "network-snapshot-epigraf.pkl"
    dump_persistent(snap, path)
    return path, G.eval(), D.eval()


def cams(n):
    return torch.stack([torch.linspace(-0.4, 0.4, n), torch.full((n,), math.pi / 2), torch.zeros(n)], 1)


def test_epigraf_pickle_imports_and_matches_the_official_computation(tmp_path):
    path, G_ref, D_ref = snapshot(tmp_path)
    G, D, G_ema = import_networks(path, ARCH, resolution=RES, img_channels=3, num_classes=0)
    G.eval(), D.eval()
    sd_g, sd_d = official_g(G_ref), official_d(D_ref)
    z, patch = torch.randn(3, 16), torch.tensor([[0.5, 0.1, 0.4], [1.0, 0.0, 0.0], [0.75, 0.2, 0.05]])
    with torch.no_grad():
        feats = torch.randn(2, 50, 4)  # averaged tri-plane features -> RGB + density (tri_plane_mlp)
        ref = fc(sd_g, "synthesis.tri_plane_mlp.model.1", fc(sd_g, "synthesis.tri_plane_mlp.model.0", feats, act=True))
        assert (G.decoder(feats) - ref).abs().max() < 1e-5 and ref.shape == (2, 50, 4)
        img, img_ref = (g.render_full(z, None, cams(3), perturb=False) for g in (G_ema, G_ref))
        assert img.shape == (3, 3, RES, RES) and (img - img_ref).abs().max() < 1e-5 and img_ref.abs().mean() > 1e-3
        p = official_hyper_code(sd_d, patch)
        assert (D.patch_code(patch) - p).abs().max() < 1e-5
        for k, (sigma, res) in enumerate(zip(D.modulations(patch), (16, 8))):
            assert (sigma - (1 + torch.tanh(fc(sd_d, f"b{res}.conv1.affine", p)))).abs().max() < 1e-5
        x = torch.randn(3, 3, 8, 8)
        out, out_ref = D(x, None, patch), D_ref(x, None, patch)
        assert out.shape == (3,) and (out - out_ref).abs().max() < 1e-5


def test_epigraf_mismatches_are_named(tmp_path):
    path, _, _ = snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=r"'synthesis\.tri_plane_decoder\.b4\.const' has shape"):
        import_networks(path, {**ARCH, "g_channel_max": 8}, resolution=RES, img_channels=3, num_classes=0)
    with pytest.raises(CheckpointError, match="d_variant multi, not in the official code"):
        import_networks(path, {**ARCH, "d_variant": "multi", "num_discriminators": 2}, resolution=RES,
                        img_channels=3, num_classes=0)
    with pytest.raises(CheckpointError, match=r"'synthesis\.tri_plane_mlp\.model\.0\.weight' has shape"):
        import_networks(path, {**ARCH, "mlp_hidden": 16}, resolution=RES, img_channels=3, num_classes=0)
