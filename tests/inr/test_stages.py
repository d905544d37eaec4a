"""The four schemes' stage plans, reals on the stage grid, patch regularisation, stage initialisation."""

import pytest
import torch

from ganrepro.models.cips import CIPSGenerator
from ganrepro.models.cips.coords import crop, grid
from ganrepro.papers.inr_multistage.stages import (
    SCHEMES,
    draw_offsets,
    frozen_copy,
    init_from,
    num_stages,
    patch_regularisation,
    real_patches,
    real_to_grid,
    stage_coords,
    stage_plan,
    teacher_offsets,
)
from ganrepro.papers.inr_multistage.step import g_loss, make_step_batch


@pytest.mark.parametrize("H", [32, 64, 256])
def test_multistage_grids_and_equal_coordinate_count(H):
    plans = [stage_plan("multistage", s, H) for s in (1, 2, 3)]
    assert [p.grid_n for p in plans] == [H // 4, H // 2, H]
    assert plans[0].whole_grid and not plans[1].whole_grid and not plans[2].whole_grid
    assert {p.coords_per_sample for p in plans} == {(H // 4) ** 2}  # every stage: the same coordinates
    assert {p.d_resolution for p in plans} == {H // 4}
    assert [p.teacher_stage for p in plans] == [None, 1, 2]
    for p in plans:
        offsets = draw_offsets(p, 5)
        assert stage_coords(p, offsets).shape == (5, 2, H // 4, H // 4)


def test_baselines():
    H = 64
    image, patch, accum = (stage_plan(s, 1, H) for s in ("image", "patch", "accumulation"))
    assert image.grid_n == H and image.whole_grid and image.coords_per_sample == H * H
    assert patch.grid_n == H and patch.patch == H // 4 and patch.teacher_stage is None
    assert accum.coords_per_sample == image.coords_per_sample and accum.micro_batches > 1
    assert [num_stages(s) for s in SCHEMES] == [1, 1, 3, 1]
    with pytest.raises(ValueError):
        stage_plan("multistage", 4, H)
    with pytest.raises(ValueError):
        stage_plan("progressive", 1, H)


def test_stage_coords_are_windows_of_the_stage_grid():
    plan = stage_plan("multistage", 2, 32)
    torch.manual_seed(1)
    offsets = draw_offsets(plan, 4)
    assert (offsets % 2 == 0).all()  # even: the student's every second pixel lies on grid N_1
    coords = stage_coords(plan, offsets)
    g = grid(32, 32, 16)
    for b, (r, c) in enumerate(offsets.tolist()):
        assert torch.equal(coords[b], g[:, r:r + 8, c:c + 8])


def test_reals_are_brought_to_the_grid_and_cropped_at_the_same_offsets():
    images = torch.randn(3, 3, 32, 32)
    s1 = stage_plan("multistage", 1, 32)
    assert torch.allclose(real_to_grid(images, s1), torch.nn.functional.avg_pool2d(images, 4))
    assert torch.equal(real_to_grid(images, s1, resize="subsample"), images[:, :, ::4, ::4])
    s2 = stage_plan("multistage", 2, 32)
    offsets = torch.tensor([[0, 2], [4, 8], [8, 0]])
    patches = real_patches(images, s2, offsets, resize="subsample")
    for b, (r, c) in enumerate(offsets.tolist()):  # the pixel under each coordinate
        assert torch.equal(patches[b], images[b, :, 2 * r:2 * r + 16:2, 2 * c:2 * c + 16:2])


@pytest.mark.parametrize("stage", [2, 3])
def test_teacher_region_covers_the_same_coordinates(stage):
    H = 32
    plan, teacher = stage_plan("multistage", stage, H), stage_plan("multistage", stage - 1, H)
    torch.manual_seed(stage)
    offsets = draw_offsets(plan, 16)
    t, region = teacher_offsets(plan, teacher, offsets)
    student = stage_coords(plan, offsets)[:, :, ::2, ::2]
    teacher_region = crop(stage_coords(teacher, t), region, plan.patch // 2)
    assert torch.allclose(student, teacher_region, atol=1e-6)


def tiny_G():
    return CIPSGenerator(resolution=32, z_dim=8, w_dim=16, hidden=8, width=16)


@pytest.mark.parametrize("stage", [2, 3])
def test_patch_regularisation_zero_for_same_network_positive_otherwise(stage):
    torch.manual_seed(0)
    H = 32
    plan, teacher_plan = stage_plan("multistage", stage, H), stage_plan("multistage", stage - 1, H)
    teacher = frozen_copy(tiny_G())
    student = init_from(tiny_G(), teacher)
    batch = make_step_batch(plan, torch.rand(4, 3, H, H) * 2 - 1, 8, teacher_plan=teacher_plan)

    def l_patch(G):
        fake = G(batch["z_g"], coords=batch["coords"], noise_mode="none")
        target = teacher(batch["z_g"], coords=batch["teacher_coords"], noise_mode="none")
        return patch_regularisation(fake, target, batch["region"])

    assert l_patch(student).item() == pytest.approx(0.0, abs=1e-5)
    with torch.no_grad():
        student.to_rgbs[-1].bias.add_(0.1)  # a uniform +0.1 on 3 channels of (p/2)^2 pixels
    expected = 0.1 * (3 * (plan.patch // 2) ** 2) ** 0.5
    assert l_patch(student).item() == pytest.approx(expected, rel=1e-3)
    assert patch_regularisation(torch.ones(2, 3, 8, 8), torch.zeros(2, 3, 4, 4), weight=2.0).item() == \
        pytest.approx(2.0 * (3 * 16) ** 0.5)


def test_g_loss_with_teacher_backpropagates_patch_term_into_student_only():
    torch.manual_seed(0)
    from ganrepro.models.cips import CIPSDiscriminator
    H = 32
    plan, teacher_plan = stage_plan("multistage", 3, H), stage_plan("multistage", 2, H)
    teacher = frozen_copy(tiny_G())
    student = init_from(tiny_G(), teacher)
    with torch.no_grad():
        student.to_rgbs[0].bias.add_(0.2)
    D = CIPSDiscriminator(resolution=plan.d_resolution, channel_base=128, channel_max=16)
    batch = make_step_batch(plan, torch.rand(2, 3, H, H) * 2 - 1, 8, teacher_plan=teacher_plan)
    loss, stats = g_loss(student, D, batch, teacher=teacher, patch_weight=3.0)
    assert stats["loss_patch"] > 0 and loss.item() == pytest.approx(stats["loss_g_adv"] + 3.0 * stats["loss_patch"], rel=1e-5)
    loss.backward()
    assert student.to_rgbs[0].bias.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_stage_initialised_from_predecessor_equals_it_before_the_first_step():
    torch.manual_seed(0)
    previous = tiny_G()
    with torch.no_grad():
        for layer in [previous.input, *previous.layers]:
            layer.noise_strength.fill_(0.3)
        previous.mapping.w_avg.normal_()
    nxt = init_from(tiny_G(), frozen_copy(previous))
    for (name, a), (_, b) in zip(previous.state_dict().items(), nxt.state_dict().items()):
        assert torch.equal(a, b), name
    z = torch.randn(2, 8)
    assert torch.equal(previous(z, noise_mode="none"), nxt(z, noise_mode="none"))
    assert all(p.requires_grad for p in nxt.parameters())
