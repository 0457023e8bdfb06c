"""Resource arithmetic for scheduling: what a pod requests, what a node offers.

Amounts are integers in the units the scheduler compares: milli-CPU for
``cpu``, bytes for memory, ephemeral-storage and extended resources, a count
for ``pods``.  A pod's request is, per resource, the larger of the sum over
its regular (and restartable sidecar) containers and the largest init
container, plus the pod overhead - upstream's ``PodRequests``.  Parsing is
cached on the pod dict's identity-free content key (the quantity string),
since the same few strings repeat across thousands of pods.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pyk8s.machinery import quantity

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL_STORAGE = "ephemeral-storage"

# Scoring treats a container with no cpu/memory request as if it asked for this
# much, so zero-request pods still spread (upstream's non-zero defaults).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

Resources = dict[str, int]


@functools.lru_cache(maxsize=4096)
def amount(name: str, value: str | int | float) -> int:
    """One quantity in scheduler units (cpu -> milli, everything else -> whole units)."""
    q = quantity.try_parse(value)
    if q is None:
        return 0
    return q.milli_value() if name == CPU else q.int_value()


def to_resources(values: Mapping[str, Any] | None) -> Resources:
    if not values:
        return {}
    return {name: amount(name, v) for name, v in values.items()}


def _container_requests(container: Mapping[str, Any]) -> Resources:
    res = container.get("resources") or {}
    # A limit without a request defaults the request (API defaulting does this too,
    # but scheduling objects built by hand may skip it).
    merged = dict(res.get("limits") or {})
    merged.update(res.get("requests") or {})
    return to_resources(merged)


def _add(into: Resources, more: Mapping[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def _max(into: Resources, more: Mapping[str, int]) -> None:
    for k, v in more.items():
        if v > into.get(k, 0):
            into[k] = v


def pod_requests(pod: Mapping[str, Any]) -> Resources:
    """Effective requests of a pod (without the implicit ``pods: 1``)."""
    spec = pod.get("spec") or {}
    total: Resources = {}
    for c in spec.get("containers") or ():
        _add(total, _container_requests(c))
    # Init containers run one at a time, except restartable sidecars, which keep
    # running and so add up with everything started after them.
    init_max: Resources = {}
    sidecars: Resources = {}
    for c in spec.get("initContainers") or ():
        req = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            _add(sidecars, req)
            _add(total, req)
        else:
            step = dict(sidecars)
            _add(step, req)
            _max(init_max, step)
    _max(total, init_max)
    _add(total, to_resources(spec.get("overhead")))
    return total


def non_zero_requests(pod: Mapping[str, Any]) -> tuple[int, int]:
    """(milli-cpu, memory) for scoring, with per-container defaults for missing requests."""
    spec = pod.get("spec") or {}
    cpu = mem = 0
    for c in spec.get("containers") or ():
        req = _container_requests(c)
        cpu += req[CPU] if CPU in req else DEFAULT_MILLI_CPU_REQUEST
        mem += req[MEMORY] if MEMORY in req else DEFAULT_MEMORY_REQUEST
    init_cpu = init_mem = 0
    for c in spec.get("initContainers") or ():
        req = _container_requests(c)
        init_cpu = max(init_cpu, req[CPU] if CPU in req else DEFAULT_MILLI_CPU_REQUEST)
        init_mem = max(init_mem, req[MEMORY] if MEMORY in req else DEFAULT_MEMORY_REQUEST)
    overhead = to_resources(spec.get("overhead"))
    return max(cpu, init_cpu) + overhead.get(CPU, 0), max(mem, init_mem) + overhead.get(MEMORY, 0)
