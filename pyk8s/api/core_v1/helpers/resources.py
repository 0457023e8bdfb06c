"""What a pod requests, as upstream's ``component-helpers/resource.PodRequests``.

Per resource: the sum over the regular containers and the restartable init
containers (sidecars, ``restartPolicy: Always``: they keep running), or, if
larger, the largest step of the init sequence (an ordinary init container
plus the sidecars started before it); then ``spec.overhead`` is added.

Amounts are integers: milli-cores for ``cpu``, whole units (bytes, counts)
for everything else.  A container with a limit and no request for a resource
requests its limit (what API defaulting writes; hand-built objects may skip
it).  ``non_missing`` gives the value a container that requests nothing for
a resource counts as (the scheduler's non-zero scoring defaults).  Parsing
is cached by (name, quantity string): the same few strings repeat across
thousands of pods.
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

Resources = dict[str, int]


@functools.lru_cache(maxsize=4096)
def amount(name: str, value: str | int | float) -> int:
    """One quantity as an integer: milli-cores for cpu, whole units otherwise (unparseable: 0)."""
    q = quantity.try_parse(value)
    if q is None:
        return 0
    return q.milli_value() if name == CPU else q.int_value()


def to_resources(values: Mapping[str, Any] | None) -> Resources:
    """A ResourceList as integers (see ``amount``)."""
    if not values:
        return {}
    return {name: amount(name, v) for name, v in values.items()}


def container_requests(container: Mapping[str, Any], non_missing: Mapping[str, int] | None = None) -> Resources:
    """One container's requests (limits fill requests it does not state; ``non_missing`` fills the rest)."""
    res = container.get("resources") or {}
    merged = dict(res.get("limits") or {})
    merged.update(res.get("requests") or {})
    out = to_resources(merged)
    for name, value in (non_missing or {}).items():
        out.setdefault(name, value)
    return out


def _add(into: Resources, more: Mapping[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def _max(into: Resources, more: Mapping[str, int]) -> None:
    for k, v in more.items():
        if v > into.get(k, 0):
            into[k] = v


QuantityList = dict[str, quantity.Quantity]


_PARSED: dict[str, quantity.Quantity | None] = {}
_PARSED_MAX = 8192


def parse_quantity(value: object) -> quantity.Quantity | None:
    """``quantity.try_parse``, cached for strings: quotas and limits repeat the same few, and the
    quota usage written a moment ago is read back on the next create (``remember``)."""
    if isinstance(value, quantity.Quantity):
        return value
    if not isinstance(value, str):
        return quantity.try_parse(value)
    try:
        return _PARSED[value]
    except KeyError:
        parsed = quantity.try_parse(value)
        remember(value, parsed)
        return parsed


def remember(text: str, parsed: quantity.Quantity | None) -> None:
    """Record the parse of ``text`` (the cache is simply emptied when full)."""
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[text] = parsed


def _parsed(values: Mapping[str, Any] | None) -> QuantityList:
    out: QuantityList = {}
    for name, value in (values or {}).items():
        q = parse_quantity(value)
        if q is not None:
            out[name] = q
    return out


def _qadd(into: QuantityList, more: Mapping[str, quantity.Quantity]) -> None:
    for k, v in more.items():
        into[k] = into[k] + v if k in into and not into[k].is_zero() else v


def _qmax(into: QuantityList, more: Mapping[str, quantity.Quantity]) -> None:
    for k, v in more.items():
        if k not in into or into[k] < v:
            into[k] = v


def pod_quantities(pod: Mapping[str, Any], part: str) -> QuantityList:
    """What the pod requests (``part="requests"``, as ``pod_requests``) or its limits (``"limits"``: the
    containers' and sidecars' sum, or the largest init step if larger; ``spec.overhead`` added where
    there is a limit, as upstream's ``PodLimits``) as quantities that keep
    their format (``600Mi`` + ``600Mi`` is ``1200Mi``), for messages worded as upstream's."""
    spec = pod.get("spec") or {}

    def of(c: Mapping[str, Any]) -> QuantityList:
        res = c.get("resources") or {}
        if part == "limits":
            return _parsed(res.get("limits"))
        merged = dict(res.get("limits") or {})
        merged.update(res.get("requests") or {})
        return _parsed(merged)

    total: QuantityList = {}
    for c in spec.get("containers") or ():
        _qadd(total, of(c))
    init_peak: QuantityList = {}
    sidecars: QuantityList = {}
    for c in spec.get("initContainers") or ():
        if c.get("restartPolicy") == "Always":
            _qadd(sidecars, of(c))
            _qadd(total, of(c))
            _qmax(init_peak, sidecars)
        else:
            step = dict(sidecars)
            _qadd(step, of(c))
            _qmax(init_peak, step)
    _qmax(total, init_peak)
    overhead = _parsed(spec.get("overhead"))
    if part == "limits":
        overhead = {k: v for k, v in overhead.items() if k in total}
    _qadd(total, overhead)
    return total


def pod_requests(pod: Mapping[str, Any], *, non_missing: Mapping[str, int] | None = None,
                 exclude_overhead: bool = False) -> Resources:
    """The pod's effective requests (without the implicit ``pods: 1`` a node counts)."""
    spec = pod.get("spec") or {}
    total: Resources = {}
    for c in spec.get("containers") or ():
        _add(total, container_requests(c, non_missing))
    init_peak: Resources = {}
    sidecars: Resources = {}
    for c in spec.get("initContainers") or ():
        req = container_requests(c, non_missing)
        if c.get("restartPolicy") == "Always":
            _add(sidecars, req)
            _add(total, req)
            _max(init_peak, sidecars)
        else:
            step = dict(sidecars)
            _add(step, req)
            _max(init_peak, step)
    _max(total, init_peak)
    if not exclude_overhead:
        _add(total, to_resources(spec.get("overhead")))
    return total
