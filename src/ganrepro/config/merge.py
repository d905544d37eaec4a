"""Deep merge of nested dicts: later layers override earlier ones key by key."""

from __future__ import annotations

import copy


def deep_merge(*layers: dict) -> dict:
    out: dict = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out
