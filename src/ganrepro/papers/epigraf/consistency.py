"""EpiGRAF's multi-view consistency as a number: do rendered views of one latent stay one object?

N latents x V yaws are rendered by G_ema with the multi-view figure's cameras (``figures.multiview_grid``:
pitch pi/2, yaw evenly over [-0.5, 0.5] rad for frontal datasets, over the whole circle [-pi, pi) for the
360-degree ones), depths fixed (``render_full(perturb=False)``: the renderer's random depths would add
view-independent differences), and embedded with the FID feature extractor of the scale (the stand-in
CNN's FID layer at small scales, Inception's pool3 at paper scale). Then

    ratio = mean over latents of the mean feature distance between two views of that latent
            / mean over views of the mean feature distance between two latents at that view

(Euclidean distances, all ordered pairs). 0: views of one latent look alike (a generator that ignores the
camera scores exactly 0); ~1: views of one latent are no more alike than two different objects; a
generator whose image depends on the camera only (the same picture for every latent) has different-latent
distance 0 and scores inf; a generator that draws one picture whatever latent and camera scores nan.

360-degree datasets: the span is the whole circle, so the back of an object is compared with its front,
which legitimately differ; their ratio is higher than a frontal dataset's for equally consistent objects.
The record therefore carries the ratio of REAL objects under the same protocol where the stand-in can be
re-rendered (``reference``: held-out stand-in scenes ray-traced at the same N x V cameras) and the ratio
over adjacent yaws only (``adjacent``). The metric name encodes the protocol:
``view_consistency<N>x<V>-<extractor tag>``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...metrics.names import metric_name as protocol_name

METRIC = "view_consistency"
PITCH = math.pi / 2  # the figure's elevation
FRONTAL_YAW = 0.5    # frontal datasets: yaw in [-0.5, 0.5] rad (the figure's span; the stand-in heads' yaw std is 0.3)


def yaw_span(camera: str, views: int) -> tuple[float, float]:
    """The figure's yaw span for a camera mode: [-0.5, 0.5] (frontal, both ends), or ``views`` yaws evenly
    around the circle starting at -pi (sphere360, the end pi = -pi left out)."""
    if camera == "sphere360":
        return -math.pi, math.pi * (1 - 2 / views)
    return -FRONTAL_YAW, FRONTAL_YAW


def view_cameras(camera: str, views: int) -> torch.Tensor:
    """[V, 3] (yaw, pitch, roll) of the metric's (and the figure's) views."""
    yaws = torch.linspace(*yaw_span(camera, views), views)
    return torch.stack([yaws, torch.full((views,), PITCH), torch.zeros(views)], dim=1)


@torch.no_grad()
def render_views(G, z: torch.Tensor, cams: torch.Tensor, c: torch.Tensor | None = None, *,
                 batch: int = 16) -> torch.Tensor:
    """uint8 [N, V, C, H, W]: each latent of ``z`` [N, z_dim] rendered at every camera of ``cams`` [V, 3]."""
    n, v = len(z), len(cams)
    zz = z.repeat_interleave(v, 0)
    cc = None if c is None else c.repeat_interleave(v, 0)
    kk = cams.to(z.device).repeat(n, 1)
    out = []
    for i in range(0, n * v, batch):
        img = G.render_full(zz[i:i + batch], None if cc is None else cc[i:i + batch], kk[i:i + batch], perturb=False)
        out.append((img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu())
    img = torch.cat(out)
    return img.reshape(n, v, *img.shape[1:])


def consistency_ratio(features: torch.Tensor) -> dict:
    """{value, same_latent, different_latent, adjacent} of features [N, V, D] (module docstring)."""
    f = torch.as_tensor(features).double()
    if f.dim() != 3 or f.shape[0] < 2 or f.shape[1] < 2:
        raise ValueError(f"features must be [N >= 2 latents, V >= 2 views, D], got {tuple(f.shape)}")
    n, v = f.shape[:2]
    # exact differences (not cdist's matmul form): identical vectors are at distance exactly 0
    per_latent = (f[:, :, None] - f[:, None, :]).norm(dim=-1)                # [N, V, V]
    per_view = (f.transpose(0, 1)[:, :, None] - f.transpose(0, 1)[:, None, :]).norm(dim=-1)  # [V, N, N]
    same = float(per_latent.sum() / (n * v * (v - 1)))
    diff = float(per_view.sum() / (v * n * (n - 1)))
    adjacent = float((f[:, 1:] - f[:, :-1]).norm(dim=-1).mean())

    def ratio(a: float) -> float:
        if diff > 0:
            return a / diff
        return math.inf if a > 0 else math.nan

    return {"value": ratio(same), "same_latent": same, "different_latent": diff, "adjacent": ratio(adjacent)}


def embed(images: torch.Tensor | np.ndarray, extractor: dict, device="cpu", batch: int = 64) -> tuple[torch.Tensor, dict]:
    """(float64 features [M, D] of uint8 images [M, C, H, W] at the extractor's FID layer, extractor info),
    through the same torch-fidelity extractor the FID uses."""
    from torch_fidelity.utils import create_feature_extractor

    from ...metrics.extractors import register_extractors, resolve_extractor
    from ...metrics.images import as_uint8_images, to_rgb

    register_extractors()
    fe = resolve_extractor(extractor)
    layer = fe["layers"]["fid"]
    net = create_feature_extractor(fe["name"], [layer], cuda=str(device).startswith("cuda"),
                                   feature_extractor_weights_path=fe["weights"], verbose=False)
    x = as_uint8_images(images)
    with torch.no_grad():
        feats = [net(to_rgb(x[i:i + batch]).to(device))[0].double().cpu() for i in range(0, len(x), batch)]
    info = {k: fe[k] for k in ("name", "tag", "weights", "weights_sha256", "meta")}
    return torch.cat(feats).reshape(len(x), -1), {**info, "layer": layer}


def metric_name(latents: int, views: int, tag: str) -> str:
    return protocol_name(METRIC, f"{latents}x{views}", tag)


def view_consistency(G, *, camera: str, extractor: dict, latents: int, views: int, seed: int, device="cpu",
                     reference: np.ndarray | None = None, reference_source: str | None = None) -> dict:
    """``{metric name: entry}`` of generator ``G`` (``render_full(z, c, cams, perturb=False)``, ``z_dim``,
    ``c_dim``): ``latents`` latents drawn from ``seed`` x ``views`` yaws of the camera mode ``camera``.
    ``reference``: uint8 [latents, views, C, H, W] renders of real objects at the same cameras (scored alike)."""
    cams = view_cameras(camera, views)
    z = torch.randn([latents, G.z_dim], generator=torch.Generator().manual_seed(seed)).to(device)
    c = torch.arange(latents, device=device) % G.c_dim if getattr(G, "c_dim", 0) else None
    with torch.random.fork_rng(devices=[]):  # the global RNG of the caller is left as it was
        torch.manual_seed(seed)
        images = render_views(G, z, cams, c)
    feats, info = embed(images.flatten(0, 1), extractor, device)
    entry = {**consistency_ratio(feats.reshape(latents, views, -1)), "metric": METRIC, "latents": latents,
             "views": views, "seed": seed, "camera": camera, "pitch": PITCH,
             "yaws": [round(float(y), 6) for y in cams[:, 0]], "render": "deterministic (perturb=False)",
             "distance": "euclidean", "extractor": info}
    if reference is not None:
        ref = torch.as_tensor(np.asarray(reference))
        ref_feats, _ = embed(ref.flatten(0, 1), extractor, device)
        entry["reference"] = {**consistency_ratio(ref_feats.reshape(latents, views, -1)), "source": reference_source}
    return {metric_name(latents, views, info["tag"]): entry}


def standin_reference(cfg: dict, latents: int, views: int) -> tuple[np.ndarray, str] | None:
    """Held-out scenes of the run's 3D stand-in rendered at the metric's cameras, or None (real data)."""
    from .standins3d import FAMILIES, multiview_objects3d
    from ...stages.learning_index import HELDOUT_SEED_OFFSET

    spec = cfg["dataset"].get("spec", {})
    if spec.get("source") != "embedded" or spec.get("generator") not in FAMILIES:
        return None
    family = spec["generator"]
    images = multiview_objects3d(family, count=latents, resolution=spec["resolution"],
                                 seed=int(spec["seed"]) + HELDOUT_SEED_OFFSET,
                                 cameras=view_cameras(FAMILIES[family][2], views).numpy(),
                                 num_classes=spec.get("num_classes") or None)
    return images, f"held-out stand-in scenes (embedded:{family}, seed +{HELDOUT_SEED_OFFSET}), ray-traced"


def evaluate_metrics(cfg: dict, G, payload: dict, device) -> dict:
    """The paper's evaluation hook (``register_paper(metrics=...)``): the view consistency of a 3D run
    whose params ask for it (``eval.view_consistency: {latents, views}``), else nothing."""
    spec = cfg["eval"].get("view_consistency")
    if not spec or not hasattr(G, "render_full"):
        return {}
    from ...stages.eval_draw import EVAL_SEED

    latents, views = int(spec["latents"]), int(spec["views"])
    ref = standin_reference(cfg, latents, views)
    return view_consistency(G, camera=cfg["model"]["camera"], extractor=cfg["eval"]["extractor"], latents=latents,
                            views=views, seed=EVAL_SEED, device=device,
                            reference=None if ref is None else ref[0], reference_source=None if ref is None else ref[1])
