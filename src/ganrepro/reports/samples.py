"""Sample grids: what a reader looks at first. Generated images of a run beside real images of its data.

``sample_grid(network_path, out_png, seeds=...)`` draws the EMA generator of one ``network.pt`` at fixed
latent seeds; the latent of seed ``s`` depends on ``s`` and ``z_dim`` only, so every run of a table that
uses the same seeds shows, column by column, the same latent (rows of a table compare image by image).
Class-conditional generators get one row per class (column j = seed j in every row).
``real_grid(dataset_dir, out_png, n)`` tiles real images of a prepared archive the same way.

Every cell is upscaled (nearest neighbour) to at least ``MIN_CELL_PX`` pixels; a caption strip on top
names the run, scale and images trained. Both functions return the ``Grid`` layout they drew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..utils_io import atomic_write, read_json

MIN_CELL_PX = 64
PAD = 2                 # pixels between cells
LINE_PX = 18            # caption strip: height of one line of text
FONT_PX = 13
LABEL_PX = 64           # left strip with the class of each row (class-conditional grids only)
MAX_CLASS_ROWS = 10     # class-conditional grids show the first classes only (ImageNet has 1000)
DEFAULT_SEEDS = tuple(range(8))
MAX_COLS = 8            # unconditional grids: rows of this many images (one row at the default seeds)
BACKGROUND = (255, 255, 255)
SAMPLER_SEED = 0       # the global RNG for what G's sampler draws besides the latents (``_generate``)


@dataclass(frozen=True)
class Grid:
    """Where cell (row, col) of a drawn grid sits in the PNG, and what the rows mean."""

    rows: int
    cols: int
    cell: int                 # side of one (upscaled) cell in pixels
    left: int                 # x of the first cell (LABEL_PX when rows are labelled by class)
    top: int                  # y of the first cell (below the caption strip)
    row_labels: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return (self.left + self.cols * (self.cell + PAD) + PAD, self.top + self.rows * (self.cell + PAD) + PAD)

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of one cell, x1/y1 exclusive."""
        x0 = self.left + PAD + col * (self.cell + PAD)
        y0 = self.top + PAD + row * (self.cell + PAD)
        return x0, y0, x0 + self.cell, y0 + self.cell


def latents(seeds, z_dim: int) -> torch.Tensor:
    """[len(seeds), z_dim] standard-normal latents; row i is a function of (seeds[i], z_dim) only."""
    return torch.stack([torch.randn(z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


@torch.no_grad()
def _generate(G: torch.nn.Module, payload: dict, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """Full images [N, C, H, W] in about [-1, 1] from G loaded with its ``network.pt`` payload: the one place
    that calls the generator: the run's objective draws them (``Objective.sample``: EpiGRAF renders,
    CIPS evaluates its dense grid).

    What the sampler draws besides the latents (EpiGRAF's cameras and ray jitter, StyleGAN2's noise inputs)
    comes from torch's global RNG, seeded here with ``SAMPLER_SEED`` and restored afterwards: torch seeds
    that RNG differently in every process, so unseeded, a rerun of the same command drew another grid."""
    from ..training.loop import generator_sampler

    devices = [z.device.index if z.device.index is not None else torch.cuda.current_device()] if z.is_cuda else []
    with torch.random.fork_rng(devices=devices):  # seeds exactly what it restores: the CPU and z's device
        torch.default_generator.manual_seed(SAMPLER_SEED)
        for index in devices:
            torch.cuda.default_generators[index].manual_seed(SAMPLER_SEED)
        return generator_sampler(G, payload)(z, c)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] float images -> uint8 [N, C, H, W] (the inverse of the training normalisation)."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _wrap(text: str, font, width: int) -> list[str]:
    """Split ``text`` at spaces into lines no wider than ``width`` pixels (a longer word stays whole)."""
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if line and font.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line]


def draw_grid(cells: np.ndarray, title: list[str], row_labels: list[str] | None = None) -> tuple[Image.Image, Grid]:
    """Tile uint8 ``cells`` [rows, cols, C, H, W] (C = 1 or 3) under a caption strip (``title`` lines,
    wrapped to the grid's width)."""
    rows, cols, channels, height, width = cells.shape
    if channels not in (1, 3):
        raise ValueError(f"cells must have 1 or 3 channels, got {channels}")
    cell = max(height, width) * math.ceil(MIN_CELL_PX / max(height, width))
    left = LABEL_PX if row_labels else 0
    font = _font(FONT_PX)
    text = [wrapped for line in title for wrapped in _wrap(line, font, left + cols * (cell + PAD) - 6)]
    grid = Grid(rows=rows, cols=cols, cell=cell, left=left, top=6 + LINE_PX * len(text),
                row_labels=tuple(row_labels or ()))
    canvas = Image.new("RGB", grid.size, BACKGROUND)
    for r in range(rows):
        for c in range(cols):
            pixels = np.repeat(cells[r, c], 3 // channels, axis=0).transpose(1, 2, 0)
            tile = Image.fromarray(np.ascontiguousarray(pixels), "RGB").resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, grid.box(r, c)[:2])
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(text):
        draw.text((4, 3 + i * LINE_PX), line, fill=(0, 0, 0), font=font)
    for r, label in enumerate(grid.row_labels):
        x0, y0, _, y1 = grid.box(r, 0)
        draw.text((4, (y0 + y1) // 2 - FONT_PX // 2), label, fill=(0, 0, 0), font=font)
    return canvas, grid


def _save_png(image: Image.Image, out_png: str | Path) -> Path:
    return atomic_write(out_png, lambda p: image.save(p, format="PNG"))


def parse_seeds(text: str) -> list[int]:
    """``"0-7"`` or ``"0,3,5"`` (or a mix: ``"0-3,9"``) -> a list of latent seeds."""
    from ..errors import ConfigError

    seeds = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            lo, _, hi = part.partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected non-negative integers like '0-7' or '0,3,5'") from None
    if not seeds:
        raise ConfigError(f"--seeds {text!r}: no seed given; use e.g. '0-7'")
    return seeds


def _seed_text(seeds) -> str:
    seeds = [int(s) for s in seeds]
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ",".join(map(str, seeds))


def _run_title(payload: dict, network_path: Path, shown_as: str | None = None) -> list[str]:
    cfg = payload.get("config", {})
    result_path = network_path.parent / "result.json"
    result = read_json(result_path) if result_path.exists() else {}
    kimg = result.get("kimg")
    status = result.get("status", payload.get("status", "?"))
    ds = cfg.get("dataset", {})
    trained = cfg.get("experiment", network_path.parent.name)
    head = f"{cfg.get('paper', '?')} / {shown_as or trained}"
    if shown_as and shown_as != trained:  # a run shared with the experiment that trained it (config/shared.py)
        head += f" (= {trained}'s run)"
    line1 = f"{head}  |  scale {cfg.get('scale', '?')}  |  " + (f"{kimg:.4g} kimg" if kimg is not None else "kimg ?")
    line2 = f"EMA generator, status {status}, data {ds.get('key') or ds.get('title', '?')}"
    if ds.get("standin_for"):
        line2 += f" (stand-in for {ds['standin_for']})"
    return [line1, line2]


def sample_grid(network_path: str | Path, out_png: str | Path, *, seeds=DEFAULT_SEEDS, rows_per_class: bool = True,
                max_class_rows: int = MAX_CLASS_ROWS, cols: int | None = None, device: str = "cpu",
                shown_as: str | None = None) -> Grid:
    """Write a PNG of G_ema's images from ``network_path`` at latent ``seeds``; return its layout.

    Class-conditional G and ``rows_per_class``: one row per class (the first ``max_class_rows``), each row
    the same ``seeds`` in the same columns. Otherwise the seeds fill rows of ``cols`` (default ``MAX_COLS``).
    """
    from ..training.loop import load_generator

    network_path = Path(network_path)
    G, payload = load_generator(network_path, device=device)
    seeds = [int(s) for s in seeds]
    z = latents(seeds, G.z_dim).to(device)
    num_classes = int(payload.get("num_classes") or 0)
    if num_classes and rows_per_class:
        classes = list(range(min(num_classes, max_class_rows)))
        imgs = [_generate(G, payload, z, torch.full((len(seeds),), k, dtype=torch.int64, device=device)) for k in classes]
        cells = np.stack([to_uint8(x) for x in imgs])
        labels = [f"class {k}" for k in classes]
    else:
        c = (torch.arange(len(seeds), device=device) % num_classes) if num_classes else None
        flat = to_uint8(_generate(G, payload, z, c))
        cells, labels = _fill_rows(flat, cols), None
    title = _run_title(payload, network_path, shown_as)
    title[1] += f", {_seed_text(seeds)}"
    image, grid = draw_grid(cells, title, labels)
    _save_png(image, out_png)
    return grid


def sample_grid_aside(network_path: str | Path, out_png: str | Path, shown_as: str | None = None) -> Grid:
    """``sample_grid`` at the default seeds inside a job that does more (evaluation): torch's global RNG
    (EpiGRAF's cameras, generator noise) is restored afterwards, so what runs next draws what it draws
    without the grid; drawn first in a process, the grid equals a separate ``ganrepro samples`` job's."""
    with torch.random.fork_rng(devices=[]):
        return sample_grid(network_path, out_png, shown_as=shown_as)


def _fill_rows(flat: np.ndarray, cols: int | None) -> np.ndarray:
    """[N, C, H, W] -> [rows, cols, C, H, W], row-major (default: rows of ``MAX_COLS``); the last row is
    padded with white cells."""
    n = flat.shape[0]
    cols = cols or min(n, MAX_COLS)
    rows = math.ceil(n / cols)
    out = np.full((rows * cols, *flat.shape[1:]), 255, dtype=np.uint8)
    out[:n] = flat
    return out.reshape(rows, cols, *flat.shape[1:])


def real_grid(dataset_dir: str | Path, out_png: str | Path, n: int = len(DEFAULT_SEEDS), *,
              max_class_rows: int = MAX_CLASS_ROWS, cols: int | None = None) -> Grid:
    """Write a PNG of real images of a prepared archive (``ganrepro.data.open_archive``); return its layout.

    Labelled archives: one row per class (the first ``max_class_rows``), the first ``n`` images of each
    class. Unlabelled: ``n`` images spread evenly over the archive. The choice is deterministic.
    """
    from ..data import open_archive

    archive = open_archive(dataset_dir, verify=False)
    labels = np.asarray(archive.labels)
    man = archive.manifest
    num_classes = int(man.get("num_classes") or 0)
    if num_classes and (labels >= 0).all():
        classes = [k for k in range(num_classes) if (labels == k).any()][:max_class_rows]
        rows = []
        for k in classes:
            idx = np.flatnonzero(labels == k)[:n]
            row = np.full((n, *archive.images.shape[1:]), 255, dtype=np.uint8)
            row[: len(idx)] = archive.images[idx]
            rows.append(row)
        cells, row_labels = np.stack(rows), [f"class {k}" for k in classes]
    else:
        idx = np.linspace(0, archive.count - 1, num=min(n, archive.count)).round().astype(int)
        cells, row_labels = _fill_rows(np.asarray(archive.images[idx]), cols), None
    line1 = f"real images: {man.get('dataset', Path(dataset_dir).name)}  |  {Path(dataset_dir).as_posix()}"
    line2 = f"{man.get('count', archive.count)} images at {archive.resolution}px"
    if man.get("standin_for"):
        line2 += f", stand-in for {man['standin_for']}"
    image, grid = draw_grid(cells, [line1, line2], row_labels)
    _save_png(image, out_png)
    return grid
