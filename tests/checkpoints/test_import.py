"""Official-format checkpoints (built here, random weights) import into the project's networks, which then
compute what the official forward computes; malicious pickles are refused without running anything."""

from __future__ import annotations

import json
import math
import os
import pickle
import sys

import pytest
import torch
import torch.nn.functional as F

from ganrepro.checkpoints import CheckpointError, UnsafeCheckpointError, load_pickle
from ganrepro.checkpoints.importer import import_networks
from ganrepro.models import build_networks

from .officialfmt import dump_persistent, fake_modules, nest, r3gan_official_classes

torch.set_num_threads(1)
R3_WIDTHS = [16, 16, 8]  # 4x4, 8x8, 16x16


def r3gan_snapshot(tmp_path, seed=0, widths=R3_WIDTHS):
    torch.manual_seed(seed)
    with fake_modules("R3GAN", "R3GAN.Networks", "training", "training.networks") as mods:
        cls = r3gan_official_classes(mods["R3GAN.Networks"], mods["training.networks"])
        G = cls["G"](cls["R3G"](8, widths, 8, 2, 2)).eval()
        D = cls["D"](cls["R3D"](widths[::-1], 8, 2, 2)).eval()
        G_ema = cls["G"](cls["R3G"](8, widths, 8, 2, 2)).eval()
        path = tmp_path / "network-snapshot-000100.pkl"
        with open(path, "wb") as f:
            pickle.dump({"G": G, "D": D, "G_ema": G_ema, "augment_pipe": None, "progress": {"cur_nimg": 100}}, f)
    assert "R3GAN.Networks" not in sys.modules  # the loader cannot import the official classes
    return path, G, D, G_ema


R3_ARCH = {"family": "r3gan", "widths": R3_WIDTHS, "group_size": 8, "z_dim": 8}


def test_r3gan_plain_pickle_imports_and_matches_the_official_forward(tmp_path):
    path, G, D, G_ema = r3gan_snapshot(tmp_path)
    pG, pD, pG_ema = import_networks(path, R3_ARCH, resolution=16, img_channels=3, num_classes=0)
    z, x = torch.randn(5, 8), torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        for official, ours in ((G, pG), (G_ema, pG_ema)):
            ref, out = official(z), ours(z)
            assert out.shape == ref.shape == (5, 3, 16, 16)
            assert (out - ref).abs().max() < 1e-6 and ref.abs().mean() > 1e-3
        assert (pD(x) - D(x)).abs().max() < 1e-5
        assert not torch.allclose(pG(z), pG_ema(z))  # G and G_ema kept apart


def test_r3gan_wrong_widths_name_the_tensor(tmp_path):
    path, *_ = r3gan_snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=r"Model\.MainLayers\.0\.Layers\.0\.Basis.* expects \[32, 4, 4\]"):
        import_networks(path, {**R3_ARCH, "widths": [32, 16, 8]}, resolution=16, img_channels=3, num_classes=0)
    with pytest.raises(CheckpointError, match="holds no tensor for the project's"):
        import_networks(path, {**R3_ARCH, "widths": [16, 16, 8, 8]}, resolution=32, img_channels=3, num_classes=0)


# ----------------------------------------------------------------------------- stylegan2-ada (persistence)

SG2 = {"family": "stylegan2", "channel_base": 128, "channel_max": 16, "z_dim": 16, "w_dim": 16, "mapping_layers": 2,
       "mbstd_group": 2}


def official_sg2_names(state: dict, resolution: int, net: str) -> dict:
    """Project correlation-net state -> stylegan2-ada names (conv0 kernels flipped: it convolves)."""
    out = {}
    top = int(math.log2(resolution))
    for k, v in state.items():
        parts = k.split(".")
        if net == "G":
            if parts[0] == "mapping":
                k = f"mapping.fc{parts[2]}.{parts[3]}" if parts[1] == "layers" else k
            else:
                res = 2 ** (int(parts[2]) + 2)
                if parts[3] == "conv0" and parts[-1] == "weight" and parts[4] == "weight":
                    v = v.flip([2, 3])
                k = ".".join(["synthesis", f"b{res}"] + parts[3:])
        else:
            if parts[0] == "from_rgb":
                k = f"b{resolution}.fromrgb.{parts[1]}"
            elif parts[0] == "blocks":
                k = ".".join([f"b{2 ** (top - int(parts[1]))}"] + parts[2:])
            else:
                k = ".".join(["b4"] + parts[1:])
        out[k] = v
    filt = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64
    for res in (8, 16):
        out[f"{'synthesis.' if net == 'G' else ''}b{res}.resample_filter"] = filt
    return out


def test_stylegan2_persistence_pickle_imports_and_matches(tmp_path):
    torch.manual_seed(0)
    G_corr, D_ref = build_networks({**SG2, "up_conv": "correlation"}, resolution=16, img_channels=3, num_classes=0)
    for p in G_corr.parameters():  # noise strengths and biases away from their zero init
        p.data.add_(torch.randn_like(p) * 0.1)
    snap = {"G": nest(official_sg2_names(G_corr.state_dict(), 16, "G")),
            "D": nest(official_sg2_names(D_ref.state_dict(), 16, "D")),
            "G_ema": nest(official_sg2_names(G_corr.state_dict(), 16, "G")), "training_set_kwargs": {"resolution": 16}}
    path = tmp_path / "network-snapshot-000200.pkl"
    dump_persistent(snap, path)
    G, D, G_ema = import_networks(path, SG2, resolution=16, img_channels=3, num_classes=0)
    z = torch.randn(4, 16)
    G.eval(), G_corr.eval()
    with torch.no_grad():
        ref = G_corr(z, noise_mode="const")
        assert (G(z, noise_mode="const") - ref).abs().max() < 1e-5 and ref.abs().mean() > 1e-3
        x = torch.randn(4, 3, 16, 16)
        assert torch.allclose(D(x), D_ref(x), atol=1e-5)


def test_stylegan2_wrong_resolution_is_named(tmp_path):
    torch.manual_seed(0)
    G, D = build_networks(SG2, resolution=16, img_channels=3, num_classes=0)
    snap = {"G": nest(official_sg2_names(G.state_dict(), 16, "G")), "D": nest(official_sg2_names(D.state_dict(), 16, "D")),
            "G_ema": nest(official_sg2_names(G.state_dict(), 16, "G"))}
    path = tmp_path / "snap.pkl"
    dump_persistent(snap, path)
    with pytest.raises(CheckpointError, match=r"official tensor 'synthesis\.b(8|16)\..*(shape|does not have)"):
        import_networks(path, SG2, resolution=8, img_channels=3, num_classes=0)
    snap["D"] = nest({**official_sg2_names(D.state_dict(), 16, "D"), "b4.extra.weight": torch.ones(2)})
    dump_persistent(snap, path)
    with pytest.raises(CheckpointError, match=r"'b4\.extra\.weight' \[2\] has no place in the project network"):
        import_networks(path, SG2, resolution=16, img_channels=3, num_classes=0)


# ----------------------------------------------------------------------------- refusals


def test_a_reduce_to_an_arbitrary_callable_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G": Evil()}))
    with pytest.raises(UnsafeCheckpointError, match=r"call (posix|os|nt)\.system"):
        load_pickle(path)
    assert not marker.exists()


def test_persistence_source_is_kept_as_text_never_executed(tmp_path):
    marker = tmp_path / "ran"
    src = f"open({str(marker)!r}, 'w').write('x')\n"
    from .officialfmt import module_state, persistent

    path = tmp_path / "snap.pkl"
    dump_persistent({"G": persistent("Generator", module_state({"w": torch.ones(2)}), module_src=src)}, path)
    rec = load_pickle(path)["G"]
    assert rec.module_src == src and rec.qualname.endswith("Generator") and not marker.exists()


def test_torch_save_with_an_evil_object_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w')",))

    path = tmp_path / "ckpt.pt"
    torch.save({"g": {"w": torch.ones(1)}, "args": Evil()}, path)
    from ganrepro.checkpoints import load_torch

    with pytest.raises(UnsafeCheckpointError, match=r"(__builtin__|builtins)\.exec"):
        load_torch(path)
    assert not marker.exists()


def test_cli_writes_a_network_pt_that_loads_like_a_trained_one(tmp_path, monkeypatch):
    from ganrepro.cli import main
    from ganrepro.config import resolve_run
    from ganrepro.training.loop import load_generator

    cfg = resolve_run("r3gan", "t2-e-grouped", "tiny")
    widths = [16] * (int(math.log2(cfg["dataset"]["resolution"])) - 2) + [8]  # one stage per resolution >= 4
    path, G, _, G_ema = r3gan_snapshot(tmp_path, widths=widths)
    out = tmp_path / "network.pt"
    model = json.dumps({"widths": widths, "group_size": 8, "z_dim": 8, "expansion": 2.0, "blocks_per_stage": 2,
                        "c_embed_dim_d": None})
    assert main(["import-checkpoint", str(path), "--paper", "r3gan", "--experiment", "t2-e-grouped",
                 "--scale", "tiny", "--out", str(out), "--model", model]) == 0
    loaded, payload = load_generator(out)
    assert payload["provenance"]["imported_from"] == str(path) and len(payload["provenance"]["sha256"]) == 64
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert (loaded(z) - G_ema(z)).abs().max() < 1e-6
