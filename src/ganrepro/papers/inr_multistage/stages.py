"""The four training schemes of Lee et al. 2022 as pure functions of (scheme, stage, H).

* ``image``: plain CIPS. G evaluates the dense grid N = H (the whole image); D sees H x H.
* ``patch``: G evaluates random ``H/4 x H/4`` crops of the dense grid ("4x smaller patches"),
  adversarial loss only.
* ``multistage``: stage i of n = log2(4) + 1 = 3 evaluates grid N_i = H / 2^(n - i), i.e. H/4, H/2, H.
  Stage 1 evaluates its whole (sparse) grid; stages 2 and 3 a random ``H/4 x H/4`` crop of theirs.
  So EVERY stage evaluates the same (H/4)^2 coordinates (64^2 at 256 px), and D is always built at
  H/4. Stage i >= 2 is initialised from stage i-1 (``init_from``), which stays frozen as the teacher
  of the patch regularisation (``patch_regularisation``).
* ``accumulation``: ``image`` with the batch split into micro-batches whose gradients are summed.

Real images are brought to the stage's grid (``real_to_grid``: area averaging over the H/N x H/N cell,
or subsampling at the grid's pixels) and cropped at the same offsets as the coordinates.

Patch regularisation, Eq. (4): L = E || resize(I_i, 1/2) - crop(I_{i-1}) ||_2. Our reading: the student
patch I_i covers grid N_i = 2 N_{i-1} at even offsets, so keeping every second pixel of it
(``resize`` = 2x subsampling) gives exactly the coordinates of grid N_{i-1} over the same region;
I_{i-1} is the frozen teacher's own stage output (stage 1: its whole sparse image; stage 2: a patch
of grid N_2 placed to contain the student's region), and ``crop`` cuts that region out of it. The two
then sit on identical coordinates, so the loss is 0 when student == teacher (noise off).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganrepro.models.cips.coords import crop, grid, random_offsets

SCHEMES = ("image", "patch", "multistage", "accumulation")
PATCH_DIVISOR = 4            # patches are H/4 on a side ("4x smaller"); stage 1's grid is H/4
ACCUMULATION_ROUNDS = 4      # micro-batches per step of the gradient-accumulation baseline (CHOICE)
REAL_RESIZE = ("area", "subsample")
PATCH_RESIZE = ("subsample", "area", "bilinear")


@dataclass(frozen=True)
class StagePlan:
    """What G evaluates and D sees in one stage of one scheme."""
    scheme: str
    stage: int
    resolution: int        # H (= W) of the training images
    grid_n: int            # N: the stage's grid is grid(H, H, N)
    patch: int             # side of the coordinate window G evaluates (= grid_n: the whole grid)
    teacher_stage: int | None  # stage whose frozen G is the patch-regularisation teacher
    micro_batches: int = 1

    @property
    def whole_grid(self) -> bool:
        return self.patch == self.grid_n

    @property
    def spacing(self) -> int:
        """H / N: pixels between neighbouring grid coordinates."""
        return self.resolution // self.grid_n

    @property
    def coords_per_sample(self) -> int:
        return self.patch * self.patch

    @property
    def d_resolution(self) -> int:
        return self.patch


def num_stages(scheme: str, patch_divisor: int = PATCH_DIVISOR) -> int:
    _check_scheme(scheme)
    return int(math.log2(patch_divisor)) + 1 if scheme == "multistage" else 1


def stage_plan(scheme: str, stage: int, H: int, *, patch_divisor: int = PATCH_DIVISOR,
               accumulation_rounds: int = ACCUMULATION_ROUNDS) -> StagePlan:
    """The plan of ``stage`` (1-based) of ``scheme`` at resolution H."""
    if patch_divisor < 2 or patch_divisor & (patch_divisor - 1):
        raise ValueError(f"patch_divisor must be a power of two >= 2, got {patch_divisor}")
    n_stages = num_stages(scheme, patch_divisor)
    if not 1 <= stage <= n_stages:
        raise ValueError(f"scheme {scheme!r} has stages 1..{n_stages}, got {stage}")
    if H % patch_divisor:
        raise ValueError(f"resolution {H} is not divisible by the patch divisor {patch_divisor}")
    patch = H // patch_divisor
    if scheme in ("image", "accumulation"):
        return StagePlan(scheme, 1, H, H, H, None, accumulation_rounds if scheme == "accumulation" else 1)
    if scheme == "patch":
        return StagePlan(scheme, 1, H, H, patch, None)
    grid_n = H >> (n_stages - stage)
    return StagePlan(scheme, stage, H, grid_n, patch, stage - 1 if stage > 1 else None)


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown training scheme {scheme!r}; use one of {list(SCHEMES)}")


# ----------------------------------------------------------------------------- coordinates and reals


def stage_grid(plan: StagePlan, device=None) -> torch.Tensor:
    """grid(H, H, N) of the stage, [2, N, N]."""
    return grid(plan.resolution, plan.resolution, plan.grid_n, device=device)


def draw_offsets(plan: StagePlan, batch: int, device=None) -> torch.Tensor:
    """[batch, 2] (row, col) offsets of the windows on the stage grid (zeros when the whole grid).

    With a teacher, offsets are even so the student's every second coordinate lies on the teacher's
    grid (see ``teacher_offsets``)."""
    if plan.whole_grid:
        return torch.zeros(batch, 2, dtype=torch.long, device=device)
    step = 2 if plan.teacher_stage is not None else 1
    return random_offsets(plan.grid_n, plan.patch, batch, step=step, device=device)


def stage_coords(plan: StagePlan, offsets: torch.Tensor) -> torch.Tensor:
    """[B, 2, patch, patch] coordinates G evaluates for windows at ``offsets``."""
    return crop(stage_grid(plan, offsets.device), offsets, plan.patch)


def real_to_grid(images: torch.Tensor, plan: StagePlan, *, resize: str = "area") -> torch.Tensor:
    """Real images [B, C, H, H] -> their values on the stage grid [B, C, N, N].

    ``area``: mean over each H/N x H/N cell (an anti-aliased low-resolution image); ``subsample``: the
    pixels at the grid's positions k * H/N exactly."""
    s = plan.spacing
    if resize not in REAL_RESIZE:
        raise ValueError(f"real_resize must be one of {list(REAL_RESIZE)}, got {resize!r}")
    if s == 1:
        return images
    return F.avg_pool2d(images, s) if resize == "area" else images[:, :, ::s, ::s]


def real_patches(images: torch.Tensor, plan: StagePlan, offsets: torch.Tensor, *,
                 resize: str = "area") -> torch.Tensor:
    """Real images brought to the stage grid and cropped at the coordinates' offsets: [B, C, p, p]."""
    on_grid = real_to_grid(images, plan, resize=resize)
    return on_grid if plan.whole_grid else crop(on_grid, offsets, plan.patch)


# ----------------------------------------------------------------------------- patch regularisation


def teacher_offsets(plan: StagePlan, teacher_plan: StagePlan, student_offsets: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the teacher's own stage output I_{i-1} lies, and where the student's region is inside it.

    The student window at even offsets o on grid N_i covers [o/2, o/2 + p/2) of grid N_{i-1}. Returns
    (teacher offsets t on grid N_{i-1} of a p-window containing that region, drawn uniformly among the
    valid ones; region offsets u = o/2 - t inside the teacher image)."""
    half = plan.patch // 2
    start = student_offsets // 2
    if teacher_plan.whole_grid:
        t = torch.zeros_like(start)
    else:
        lo = (start + half - teacher_plan.patch).clamp(min=0)
        hi = start.clamp(max=teacher_plan.grid_n - teacher_plan.patch)
        t = lo + (torch.rand(start.shape, device=start.device) * (hi - lo + 1)).long().clamp(max=hi - lo)
    return t, start - t


def resize_half(img: torch.Tensor, mode: str = "subsample") -> torch.Tensor:
    """resize(I, 1/2) of Eq. (4). ``subsample`` keeps pixels 0, 2, 4, ... (the coarser grid's coordinates)."""
    if mode == "subsample":
        return img[:, :, ::2, ::2]
    if mode == "area":
        return F.avg_pool2d(img, 2)
    if mode == "bilinear":
        return F.interpolate(img, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
    raise ValueError(f"patch_resize must be one of {list(PATCH_RESIZE)}, got {mode!r}")


def patch_regularisation(student_img: torch.Tensor, teacher_img: torch.Tensor,
                         region_offsets: torch.Tensor | None = None, *, resize: str = "subsample",
                         weight: float = 1.0) -> torch.Tensor:
    """weight * E_b || resize(I_i, 1/2) - crop(I_{i-1}) ||_2 (Euclidean norm over channels and pixels).

    ``student_img`` [B, C, p, p] is I_i; ``teacher_img`` is I_{i-1}, cropped at ``region_offsets``
    [B, 2] to the p/2 x p/2 region (or already that region when ``region_offsets`` is None)."""
    small = resize_half(student_img, resize)
    target = teacher_img if region_offsets is None else crop(teacher_img, region_offsets, small.shape[-1])
    if target.shape != small.shape:
        raise ValueError(f"teacher region {list(target.shape)} does not match resized student {list(small.shape)}")
    diff = (small - target.detach()).flatten(1)
    return weight * torch.linalg.vector_norm(diff, ord=2, dim=1).mean()


# ----------------------------------------------------------------------------- stage initialisation


def init_from(student: nn.Module, teacher: nn.Module) -> nn.Module:
    """Copy every parameter and buffer of ``teacher`` into ``student`` (same architecture); returns student."""
    student.load_state_dict(teacher.state_dict(), strict=True)
    return student


def frozen_copy(net: nn.Module) -> nn.Module:
    """A frozen, eval-mode deep copy (the teacher of the next stage)."""
    teacher = copy.deepcopy(net).eval()
    teacher.requires_grad_(False)
    return teacher
