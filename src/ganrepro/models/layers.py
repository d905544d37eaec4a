"""Layers shared by the StyleGAN2 and R3GAN families.

- 2x up/down resampling with a separable low-pass FIR filter (pure torch: zero insertion,
  padding and a depthwise ``F.conv2d``), following the upfirdn2d padding conventions;
- StyleGAN-style fully connected / conv layers with optional equalised learning rate;
- the learned 4x4 generative basis, class one-hot conditioning and 2nd-moment normalisation.

Everything is plain PyTorch and creates no tensor data-dependently in ``__init__``, so the
networks can be instantiated on the ``meta`` device to count parameters for free.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
# StyleGAN convention: the activation multiplies its output by sqrt(2) at runtime.
STYLEGAN_LRELU_GAIN = math.sqrt(2.0)
# He gain of leaky ReLU(0.2); R3GAN puts it into the weight init instead of the forward pass.
R3GAN_LRELU_GAIN = math.sqrt(2.0 / (1.0 + LRELU_SLOPE**2))


# ----------------------------------------------------------------------------- resampling


def lowpass_filter(taps) -> torch.Tensor:
    """A 1D FIR filter from its taps (e.g. [1, 3, 3, 1]), normalised to sum to 1."""
    f = torch.tensor([float(t) for t in taps], dtype=torch.float32)
    return f / f.sum()


def filter2d(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int], stride: int = 1, gain: float = 1.0):
    """Convolve every channel of ``x`` with the separable 2D filter outer(f, f) * gain.

    ``pad`` = (before, after) zero padding applied to both spatial dims (negative crops).
    """
    channels = x.shape[1]
    f = f.to(x.dtype).flip(0)  # true convolution, as upfirdn2d (no-op for symmetric filters)
    kernel = (torch.outer(f, f) * gain)[None, None].expand(channels, 1, -1, -1)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, kernel, stride=stride, groups=channels)


def upsample_2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x upsampling: insert zeros between pixels, then low-pass filter (gain 4 keeps the mean)."""
    n, c, h, w = x.shape
    x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, 2 * h, 2 * w)
    fw = f.shape[0]
    return filter2d(x, f, pad=((fw + 1) // 2, (fw - 2) // 2), gain=4.0)


def downsample_2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x downsampling: low-pass filter, keep every second pixel."""
    fw = f.shape[0]
    return filter2d(x, f, pad=((fw - 1) // 2, (fw - 2) // 2), stride=2)


def conv3x3_up_2x(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, *,
                  true_convolution: bool = False) -> torch.Tensor:
    """3x3 conv at twice the resolution, fused: stride-2 transposed conv, then the low-pass filter.

    In the interior this equals ``conv2d(upsample_2x(x, f), weight, padding=1)`` at a quarter
    of the cost (only the borders differ, as in StyleGAN2's conv2d_resample).
    ``true_convolution``: convolve with ``weight`` instead of correlating (what ``F.conv2d`` does),
    i.e. use ``weight.flip([2, 3])`` in the formula above: StyleGAN2-ADA's upsampling layers
    (``flip_weight=False``), so that its checkpoints load without flipping their kernels.
    """
    assert weight.shape[-1] == 3, "fused upsampling conv is written for 3x3 kernels"
    kernel = weight if true_convolution else weight.flip([2, 3])
    x = F.conv_transpose2d(x, kernel.transpose(0, 1), stride=2)  # [.., 2H+1, 2W+1]
    fw = f.shape[0]
    before = (fw - 1) // 2
    return filter2d(x, f, pad=(before, fw - 2 - before), gain=4.0)


def conv_down_2x(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """kxk conv followed by 2x downsampling, fused: low-pass filter, then a stride-2 conv."""
    k, fw = weight.shape[-1], f.shape[0]
    x = filter2d(x, f, pad=(k // 2 + (fw - 1) // 2, k // 2 + (fw - 2) // 2))
    return F.conv2d(x, weight, stride=2)


# ----------------------------------------------------------------------------- StyleGAN-style layers


def new_weight(shape, *, fan_in: int, equalized: bool, init_gain: float = 1.0, lr_mul: float = 1.0):
    """A weight parameter and the constant it is multiplied by at runtime.

    The effective weight (``param * runtime_gain``) always has std ``init_gain / sqrt(fan_in)``
    at init. With equalised lr the parameter is N(0, 1/lr_mul) and the whole scale is applied at
    runtime (StyleGAN); without it the scale lives in the initial values (standard He init).
    """
    if equalized:
        param = nn.Parameter(torch.randn(shape) / lr_mul)
        return param, init_gain * lr_mul / math.sqrt(fan_in)
    param = nn.Parameter(torch.randn(shape) * (init_gain / math.sqrt(fan_in) / lr_mul))
    return param, lr_mul


class StyleLinear(nn.Module):
    """Fully connected layer of the StyleGAN family (optionally equalised lr, lr multiplier).

    activation "lrelu": leaky ReLU(0.2) with gain sqrt(2); the gain is applied at runtime with
    equalised lr and folded into the init without it.
    """

    def __init__(self, in_features, out_features, *, bias=True, bias_init=0.0, lr_mul=1.0,
                 activation=None, equalized=True):
        super().__init__()
        self.activation = activation
        act_gain = STYLEGAN_LRELU_GAIN if activation == "lrelu" else 1.0
        self.weight, self.weight_gain = new_weight(
            [out_features, in_features], fan_in=in_features, equalized=equalized,
            init_gain=1.0 if equalized else act_gain, lr_mul=lr_mul)
        self.act_gain = act_gain if equalized else 1.0
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init) / lr_mul)) if bias else None
        self.bias_gain = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x):
        bias = self.bias * self.bias_gain if self.bias is not None else None
        x = F.linear(x, self.effective_weight(), bias)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, LRELU_SLOPE) * self.act_gain
        return x


def clamp_activations(x: torch.Tensor, limit) -> torch.Tensor:
    """StyleGAN2's ``conv_clamp``: clamp activations to [-limit, limit]; None disables."""
    return x if limit is None else x.clamp(-limit, limit)


class StyleConv2d(nn.Module):
    """kxk conv of the StyleGAN family with optional fused 2x downsampling (discriminator side).

    Runs in the dtype of its input (weights are cast). ``conv_clamp``: the output (after bias,
    activation and gain) is clamped to +-conv_clamp * gain, as StyleGAN2-ADA's ``bias_act``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, bias=True, activation=None,
                 down=False, equalized=True, resample_filter=(1, 3, 3, 1), conv_clamp=None):
        super().__init__()
        self.activation, self.down, self.kernel_size = activation, down, kernel_size
        self.conv_clamp = conv_clamp
        act_gain = STYLEGAN_LRELU_GAIN if activation == "lrelu" else 1.0
        self.weight, self.weight_gain = new_weight(
            [out_channels, in_channels, kernel_size, kernel_size], fan_in=in_channels * kernel_size**2,
            equalized=equalized, init_gain=1.0 if equalized else act_gain)
        self.act_gain = act_gain if equalized else 1.0
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("resample_filter", lowpass_filter(resample_filter), persistent=False)

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x, gain: float = 1.0):
        w = self.effective_weight().to(x.dtype)
        if self.down:
            x = conv_down_2x(x, w, self.resample_filter)
        else:
            x = F.conv2d(x, w, padding=self.kernel_size // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)[None, :, None, None]
        if self.activation == "lrelu":
            x = F.leaky_relu(x, LRELU_SLOPE)
        x = x * (self.act_gain * gain)
        return clamp_activations(x, None if self.conv_clamp is None else self.conv_clamp * gain)


# ----------------------------------------------------------------------------- inputs and conditioning


class GenerativeBasis(nn.Module):
    """Learned [C, 4, 4] basis, scaled per channel by a bias-free linear map of the latent.

    ``out = basis * linear(z)[:, :, None, None]`` (R3GAN's generator input, also used by the
    stripped StyleGAN2 of config B). ``linear`` has init std 1/sqrt(in_features).
    """

    def __init__(self, in_features, channels, *, equalized=False):
        super().__init__()
        self.basis = nn.Parameter(torch.randn(channels, 4, 4))
        self.linear = StyleLinear(in_features, channels, bias=False, equalized=equalized)

    def forward(self, z):
        return self.basis[None] * self.linear(z)[:, :, None, None]


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row so that its mean square is 1 (StyleGAN's z normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def class_one_hot(c, num_classes: int, batch: int, dtype=torch.float32):
    """Class input as a float [N, num_classes] matrix, or None for unconditional networks.

    ``c`` is an int64 class index tensor [N] (one-hot / soft label rows [N, K] pass through).
    Unconditional networks ignore ``c``; conditional ones require it.
    """
    if num_classes == 0:
        return None
    if c is None:
        raise ValueError(f"this network is conditional on {num_classes} classes: pass c (int64 class indices [N])")
    if c.ndim == 2:
        return c.to(dtype)
    if c.ndim != 1 or c.shape[0] != batch or c.is_floating_point():
        raise ValueError(f"c must be an int64 class index tensor of shape [{batch}], got {c.dtype} {list(c.shape)}")
    return F.one_hot(c.long(), num_classes).to(dtype)
