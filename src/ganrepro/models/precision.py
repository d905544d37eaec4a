"""Numerics shared by the networks: per-stage reduced precision and gradient sanitising.

Reduced precision follows the official implementations: no autocast, but an explicit cast of the
activations at the entry of each high-resolution stage (StyleGAN2-ADA ``num_fp16_res``, R3GAN
``FP16Stages``), with every weight cast to the activation dtype inside its layer. Parameters stay
float32; the low-resolution stages, the mapping network and the logits run in float32.
"""

import torch
from torch import nn

REDUCED_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def stage_dtypes(num_stages: int, reduced_stages: int, dtype: torch.dtype) -> list[torch.dtype]:
    """Dtype of each stage, listed from the lowest resolution (4x4) to the highest.

    The ``reduced_stages`` highest-resolution stages get ``dtype``; the 4x4 stage always stays
    float32, so the count saturates at ``num_stages - 1`` (StyleGAN2-ADA:
    ``fp16_resolution = max(2 ** (log2(res) + 1 - num_fp16_res), 8)``; R3GAN's presets reduce
    3 of 4, 4 of 5 and 4 of 7 stages, i.e. this rule with ``reduced_stages = 4``).
    """
    reduced = min(reduced_stages, num_stages - 1)
    return [torch.float32] * (num_stages - reduced) + [dtype] * reduced


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that casts its weight (and bias) to the input dtype; same parameters and state dict."""

    def forward(self, x):
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return self._conv_forward(x, self.weight.to(x.dtype), bias)


class Linear(nn.Linear):
    """``nn.Linear`` that casts its weight (and bias) to the input dtype; same parameters and state dict."""

    def forward(self, x):
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return nn.functional.linear(x, self.weight.to(x.dtype), bias)


@torch.no_grad()
def sanitize_gradients(module: nn.Module) -> None:
    """Replace non-finite gradients in place: NaN -> 0, +inf -> 1e5, -inf -> -1e5.

    What both official training loops do before every optimiser step
    (``misc.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5)``, which is ``torch.nan_to_num``
    on torch >= 1.8). Finite values are left as they are.
    """
    for param in module.parameters():
        if param.grad is not None:
            torch.nan_to_num(param.grad, nan=0.0, posinf=1e5, neginf=-1e5, out=param.grad)
