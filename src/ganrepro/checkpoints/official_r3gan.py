"""Official checkpoint names of the stylegan2 (stylegan2-ada-pytorch, config A) and r3gan (brownvc/R3GAN,
config E) families -> the project's, registered with ``ganrepro.checkpoints.mapping``.

stylegan2-ada: ``mapping.fc{i}`` -> ``mapping.layers.{i}``, ``synthesis.b{res}`` -> ``synthesis.blocks.{k}``
(k = log2 res - 2), D ``b{res}`` -> ``blocks.{k}`` (k from the top resolution), ``b4`` -> ``epilogue``;
the upsampling convs are true convolutions in the official code: copied as they are into
``up_conv: convolution`` (the default), flipped for ``up_conv: correlation``. Official weights carry
no equalised-lr gain, as the project's parameters. Resampling filters are checked, not copied.
R3GAN: ``Model.MainLayers[i].Layers[j]`` -> ``stages.{i}.{j'}`` (G's first stage starts with the basis,
the others with their transition; D's stages end with theirs, the last with the discriminative basis).
"""

from __future__ import annotations

import math

from ganrepro.checkpoints.mapping import IGNORE, check_filter, register_importer


def _k(res: str) -> int:
    return int(math.log2(int(res))) - 2


def stylegan2_rules(net: str, target) -> list:
    if net == "D":
        top = int(math.log2(target.img_resolution))
        blk = lambda m: top - int(math.log2(int(m[1])))  # noqa: E731
        return [
            (r"b\d+\.fromrgb\.(weight|bias)", lambda m, t: f"from_rgb.{m[1]}"),
            (r"b4\.conv\.(weight|bias)", lambda m, t: f"epilogue.conv.{m[1]}"),
            (r"b4\.(fc|out)\.(weight|bias)", lambda m, t: f"epilogue.{m[1]}.{m[2]}"),
            (r"b(\d+)\.(conv0|conv1|skip)\.(weight|bias)", lambda m, t: f"blocks.{blk(m)}.{m[2]}.{m[3]}"),
            (r"(b\d+(?:\.\w+)?\.resample_filter)", lambda m, t: check_filter(m[1], t, [1, 3, 3, 1])),
        ]
    if not hasattr(target, "mapping"):
        raise ValueError("stylegan2 checkpoints import into generators with a mapping network (config A)")
    blocks = target.synthesis.blocks

    def conv(m, t):
        name = f"synthesis.blocks.{_k(m[1])}.{m[2]}.{m[3]}"
        k = _k(m[1])
        flip = m[2] == "conv0" and m[3] == "weight" and k < len(blocks) and not blocks[k].conv0.true_convolution
        return (name, t.flip([2, 3])) if flip else name

    return [
        (r"mapping\.fc(\d+)\.(weight|bias)", lambda m, t: f"mapping.layers.{m[1]}.{m[2]}"),
        (r"mapping\.(embed\.weight|embed\.bias|w_avg)", lambda m, t: f"mapping.{m[1]}"),
        (r"synthesis\.b(\d+)\.const", lambda m, t: f"synthesis.blocks.{_k(m[1])}.const"),
        (r"synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(affine\.weight|affine\.bias|weight|bias|noise_strength|noise_const)",
         conv),
        (r"(synthesis\.b\d+(?:\.\w+)?\.resample_filter)", lambda m, t: check_filter(m[1], t, [1, 3, 3, 1])),
    ]


def _taps(target) -> list[float]:
    """The project's resampling filter taps (any of its resampling layers)."""
    return next(m.resample_filter for m in target.modules() if hasattr(m, "resample_filter")).tolist()


def r3gan_rules(net: str, target) -> list:
    filt = lambda m, t: check_filter(m[0], t, _taps(target))  # noqa: E731
    block = r"LinearLayer([123])\.Layer\.weight|NonLinearity([12])\.Bias"

    def block_target(prefix, m):
        return f"{prefix}.conv{m[1]}.weight" if m[1] else f"{prefix}.act{m[2]}.bias"

    if net == "G":
        j_of = lambda i, j: j - 1 if i == 0 else j  # noqa: E731  stage 0 starts with the basis, not a transition
        return [
            (r"Model\.EmbeddingLayer\.weight", lambda m, t: "embed.weight"),
            (r"Model\.MainLayers\.0\.Layers\.0\.Basis", lambda m, t: "basis.basis"),
            (r"Model\.MainLayers\.0\.Layers\.0\.LinearLayer\.weight", lambda m, t: "basis.linear.weight"),
            (r"Model\.MainLayers\.(\d+)\.Layers\.0\.LinearLayer\.Layer\.weight", lambda m, t: f"stages.{m[1]}.0.conv.weight"),
            (r"Model\.MainLayers\.\d+\.Layers\.0\.Resampler\.Kernel", filt),
            (rf"Model\.MainLayers\.(\d+)\.Layers\.(\d+)\.(?:{block})",
             lambda m, t: block_target(f"stages.{m[1]}.{j_of(int(m[1]), int(m[2]))}", _sub(m, 3))),
            (r"Model\.AggregationLayer\.Layer\.weight", lambda m, t: "to_rgb.weight"),
        ]
    last = len(target.stages) - 1
    blocks = len(target.stages[last])

    def transition(m, t):
        i, what = int(m[1]), m[2]
        if i == last:
            return {"Basis.weight": "basis_conv.weight", "LinearLayer.weight": "basis_linear.weight"}[what]
        return f"stages.{i}.{blocks}.conv.weight"

    return [
        (r"Model\.ExtractionLayer\.Layer\.weight", lambda m, t: "from_rgb.weight"),
        (r"Model\.EmbeddingLayer\.weight", lambda m, t: "embed.weight"),
        (rf"Model\.MainLayers\.\d+\.Layers\.{blocks}\.Resampler\.Kernel", filt),
        (rf"Model\.MainLayers\.(\d+)\.Layers\.{blocks}\.(Basis\.weight|LinearLayer\.weight|LinearLayer\.Layer\.weight)",
         lambda m, t: transition(m, t) if m[2] != "LinearLayer.Layer.weight" else f"stages.{m[1]}.{blocks}.conv.weight"),
        (rf"Model\.MainLayers\.(\d+)\.Layers\.(\d+)\.(?:{block})", lambda m, t: block_target(f"stages.{m[1]}.{m[2]}", _sub(m, 3))),
    ]


class _Sub:
    def __init__(self, m, start):
        self.groups = m.groups()[start - 1:]

    def __getitem__(self, i):
        return self.groups[i - 1]


def _sub(m, start):
    """The match's groups from ``start`` on, indexed from 1 (the block rule's own groups)."""
    return _Sub(m, start)


register_importer("stylegan2", stylegan2_rules)
register_importer("r3gan", r3gan_rules)
