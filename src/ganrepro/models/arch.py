"""Network knobs of each family: defaults, validation, and their split into G and D arguments.

An ``arch`` dict is the ``model`` section of an experiment: ``{"family": ..., knob: value, ...}``.
Missing knobs take the defaults below; unknown knobs and inconsistent values raise ConfigError
with a message that names the key, the allowed values and the fix.

Defaults compute what the official code computes: stylegan2-ada for ``stylegan2`` (conv clamp 256,
true-convolution upsampling, w average decay 0.995), brownvc/R3GAN for ``r3gan`` (resampling filter
[1, 3, 3, 1] = [1, 2, 1] convolved with [1, 1]). Reduced precision per stage (official: the 4 highest
resolutions) is set in params/experiments and turned off by the resolver on CPU or fp32 runs.
"""

import ast
import math
import numbers

from ..errors import ConfigError

# family -> knob -> default. None under "widths" means "required".
DEFAULTS = {
    "stylegan2": {
        "channel_base": 16384,
        "channel_max": 512,
        "z_dim": 512,
        "w_dim": 512,
        "mapping_layers": 8,
        "z_normalize": True,
        "style_modulation": True,
        "noise": True,
        "equalized_lr": True,
        "mbstd_group": 4,
        "g_output_skips": True,
        "resample_filter": [1, 3, 3, 1],
        "conv_clamp": 256,               # stylegan2-ada: conv outputs clamped at +-256 (x gain)
        "reduced_precision_stages": 0,   # official 4 on GPU: params set it, the resolver zeroes it on CPU
        "reduced_dtype": "bfloat16",     # CHOICE: official fp16; bf16 (R3GAN: fp16 breaks training)
        "up_conv": "convolution",        # official transposed convolution (flipped kernel): checkpoints load
        "w_avg_beta": 0.995,             # stylegan2-ada (0.998 is StyleGAN3's)
    },
    "r3gan": {
        "widths": None,
        "blocks_per_stage": 2,
        "expansion": 2.0,
        "group_size": 16,
        "z_dim": 64,
        "c_embed_dim_g": 64,
        "c_embed_dim_d": None,
        "output_skips": False,
        "resample_filter": [1, 3, 3, 1],  # official: [1, 2, 1] convolved with [1, 1] (CreateLowpassKernel)
        "reduced_precision_stages": 0,
        "reduced_dtype": "bfloat16",
    },
}
FAMILIES = tuple(DEFAULTS)

# Which knobs go to the generator and which to the discriminator.
G_KNOBS = {
    "stylegan2": ("channel_base", "channel_max", "z_dim", "w_dim", "mapping_layers", "z_normalize",
                  "style_modulation", "noise", "equalized_lr", "g_output_skips", "resample_filter",
                  "conv_clamp", "reduced_precision_stages", "reduced_dtype", "up_conv", "w_avg_beta"),
    "r3gan": ("widths", "blocks_per_stage", "expansion", "group_size", "z_dim", "c_embed_dim_g",
              "output_skips", "resample_filter", "reduced_precision_stages", "reduced_dtype"),
}
D_KNOBS = {
    "stylegan2": ("channel_base", "channel_max", "mbstd_group", "equalized_lr", "resample_filter",
                  "conv_clamp", "reduced_precision_stages", "reduced_dtype"),
    "r3gan": ("widths", "blocks_per_stage", "expansion", "group_size", "c_embed_dim_d", "resample_filter",
              "reduced_precision_stages", "reduced_dtype"),
}

_KIND = {
    "channel_base": "positive int", "channel_max": "positive int", "z_dim": "positive int",
    "w_dim": "positive int", "mapping_layers": "int >= 0", "mbstd_group": "int >= 0",
    "blocks_per_stage": "int >= 0", "c_embed_dim_g": "positive int",
    "c_embed_dim_d": "positive int or null", "group_size": "positive int or null",
    "expansion": "positive number", "widths": "non-empty list of positive ints",
    "resample_filter": "list of >= 2 numbers with a positive sum",
    "z_normalize": "bool", "style_modulation": "bool", "noise": "bool", "equalized_lr": "bool",
    "g_output_skips": "bool", "output_skips": "bool",
    "conv_clamp": "positive number or null", "reduced_precision_stages": "int >= 0",
    "reduced_dtype": "one of ['bfloat16', 'float16']", "up_conv": "one of ['correlation', 'convolution']",
    "w_avg_beta": "number in [0, 1]",
}


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _valid(kind: str, v) -> bool:
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "positive int":
        return _is_int(v) and v >= 1
    if kind == "int >= 0":
        return _is_int(v) and v >= 0
    if kind == "positive number or null":
        return v is None or (_is_number(v) and v > 0)
    if kind == "number in [0, 1]":
        return _is_number(v) and 0 <= v <= 1
    if kind.startswith("one of "):
        return isinstance(v, str) and v in ast.literal_eval(kind[len("one of "):])
    if kind.endswith("or null"):
        return v is None or (_is_int(v) and v >= 1)
    if kind == "positive number":
        return _is_number(v) and v > 0
    if kind.startswith("non-empty list"):
        return isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_int(x) and x >= 1 for x in v)
    if kind.startswith("list of >= 2"):
        return (isinstance(v, (list, tuple)) and len(v) >= 2 and all(_is_number(x) for x in v)
                and sum(v) > 0)
    raise AssertionError(kind)


def resolve_arch(arch: dict, *, resolution: int, img_channels: int, num_classes: int) -> tuple[str, dict]:
    """(family, knobs with defaults filled in), after validating everything."""
    if not isinstance(arch, dict):
        raise ConfigError(f"model config must be a mapping with a 'family' key, got {type(arch).__name__}")
    family = arch.get("family")
    if family not in DEFAULTS:
        raise ConfigError(f"model 'family' is {family!r}; allowed values: {list(FAMILIES)}")
    knobs = dict(DEFAULTS[family])
    for key, value in arch.items():
        if key == "family":
            continue
        if key not in knobs:
            others = [f for f in FAMILIES if f != family and key in DEFAULTS[f]]
            hint = f" ({key!r} is a knob of the {others[0]} family)" if others else ""
            raise ConfigError(f"unknown key {key!r} in the {family} model config{hint}; "
                              f"allowed keys: {sorted(knobs)}")
        if not _valid(_KIND[key], value):
            raise ConfigError(f"model key {key!r} must be a {_KIND[key]}, got {value!r}")
        knobs[key] = list(value) if isinstance(value, tuple) else value

    if not _is_int(resolution) or resolution < 4 or resolution & (resolution - 1):
        raise ConfigError(f"resolution must be a power of two >= 4, got {resolution!r}")
    if not _is_int(img_channels) or img_channels < 1:
        raise ConfigError(f"img_channels must be a positive int, got {img_channels!r}")
    if not _is_int(num_classes) or num_classes < 0:
        raise ConfigError(f"num_classes must be an int >= 0 (0 = unconditional), got {num_classes!r}")

    (_check_stylegan2 if family == "stylegan2" else _check_r3gan)(knobs, resolution)
    return family, knobs


def _check_stylegan2(k: dict, resolution: int) -> None:
    if k["channel_base"] // resolution < 1:
        raise ConfigError(f"channel_base {k['channel_base']} gives 0 channels at resolution {resolution} "
                          f"(channels = min(channel_base // res, channel_max)); use channel_base >= {resolution}")
    if k["style_modulation"] and k["mapping_layers"] < 1:
        raise ConfigError("style_modulation: true needs a mapping network (mapping_layers >= 1); "
                          "set style_modulation: false for a generator without mapping (config B)")
    if not k["style_modulation"] and k["mapping_layers"] > 0:
        raise ConfigError(f"mapping_layers: {k['mapping_layers']} has no effect without style modulation; "
                          "set mapping_layers: 0 or style_modulation: true")


def _check_r3gan(k: dict, resolution: int) -> None:
    widths = k["widths"]
    expected = int(math.log2(resolution)) - 1
    if widths is None:
        raise ConfigError(f"the r3gan model config needs 'widths': {expected} channel widths for the stages "
                          f"4x4 .. {resolution}x{resolution}")
    if len(widths) != expected:
        raise ConfigError(f"'widths' has {len(widths)} entries but resolution {resolution} needs "
                          f"log2({resolution}) - 1 = {expected} (one per stage 4x4 .. {resolution}x{resolution})")
    for width in widths:
        hidden = width * k["expansion"]
        if abs(hidden - round(hidden)) > 1e-9 or round(hidden) < 1:
            raise ConfigError(f"expansion {k['expansion']} gives a non-integer residual branch width "
                              f"{hidden:g} for stage width {width}; pick widths that make width * expansion "
                              "a positive integer")
        hidden = int(round(hidden))
        group = k["group_size"]
        if group is not None and hidden % min(group, hidden):
            raise ConfigError(f"group_size {group} does not divide the residual branch width {hidden} "
                              f"(stage width {width} * expansion {k['expansion']}); pick a divisor or null")


def split_knobs(family: str, knobs: dict) -> tuple[dict, dict]:
    """(G kwargs, D kwargs)."""
    return ({key: knobs[key] for key in G_KNOBS[family]}, {key: knobs[key] for key in D_KNOBS[family]})
