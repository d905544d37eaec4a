"""Batched tiny matrices (``[N, k, k]``, float32) for the augmentation transforms."""

from __future__ import annotations

import torch


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched product of tiny matrices, elementwise in float32 (no bmm: no TF32, no overhead)."""
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


def eye(n: int, size: int, device) -> torch.Tensor:
    """``n`` identity matrices ``[n, size, size]`` (a fresh tensor, safe to write into)."""
    return torch.eye(size, device=device).unsqueeze(0).repeat(n, 1, 1)


def mat3(rows, device) -> torch.Tensor:
    """Stack a 3x3 nested list of ``[N]`` tensors / python scalars into ``[N, 3, 3]``."""
    n = next(x.shape[0] for row in rows for x in row if torch.is_tensor(x))
    out = []
    for row in rows:
        out.append(
            torch.stack(
                [x if torch.is_tensor(x) else torch.full((n,), float(x), device=device) for x in row],
                dim=-1,
            )
        )
    return torch.stack(out, dim=-2)
