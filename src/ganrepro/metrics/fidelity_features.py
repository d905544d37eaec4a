"""torch-fidelity's metrics for one feature extractor, with the features it extracted handed back.

:func:`calculate_metrics_with_features` is torch-fidelity 0.4.0's ``calculate_metrics`` for one named
extractor (``torch_fidelity.metrics.calculate_metrics_one_feature_extractor``) step for step, built from
the same torch-fidelity functions, so every number is the one ``calculate_metrics`` returns; the one
difference: an FID-only call goes through the features too (torch-fidelity's shortcut would cache the real
set's statistics only), so that ``metrics/bootstrap.py`` can resample the features of both sets without
running the extractor again. The real set's features and FID statistics are cached under the same names
torch-fidelity uses.
"""

from __future__ import annotations

KINDS = ("isc", "fid", "kid", "prc")


def calculate_metrics_with_features(**kwargs) -> tuple[dict, dict, dict | None]:
    """``(metrics, features of input1, features of input2 or None)``; ``kwargs`` as for
    ``torch_fidelity.calculate_metrics`` with ``feature_extractor`` given. Features: ``{layer: [n, d] tensor}``."""
    from torch_fidelity.helpers import get_kwarg, process_deprecations
    from torch_fidelity.metric_fid import fid_featuresdict_to_statistics_cached, fid_statistics_to_metric
    from torch_fidelity.metric_isc import isc_featuresdict_to_metric
    from torch_fidelity.metric_kid import kid_featuresdict_to_metric
    from torch_fidelity.metric_prc import prc_featuresdict_to_metric
    from torch_fidelity.utils import (create_feature_extractor, extract_featuresdict_from_input_id_cached,
                                      get_cacheable_input_name, resolve_feature_extractor,
                                      resolve_feature_layer_for_metric)

    process_deprecations(kwargs)
    layers = {k: resolve_feature_layer_for_metric(k, **kwargs) for k in KINDS if get_kwarg(k, kwargs)}
    if not layers:
        raise ValueError("at least one of isc, fid, kid, prc must be asked for")
    extractor = create_feature_extractor(resolve_feature_extractor(**kwargs), sorted(set(layers.values())), **kwargs)
    feats_1 = extract_featuresdict_from_input_id_cached(1, extractor, **kwargs)
    binary = any(k in layers for k in ("fid", "kid", "prc"))
    feats_2 = extract_featuresdict_from_input_id_cached(2, extractor, **kwargs) if binary else None
    out: dict = {}
    if "isc" in layers:
        out.update(isc_featuresdict_to_metric(feats_1, layers["isc"], **kwargs))
    if "fid" in layers:
        stats = [fid_featuresdict_to_statistics_cached(f, get_cacheable_input_name(i, **kwargs), extractor,
                                                       layers["fid"], **kwargs)
                 for i, f in ((1, feats_1), (2, feats_2))]
        out.update(fid_statistics_to_metric(*stats, get_kwarg("verbose", kwargs)))
    if "kid" in layers:
        out.update(kid_featuresdict_to_metric(feats_1, feats_2, layers["kid"], **kwargs))
    if "prc" in layers:
        out.update(prc_featuresdict_to_metric(feats_1, feats_2, layers["prc"], **kwargs))
    return out, feats_1, feats_2
