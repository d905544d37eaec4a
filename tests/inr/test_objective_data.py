"""The inr_multistage objective on the seam, the INR stand-ins, the LSUN LMDB reader."""

import numpy as np
import pytest
import torch

from ganrepro.data.archive import open_archive, write_archive
from ganrepro.papers.inr_multistage.standins import make_animals, make_churches, make_faces
from ganrepro.errors import ConfigError, DatasetError
from ganrepro.models.cips import family
from ganrepro.objectives import get_objective
from ganrepro.objectives.base import Nets, take

ARCH = {"family": "cips", "z_dim": 8, "w_dim": 16, "hidden": 8, "width": 16, "d_channel_base": 128,
        "d_channel_max": 16}


def _archive(tmp_path, res=32):
    out = make_churches(count=8, resolution=res, seed=0)
    return open_archive(write_archive(tmp_path / "church", out.images, None, dataset="church", source="test"))


def _nets(arch, archive):
    G, D = family.build(arch, resolution=archive.resolution, img_channels=3, num_classes=0)
    opt = {"G": torch.optim.Adam(G.parameters()), "D": torch.optim.Adam(D.parameters())}
    return Nets(G=G, D=D, G_ema=G, augment=torch.nn.Identity(), opt=opt)


def _cfg(inr, **extra):
    return {"experiment": "t", "seed": 0, "train": {"batch": 4}, "loss": {"reg_interval": 16, "inr": inr}, **extra}


SCHED = {"gamma": 10.0}


@pytest.mark.parametrize("scheme, stage, d_input", [("image", 1, "image"), ("patch", 1, "patch"),
                                                    ("multistage", 1, "patch")])
def test_objective_phases_run_and_backpropagate(tmp_path, scheme, stage, d_input):
    torch.manual_seed(0)
    archive = _archive(tmp_path)
    nets = _nets({**ARCH, "d_input": d_input}, archive)
    obj = get_objective("inr_multistage")(_cfg({"scheme": scheme, "stage": stage}), nets, archive, torch.device("cpu"))
    assert [p.name for p in obj.phases()] == ["D", "Dreg", "G"]
    batch = obj.make_batch(0, 0, {})
    assert batch["coords"].shape[-1] == obj.plan.patch and batch["reals"].shape[-1] == obj.plan.patch
    for phase in ("D", "Dreg", "G"):
        stats = obj.accumulate_gradients(phase, take(batch, slice(0, 2)), SCHED, 0.5)
        assert all(np.isfinite(v) for v in stats.values())
    assert obj.sample(nets.G, torch.randn(2, 8)).shape == (2, 3, 32, 32)


def test_multistage_stage2_loads_teacher_from_previous_network(tmp_path):
    torch.manual_seed(0)
    archive = _archive(tmp_path)
    prev = _nets({**ARCH, "d_input": "patch"}, archive)
    torch.save({"G": prev.G.state_dict(), "G_ema": prev.G.state_dict()}, tmp_path / "network.pt")
    nets = _nets({**ARCH, "d_input": "patch"}, archive)
    nets.G.load_state_dict(prev.G.state_dict())
    cfg = _cfg({"scheme": "multistage", "stage": 2, "teacher_noise": "none"},
               init_from={"network": str(tmp_path / "network.pt")})
    obj = get_objective("inr_multistage")(cfg, nets, archive, torch.device("cpu"))
    teacher = nets.extra["teacher"]
    assert not any(p.requires_grad for p in teacher.parameters())
    stats = obj.accumulate_gradients("G", obj.make_batch(0, 0, {}), {}, 1.0)
    assert stats["loss_patch"] == pytest.approx(0.0, abs=1e-5)  # student == teacher, noise strengths 0
    with pytest.raises(ConfigError):
        get_objective("inr_multistage")(_cfg({"scheme": "multistage", "stage": 2}), _nets(
            {**ARCH, "d_input": "patch"}, archive), archive, torch.device("cpu"))
    with pytest.raises(ConfigError):  # D built at the image size for a patch scheme
        get_objective("inr_multistage")(_cfg({"scheme": "patch"}), _nets(ARCH, archive), archive, torch.device("cpu"))


@pytest.mark.parametrize("make", [make_faces, make_churches, make_animals])
def test_standins_are_deterministic_detailed_images(make):
    a, b = make(count=6, resolution=32, seed=3), make(count=6, resolution=32, seed=3)
    assert a.images.shape == (6, 3, 32, 32) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images)
    assert not np.array_equal(a.images, make(count=6, resolution=32, seed=4).images)
    x = a.images.astype(np.float32)
    fine = np.abs(x - np.repeat(np.repeat(x[:, :, ::4, ::4], 4, 2), 4, 3)).mean()
    assert fine > 5  # detail below stage 1's 8x8 grid: what the dense stages learn


def test_animal_standin_keeps_afhq_classes_when_asked():
    out = make_animals(count=30, resolution=16, seed=0, num_classes=3)
    assert out.num_classes == 3 and set(out.labels.tolist()) == {0, 1, 2}
    with pytest.raises(DatasetError):
        make_faces(count=2, resolution=16, seed=0, num_classes=3)


def test_lsun_reader_errors_name_the_path(tmp_path):
    from ganrepro.data.real.lsun_lmdb import prepare_lsun_lmdb
    with pytest.raises(DatasetError, match="not found"):
        prepare_lsun_lmdb(tmp_path / "missing_lmdb", tmp_path / "out", resolution=16)
    (tmp_path / "empty_lmdb").mkdir()
    with pytest.raises(DatasetError, match="lmdb|data.mdb"):
        prepare_lsun_lmdb(tmp_path / "empty_lmdb", tmp_path / "out", resolution=16)


def test_lsun_reader_round_trip(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    import io

    from PIL import Image

    from ganrepro.data.real.lsun_lmdb import prepare_lsun_lmdb
    src = make_churches(count=5, resolution=24, seed=0).images
    env = lmdb.open(str(tmp_path / "church_lmdb"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i, img in enumerate(src):
            buf = io.BytesIO()
            Image.fromarray(img.transpose(1, 2, 0)).save(buf, format="PNG")
            txn.put(f"{i:04d}".encode(), buf.getvalue())
    env.close()
    out = open_archive(prepare_lsun_lmdb(tmp_path / "church_lmdb", tmp_path / "out", resolution=24, resize_filter="box"))
    assert out.count == 5 and np.array_equal(out["images"], src)
