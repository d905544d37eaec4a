"""Data-parallel training across processes (torchrun / SLURM tasks); single process by default.

Gradients are averaged with an explicit all-reduce after backward instead of wrapping the networks in
DistributedDataParallel, because R1/R2 and path-length penalties take double-backward gradients,
which DDP's hooks do not support.
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
