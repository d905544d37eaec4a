"""Tests of ganrepro.data: archive format, resumable stream, embedded generators, real preparers.

Everything is tiny and offline (fake real datasets are written into tmp dirs).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganrepro.data import (EMBEDDED, BatchStream, ImageDataset, batch_indices, digit_images, load_batch, make_embedded,
                           open_archive, prepare, write_archive, xflip_mask)
from ganrepro.data.archive import ArchiveWriter
from ganrepro.data.embedded import generate
from ganrepro.data.embedded.shapes import make_shapes
from ganrepro.data.embedded.stacked_digits import make_stacked_digits
from ganrepro.data.real.imagenet import prepare_imagenet_npz
from ganrepro.data.real.image_folder import prepare_image_folder
from ganrepro.data.real.torchvision_sets import load_cifar10, prepare_stackedmnist
from ganrepro.errors import DatasetError


def _images(n=12, c=3, r=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, c, r, r), dtype=np.uint8)


@pytest.fixture
def archive_dir(tmp_path):
    out = tmp_path / "smoke" / "toy8"
    write_archive(out, _images(), np.arange(12) % 4, dataset="toy8", source="test",
                  extra_arrays={"digit_labels": np.zeros((12, 3), np.int64)})
    return out


# ---------------------------------------------------------------- archive

@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("labelled", [True, False])
def test_archive_round_trip(tmp_path, channels, labelled):
    images = _images(c=channels)
    labels = np.arange(12) % 5 if labelled else None
    out = write_archive(tmp_path / "a", images, labels, dataset="a", source="test", standin_for="cifar10",
                        extra_arrays={"poses": np.ones((12, 4), np.float32)}, meta={"note": "x"})
    a = open_archive(out)
    np.testing.assert_array_equal(a.images, images)
    assert a.labels.dtype == np.int64
    np.testing.assert_array_equal(a.labels, labels if labelled else np.full(12, -1))
    assert (a.count, a.channels, a.resolution) == (12, channels, 8)
    assert a.num_classes == (5 if labelled else 0) and a.labelled == labelled
    np.testing.assert_array_equal(a["poses"], np.ones((12, 4), np.float32))
    m = json.loads((out / "manifest.json").read_text())
    assert m["standin_for"] == "cifar10" and m["meta"] == {"note": "x"} and "provenance" in m
    assert set(m["arrays"]) == {"images", "labels", "poses"}
    assert all(len(v["sha256"]) == 64 for v in m["arrays"].values())
    assert isinstance(a.images, np.memmap)  # memory-mapped, not loaded


def _flip_byte(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, file, words", [
    (lambda d: _flip_byte(d / "images.npy"), "images.npy", "sha256 mismatch"),
    (lambda d: _flip_byte(d / "digit_labels.npy"), "digit_labels.npy", "sha256 mismatch"),
    (lambda d: (d / "labels.npy").unlink(), "labels.npy", "missing"),
    (lambda d: (d / "manifest.json").write_text((d / "manifest.json").read_text()[:50]), "manifest.json",
     "not valid JSON"),
    (lambda d: (d / "manifest.json").unlink(), "manifest.json", "missing"),
    (lambda d: (d / "images.npy").write_bytes((d / "images.npy").read_bytes()[:300]), "images.npy", "truncated"),
    (lambda d: np.save(d / "labels.npy", np.zeros(5, np.int64)), "labels.npy", "shape"),
])
def test_archive_corruption_names_the_file(archive_dir, damage, file, words):
    damage(archive_dir)
    with pytest.raises(DatasetError) as err:
        open_archive(archive_dir, verify=True)
    msg = str(err.value)
    assert str(archive_dir / file) in msg and words in msg and "prepare-data" in msg


def test_archive_verify_false_skips_hashing_only(archive_dir):
    _flip_byte(archive_dir / "images.npy")
    open_archive(archive_dir, verify=False)  # same shape: only the hash could tell
    (archive_dir / "labels.npy").unlink()
    with pytest.raises(DatasetError, match="labels.npy"):
        open_archive(archive_dir, verify=False)


def test_missing_archive_says_how_to_prepare(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist; prepare it with `ganrepro prepare-data --dataset shapes32 --scale smoke`"):
        open_archive(tmp_path / "smoke" / "shapes32")


def test_failed_write_leaves_old_archive_and_no_debris(archive_dir):
    before = (archive_dir / "manifest.json").read_text()
    with pytest.raises(ValueError):  # extra array with the wrong number of rows: fails at commit
        write_archive(archive_dir, _images(), None, dataset="x", source="t", extra_arrays={"bad": np.zeros(3)})
    assert (archive_dir / "manifest.json").read_text() == before
    assert sorted(p.name for p in archive_dir.parent.iterdir()) == ["toy8"]
    open_archive(archive_dir)


def test_stale_staging_dir_of_dead_writer_is_removed(tmp_path):
    with ArchiveWriter(tmp_path / "x") as w:
        staging = w.staging
    dead = staging.with_name(staging.name.rsplit("-", 2)[0] + "-999999999-abcd")  # pid that cannot exist
    dead.mkdir()
    write_archive(tmp_path / "x", _images(), None, dataset="x", source="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


# ---------------------------------------------------------------- stream

def test_batch_indices_pure_and_seeded():
    a = batch_indices(50, 3, 17, 40)
    np.testing.assert_array_equal(a, batch_indices(50, 3, 17, 40))
    assert a.dtype == np.int64 and a.shape == (40,)
    assert not np.array_equal(a, batch_indices(50, 4, 17, 40))


@pytest.mark.parametrize("n, batch", [(37, 10), (8, 3), (5, 16)])
def test_each_epoch_visits_every_image_once(n, batch):
    stream = np.concatenate([batch_indices(n, 7, s, batch) for s in range(0, 5 * n, batch)])[: 5 * n]
    for e in range(5):
        assert sorted(stream[e * n:(e + 1) * n]) == list(range(n))
    assert not all(np.array_equal(stream[:n], stream[e * n:(e + 1) * n]) for e in range(1, 5))  # reshuffled


def test_resume_equals_continuous_stream():
    n, seed = 23, 11
    continuous = batch_indices(n, seed, 0, 200)
    resumed = np.concatenate([batch_indices(n, seed, 0, 6) for _ in [0]]
                             + [batch_indices(n, seed, s, 6) for s in range(6, 198, 6)])
    np.testing.assert_array_equal(resumed, continuous[:198])
    np.testing.assert_array_equal(batch_indices(n, seed, 97, 13), continuous[97:110])  # any split point
    flips = xflip_mask(seed, 0, 200)
    np.testing.assert_array_equal(np.concatenate([xflip_mask(seed, s, 8) for s in range(0, 200, 8)]), flips)
    assert 0.35 < flips.mean() < 0.65 and not np.array_equal(flips, xflip_mask(seed + 1, 0, 200))


def test_load_batch_range_flip_and_labels(archive_dir):
    a = open_archive(archive_dir)
    idx = np.array([3, 0, 3])
    x, y = load_batch(a, idx, "cpu")
    assert x.dtype == torch.float32 and x.shape == (3, 3, 8, 8)
    expect = torch.from_numpy(a.images[idx].astype(np.float32)) / 127.5 - 1
    torch.testing.assert_close(x, expect)
    assert y.tolist() == [3, 0, 3] and y.dtype == torch.int64
    xf, _ = load_batch(a, idx, "cpu", np.array([True, False, False]))
    torch.testing.assert_close(xf[0], x[0].flip(-1))
    torch.testing.assert_close(xf[1:], x[1:])
    ext = np.zeros((2, 1, 8, 8), np.uint8)
    ext[1] = 255
    b = open_archive(write_archive(archive_dir.parent / "ext", ext, None, dataset="e", source="t"))
    x, y = load_batch(b, np.array([0, 1]))
    assert x[0].eq(-1).all() and x[1].eq(1).all() and y.tolist() == [-1, -1]


def test_labels_must_match_num_classes(archive_dir, tmp_path):
    with pytest.raises(ValueError, match="num_classes is 0"):
        write_archive(tmp_path / "bad", _images(), np.zeros(12, np.int64), dataset="b", source="t", num_classes=0)
    m = json.loads((archive_dir / "manifest.json").read_text())
    m["num_classes"] = 2  # labels go up to 3
    (archive_dir / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DatasetError, match=r"labels\.npy: labels span \[0, 3\], outside \[0, 2\)"):
        open_archive(archive_dir)


def test_batch_stream_matches_functions(archive_dir):
    a = open_archive(archive_dir)
    stream = BatchStream(a, seed=4, batch_size=5, xflip=True)
    b = stream.batch(30)
    x, y = b["images"], b["labels"]
    ex, ey = load_batch(a, batch_indices(12, 4, 30, 5), "cpu", xflip_mask(4, 30, 5))
    torch.testing.assert_close(x, ex)
    assert y.tolist() == ey.tolist()


def test_batch_stream_carries_per_image_arrays_and_mirrors_them(tmp_path):
    poses = np.stack([np.arange(12, dtype=np.float32), np.full(12, 0.5, np.float32)], axis=1)  # yaw, pitch
    write_archive(tmp_path / "p", _images(), None, dataset="x", source="t", extra_arrays={"poses": poses})
    a = open_archive(tmp_path / "p")

    def negate_yaw(p):
        p = p.copy()
        p[:, 0] *= -1
        return p

    stream = BatchStream(a, seed=4, batch_size=5, xflip=True, arrays=("poses",), mirror={"poses": negate_yaw})
    b = stream.batch(30)
    idx, mask = batch_indices(12, 4, 30, 5), xflip_mask(4, 30, 5)
    assert mask.any() and not mask.all()  # the test sees both cases
    expected_yaw = np.where(mask, -poses[idx, 0], poses[idx, 0])
    assert b["poses"][:, 0].tolist() == expected_yaw.tolist()
    assert b["poses"][:, 1].tolist() == [0.5] * 5
    assert b["images"].shape[0] == b["poses"].shape[0] == 5


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_load_batch_on_cuda_matches_cpu(archive_dir):
    a = open_archive(archive_dir)
    idx, mask = batch_indices(12, 0, 5, 9), xflip_mask(0, 5, 9)
    x, y = load_batch(a, idx, "cuda", mask)
    cx, cy = load_batch(a, idx, "cpu", mask)
    assert x.is_cuda and y.is_cuda
    torch.testing.assert_close(x.cpu(), cx)
    assert y.cpu().tolist() == cy.tolist()


def test_image_dataset_mirroring(archive_dir):
    a = open_archive(archive_dir)
    plain, mirrored = ImageDataset(archive_dir), ImageDataset(a, xflip=True)
    assert len(plain) == 12 and len(mirrored) == 24
    img, lab = mirrored[12 + 5]
    torch.testing.assert_close(img, plain[5][0].flip(-1))
    assert lab == plain[5][1] == 1 and -1 <= img.min() and img.max() <= 1


# ---------------------------------------------------------------- embedded generators

def test_stacked_digits_labels_and_modes():
    g = make_stacked_digits(count=30_000, resolution=8, seed=0)
    digits = g.extra_arrays["digit_labels"]
    assert g.images.shape == (30_000, 3, 8, 8) and g.images.dtype == np.uint8 and g.num_classes == 1000
    np.testing.assert_array_equal(g.labels, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
    counts = np.bincount(g.labels, minlength=1000)
    assert (counts > 0).all() and counts.min() >= 8 and counts.max() <= 70  # mean 30
    bank, bank_labels = digit_images(8, "train")
    for i in range(20):  # each channel is a train digit of the recorded class
        for ch in range(3):
            match = np.flatnonzero((bank[:, 0] == g.images[i, ch]).all(axis=(1, 2)))
            assert len(match) and digits[i, ch] in bank_labels[match]
    np.testing.assert_array_equal(make_stacked_digits(count=50, resolution=8, seed=0).images, g.images[:50])
    assert make_stacked_digits(count=5, resolution=8, seed=0, num_classes=0).labels is None


def test_digit_splits_are_disjoint_halves():
    tr, ytr = digit_images(8, "train")
    ho, yho = digit_images(8, "holdout")
    assert len(tr) + len(ho) == 1797 and abs(len(tr) - len(ho)) <= 10
    assert set(ytr) == set(yho) == set(range(10))
    x16, _ = digit_images(16, "holdout")
    assert x16.shape == (len(ho), 1, 16, 16) and x16.dtype == np.uint8 and x16.max() > 200
    with pytest.raises(DatasetError, match="split"):
        digit_images(8, "test")


@pytest.mark.parametrize("resolution", [8, 16, 32])
@pytest.mark.parametrize("num_classes", [0, 3, 10])
def test_shapes_format(resolution, num_classes):
    g = make_shapes(count=40, resolution=resolution, seed=5, num_classes=num_classes)
    assert g.images.shape == (40, 3, resolution, resolution) and g.images.dtype == np.uint8
    assert g.images.std() > 20  # not blank
    shape_labels = g.extra_arrays["shape_labels"]
    if num_classes:
        np.testing.assert_array_equal(g.labels, shape_labels)
        assert g.labels.max() < num_classes and g.num_classes == num_classes
    else:
        assert g.labels is None and g.num_classes == 0 and shape_labels.max() < 10
    np.testing.assert_array_equal(g.images, make_shapes(count=40, resolution=resolution, seed=5,
                                                        num_classes=num_classes).images)
    assert not np.array_equal(g.images, make_shapes(count=40, resolution=resolution, seed=6,
                                                    num_classes=num_classes).images)


def test_shapes_classes_are_distinct_to_a_nearest_mean_classifier():
    train, test = make_shapes(count=3000, resolution=16, seed=1), make_shapes(count=1000, resolution=16, seed=2)
    x, xt = (g.images.reshape(len(g.images), -1).astype(np.float32) / 255 for g in (train, test))
    means = np.stack([x[train.labels == c].mean(0) for c in range(10)])
    pred = ((xt[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    assert (pred == test.labels).mean() > 0.3  # chance is 0.1; measured 0.40


def test_make_embedded_and_registry(tmp_path):
    from ganrepro.config.plugins import import_all_papers
    from ganrepro.standins import lookup, provider_module

    assert {"stacked_digits", "shapes"} <= set(EMBEDDED)  # the shared ones; the papers' register from their modules
    import_all_papers()
    for name in ("plants3d", "food3d", "heads3d", "cats3d", "rooms2d", "faces", "churches", "animals"):
        assert callable(lookup(name)) and provider_module(name).startswith("ganrepro.papers.")
    assert provider_module("shapes") is None
    a = open_archive(make_embedded("stacked_digits", tmp_path / "sd", resolution=16, count=64, seed=1,
                                   standin_for="stackedmnist"))
    assert a.manifest["standin_for"] == "stackedmnist" and a.num_classes == 1000
    assert a["digit_labels"].shape == (64, 3) and a.manifest["resize_filter"] == "bilinear"
    with pytest.raises(DatasetError, match="shapes"):
        generate("cubes", resolution=8, count=4, seed=0)


# ---------------------------------------------------------------- real preparers (on fake files)

def _png(color, size=(12, 9)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def _jpg(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), color).save(buf, format="JPEG")
    return buf.getvalue()


FILES = {"cat/a.png": _png((200, 0, 0)), "cat/b.jpg": _jpg((190, 10, 0)), "dog/c.PNG": _png((0, 0, 200)),
         "dog/d.png": _png((0, 10, 190), (9, 12)), "dog/notes.txt": b"ignored"}


def _make_folder(root: Path, files=FILES) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _make_zip(path: Path, files=FILES) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_image_folder_with_class_subfolders(tmp_path, kind):
    src = _make_folder(tmp_path / "raw") if kind == "folder" else _make_zip(tmp_path / "raw.zip")
    a = open_archive(prepare_image_folder(src, tmp_path / "out", resolution=8, resize_filter="box"))
    assert a.images.shape == (4, 3, 8, 8) and a.labels.tolist() == [0, 0, 1, 1] and a.num_classes == 2
    assert a.manifest["meta"]["class_names"] == ["cat", "dog"] and a.manifest["resize_filter"] == "box"
    assert a.images[0, 0].min() > 180 and a.images[3, 2].min() > 170  # red cat, blue dog; crop kept colours


def test_image_folder_and_zip_give_identical_archives(tmp_path):
    a = open_archive(prepare_image_folder(_make_folder(tmp_path / "raw"), tmp_path / "f", resolution=8))
    b = open_archive(prepare_image_folder(_make_zip(tmp_path / "raw.zip"), tmp_path / "z", resolution=8))
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_corrupt_image_is_named(tmp_path, kind):
    files = {**FILES, "dog/broken.png": _png((1, 2, 3))[:40]}
    src = _make_folder(tmp_path / "raw", files) if kind == "folder" else _make_zip(tmp_path / "raw.zip", files)
    with pytest.raises(DatasetError, match=r"dog/broken\.png: cannot decode image") as err:
        prepare_image_folder(src, tmp_path / "out", resolution=8)
    assert str(src) in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


def test_dataset_json_labels_and_unlabelled_flat_folder(tmp_path):
    files = {"0.png": _png((0, 0, 0)), "1.png": _png((255, 255, 255)),
             "dataset.json": json.dumps({"labels": [["0.png", 4], ["1.png", 2]]}).encode()}
    a = open_archive(prepare_image_folder(_make_zip(tmp_path / "sg.zip", files), tmp_path / "o", resolution=8))
    assert a.labels.tolist() == [4, 2] and a.num_classes == 5
    flat = {"x.png": _png((0, 0, 0)), "y.jpg": _jpg((9, 9, 9))}
    b = open_archive(prepare_image_folder(_make_folder(tmp_path / "flat", flat), tmp_path / "p", resolution=8,
                                          channels=1, crop="stretch"))
    assert b.labels.tolist() == [-1, -1] and b.images.shape == (2, 1, 8, 8)


def _fake_imagenet(root: Path, res=8, sizes=(5, 3)) -> tuple[np.ndarray, np.ndarray]:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    datas, labels = [], []
    for k, n in enumerate(sizes, start=1):
        data = rng.integers(0, 256, (n, 3 * res * res), dtype=np.uint8)
        lab = rng.integers(1, 1001, n)
        np.savez(root / f"train_data_batch_{k}.npz", data=data, labels=lab, mean=np.zeros(3 * res * res))
        datas.append(data)
        labels.append(lab)
    return np.concatenate(datas), np.concatenate(labels)


def test_imagenet_npz_layout(tmp_path):
    data, labels = _fake_imagenet(tmp_path / "Imagenet8_train_npz")
    a = open_archive(prepare_imagenet_npz(tmp_path / "Imagenet8_train_npz", tmp_path / "in8"))
    assert a.images.shape == (8, 3, 8, 8) and a.num_classes == 1000
    np.testing.assert_array_equal(a.labels, labels - 1)  # 1-based -> 0-based
    np.testing.assert_array_equal(a.images[6, 1], data[6, 64:128].reshape(8, 8))  # planar R, G, B
    b = open_archive(prepare_imagenet_npz(tmp_path / "Imagenet8_train_npz", tmp_path / "sub", count=4, seed=3,
                                          resolution=4))
    assert b.images.shape == (4, 3, 4, 4) and b.manifest["resize_filter"] == "box"
    with pytest.raises(DatasetError, match="train_data_batch_<k>.npz"):
        prepare_imagenet_npz(tmp_path, tmp_path / "none")


def test_cifar10_absent_offline_says_where_to_put_it(tmp_path):
    with pytest.raises(DatasetError, match=r"cifar-10-batches-py.*extract it into"):
        load_cifar10(tmp_path / "raw" / "cifar10")
    assert not (tmp_path / "raw" / "cifar10" / "cifar-10-python.tar.gz").exists()  # nothing downloaded


def test_cifar10_layout_via_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets

    class FakeCIFAR10:  # torchvision's md5 check rules out fake files; fake the class instead
        base_folder = "cifar-10-batches-py"

        def __init__(self, root, train, download):
            n = 6 if train else 2
            self.data = np.random.default_rng(int(train)).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            self.targets = list(range(n))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    x, y = load_cifar10(tmp_path / "cifar-10-batches-py", split="all")
    assert x.shape == (8, 3, 32, 32) and y.tolist() == [0, 1, 2, 3, 4, 5, 0, 1]
    np.testing.assert_array_equal(x[1], FakeCIFAR10("", True, False).data[1].transpose(2, 0, 1))
    a = open_archive(prepare({"source": "cifar10", "path": str(tmp_path), "resolution": 16, "num_classes": 10},
                             tmp_path / "c16"))
    assert a.images.shape == (6, 3, 16, 16) and a.num_classes == 10 and a.manifest["resize_filter"] == "lanczos"


def _write_idx(path: Path, arr: np.ndarray) -> None:
    code = 0x08  # unsigned byte
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def test_stackedmnist_from_fake_mnist(tmp_path):
    raw = tmp_path / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    digits = np.random.default_rng(0).integers(1, 256, (30, 28, 28))
    _write_idx(raw / "train-images-idx3-ubyte", digits)
    _write_idx(raw / "train-labels-idx1-ubyte", np.arange(30) % 10)
    a = open_archive(prepare_stackedmnist(tmp_path / "mnist", tmp_path / "sm", count=100, seed=1))
    assert a.images.shape == (100, 3, 32, 32) and a.num_classes == 1000
    d = a["digit_labels"]
    np.testing.assert_array_equal(a.labels, d @ np.array([100, 10, 1]))
    assert a.images[:, :, :2].max() == 0 and a.images[:, :, 2:30, 2:30].min() > 0  # 2-px zero padding
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte"):
        prepare({"source": "mnist", "path": str(tmp_path / "mnist"), "split": "test"}, tmp_path / "m")


# ---------------------------------------------------------------- prepare()

SPEC = {"source": "embedded", "generator": "shapes", "resolution": 8, "count": 30, "num_classes": 10,
        "seed": 0, "standin_for": "cifar10"}


def test_prepare_is_idempotent(tmp_path):
    out = tmp_path / "tiny" / "cifar10"
    prepare(SPEC, out)
    stamp = (out / "manifest.json").stat().st_ino, (out / "manifest.json").read_text()
    prepare(dict(SPEC, title="ignored", dataset=None), out)  # same identity: nothing rebuilt
    assert ((out / "manifest.json").stat().st_ino, (out / "manifest.json").read_text()) == stamp
    prepare(dict(SPEC, count=31), out)  # spec changed: rebuilt
    assert open_archive(out).count == 31
    _flip_byte(out / "images.npy")  # corrupt: rebuilt
    prepare(dict(SPEC, count=31), out)
    open_archive(out)


@pytest.mark.parametrize("spec, words", [
    ({"source": "ftp"}, "allowed sources: embedded, image_folder, zip, cifar10"),
    ({**SPEC, "colour": "red"}, "unknown keys ['colour']"),
    ({"source": "embedded", "generator": "shapes", "count": 3}, "needs 'resolution'"),
    ({"source": "zip", "path": "nowhere.zip", "resolution": 8}, "nowhere.zip: not found"),
    ({**SPEC, "generator": "stacked_digits", "num_classes": 7}, "1000"),
])
def test_prepare_rejects_bad_specs(tmp_path, spec, words):
    with pytest.raises(DatasetError) as err:
        prepare(spec, tmp_path / "x")
    assert words in str(err.value)


def test_prepare_real_folder_spec(tmp_path):
    spec = {"source": "image_folder", "path": str(_make_folder(tmp_path / "raw")), "resolution": 8, "count": 3}
    a = open_archive(prepare(spec, tmp_path / "o"))
    assert a.count == 3 and a.manifest["meta"]["spec"]["resize_filter"] == "lanczos"
    assert os.path.samefile(prepare(spec, tmp_path / "o"), tmp_path / "o")
