"""The size of a memory-backed emptyDir's tmpfs (upstream's ``calculateEmptyDirMemorySize``).

A tmpfs without a size would default to half the host's RAM; upstream bounds
it by what the pod may use instead: the node's allocatable memory, lowered
to the pod's memory limit when every container declares one (the limit of
its pod cgroup), lowered again to ``sizeLimit`` when that is smaller.
Non-positive values never lower it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyk8s.api.core_v1.helpers import resources
from pyk8s.machinery import quantity as qty

Obj = dict[str, Any]


def _bytes(value: object) -> int:
    parsed = resources.parse_quantity(value)
    return parsed.int_value() if parsed is not None else 0


def pod_memory_limit(pod: Obj) -> int:
    """The pod cgroup's memory limit in bytes, 0 when some container declares none (unbounded)."""
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if _bytes(((c.get("resources") or {}).get("limits") or {}).get("memory")) <= 0:
            return 0
    limit = resources.pod_quantities(pod, "limits").get("memory")
    return limit.int_value() if limit is not None else 0


def memory_size(pod: Obj, source: Obj, allocatable: Mapping[str, str]) -> int | None:
    """The tmpfs size in bytes, or None when nothing bounds it (no allocatable memory known)."""
    size = _bytes(allocatable.get("memory")) or None
    for bound in (pod_memory_limit(pod), qty.parse(str(source["sizeLimit"])).int_value()
                  if source.get("sizeLimit") else 0):
        if bound > 0 and (size is None or bound <= size):
            size = bound
    return size


def huge_pages_refusal(pod: Obj) -> str:
    """Why a ``HugePages`` emptyDir cannot be set up: upstream's message when the pod requests no huge pages,
    else that this kubelet offers none (it mounts no hugetlbfs)."""
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = c.get("resources") or {}
        if any(k.startswith("hugepages-") for k in {**(res.get("requests") or {}), **(res.get("limits") or {})}):
            return "hugePages storage is not supported by this kubelet"
    return "hugePages storage requested, but there is no resource request for huge pages"
