"""Exponential moving average of the generator's weights."""

from __future__ import annotations

import copy

import torch


def make_ema(G: torch.nn.Module) -> torch.nn.Module:
    ema = copy.deepcopy(G).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: torch.nn.Module, G: torch.nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * G for parameters; buffers are copied."""
    for p_ema, p in zip(ema.parameters(), G.parameters()):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(ema.buffers(), G.buffers()):
        b_ema.copy_(b)
