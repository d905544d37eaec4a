"""FID noise: the bootstrap interval over evaluation samples (metrics/bootstrap.py) and the FID point value
through metrics/fidelity_features.py, which must be torch-fidelity's ``calculate_metrics`` number exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ganrepro.metrics import compute_fidelity
from ganrepro.metrics.bootstrap import bootstrap_fid
from ganrepro.metrics.fidelity import UInt8Images
from test_metrics import cnn, sets, shapes  # noqa: F401 (fixtures)

SHIFT = np.array([1.0, 0.0, 0.0, 0.0])
SCALE = np.array([1.0, 1.0, 2.0, 0.5])
FID_TRUE = float(SHIFT @ SHIFT + np.sum((1.0 - SCALE) ** 2))  # N(0, I) vs N(SHIFT, diag(SCALE^2)): 2.25


def gaussians(n_fake: int, n_real: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_fake, 4)), SHIFT + SCALE * rng.normal(size=(n_real, 4))


def test_interval_contains_the_point_and_the_true_fid_and_shrinks_with_more_samples():
    widths = []
    for n in (300, 3000):
        fake, real = gaussians(n, 2 * n)
        point = float(np.sum((fake.mean(0) - real.mean(0)) ** 2))  # the sample FID, for the containment check
        cov_f, cov_r = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
        w, v = np.linalg.eigh(cov_f)
        root = (v * np.sqrt(w)) @ v.T
        point += np.trace(cov_f) + np.trace(cov_r) - 2 * np.sum(np.sqrt(np.linalg.eigvalsh(root @ cov_r @ root)))
        out = bootstrap_fid(fake, real, B=200, seed=1)
        lo, hi = out["ci95"]
        assert lo < point < hi and lo < FID_TRUE < hi, (n, lo, point, FID_TRUE, hi)
        assert out["bias"] > 0  # resampling with replacement inflates FID; the interval is moved back by it
        assert out["bootstrap"]["B"] == 200 and out["bootstrap"]["seed"] == 1 and out["std"] > 0
        widths.append(hi - lo)
    assert widths[1] < 0.5 * widths[0]  # ~ 1/sqrt(n): 10x the samples, ~3x narrower


def test_bootstrap_is_deterministic_for_a_seed():
    fake, real = gaussians(200, 300)
    a, b = bootstrap_fid(fake, real, B=50, seed=3), bootstrap_fid(fake, real, B=50, seed=3)
    c = bootstrap_fid(fake, real, B=50, seed=4)
    assert a["ci95"] == b["ci95"] and a["std"] == b["std"] and a["ci95"] != c["ci95"]


def test_identical_sets_have_a_tight_interval_at_zero():
    fake, _ = gaussians(400, 1)
    out = bootstrap_fid(fake, fake, B=50, seed=0)
    assert out["ci95"][0] == 0.0 and 0.0 < out["ci95"][1] < 0.2  # clipped at 0: an FID is never negative


def test_fid_point_value_is_exactly_torch_fidelitys(cnn, sets, tmp_path):  # noqa: F811
    import torch_fidelity

    spec, _ = cnn
    real, fake_same, fake_other = sets
    direct_kw = dict(input1=UInt8Images(fake_other), input2=UInt8Images(real), cuda=False, batch_size=256,
                     feature_extractor="ganrepro-cnn", feature_extractor_weights_path=spec["weights"],
                     feature_layer_fid="penultimate", feature_layer_kid="penultimate",
                     feature_layer_prc="penultimate", kid_subsets=10, kid_subset_size=300, prc_neighborhood=3,
                     cache=False, rng_seed=5, save_cpu_ram=True, verbose=False)
    for kinds in (("fid",), ("fid", "kid", "pr")):
        ours = compute_fidelity(fake_other, real, extractor=spec, metrics=kinds, cache_dir=tmp_path / "c",
                                seed=5, kid_subsets=10, fid_bootstrap=20)
        flags = dict(fid=True, kid="kid" in kinds, prc="pr" in kinds)
        theirs = torch_fidelity.calculate_metrics(**direct_kw, **flags)
        fid = ours["fid300_full-shapes_cnn"]
        assert fid["value"] == theirs[torch_fidelity.KEY_METRIC_FID]
        lo, hi = fid["ci95"]
        assert lo < fid["value"] < hi and fid["bootstrap"] == {**fid["bootstrap"], "B": 20, "seed": 5}
        if "kid" in kinds:
            assert ours["kid300_full-shapes_cnn"]["value"] == theirs[torch_fidelity.KEY_METRIC_KID_MEAN]
            assert ours["precision300_k3-shapes_cnn"]["value"] == theirs[torch_fidelity.KEY_METRIC_PRECISION]
    # a cache hit (real features and statistics read back) gives the same numbers, interval included
    again = compute_fidelity(fake_other, real, extractor=spec, metrics=("fid",), cache_dir=tmp_path / "c", seed=5,
                             fid_bootstrap=20)["fid300_full-shapes_cnn"]
    assert again["cache"]["hit"] and again["value"] == fid["value"] and again["ci95"] == fid["ci95"]
    off = compute_fidelity(fake_other, real, extractor=spec, metrics=("fid",), cache_dir=tmp_path / "c",
                           fid_bootstrap=0)["fid300_full-shapes_cnn"]
    assert "ci95" not in off and off["value"] == fid["value"]


def test_fid_interval_separates_a_close_set_from_a_far_one(cnn, sets, tmp_path):  # noqa: F811
    spec, _ = cnn
    real, fake_same, fake_other = sets
    kw = dict(extractor=spec, metrics=("fid",), cache_dir=tmp_path, fid_bootstrap=50)
    same = compute_fidelity(fake_same, real, **kw)["fid300_full-shapes_cnn"]
    other = compute_fidelity(fake_other, real, **kw)["fid300_full-shapes_cnn"]
    assert same["ci95"][1] < other["ci95"][0]


def test_torch_path_used_on_cuda_gives_the_numpy_paths_replicates():
    # bootstrap_fid runs torch on CUDA and numpy on CPU; the same draws must give the same FIDs
    import torch

    from ganrepro.metrics.bootstrap import _replicates

    fake, real = (a.astype(np.float32) for a in gaussians(150, 200))
    p_np, r_np = _replicates(fake, real, 5, seed=2)
    p_t, r_t = _replicates(torch.from_numpy(fake), torch.from_numpy(real), 5, seed=2)
    assert p_t == pytest.approx(p_np, rel=1e-5) and r_t == pytest.approx(r_np, rel=1e-5)
    assert len(set(np.round(r_np, 6))) == 5  # five different resamples
