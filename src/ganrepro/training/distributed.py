"""Data-parallel training across processes (torchrun / SLURM tasks); single process by default.

Gradients are averaged with an explicit all-reduce after backward instead of wrapping the networks in
DistributedDataParallel, because R1/R2 and path-length penalties take double-backward gradients,
which DDP's hooks do not support.

Every rank draws the same global batch and latents (functions of (seed, step)) and trains on its
slice, so N processes compute the same averaged gradient as one process on the whole batch, up to
floating-point summation order. Decisions that end the loop (a stop request, divergence) are taken
on values reduced across ranks, so all ranks leave the loop at the same step.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world_size) from the environment (torchrun or SLURM); (0, 1) when not distributed."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, size


def local_rank() -> int:
    """Rank within the node (LOCAL_RANK, set by torchrun and the SLURM launcher); picks the GPU."""
    return int(os.environ.get("LOCAL_RANK", world()[0]))


def init(device: torch.device) -> tuple[int, int]:
    rank, size = world()
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, size


def average_gradients(module: torch.nn.Module, world_size: int) -> None:
    if world_size <= 1:
        return
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world_size


def any_rank(flag: bool, world_size: int, device: torch.device) -> bool:
    """True on every rank when `flag` is True on at least one (e.g. one rank got SIGUSR2)."""
    if world_size <= 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def average_scalars(values: dict[str, float], world_size: int, device: torch.device) -> dict[str, float]:
    """Mean of each scalar over the ranks (losses, gradient norms), in one all-reduce."""
    if world_size <= 1 or not values:
        return values
    keys = list(values)  # same order on every rank: the same code path produced them
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= world_size
    return dict(zip(keys, t.tolist()))
