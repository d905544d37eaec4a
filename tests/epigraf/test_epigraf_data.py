"""EpiGRAF data: ray-traced 3D stand-ins, camera-folder preparation, mirroring, Table 4 fits."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from ganrepro.data.archive import open_archive, write_archive
from ganrepro.papers.epigraf.standins3d import FAMILIES, make_objects3d
from ganrepro.papers.epigraf.rooms2d import make_rooms2d
from ganrepro.data.real.camera_folder import mirror_poses, prepare_camera_folder, read_camera_folder
from ganrepro.errors import DatasetError
from ganrepro.papers.epigraf.dataset_stats import fit_poses, table4_row


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_3d_standins_shapes_labels_poses(family):
    g = make_objects3d(family, count=12, resolution=16, seed=1)
    assert g.images.shape == (12, 3, 16, 16) and g.images.dtype == np.uint8
    poses = g.extra_arrays["poses"]
    assert poses.shape == (12, 3) and (poses[:, 2] == 0).all()
    assert ((poses[:, 1] > 0) & (poses[:, 1] < math.pi)).all()
    if FAMILIES[family][1]:
        assert g.labels.min() >= 0 and g.labels.max() < g.num_classes
    else:
        assert g.labels is None
    again = make_objects3d(family, count=12, resolution=16, seed=1)
    assert np.array_equal(again.images, g.images)  # deterministic per seed
    if FAMILIES[family][2] == "sphere360":  # white background at the border
        assert (g.images[:, :, 0, 0] == 255).all()


def test_3d_standin_is_view_consistent():
    """A z-symmetric head seen from yaw +a and -a (mirror cameras): the silhouettes are mirror images,
    and differ from the unmirrored other view (so the geometry really is 3D, not a flat sprite)."""
    from ganrepro.papers.epigraf.standins3d import _head, render_scenes
    scene = _head(np.random.default_rng(0), 0)
    poses = np.array([[0.4, math.pi / 2, 0], [-0.4, math.pi / 2, 0], [0.0, math.pi / 2, 0]], np.float32)
    blue = np.array([[0.0, 0.0, 1.0]] * 3)
    imgs = render_scenes([scene] * 3, poses, resolution=48, camera="frontal", background=blue)
    masks = (np.abs(imgs.astype(int) - np.array([0, 0, 255])[None, :, None, None]).sum(1) > 30).astype(float)
    assert 0.2 < masks[0].mean() < 0.9
    assert np.abs(masks[0] - masks[1][:, ::-1]).mean() < 0.01
    assert np.abs(masks[0] - masks[0][:, ::-1]).mean() > 0.02  # the turned view's silhouette is not symmetric
    assert np.abs(imgs[0].astype(int) - imgs[2].astype(int)).mean() > 5  # and the picture changes with the view


def test_rooms2d():
    g = make_rooms2d(count=5, resolution=16, seed=0)
    assert g.images.shape == (5, 3, 16, 16) and g.labels is None and g.images.std() > 10


def _folder(tmp_path, cams, labels=None, n=3):
    root = tmp_path / "faces"
    root.mkdir()
    for i in range(len(cams) if cams is not None else n):
        Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(root / f"img{i}.png")
    table = {"camera_angles": {f"img{i}.png": c for i, c in enumerate(cams)} if cams is not None else None}
    if labels is not None:
        table["labels"] = [[f"img{i}.png", lab] for i, lab in enumerate(labels)]
    (root / "dataset.json").write_text(json.dumps(table))
    return root


def test_camera_folder_reads_poses_and_labels(tmp_path):
    cams = [[0.1 * i, 1.5, 0.0] for i in range(4)]
    root = _folder(tmp_path, cams, labels=[0, 1, 0, 1])
    images, labels, poses = read_camera_folder(root, resolution=8)
    assert images.shape == (4, 3, 8, 8) and labels.tolist() == [0, 1, 0, 1]
    assert np.allclose(poses, np.array(cams, np.float32))
    out = prepare_camera_folder(root, tmp_path / "arch", resolution=8)
    arch = open_archive(out)
    assert np.allclose(arch["poses"], poses) and "poses" in arch.manifest["arrays"]
    assert "sha256" in arch.manifest["arrays"]["poses"]


@pytest.mark.parametrize("cams,needle", [(None, "camera_angles"), ([[0.2, 1.5, 0.0]] * 3, "same camera pose"),
                                         ([[0.1, 1.5, 0], [0.2, 1.5, 0]], "no entry")])
def test_camera_folder_refuses_missing_or_placeholder_poses(tmp_path, cams, needle):
    root = _folder(tmp_path, cams)
    if cams is not None and len(cams) == 2:  # one more image without an entry
        Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "extra.png")
    with pytest.raises(DatasetError, match=needle) as err:
        read_camera_folder(root, resolution=8)
    assert "dataset.json" in str(err.value)


def test_mirroring_negates_yaw_only():
    poses = np.array([[0.3, 1.4, 0.0], [-1.0, 2.0, 0.0]], np.float32)
    assert np.allclose(mirror_poses(poses), [[-0.3, 1.4, 0.0], [1.0, 2.0, 0.0]])
    assert np.allclose(poses[0], [0.3, 1.4, 0.0])  # input untouched


@pytest.mark.parametrize("kind", ["normal", "usphere"])
def test_table4_fitted_back_from_archives(tmp_path, kind):
    rng = np.random.default_rng(0)
    n = 3000
    if kind == "normal":
        yaw, pitch = rng.normal(0.0, 0.3, n), rng.normal(math.pi / 2, 0.2, n)
    else:
        yaw, pitch = rng.uniform(-math.pi, math.pi, n), np.arccos(1 - 2 * rng.uniform(0, 1, n))
    poses = np.stack([yaw, pitch, np.zeros(n)], 1).astype(np.float32)
    path = write_archive(tmp_path / kind, np.zeros((n, 3, 8, 8), np.uint8), None, dataset=kind, source="test",
                         extra_arrays={"poses": poses})
    row = table4_row(path)
    assert row["count"] == n and row["resolution"] == 8
    if kind == "normal":
        assert row["yaw_std"] == pytest.approx(0.3, abs=0.02) and row["pitch_std"] == pytest.approx(0.2, abs=0.02)
        assert abs(row["yaw_mean"]) < 0.02 and row["pitch_mean"] == pytest.approx(math.pi / 2, abs=0.02)
        assert row["yaw_distribution"].startswith("Normal(") and row["pitch_distribution"].startswith("Normal(1.5")
    else:
        assert row["yaw_distribution"] == "USphere(0, pi)" and row["pitch_distribution"] == "USphere(pi/2, pi/2)"


def test_table4_of_the_standins_matches_their_families():
    row = fit_poses(make_objects3d("heads3d", count=600, resolution=4, seed=0).extra_arrays["poses"])
    assert row["yaw_std"] == pytest.approx(0.3, abs=0.04) and row["pitch_std"] == pytest.approx(0.2, abs=0.03)
    row = fit_poses(make_objects3d("food3d", count=600, resolution=4, seed=0).extra_arrays["poses"])
    assert row["yaw_distribution"] == "USphere(0, pi)"
