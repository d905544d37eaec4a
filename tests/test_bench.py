"""`ganrepro bench`: every paper's experiments run on the data they need (cameras for EpiGRAF) and a later
stage is benchmarked after its predecessor without disturbing the predecessor's own row."""

from pathlib import Path

import pytest

from ganrepro.orchestration.bench import bench_one


@pytest.mark.parametrize("order", [["multistage-ffhq-s2", "multistage-ffhq-s1"], ["multistage-ffhq-s1", "multistage-ffhq-s2"]])
def test_stages_bench_in_any_order_with_the_steps_asked(tmp_path, order):
    rows = {e: bench_one("inr_multistage", e, "tiny", steps=2, device="cpu", root=Path(tmp_path)) for e in order}
    assert all(r["steps"] == 2 and r["images_per_s"] > 0 for r in rows.values())
    assert (tmp_path / "_init" / "multistage-ffhq-s1" / "network.pt").is_file()


def test_epigraf_bench_renders_from_posed_stand_in_data(tmp_path):
    row = bench_one("epigraf", "t1-epigraf-cats256", "tiny", steps=1, device="cpu", root=Path(tmp_path))
    assert row["steps"] == 1 and row["sec_per_step"] > 0
    assert (tmp_path / "cats256-32" / "poses.npy").is_file()
