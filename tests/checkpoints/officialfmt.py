"""Official-format checkpoints built by the tests: classes defined under the official module names
(installed in sys.modules only while pickling, removed before loading) and the persistence reduce of
stylegan2-ada's ``torch_utils/persistence.py`` (``_reconstruct_persistent_obj(meta)``)."""

from __future__ import annotations

import contextlib
import pickle
import sys
import types

import torch
import torch.nn.functional as F
from torch import nn


@contextlib.contextmanager
def fake_modules(*names):
    """Empty modules under ``names`` while the block runs (the pickler looks classes up there)."""
    made = {n: types.ModuleType(n) for n in names}
    saved = {n: sys.modules.get(n) for n in names}
    sys.modules.update(made)
    try:
        yield made
    finally:
        for n, old in saved.items():
            if old is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = old


def place(module, cls, name=None):
    """Give ``cls`` the official module and name so pickle writes that global."""
    cls.__module__, cls.__qualname__, cls.__name__ = module.__name__, name or cls.__name__, name or cls.__name__
    setattr(module, cls.__name__, cls)
    return cls


# ----------------------------------------------------------------------------- persistence format


class _Persistent:
    """What persistence's reduce pickles: ``_reconstruct_persistent_obj(meta)``."""

    def __init__(self, meta):
        self.meta = meta

    def __reduce__(self):
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,))


def persistent(class_name: str, state: dict, module_src: str = "# official source\n") -> _Persistent:
    return _Persistent(dict(type="class", version=6, module_src=module_src, class_name=class_name, state=state))


def module_state(params: dict, buffers: dict | None = None, modules: dict | None = None, **attrs) -> dict:
    """A torch module's __dict__ as pickled: _parameters, _buffers, _modules + attributes."""
    from collections import OrderedDict

    return {"training": False, "_parameters": OrderedDict((k, nn.Parameter(v)) for k, v in params.items()),
            "_buffers": OrderedDict(buffers or {}), "_non_persistent_buffers_set": set(),
            "_modules": OrderedDict(modules or {}), **attrs}


def nest(flat: dict[str, torch.Tensor], class_of=lambda path: "Module", buffers=("resample_filter", "w_avg",
         "noise_const")) -> _Persistent:
    """A persistent module tree from a flat official state dict (tensor names split at dots)."""
    tree: dict = {}
    for name, tensor in flat.items():
        node = tree
        *path, leaf = name.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = tensor

    def build(node, path):
        params = {k: v for k, v in node.items() if isinstance(v, torch.Tensor) and k not in buffers}
        bufs = {k: v for k, v in node.items() if isinstance(v, torch.Tensor) and k in buffers}
        mods = {k: build(v, path + [k]) for k, v in node.items() if isinstance(v, dict)}
        return persistent(class_of(path), module_state(params, bufs, mods, weight_gain=0.5))

    return build(tree, [])


def dump_persistent(obj, path) -> None:
    with fake_modules("torch_utils", "torch_utils.persistence") as mods:
        def _reconstruct_persistent_obj(meta):  # never called by the loader under test
            raise AssertionError("the official reconstruct must not run")
        _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
        _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
        mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


# ----------------------------------------------------------------------------- R3GAN (plain pickled modules)


def r3gan_official_classes(R3, TN):
    """Official R3GAN classes (Networks.py / training/networks.py structure), written from the facts."""

    class Convolution(nn.Module):
        def __init__(self, cin, cout, k, groups=1):
            super().__init__()
            self.Layer = nn.Conv2d(cin, cout, k, padding=(k - 1) // 2, groups=groups, bias=False)
            nn.init.normal_(self.Layer.weight, 0, 0.3 / (cin // groups * k * k) ** 0.5)

        def forward(self, x):
            return F.conv2d(x, self.Layer.weight, padding=self.Layer.padding, groups=self.Layer.groups)

    class BiasedActivation(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.Bias = nn.Parameter(torch.randn(c) * 0.1)

        def forward(self, x):
            return F.leaky_relu(x + self.Bias.view(1, -1, 1, 1), 0.2)

    class ResidualBlock(nn.Module):
        def __init__(self, c, groups, e):
            super().__init__()
            self.LinearLayer1 = Convolution(c, c * e, 1)
            self.LinearLayer2 = Convolution(c * e, c * e, 3, c * e // groups)  # cardinality = hidden / group size
            self.LinearLayer3 = Convolution(c * e, c, 1)  # random, not zero: the test needs a non-identity branch
            self.NonLinearity1, self.NonLinearity2 = BiasedActivation(c * e), BiasedActivation(c * e)

        def forward(self, x):
            return x + self.LinearLayer3(self.NonLinearity2(self.LinearLayer2(self.NonLinearity1(self.LinearLayer1(x)))))

    def kernel():
        k = torch.tensor([1.0, 3, 3, 1])
        k = torch.outer(k, k)
        return k / k.sum()

    class InterpolativeUpsampler(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("Kernel", kernel())

        def forward(self, x):
            n, c, h, w = x.shape
            y = F.conv_transpose2d(x.reshape(n * c, 1, h, w), 4 * self.Kernel[None, None], stride=2, padding=1)
            return y.reshape(n, c, 2 * h, 2 * w)

    class InterpolativeDownsampler(InterpolativeUpsampler):
        def forward(self, x):
            n, c, h, w = x.shape
            y = F.conv2d(x.reshape(n * c, 1, h, w), self.Kernel[None, None], stride=2, padding=1)
            return y.reshape(n, c, h // 2, w // 2)

    class UpsampleLayer(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.Resampler = InterpolativeUpsampler()
            if cin != cout:
                self.LinearLayer = Convolution(cin, cout, 1)

        def forward(self, x):
            return self.Resampler(self.LinearLayer(x) if hasattr(self, "LinearLayer") else x)

    class DownsampleLayer(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.Resampler = InterpolativeDownsampler()
            if cin != cout:
                self.LinearLayer = Convolution(cin, cout, 1)

        def forward(self, x):
            x = self.Resampler(x)
            return self.LinearLayer(x) if hasattr(self, "LinearLayer") else x

    class GenerativeBasis(nn.Module):
        def __init__(self, din, cout):
            super().__init__()
            self.Basis = nn.Parameter(torch.randn(cout, 4, 4))
            self.LinearLayer = nn.Linear(din, cout, bias=False)

        def forward(self, x):
            return self.Basis.view(1, -1, 4, 4) * self.LinearLayer(x).view(x.shape[0], -1, 1, 1)

    class DiscriminativeBasis(nn.Module):
        def __init__(self, cin, dout):
            super().__init__()
            self.Basis = nn.Conv2d(cin, cin, 4, groups=cin, bias=False)
            self.LinearLayer = nn.Linear(cin, dout, bias=False)

        def forward(self, x):
            return self.LinearLayer(self.Basis(x).view(x.shape[0], -1))

    class Stage(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.Layers, self.DataType = nn.ModuleList(layers), torch.float32

        def forward(self, x):
            for layer in self.Layers:
                x = layer(x)
            return x

    class Generator(nn.Module):
        def __init__(self, z, widths, groups, blocks, e):
            super().__init__()
            stages = [Stage([GenerativeBasis(z, widths[0])] + [ResidualBlock(widths[0], groups, e) for _ in range(blocks)])]
            stages += [Stage([UpsampleLayer(widths[i], widths[i + 1])]
                             + [ResidualBlock(widths[i + 1], groups, e) for _ in range(blocks)]) for i in range(len(widths) - 1)]
            self.MainLayers = nn.ModuleList(stages)
            self.AggregationLayer = Convolution(widths[-1], 3, 1)

        def forward(self, x):
            for stage in self.MainLayers:
                x = stage(x)
            return self.AggregationLayer(x)

    class Discriminator(nn.Module):
        def __init__(self, widths, groups, blocks, e):
            super().__init__()
            stages = [Stage([ResidualBlock(widths[i], groups, e) for _ in range(blocks)]
                            + [DownsampleLayer(widths[i], widths[i + 1])]) for i in range(len(widths) - 1)]
            stages += [Stage([ResidualBlock(widths[-1], groups, e) for _ in range(blocks)] + [DiscriminativeBasis(widths[-1], 1)])]
            self.ExtractionLayer = Convolution(3, widths[0], 1)
            self.MainLayers = nn.ModuleList(stages)

        def forward(self, x):
            x = self.ExtractionLayer(x)
            for stage in self.MainLayers:
                x = stage(x)
            return x.view(x.shape[0])

    for cls in (Convolution, BiasedActivation, ResidualBlock, InterpolativeUpsampler, InterpolativeDownsampler,
                UpsampleLayer, DownsampleLayer, GenerativeBasis, DiscriminativeBasis, Generator, Discriminator):
        place(R3, cls)
    place(R3, Stage, "GeneratorStage")

    class Wrapper(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.Model = model

        def forward(self, *a):
            return self.Model(*a)

    return {"G": place(TN, type("Generator", (Wrapper,), {})), "D": place(TN, type("Discriminator", (Wrapper,), {})),
            "R3G": Generator, "R3D": Discriminator}
