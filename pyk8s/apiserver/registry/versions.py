"""Resources served at several versions over one stored form.

Kubernetes keeps one storage version per resource and converts at the edge:
HorizontalPodAutoscalers are stored as autoscaling/v2 and served as v1 too;
events.k8s.io/v1 Events share the core/v1 Events' storage.  A store whose
served version differs from the storage version converts every object it
reads (``from_storage``) and writes (``to_storage``) with the converters the
kinds' modules publish in their ``CONVERSIONS`` tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]
Converter = Callable[[Obj], Obj]

#: (served group, plural) -> (storage key group segment, storage plural, storage apiVersion)
STORAGE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("autoscaling", "horizontalpodautoscalers"): ("autoscaling", "horizontalpodautoscalers", "autoscaling/v2"),
    ("", "events"): ("core", "events", "v1"),
    ("events.k8s.io", "events"): ("core", "events", "v1"),
}


def _conversions() -> dict[tuple[str, str], Converter]:
    table: dict[tuple[str, str], Converter] = {}
    try:
        from pyk8s.api import autoscaling, events_v1
    except ImportError:  # pragma: no cover - kinds are always present in a full tree
        return table
    for module in (autoscaling, events_v1):
        table.update(getattr(module, "CONVERSIONS", {}))
    if ("autoscaling/v1", "autoscaling/v2") not in table and hasattr(autoscaling, "hpa_v1_to_v2"):
        table[("autoscaling/v1", "autoscaling/v2")] = autoscaling.hpa_v1_to_v2
        table[("autoscaling/v2", "autoscaling/v1")] = autoscaling.hpa_v2_to_v1
    return table


def storage_layout(rt: ResourceType) -> tuple[str, Converter | None, Converter | None]:
    """(key prefix, to_storage, from_storage) for a served resource type."""
    group_seg, plural, storage_version = STORAGE.get((rt.group, rt.plural),
                                                     (rt.group or "core", rt.plural, rt.api_version))
    prefix = f"/registry/{group_seg}/{plural}/"
    if storage_version == rt.api_version:
        return prefix, None, None
    table = _conversions()
    to_s = table.get((rt.api_version, storage_version))
    from_s = table.get((storage_version, rt.api_version))
    if to_s is None or from_s is None:
        # No converter: keep this version apart rather than corrupt the shared objects.
        return f"/registry/{rt.group or 'core'}/{rt.plural}.{rt.version}/", None, None
    return prefix, to_s, from_s
