"""EpiGRAF's objective: patch-wise non-saturating GAN with lazy R1 on real patches.

make_batch (one global batch, randomness from torch's global RNG):
- reals (with poses and labels) from the archive stream; real patches read at patch parameters
  drawn from the scale schedule (``sched["patch_beta"]`` -> Beta, ``sched["patch_smin"]`` -> uniform),
  one draw per minibatch-stddev group; R1 reads FRESH patches of the same reals (reference);
- per phase, latents and the fakes' labels and cameras drawn from random dataset rows (yaw negated
  for mirrored rows when x-flips are on), and independent fake patch parameters.
Phases (stylegan2-ada order): G (softplus(-D(fake))), D (softplus(D(fake)) + softplus(-D(real))),
Dreg every ``reg_interval`` = 16 steps (gamma / 2 * |grad D(real patch)|^2 * interval), D's optimiser
corrected by interval / (interval + 1). D inputs are blurred with sigma ``sched["blur_sigma"]``
(fades 10 -> 0 over 200 kimg in the paper), then augmented (``sched["aug_p"]``). The density noise
std of G is ``sched["density_noise"]`` (1 -> 0 over 5000 kimg in the paper).
``sample`` renders full images at cameras drawn from the dataset's stored poses.

2D mode (Table 3, family ``epigraf2d``: a StyleGAN2 G without ``render_full``): G makes full images,
fake patches are read from them on the same grid as the real ones (differentiable bilinear
sampling), no cameras; everything else (patch schedule, patch D, losses) is the same.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ganrepro.data import BatchStream
from ganrepro.data.archive import open_archive
from ganrepro.data.real.camera_folder import mirror_poses
from ganrepro.errors import ConfigError
from ganrepro.losses import gradient_sq_norm
from ganrepro.models.layers import filter2d
from ganrepro.objectives import register
from ganrepro.objectives.base import Nets, Objective, Phase, lazy_ratio

from .patches import extract_real_patches, sample_patch_params



def paper_loss() -> dict:
    """The paper's loss settings (gamma, reg_interval): params/experiments/epigraf.yaml's defaults."""
    from ganrepro.config import load_params

    return dict(load_params().experiments["epigraf"]["defaults"]["loss"])


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of D's inputs (reference: taps exp2(-(x / sigma)^2) on |x| <= floor(3 sigma))."""
    radius = int(math.floor(sigma * 3))
    if radius <= 0:
        return images
    taps = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype).div(sigma).square().neg().exp2()
    return filter2d(images, taps / taps.sum(), pad=(radius, radius))


def _world_size() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@functools.lru_cache(maxsize=8)
def _dataset_poses(path: str) -> torch.Tensor:
    return torch.from_numpy(np.array(open_archive(path, verify=False)["poses"], dtype=np.float32))


EVAL_RENDERS = ("official", "deterministic")


def eval_render(cfg: dict) -> str:
    """How evaluation renders a 3D G (``eval.render``): official (stochastic depths) by default."""
    render = (cfg.get("eval") or {}).get("render", "official")
    if render not in EVAL_RENDERS:
        raise ConfigError(f"eval.render is {render!r}; use one of {list(EVAL_RENDERS)} (official = the official "
                          "renderer's depth jitter and random importance samples at evaluation)")
    return render


def _is_3d(G: torch.nn.Module) -> bool:
    """EpiGRAF's tri-plane G renders views; a 2D G (Table 3) has no ``render_full``."""
    return hasattr(G, "render_full")


@register("epigraf")
class EpiGRAFObjective(Objective):
    name = "epigraf"

    def __init__(self, cfg: dict, nets: Nets, archive, device: torch.device):
        super().__init__(cfg, nets, archive, device)
        self.loss = cfg["loss"]
        self.batch = cfg["train"]["batch"]
        self.conditional = cfg["dataset"]["num_classes"] > 0
        self.xflip = bool(cfg.get("xflip", False))
        self.patch_resolution = nets.D.patch_resolution
        self.min_scale = self.patch_resolution / archive.resolution
        self.micro_batch = cfg["train"].get("batch_gpu") or self.batch // _world_size()
        self.render3d = _is_3d(nets.G)
        arrays = dict(arrays=("poses",), mirror={"poses": mirror_poses}) if self.render3d else {}
        self.stream = BatchStream(archive, seed=cfg["seed"], batch_size=self.batch, xflip=self.xflip, device=device,
                                  **arrays)
        self.labels = torch.from_numpy(np.array(archive.labels, dtype=np.int64))
        self.poses = (torch.from_numpy(np.array(archive["poses"], dtype=np.float32)) if self.render3d
                      else torch.zeros(len(self.labels), 3))

    def phases(self) -> list[Phase]:
        interval = int(self.loss["reg_interval"])
        return [Phase("G", "G"), Phase("D", "D", lr_ratio=lazy_ratio(interval)),
                Phase("Dreg", "D", interval=interval, lr_ratio=lazy_ratio(interval))]

    # ------------------------------------------------------------------ batch
    def _patches(self, sched: dict) -> torch.Tensor:
        if "patch_beta" in sched:
            kind, value = "beta", sched["patch_beta"]
        elif "patch_smin" in sched:
            kind, value = "uniform", sched["patch_smin"]
        else:
            raise ConfigError("the epigraf objective needs a `schedule:` entry `patch_beta` (Beta scales) or "
                              "`patch_smin` (uniform scales); add one to the experiment's params")
        return sample_patch_params(self.batch, schedule=kind, value=value, min_scale=self.min_scale,
                                   micro_batch=self.micro_batch).to(self.device)

    def _fake_conditions(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        rows = torch.randint(len(self.poses), (self.batch,))
        if not self.render3d:
            return (self.labels[rows].to(self.device) if self.conditional else None), None
        cams = self.poses[rows].clone()
        if self.xflip:
            flip = torch.rand(self.batch) < 0.5
            cams[flip] = torch.from_numpy(mirror_poses(cams[flip].numpy()))
        labels = self.labels[rows].to(self.device) if self.conditional else None
        return labels, cams.to(self.device)

    def make_batch(self, step: int, images_seen: int, sched: dict) -> dict:
        data = self.stream.batch(images_seen)
        reals = data["images"]
        poses = data["poses"].float() if self.render3d else None
        patch_d, patch_r = self._patches(sched), self._patches(sched)
        batch = {"step": step, "c_real": data["labels"] if self.conditional else None, "cam_real": poses,
                 "patch_real": patch_d, "real": extract_real_patches(reals, patch_d, self.patch_resolution),
                 "patch_r1": patch_r, "real_r1": extract_real_patches(reals, patch_r, self.patch_resolution)}
        for phase in ("d", "g"):
            c, cams = self._fake_conditions()
            batch.update({f"z_{phase}": torch.randn([self.batch, self.nets.G.z_dim]).to(self.device),
                          f"c_{phase}": c, f"cam_{phase}": cams, f"patch_{phase}": self._patches(sched)})
        return batch

    # ------------------------------------------------------------------ phases
    @staticmethod
    def _density_noise(sched: dict) -> float:
        if "density_noise" not in sched:
            raise ConfigError("the 3D epigraf objective needs a `schedule:` entry `density_noise` (the std of G's "
                              "density noise; the paper's fades 1 -> 0 over 5000 kimg): add one to the experiment's params")
        return float(sched["density_noise"])

    def _fake_patches(self, z, c, cam, patch) -> torch.Tensor:
        if self.render3d:
            return self.nets.G(z, c, cam, patch)
        return extract_real_patches(self.nets.G(z, c), patch, self.patch_resolution)

    def _run_d(self, images, c, patch, cam, sched: dict) -> torch.Tensor:
        x = self.nets.augment(blur(images, float(sched.get("blur_sigma", 0.0))), sched.get("aug_p", 0.0))
        with self.autocast():
            return self.nets.D(x, c, patch, cam).float()

    def accumulate_gradients(self, phase: str, batch: dict, sched: dict, gain: float) -> dict[str, float]:
        G = self.nets.G
        b = batch
        if self.render3d:
            G.density_noise_std = self._density_noise(sched)
        if phase == "G":
            fake = self._fake_patches(b["z_g"], b["c_g"], b["cam_g"], b["patch_g"])
            logits = self._run_d(fake, b["c_g"], b["patch_g"], b["cam_g"], sched)
            loss = F.softplus(-logits).mean()
            (loss * gain).backward()
            return {"loss_g": loss.item(), "density_noise": getattr(G, "density_noise_std", 0.0)}
        if phase == "D":
            with torch.no_grad():
                fake = self._fake_patches(b["z_d"], b["c_d"], b["cam_d"], b["patch_d"])
            fake = fake.detach().float().requires_grad_(True)
            fake_logits = self._run_d(fake, b["c_d"], b["patch_d"], b["cam_d"], sched)
            real_logits = self._run_d(b["real"], b["c_real"], b["patch_real"], b["cam_real"], sched)
            loss = (F.softplus(fake_logits) + F.softplus(-real_logits)).mean()
            grad_sq_fake = gradient_sq_norm(fake_logits, fake, create_graph=False)
            (loss * gain).backward()
            return {"loss_d": loss.item(), "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item(),
                    "grad_sq_fake": grad_sq_fake.mean().item(), "ada_sign": real_logits.sign().mean().item()}
        if phase == "Dreg":
            real = b["real_r1"].detach().requires_grad_(True)
            logits = self._run_d(real, b["c_real"], b["patch_r1"], b["cam_real"], sched)
            r1 = gradient_sq_norm(logits, real, create_graph=True)
            gamma = float(sched.get("gamma", self.loss["gamma"]))
            loss = r1.mean() * (gamma / 2) * int(self.loss["reg_interval"])
            (loss * gain + logits.sum() * 0).backward()
            return {"loss_d_reg": loss.item(), "grad_sq_real": r1.mean().item()}
        raise ValueError(f"unknown phase {phase!r} for the epigraf objective")

    def guard_values(self, stats: dict) -> tuple[dict[str, float], float | None]:
        losses = {k: stats[k] for k in ("loss_d", "loss_g", "loss_d_reg") if k in stats}
        return losses, stats.get("grad_sq_fake")

    # ------------------------------------------------------------------ evaluation
    @classmethod
    @torch.no_grad()
    def sample(cls, cfg: dict, G: torch.nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Full images at cameras drawn (torch global RNG) from the dataset's stored poses (2D: G's images).
        ``eval.render``: ``official`` (default; depth jitter and random importance samples, as the official
        renderer at evaluation) or ``deterministic`` (fixed depths)."""
        if not _is_3d(G):
            return G(z, c)
        poses = _dataset_poses(str(cfg["dataset"]["path"]))
        cams = poses[torch.randint(len(poses), (len(z),))].to(z.device)
        return G.render_full(z, c, cams, perturb=eval_render(cfg) == "official")
