"""EpiGRAF's generator: a pure tri-plane NeRF (no 2D upsampler), rendered patch-wise in training.

z (+ class) -> mapping network (2 FC layers, lr x 0.01) -> ws -> StyleGAN2 synthesis network
(skip architecture, per-pixel noise, the project's blocks, conv outputs clamped to +-``conv_clamp`` x gain
as the official code) producing 3 x ``feat_dim`` channels at
``plane_resolution`` -> three feature planes -> tri-plane lookup + decoder MLP -> softplus density
with annealed noise -> hierarchical volume rendering (``n_coarse`` + ``n_fine`` samples per ray).

``G(z, c, camera, patch)`` renders only the r x r patch's rays (training); without ``patch`` it
renders the full ``img_resolution`` image in chunks of rays (evaluation), as does ``render_full``.
``camera`` is the reference's ``camera_angles`` [N, 3] (yaw, pitch, roll); None = frontal view.
``background="sphere"`` adds NeRF++'s inverse-sphere background field (``background.py``) with
``bg_*`` sizes; its layers read ws after the synthesis network's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganrepro.models.stylegan2 import MappingNetwork, SynthesisNetwork, channels_per_resolution

from ganrepro.models.layers import class_one_hot

from .background import FOREGROUND_LAST_DELTA, SphereBackground
from .camera import CAMERA_PRESETS, camera_raw_encoding, camera_rays
from .render import LAST_DELTA, render_rays
from .triplane import TriPlaneDecoder, sample_triplanes

# The paper's / reference's sizes (Appx B, configs/model/epigraf.yaml).
PAPER_GENERATOR = dict(z_dim=512, w_dim=512, mapping_layers=2, plane_resolution=512, feat_dim=32,
                       channel_base=32768, channel_max=512, mlp_hidden=64, n_coarse=48, n_fine=48,
                       patch_resolution=64, noise=True)
DEFAULT_CHUNK = 4096  # rays per chunk when rendering full images


class EpiGRAFGenerator(nn.Module):
    """Tri-plane generator; every size is a constructor argument (paper sizes in PAPER_GENERATOR)."""

    def __init__(self, *, resolution: int, img_channels: int = 3, num_classes: int = 0, z_dim: int = 512,
                 w_dim: int = 512, mapping_layers: int = 2, plane_resolution: int = 512, feat_dim: int = 32,
                 channel_base: int = 32768, channel_max: int = 512, mlp_hidden: int = 64, n_coarse: int = 48,
                 n_fine: int = 48, patch_resolution: int = 64, noise: bool = True, camera: str | dict = "frontal",
                 chunk: int = DEFAULT_CHUNK, camera_cond: bool = False, background: str | None = None,
                 bg_width: int = 128, bg_blocks: int = 2, bg_steps: int = 8, bg_start: float = 1.0,
                 conv_clamp: float | None = 256):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, num_classes, w_dim
        self.img_resolution, self.img_channels = resolution, img_channels
        self.patch_resolution, self.n_coarse, self.n_fine, self.chunk = patch_resolution, n_coarse, n_fine, chunk
        self.camera = dict(CAMERA_PRESETS[camera] if isinstance(camera, str) else camera)
        self.feat_dim = feat_dim
        channels = channels_per_resolution(plane_resolution, channel_base, channel_max)
        self.synthesis = SynthesisNetwork(w_dim=w_dim, resolution=plane_resolution, img_channels=3 * feat_dim,
                                          channels=channels, output_skips=True, noise=noise, conv_clamp=conv_clamp)
        if background not in (None, "none", "sphere"):
            raise ValueError(f"background must be none or sphere, got {background!r}")
        if background == "sphere" and self.camera["white_back"]:
            raise ValueError("background 'sphere' replaces the white background: use a camera with "
                             "white_back false (the frontal preset), or background none")
        self.background = (SphereBackground(w_dim, img_channels, width=bg_width, blocks=bg_blocks, steps=bg_steps,
                                            start=bg_start) if background == "sphere" else None)
        self.num_ws = self.synthesis.num_ws + (self.background.num_ws if self.background is not None else 0)
        # Pose conditioning (the paper on FFHQ, after EG3D; off in the official configs): the mapping network
        # also reads the rendered view's raw-angle encoding, so its input is [one-hot class, yaw, pitch].
        self.camera_cond = camera_cond
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=num_classes + (2 if camera_cond else 0), w_dim=w_dim,
                                      num_ws=self.num_ws, num_layers=mapping_layers)
        self.decoder = TriPlaneDecoder(feat_dim, mlp_hidden, img_channels)
        self.density_noise_std = 0.0  # annealed by the objective (1 -> 0 over 5000 kimg in the paper)

    def planes(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        """[N, 3 * feat_dim, P, P] tri-plane features (kept in fp32)."""
        return self.synthesis(ws[:, :self.synthesis.num_ws], noise_mode=noise_mode).float()

    def _field(self, planes: torch.Tensor):
        cube = self.camera["cube_scale"]
        return lambda points: self.decoder(sample_triplanes(planes, points, cube))

    def render(self, planes: torch.Tensor, camera: torch.Tensor, *, resolution: int, patch: torch.Tensor | None = None,
               chunk: int | None = None, perturb: bool | None = None, noise_std: float | None = None,
               ws: torch.Tensor | None = None) -> torch.Tensor:
        """Render [N, C, r, r] from ``planes`` at ``camera``; rays are processed ``chunk`` at a time.
        ``ws`` (all of them) is needed only with a background field."""
        cam = self.camera
        bg = self.background
        if bg is not None and ws is None:
            raise ValueError("a generator with a background field renders from ws: pass ws=")
        origins, dirs = camera_rays(camera, fov=cam["fov"], radius=cam["radius"], resolution=resolution, patch=patch)
        perturb = self.training if perturb is None else perturb
        if noise_std is None:
            noise_std = self.density_noise_std if self.training else 0.0
        field = self._field(planes)
        chunk = dirs.shape[1] if not chunk else chunk
        pieces = []
        for i in range(0, dirs.shape[1], chunk):
            out = render_rays(field, origins, dirs[:, i:i + chunk], near=cam["near"], far=cam["far"],
                              n_coarse=self.n_coarse, n_fine=self.n_fine, noise_std=noise_std,
                              white_back=cam["white_back"], perturb=perturb,
                              last_delta=LAST_DELTA if bg is None else FOREGROUND_LAST_DELTA)
            rgb = out["rgb"]
            if bg is not None:  # background x the transmittance left after the foreground's last sample
                rgb = rgb + bg(ws[:, self.synthesis.num_ws:], origins, dirs[:, i:i + chunk],
                               perturb=perturb) * (1.0 - out["opacity"])[..., None]
            pieces.append(rgb)
        rgb = torch.cat(pieces, dim=1)  # [N, r * r, C]
        return rgb.transpose(1, 2).reshape(len(camera), self.img_channels, resolution, resolution)

    def mapping_input(self, c, camera: torch.Tensor | None, n: int, device):
        """The mapping network's condition: ``c``, plus the camera's encoding when pose-conditioned."""
        if not self.camera_cond:
            return c
        camera = self.default_camera(n, device) if camera is None else camera
        code = camera_raw_encoding(camera).float()
        one_hot = class_one_hot(c, self.c_dim, n, code.dtype)
        return code if one_hot is None else torch.cat([one_hot, code], dim=1)

    def default_camera(self, n: int, device) -> torch.Tensor:
        """Frontal camera (yaw 0, pitch pi/2) for callers that pass none."""
        return torch.tensor([0.0, math.pi / 2, 0.0], device=device).expand(n, 3)

    def forward(self, z, c=None, camera=None, patch=None, *, truncation_psi=1.0, truncation_cutoff=None,
                noise_mode="random"):
        """Patch [N, C, r, r] of the view ``camera`` when ``patch`` [N, 3] = (s, dx, dy) is given;
        else the full image [N, C, R, R] (rendered in chunks)."""
        camera = self.default_camera(len(z), z.device) if camera is None else camera
        ws = self.mapping(z, self.mapping_input(c, camera, len(z), z.device), truncation_psi=truncation_psi,
                          truncation_cutoff=truncation_cutoff)
        planes = self.planes(ws, noise_mode)
        if patch is not None:
            return self.render(planes, camera, resolution=self.patch_resolution, patch=patch, ws=ws)
        return self.render(planes, camera, resolution=self.img_resolution, chunk=self.chunk, ws=ws)

    def render_full(self, z, c, camera, resolution: int | None = None, chunk: int | None = None, *,
                    truncation_psi=1.0, noise_mode="const", perturb: bool = False) -> torch.Tensor:
        """Full image [N, C, R, R] at ``camera`` for evaluation, in chunks of rays, no density noise.
        ``perturb``: depth jitter and random importance samples (the official evaluation renderer);
        False: deterministic depths (chunked renders then equal unchunked ones)."""
        ws = self.mapping(z, self.mapping_input(c, camera, len(z), z.device), truncation_psi=truncation_psi,
                          update_w_avg=False)
        planes = self.planes(ws, noise_mode)
        return self.render(planes, camera, resolution=resolution or self.img_resolution,
                           chunk=chunk or self.chunk, perturb=perturb, noise_std=0.0, ws=ws)
