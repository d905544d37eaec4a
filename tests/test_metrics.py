"""Metrics: StackedMNIST mode statistics, the pipeline-trained CNN extractor, FID/KID/PR via torch-fidelity.

Everything runs offline on tiny synthetic data (coloured squares vs discs, fixed-pattern "digits").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganrepro.errors import DatasetError, WeightsError
from ganrepro.metrics import (
    classify_stacked,
    compute_fidelity,
    compute_modes,
    count_tag,
    load_digit_classifier,
    load_feature_cnn,
    metric_names,
    mode_stats,
    resolve_inception_weights,
    train_digit_classifier,
    train_feature_extractor,
)
from ganrepro.metrics.weights import INCEPTION_WEIGHTS_FILE
from ganrepro.metrics.fidelity import UInt8Images

RES = 16


def shapes(n: int, *, seed: int, res: int = RES, kinds=(0, 1), dark: bool = False):
    """Coloured squares (0) and discs (1) on a dark background: uint8 [n, 3, res, res], labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:res, :res]
    imgs = np.zeros((n, 3, res, res), np.uint8)
    labels = np.zeros(n, np.int64)
    for i in range(n):
        k = int(kinds[rng.integers(len(kinds))])
        r = rng.uniform(res * 0.2, res * 0.35)
        cx, cy = rng.uniform(r, res - r, 2)
        mask = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r) if k == 0 else (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        col = rng.integers(20, 90, 3) if dark else rng.integers(80, 256, 3)
        imgs[i] = rng.integers(0, 30)
        for c in range(3):
            imgs[i, c][mask] = col[c]
        labels[i] = k
    return imgs, labels


@pytest.fixture(scope="session")
def cnn(tmp_path_factory):
    x, y = shapes(400, seed=0)
    path = tmp_path_factory.mktemp("cnn") / "cnn.pt"
    stats = train_feature_extractor(x, y, seed=0, epochs=6, out_path=path, dataset="shapes", width=8)
    return {"name": "cnn", "weights": str(path)}, stats


@pytest.fixture(scope="session")
def sets():
    real, _ = shapes(300, seed=1)
    fake_same, _ = shapes(300, seed=2)
    fake_other, _ = shapes(300, seed=3, kinds=(0,), dark=True)
    return real, fake_same, fake_other


# ---------------------------------------------------------------------------------------------
# StackedMNIST mode statistics


def test_reverse_kl_uniform_is_exactly_zero():
    st = mode_stats(np.arange(1000), 1000)
    assert st["modes"] == 1000 and st["reverse_kl"] == 0.0
    st = mode_stats(np.tile(np.arange(1000), 3), 1000)  # balanced, 3 per mode
    assert st["modes"] == 1000 and st["reverse_kl"] == 0.0


def test_reverse_kl_one_mode_and_two_modes():
    st = mode_stats(np.full(500, 417), 1000)
    assert st["modes"] == 1 and st["reverse_kl"] == pytest.approx(math.log(1000), abs=1e-12)
    st = mode_stats(np.array([3] * 50 + [999] * 50), 1000)
    assert st["modes"] == 2 and st["reverse_kl"] == pytest.approx(math.log(500), abs=1e-12)


def test_reverse_kl_formula_on_skewed_histogram():
    ids = np.array([0, 0, 0, 1])
    expected = 0.75 * math.log(0.75 * 1000) + 0.25 * math.log(0.25 * 1000)
    st = mode_stats(ids, 1000)
    assert st["modes"] == 2 and st["reverse_kl"] == pytest.approx(expected, rel=1e-12)


def test_mode_count_constructed_sets():
    assert mode_stats([1, 1, 5, 999], 1000)["modes"] == 3
    assert mode_stats(np.arange(0, 1000, 2), 1000)["modes"] == 500
    assert mode_stats([7], 10) == {"modes": 1, "reverse_kl": pytest.approx(math.log(10)), "num_samples": 1,
                                   "num_modes": 10}
    with pytest.raises(ValueError):
        mode_stats([1000], 1000)


def _digit(d: int, res: int = 8) -> np.ndarray:
    """A 'digit' image whose intensity encodes its label."""
    return np.full((1, res, res), 20 * d + 10, np.uint8)


def _stub_classifier(x: torch.Tensor) -> torch.Tensor:
    assert x.dtype == torch.uint8 and x.shape[1] == 1
    return ((x[:, 0].float().mean(dim=(1, 2)) - 10) / 20).round().long()


def test_classify_stacked_with_stub_classifier():
    rng = np.random.default_rng(0)
    triples = rng.integers(0, 10, size=(64, 3))
    imgs = np.stack([np.concatenate([_digit(d) for d in t]) for t in triples])
    ids = classify_stacked(_stub_classifier, imgs, batch_size=10)
    np.testing.assert_array_equal(ids, 100 * triples[:, 0] + 10 * triples[:, 1] + triples[:, 2])
    # a logits-returning callable works too
    logits = lambda x: torch.nn.functional.one_hot(_stub_classifier(x), 10).float()  # noqa: E731
    np.testing.assert_array_equal(classify_stacked(logits, imgs), ids)
    entries = compute_modes(imgs, _stub_classifier, tag="stub")
    assert entries["modes64-stub"]["value"] == len(set(ids.tolist()))
    assert set(entries) == {"modes64-stub", "reverse_kl64-stub"}


def _pattern_digits(n: int, seed: int, res: int = 8):
    patterns = np.random.default_rng(123).random((10, res, res)) > 0.5
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    noise = rng.integers(0, 60, (n, res, res))
    imgs = (patterns[labels] * 190 + noise).astype(np.uint8)[:, None]
    return imgs, labels


def test_digit_classifier_train_and_classify_stacked(tmp_path):
    x, y = _pattern_digits(400, seed=0)
    st = train_digit_classifier(x, y, seed=0, epochs=3, out_path=tmp_path / "digits.pt", width=8)
    assert st["heldout_accuracy"] > 0.9 and st["resolution"] == 8
    clf = load_digit_classifier(tmp_path / "digits.pt")
    assert clf.meta["heldout_accuracy"] == st["heldout_accuracy"]
    xs, ys = _pattern_digits(3 * 200, seed=1)
    stacked = xs[:, 0].reshape(200, 3, 8, 8)
    truth = ys.reshape(200, 3) @ np.array([100, 10, 1])
    assert (classify_stacked(clf, stacked) == truth).mean() > 0.9
    # deterministic for a seed
    a = train_digit_classifier(x[:100], y[:100], seed=0, epochs=1, out_path=tmp_path / "a.pt", width=4)
    b = train_digit_classifier(x[:100], y[:100], seed=0, epochs=1, out_path=tmp_path / "b.pt", width=4)
    sa, sb = load_digit_classifier(tmp_path / "a.pt").state_dict(), load_digit_classifier(tmp_path / "b.pt").state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa) and a["train"]["loss_per_epoch"] == b["train"]["loss_per_epoch"]


# ---------------------------------------------------------------------------------------------
# the pipeline's own CNN feature extractor


def test_extractor_training_stats_and_checkpoint(cnn):
    spec, stats = cnn
    assert stats["heldout_accuracy"] >= 0.85  # 2 classes, 6 epochs of 360 images
    assert stats["resolution"] == RES and stats["tag"] == "shapes_cnn" and stats["num_classes"] == 2
    model, meta = load_feature_cnn(spec["weights"])
    assert meta["heldout_accuracy"] == stats["heldout_accuracy"] and "provenance" in meta
    x, _ = shapes(4, seed=9)
    feats = model.features(model.prepare(torch.from_numpy(x)))
    assert feats["penultimate"].shape == (4, 128) and feats["logits"].shape == (4, 2)
    # the feature scale is calibrated: penultimate features have RMS 1 over the training images
    assert meta["train"]["feature_scale"] == pytest.approx(float(model.feature_scale))
    x_train, _ = shapes(400, seed=0)
    with torch.no_grad():
        pen = model.features(model.prepare(torch.from_numpy(x_train)))["penultimate"].double()
    assert pen.square().mean().sqrt().item() == pytest.approx(1.0, abs=1e-4)
    # resized / grayscale inputs are accepted consistently (1 -> 3 channels, resize to training res)
    gray = torch.from_numpy(x[:, :1])
    f_gray = model.features(model.prepare(gray))["penultimate"]
    f_rgb = model.features(model.prepare(gray.expand(-1, 3, -1, -1)))["penultimate"]
    torch.testing.assert_close(f_gray, f_rgb)
    big = torch.from_numpy(np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))
    assert model.features(model.prepare(big))["penultimate"].shape == (4, 128)


def test_extractor_training_is_deterministic(tmp_path):
    x, y = shapes(120, seed=5)
    a = train_feature_extractor(x, y, seed=3, epochs=1, out_path=tmp_path / "a.pt", width=4)
    b = train_feature_extractor(x, y, seed=3, epochs=1, out_path=tmp_path / "b.pt", width=4)
    c = train_feature_extractor(x, y, seed=4, epochs=1, out_path=tmp_path / "c.pt", width=4)
    sa, sb, sc = (load_feature_cnn(tmp_path / f"{k}.pt")[0].state_dict() for k in "abc")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert a["train"]["loss_per_epoch"] == b["train"]["loss_per_epoch"]


def test_extractor_needs_labels(tmp_path):
    x, _ = shapes(10, seed=0)
    with pytest.raises(DatasetError, match="labels"):
        train_feature_extractor(x, np.full(10, -1), seed=0, epochs=1, out_path=tmp_path / "x.pt")


# ---------------------------------------------------------------------------------------------
# FID / KID / precision-recall through torch-fidelity


def test_metric_names():
    assert count_tag(2000) == "2k" and count_tag(50000) == "50k" and count_tag(1500) == "1500"
    assert metric_names("fid", num_fake=2000, tag="shapes_cnn") == ["fid2k_full-shapes_cnn"]
    assert metric_names("kid", num_fake=50000, tag="inception", num_real=70000, real_total=70000) == [
        "kid50k_full-inception"]
    assert metric_names("fid", num_fake=2000, tag="t", num_real=5000, real_total=10000) == ["fid2k_r5k-t"]
    assert metric_names("pr", num_fake=200, tag="t") == ["precision200_k3-t", "recall200_k3-t"]


def test_fid_self_zero_other_positive_symmetric(cnn, sets, tmp_path):
    spec, _ = cnn
    real, fake_same, fake_other = sets
    kw = dict(extractor=spec, metrics=("fid",), cache_dir=tmp_path, seed=0)
    self_fid = compute_fidelity(real, real, **kw)["fid300_full-shapes_cnn"]
    same = compute_fidelity(fake_same, real, **kw)["fid300_full-shapes_cnn"]["value"]
    other = compute_fidelity(fake_other, real, **kw)["fid300_full-shapes_cnn"]["value"]
    other_rev = compute_fidelity(real, fake_other, **kw)["fid300_full-shapes_cnn"]["value"]
    assert abs(self_fid["value"]) < 1e-3
    assert other > 10 * max(same, 1e-6) and other > 1e-3
    assert other_rev == pytest.approx(other, rel=1e-3)
    e = self_fid
    assert e["num_fake"] == e["num_real"] == 300 and e["seed"] == 0 and e["extractor"]["name"] == "ganrepro-cnn"
    assert e["extractor"]["layer"] == "penultimate" and "provenance" in e


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) in float64, with tr (S1 S2)^(1/2) taken as the trace
    of the PSD root of S1^(1/2) S2 S1^(1/2) (symmetric eigendecompositions: robust for singular S)."""

    def psd_sqrt(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    r1 = psd_sqrt(sigma1)
    tr_covmean = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ sigma2 @ r1), 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def test_frechet_reference_matches_gaussian_closed_form():
    # Commuting covariances: FID = ||mu1 - mu2||^2 + sum_i (s1_i - s2_i)^2 for N(mu, diag(s^2)).
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2)) == pytest.approx(want, rel=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))  # a common rotation leaves the distance unchanged
    got = frechet_distance(q @ mu1, q @ np.diag(s1**2) @ q.T, q @ mu2, q @ np.diag(s2**2) @ q.T)
    assert got == pytest.approx(want, rel=1e-6)
    assert frechet_distance(mu1, np.diag(s1**2), mu1, np.diag(s1**2)) == pytest.approx(0.0, abs=1e-9)


def test_fid_equals_frechet_distance_of_the_extractor_features(cnn, sets, tmp_path):
    # The pipeline's FID is the Frechet distance between Gaussians fitted (mean, unbiased covariance) to
    # the extractor's penultimate features of each set, computed here independently of torch-fidelity.
    spec, _ = cnn
    real, _, fake_other = sets
    model, _ = load_feature_cnn(spec["weights"])

    def stats(images):
        with torch.no_grad():
            f = model.features(model.prepare(torch.from_numpy(images)))["penultimate"].double().numpy()
        return f.mean(0), np.cov(f, rowvar=False)

    want = frechet_distance(*stats(fake_other), *stats(real))
    got = compute_fidelity(fake_other, real, extractor=spec, metrics=("fid",), cache_dir=tmp_path)
    assert want > 1.0
    assert got["fid300_full-shapes_cnn"]["value"] == pytest.approx(want, rel=1e-4)


def test_kid_and_precision_recall(cnn, sets, tmp_path):
    spec, _ = cnn
    real, fake_same, _ = sets
    out = compute_fidelity(fake_same[:200], real, extractor=spec, cache_dir=tmp_path, seed=1, kid_subsets=20)
    assert set(out) == {"fid200_full-shapes_cnn", "kid200_full-shapes_cnn", "precision200_k3-shapes_cnn",
                        "recall200_k3-shapes_cnn"}
    kid = out["kid200_full-shapes_cnn"]["protocol"]
    assert kid["subset_size"] == 200 and kid["subsets"] == 20  # subset size adapted to the sample count
    p, r = out["precision200_k3-shapes_cnn"]["value"], out["recall200_k3-shapes_cnn"]["value"]
    assert 0.0 <= p <= 1.0 and 0.0 <= r <= 1.0 and r > 0.3
    collapsed = np.repeat(fake_same[:1], 200, axis=0)  # mode collapse: one image, 200 times
    out_c = compute_fidelity(collapsed, real, extractor=spec, metrics=("pr", "kid"), cache_dir=tmp_path, seed=1,
                             kid_subsets=20)
    r_c = out_c["recall200_k3-shapes_cnn"]["value"]
    assert 0.0 <= r_c < 0.05 and r_c < r
    assert out_c["kid200_full-shapes_cnn"]["value"] > out["kid200_full-shapes_cnn"]["value"]
    small = compute_fidelity(fake_same[:50], real, extractor=spec, metrics=("kid",), cache_dir=tmp_path, kid_subsets=5)
    assert small["kid50_full-shapes_cnn"]["protocol"]["subset_size"] == 50


def test_real_statistics_cache(cnn, sets, tmp_path, monkeypatch):
    spec, _ = cnn
    real, fake_same, _ = sets
    fetched = []
    getitem = UInt8Images.__getitem__
    monkeypatch.setattr(UInt8Images, "__getitem__", lambda self, i: fetched.append(i) or getitem(self, i))
    kw = dict(extractor=spec, metrics=("fid", "kid", "pr"), cache_dir=tmp_path / "cache", seed=0, kid_subsets=10)
    first = compute_fidelity(fake_same, real, **kw)
    n_first = len(fetched)
    second = compute_fidelity(fake_same, real, **kw)
    n_second = len(fetched) - n_first
    e1, e2 = first["fid300_full-shapes_cnn"], second["fid300_full-shapes_cnn"]
    assert not e1["cache"]["hit"] and e2["cache"]["hit"]
    assert {k: v["value"] for k, v in first.items()} == {k: v["value"] for k, v in second.items()}
    name = e1["cache"]["name"]
    assert name.startswith("real-array-16px-n300-shapes_cnn-")
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert f"{name}.json" in files and any(f.startswith(name) and f.endswith(".pt") for f in files)
    assert n_first >= 600 and 300 <= n_second <= 301  # the hit reads the 300 fakes, no real image
    # a different real count (seeded subset) is a different cache entry and a different metric name
    sub = compute_fidelity(fake_same, real, num_real=200, **kw)
    e3 = sub["fid300_r200-shapes_cnn"]
    assert e3["cache"]["name"] != name and "-n200-" in e3["cache"]["name"] and not e3["cache"]["hit"]
    assert e3["num_real"] == 200 and e3["real_total"] == 300 and "precision300_k3_r200-shapes_cnn" in sub


def test_archive_input(cnn, sets, tmp_path):
    write_archive = pytest.importorskip("ganrepro.data.archive").write_archive
    spec, _ = cnn
    real, fake_same, _ = sets
    arch = write_archive(tmp_path / "shapes16", real, np.zeros(len(real), np.int64), dataset="shapes16", source="test")
    a = compute_fidelity(fake_same, arch, extractor=spec, metrics=("fid",), cache_dir=tmp_path / "c")
    b = compute_fidelity(fake_same, real, extractor=spec, metrics=("fid",), cache_dir=tmp_path / "c")
    (ea,), (eb,) = a.values(), b.values()
    assert ea["value"] == pytest.approx(eb["value"], rel=1e-6)
    assert ea["real_dataset"] == "shapes16" and ea["real_identity"].startswith("npy-sha256:")
    assert ea["cache"]["name"].startswith("real-shapes16-16px-n300-")


def test_grayscale_and_num_fake(cnn, tmp_path):
    spec, _ = cnn
    x, _ = shapes(120, seed=7)
    gray = x.mean(axis=1, keepdims=True).astype(np.uint8)
    out = compute_fidelity(gray, np.repeat(gray, 3, axis=1), extractor=spec, metrics=("fid",), num_fake=100,
                           cache_dir=tmp_path)
    assert list(out) == ["fid100_full-shapes_cnn"]  # 1 -> 3 channels by repetition on both sides
    assert out["fid100_full-shapes_cnn"]["num_fake"] == 100
    with pytest.raises(DatasetError):
        compute_fidelity(gray, gray, extractor=spec, metrics=("fid",), num_fake=500, cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------
# Inception weights (never downloaded)


def test_missing_inception_weights_names_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    expected = tmp_path / "th" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    with pytest.raises(WeightsError) as err:
        resolve_inception_weights()
    assert str(expected) in str(err.value) and "https://" in str(err.value)
    x = np.zeros((8, 3, 8, 8), np.uint8)
    with pytest.raises(WeightsError, match=INCEPTION_WEIGHTS_FILE):
        compute_fidelity(x, x, extractor={"name": "inception"}, metrics=("fid",), cache_dir=tmp_path / "c")
    with pytest.raises(WeightsError, match="nowhere.pth"):
        resolve_inception_weights(tmp_path / "nowhere.pth")
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"not inception")
    with pytest.raises(WeightsError, match="sha256"):
        resolve_inception_weights(bogus)


def test_cnn_extractor_needs_checkpoint(tmp_path):
    x = np.zeros((8, 3, 8, 8), np.uint8)
    with pytest.raises(WeightsError, match="not found"):
        compute_fidelity(x, x, extractor={"name": "cnn", "weights": tmp_path / "none.pt"}, cache_dir=tmp_path)
