"""Official CIPS checkpoint names (saic-mdal/CIPS ``CIPSskip`` and rosinality's ``Discriminator``, the
``g`` / ``g_ema`` / ``d`` state dicts of its ``.pt`` files) -> the project's ``cips`` family.

G: ``style.{i}`` (i >= 1, index 0 is PixelNorm) -> ``mapping.layers.{i-1}``; ``lff.ffm.conv`` ->
``fourier.proj``; ``emb.input`` -> ``embedding.table``; ``conv1`` -> ``input``, ``linears.{i}`` ->
``layers.{i}``, ``to_rgbs.{i}`` -> ``to_rgbs.{i}`` with ``conv.weight`` [1, out, in, 1, 1] -> [out, in],
``conv.modulation`` -> ``conv.affine``, ``noise.weight`` [1] -> ``noise_strength`` [], ``activate.bias``
-> ``bias``, ToRGB bias [1, 3, 1, 1] -> [3]. CIPS keeps no average w: ``mapping.w_avg`` stays zero
(evaluation does not truncate). D: ``convs.0`` -> FromRGB, ``convs.{k+1}`` (ResBlock) -> ``blocks.{k}``,
``final_conv`` / ``final_linear.{0,1}`` -> the epilogue's conv / fc / out; Blur kernels are checked
against [1, 3, 3, 1]. rosinality's convs correlate, as the project's: no kernel flips.
"""

from __future__ import annotations

from ganrepro.checkpoints.mapping import check_filter, register_importer


def _styled(prefix: str):
    """Rules of one StyledConv (official ``{prefix}``) -> StyledLayer / ToRGB ``{target}``."""
    return [
        (rf"{prefix}\.conv\.weight", lambda m, t: (f"{_t(m)}.conv.weight", t.reshape(t.shape[1], t.shape[2]))),
        (rf"{prefix}\.conv\.modulation\.(weight|bias)", lambda m, t: f"{_t(m)}.conv.affine.{m.groups()[-1]}"),
        (rf"{prefix}\.noise\.weight", lambda m, t: (f"{_t(m)}.noise_strength", t.reshape([]))),
        (rf"{prefix}\.activate\.bias", lambda m, t: f"{_t(m)}.bias"),
        (rf"{prefix}\.bias", lambda m, t: (f"{_t(m)}.bias", t.reshape(-1))),
    ]


def _t(m) -> str:
    """Project module of a matched official StyledConv / ToRGB name."""
    head = m.string.split(".")
    if head[0] == "conv1":
        return "input"
    return f"{'layers' if head[0] == 'linears' else 'to_rgbs'}.{head[1]}"


def cips_rules(net: str, target) -> tuple[list, set]:
    if net == "D":
        return [
            (r"convs\.0\.0\.weight", lambda m, t: "net.from_rgb.weight"),
            (r"convs\.0\.1\.bias", lambda m, t: "net.from_rgb.bias"),
            (r"convs\.(\d+)\.conv1\.0\.weight", lambda m, t: f"net.blocks.{int(m[1]) - 1}.conv0.weight"),
            (r"convs\.(\d+)\.conv1\.1\.bias", lambda m, t: f"net.blocks.{int(m[1]) - 1}.conv0.bias"),
            (r"convs\.(\d+)\.conv2\.1\.weight", lambda m, t: f"net.blocks.{int(m[1]) - 1}.conv1.weight"),
            (r"convs\.(\d+)\.conv2\.2\.bias", lambda m, t: f"net.blocks.{int(m[1]) - 1}.conv1.bias"),
            (r"convs\.(\d+)\.skip\.1\.weight", lambda m, t: f"net.blocks.{int(m[1]) - 1}.skip.weight"),
            (r"convs\.\d+\.(?:conv2|skip)\.0\.kernel", lambda m, t: check_filter(m[0], t, [1, 3, 3, 1])),
            (r"final_conv\.0\.weight", lambda m, t: "net.epilogue.conv.weight"),
            (r"final_conv\.1\.bias", lambda m, t: "net.epilogue.conv.bias"),
            (r"final_linear\.0\.(weight|bias)", lambda m, t: f"net.epilogue.fc.{m[1]}"),
            (r"final_linear\.1\.(weight|bias)", lambda m, t: f"net.epilogue.out.{m[1]}"),
        ], set()
    rules = [
        (r"style\.(\d+)\.(weight|bias)", lambda m, t: f"mapping.layers.{int(m[1]) - 1}.{m[2]}"),
        (r"lff\.ffm\.conv\.(weight|bias)", lambda m, t: f"fourier.proj.{m[1]}"),
        (r"emb\.input", lambda m, t: "embedding.table"),
    ]
    for prefix in (r"conv1", r"linears\.\d+", r"to_rgbs\.\d+"):
        rules += _styled(prefix)
    return rules, {"mapping.w_avg"}


register_importer("cips", cips_rules)
