"""The cost benchmark at tiny size: image-based keeps more activation memory than multi-stage."""

import pytest

from ganrepro.papers.inr_multistage.cost_bench import BenchConfig, SavedTensorMeter, benchmark, format_table

TINY = BenchConfig(resolution=32, batch=2, iters=1, z_dim=8, w_dim=16, hidden=8, width=16,
                   d_channel_base=128, d_channel_max=16, accum_rounds=2)


def test_memory_orders_image_above_multistage_and_accumulation_between():
    rows = benchmark(TINY, memory="saved", rows=(("image", 1), ("multistage", 1), ("multistage", 2),
                                                 ("multistage", 3), ("accumulation", 1)))
    by = {(r["scheme"], r["stage"]): r for r in rows}
    image, multi, accum = by["image", 1], by["multistage", "all"], by["accumulation", 1]
    assert multi["peak_mb"] == max(by["multistage", s]["peak_mb"] for s in (1, 2, 3))
    # 16x the coordinates per sample: the activations scale with them (MLP per pixel)
    assert image["peak_mb"] > 8 * multi["peak_mb"]
    assert multi["peak_mb"] < accum["peak_mb"] < image["peak_mb"]  # half-size micro-batches
    assert image["coords_per_sample"] == 16 * multi["coords_per_sample"]
    table = format_table(rows, TINY)
    assert "image / multistage" in table and "2.77x" in table  # paper's 86 / 31 GB beside ours


def test_saved_tensor_meter_counts_storages_once_and_releases_them():
    import torch
    meter = SavedTensorMeter()
    x = torch.randn(1000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(meter.pack, meter.unpack):
        y = (x * 2).sin()
        y = y * y  # the same storage saved twice: counted once
    assert meter.current == 2 * 4000  # (x*2) for sin, sin's output for the product
    y.sum().backward()
    del y
    assert meter.current == 0 and meter.peak == 8000


def test_accumulation_needs_a_divisible_batch():
    rows = benchmark(BenchConfig(**{**TINY.__dict__, "batch": 1}), memory="saved", rows=(("accumulation", 1),))
    assert "skipped" in rows[0]
