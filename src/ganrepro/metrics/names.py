"""Metric names that encode their protocol, in one format (stylegan2-ada's habit), made here only.

``<kind><count>[_<qualifiers>]-<tag>``: what was measured, on how many generated samples (``2k``,
``50k``, ``1500``: ``count_tag``), how the reference side was drawn (``full`` / ``r5k``: all or a subset
of the real images; ``k3``: the precision/recall neighbourhood), and which network measured it (the
extractor's or classifier's tag: ``cnn_shapes16``, ``inception``, ``digits_cnn``). Examples:
``fid2k_r5k-cnn_shapes16``, ``fid50k_full-inception``, ``precision2k_k3_r5k-cnn_shapes16``,
``modes10k-digits_cnn``, ``class_acc2k-cnn_shapes16``, ``view_consistency16x7-cnn_shapes32``.
``parse_metric_name`` reads one back (tests check the docs' examples with it).
"""

from __future__ import annotations

import re

_KIND = re.compile(r"^[a-z][a-z_]*[a-z]$")  # no digits: the count follows the kind
_NAME = re.compile(r"^(?P<kind>[a-z][a-z_]*[a-z])(?P<count>\d+k?(?:x\d+)?)(?P<qualifiers>(?:_[a-z0-9]+)*)-(?P<tag>[A-Za-z0-9_.]+)"
                   r"(?P<select>_at-[a-z0-9-]+)?$")


def count_tag(n: int) -> str:
    """2000 -> '2k', 50000 -> '50k', 1500 -> '1500'."""
    n = int(n)
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def metric_name(kind: str, count: int | str, tag: str, *qualifiers: str) -> str:
    """``metric_name("fid", 2000, "inception", "full")`` -> ``fid2k_full-inception``; ``count`` an int
    (samples, written by ``count_tag``) or a string already in the format (``16x7``: latents x views)."""
    if not _KIND.match(kind):
        raise ValueError(f"metric kind {kind!r}: lower-case letters and underscores only (the count follows it)")
    n = count_tag(count) if isinstance(count, int) else str(count)
    return f"{kind}{n}{''.join('_' + q for q in qualifiers if q)}-{tag}"


def parse_metric_name(name: str) -> dict | None:
    """``{kind, count, qualifiers, tag, select}`` of a name in the format (counts as count_tag writes them), or None."""
    m = _NAME.match(name)
    if not m or (m["count"].isdigit() and count_tag(int(m["count"])) != m["count"]):  # 2000, not 2k
        return None
    out = m.groupdict()
    out["qualifiers"] = [q for q in out["qualifiers"].split("_") if q]
    return out
