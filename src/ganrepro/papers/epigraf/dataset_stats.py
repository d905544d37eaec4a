"""Table 4 regenerated from an archive's stored poses: count, yaw / pitch distribution, resolution.

Each angle is fitted two ways: a Normal (mean, std) and the uniform-on-sphere hypothesis of
pi-GAN's USphere (yaw ~ U[-pi, pi]; cos(pitch) ~ U[-1, 1]), checked with a KS test. The row names
the distribution that fits (USphere when its KS p-value is above ``alpha``, else the Normal fit).
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy import stats

from ganrepro.data.archive import open_archive
from ganrepro.errors import DatasetError


def fit_poses(poses: np.ndarray, alpha: float = 0.01) -> dict:
    """Fitted yaw and pitch distributions of poses [N, >=2] (radians)."""
    poses = np.asarray(poses, dtype=np.float64)
    yaw, pitch = poses[:, 0], poses[:, 1]
    p_yaw = float(stats.kstest(yaw, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue)
    p_pitch = float(stats.kstest(np.cos(pitch), stats.uniform(-1, 2).cdf).pvalue)
    out = {"count": int(len(poses)),
           "yaw_mean": float(yaw.mean()), "yaw_std": float(yaw.std(ddof=1)),
           "pitch_mean": float(pitch.mean()), "pitch_std": float(pitch.std(ddof=1)),
           "yaw_usphere_p": p_yaw, "pitch_usphere_p": p_pitch}
    out["yaw_distribution"] = ("USphere(0, pi)" if p_yaw > alpha
                               else f"Normal({out['yaw_mean']:.2f}, {out['yaw_std']:.2f})")
    out["pitch_distribution"] = ("USphere(pi/2, pi/2)" if p_pitch > alpha
                                 else f"Normal({out['pitch_mean']:.2f}, {out['pitch_std']:.2f})")
    return out


def table4_row(archive_path: str | os.PathLike, alpha: float = 0.01) -> dict:
    """Table 4's row for one prepared archive (needs its ``poses`` array)."""
    archive = open_archive(archive_path)
    try:
        poses = np.asarray(archive["poses"])
    except (KeyError, DatasetError):
        raise DatasetError(f"{archive_path}: has no poses.npy; Table 4 needs a dataset with camera poses "
                           f"(prepare it from a dataset.json with camera_angles, or a 3D embedded stand-in)") from None
    row = fit_poses(poses, alpha)
    row.update(dataset=archive.dataset, resolution=int(archive.resolution))
    return row
