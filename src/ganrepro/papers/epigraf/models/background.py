"""Background separation (NeRF++'s inverse-sphere parametrisation), EpiGRAF's ``bg_model.type: sphere``.

The foreground tri-plane field lives inside the unit sphere; everything outside it is a second field
of 4D points (x', y', z', 1/r): a ray's exit point of the unit sphere rotated towards where the ray
is at distance r (``inverse_sphere_points``, NeRF++'s ``depth2pts_outside``), and the inverse
distance 1/r in (0, 1]. The background network is INR-GAN's MLP as the paper's Appx B and the
official ``bg_model`` (networks_inr_gan.py) build it: fixed Fourier features of the 4 coordinates
(sin, cos at log-spaced frequencies of 64 x, the D hypernetwork's encoder) -> ``blocks`` skip blocks,
the first with one modulated linear layer, the others with two (the project's CIPS layers: StyleGAN2
modulation + demodulation, bias, leaky ReLU; no per-point noise), each block ending in a modulated,
not demodulated, linear layer to RGB + raw density; the blocks' outputs are summed. Every layer
reads its own w (the mapping network emits ``num_ws`` extra ws; the reference shares one w between
a block's output layer and the next block's first layer). Per ray it is evaluated at ``steps``
inverse depths from ``start`` down to 0 (jittered in training, no hierarchical sampling) and
composited with the last interval infinite; the image is foreground + background x the
foreground's transmittance after its last sample, the foreground then compositing with a finite
last interval (the reference's ``use_inf_depth=False``) so that the background shows through.
"""

from __future__ import annotations

import torch
from torch import nn

from ganrepro.models.cips.generator import StyledLayer, ToRGB
from .discriminator import ScalarFourierEncoder
from .render import composite, stratified_depths

from .knobs import PAPER_BACKGROUND  # noqa: F401  (re-exported; torch-free in knobs.py)
FOURIER_PERIOD = 64.0  # bg_model.posenc_period_len
FOREGROUND_LAST_DELTA = 1e-3  # the foreground's last interval when a background is composited behind it


def inverse_sphere_points(origins: torch.Tensor, dirs: torch.Tensor, inv_depth: torch.Tensor,
                          eps: float = 1e-8) -> torch.Tensor:
    """NeRF++'s 4D point of each ray at inverse distance ``inv_depth`` from the centre.

    origins [N, 3] (inside or on the unit sphere), dirs [N, P, 3] (unit), inv_depth [N, P, S] in
    [0, 1]. Returns [N, P, S, 4]: the unit vector towards the point where the ray is at distance
    1 / inv_depth from the centre, and ``inv_depth``.
    """
    o = origins[:, None, :].expand_as(dirs)
    d1 = -(dirs * o).sum(-1)                      # depth of the ray's closest point to the centre
    p_mid = o + d1[..., None] * dirs
    p_mid_norm = p_mid.norm(dim=-1).clamp(max=1.0)
    d2 = (1.0 - p_mid_norm.square()).clamp(min=0.0).sqrt()
    p_sphere = o + (d1 + d2)[..., None] * dirs     # where the ray leaves the unit sphere
    # Rotation axis p_sphere x d: NeRF++'s o x p_sphere up to a positive factor, and also defined for an origin
    # on the sphere looking outwards (p_sphere = o); zero only for rays through the centre, which need no rotation.
    axis = torch.cross(p_sphere, dirs, dim=-1)
    axis = axis / (axis.norm(dim=-1, keepdim=True) + eps)
    phi = torch.asin(p_mid_norm)[..., None]        # [N, P, 1]
    theta = torch.asin(p_mid_norm[..., None] * inv_depth)  # [N, P, S]
    angle = (phi - theta)[..., None]               # rotate p_sphere by phi - theta about the axis
    shape = (*inv_depth.shape, 3)
    p, k = p_sphere[:, :, None, :].expand(shape), axis[:, :, None, :].expand(shape)
    rotated = (p * torch.cos(angle) + torch.cross(k, p, dim=-1) * torch.sin(angle)
               + k * (k * p).sum(-1, keepdim=True) * (1.0 - torch.cos(angle)))  # Rodrigues' formula
    rotated = rotated / rotated.norm(dim=-1, keepdim=True)
    return torch.cat([rotated, inv_depth[..., None]], dim=-1)


class SphereBackground(nn.Module):
    """The background field outside the unit sphere, rendered along the foreground's rays."""

    def __init__(self, w_dim: int, img_channels: int = 3, *, width: int = 128, blocks: int = 2, steps: int = 8,
                 start: float = 1.0):
        super().__init__()
        if not 0.0 < start <= 1.0:
            raise ValueError(f"bg_start is an inverse depth in (0, 1], got {start}")
        if blocks < 1:
            raise ValueError(f"bg_blocks must be >= 1, got {blocks}")
        self.steps, self.start, self.img_channels = steps, start, img_channels
        self.embed = ScalarFourierEncoder(4, FOURIER_PERIOD, const_emb_dim=0)
        self.blocks = nn.ModuleList()
        for b in range(blocks):
            widths = [self.embed.dim, width] if b == 0 else [width, width, width]
            self.blocks.append(nn.ModuleDict({
                "layers": nn.ModuleList(StyledLayer(i, o, w_dim) for i, o in zip(widths[:-1], widths[1:])),
                "out": ToRGB(width, img_channels + 1, w_dim)}))
        self.num_ws = sum(len(block["layers"]) + 1 for block in self.blocks)

    def inverse_depths(self, shape: tuple[int, int], *, perturb: bool, device=None) -> torch.Tensor:
        """[N, P, steps] inverse depths from ``start`` down to 0 (jittered inside their bins when ``perturb``)."""
        return -stratified_depths(-self.start, 0.0, self.steps, shape, perturb=perturb, device=device)

    def forward(self, ws: torch.Tensor, origins: torch.Tensor, dirs: torch.Tensor, *,
                perturb: bool) -> torch.Tensor:
        """ws [N, num_ws, w_dim]; rays origins [N, 3] + t dirs [N, P, 3]. Returns RGB [N, P, C]."""
        n, p, _ = dirs.shape
        inv_depth = self.inverse_depths((n, p), perturb=perturb, device=dirs.device)
        points = inverse_sphere_points(origins, dirs, inv_depth)              # [N, P, S, 4]
        x = self.embed(points.reshape(-1, 4)).reshape(n, p * self.steps, -1)  # [N, P * S, D]
        x = x.transpose(1, 2)[..., None]                                      # [N, D, P * S, 1]
        out, w = 0.0, iter(ws.unbind(1))
        for block in self.blocks:
            for layer in block["layers"]:
                x = layer(x, next(w), noise_mode="none")
            out = out + block["out"](x, next(w))
        out = out[..., 0].transpose(1, 2).reshape(n, p, self.steps, -1)
        # Increasing "depths" -inv_depth (the reference composites over -disparity), last interval infinite.
        return composite(out[..., :-1], out[..., -1], -inv_depth)["rgb"]
