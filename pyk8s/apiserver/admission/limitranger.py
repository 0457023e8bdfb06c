"""LimitRanger: a namespace's LimitRanges default and bound pods and claims.

Mutating, on pod creation: each container (then each init container, as upstream) that states
no limit or no request for a resource gets the ``default`` / ``defaultRequest`` of the
namespace's ``Container`` items, and the pod is annotated ``kubernetes.io/limit-ranger:
LimitRanger plugin set: cpu, memory request for container app; ...``.  (The LimitRange's own
defaulting already filled ``default`` from ``max`` and ``defaultRequest`` from ``default`` and
``min``.)

Validating, on pod creation and claim creation or update: ``min``, ``max`` and
``maxLimitRequestRatio`` per container (``Container``), over the pod's summed requests and limits
(``Pod``), and ``min``/``max`` on a claim's storage request (``PersistentVolumeClaim``), worded as
upstream (``maximum cpu usage per Container is 500m, but limit is 1``); several violations are
listed in brackets as Go's error aggregate prints them.  Pod updates are not checked: containers'
resources cannot change after creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pyk8s.api.core_v1.helpers import resources
from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import quantity

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "LimitRanger"
ANNOTATION = "kubernetes.io/limit-ranger"
PVCS = ("", "persistentvolumeclaims")
MAX_MILLI = (2**63 - 1) // 1000  # resource.MaxMilliValue


def _q(value: Any) -> quantity.Quantity | None:
    return resources.parse_quantity(value)


def _observed(req: Any, lim: Any, enforced: quantity.Quantity) -> tuple[int, int, int]:
    """Upstream's requestLimitEnforcedValues: milli units unless one of them is too large for them."""
    qs = [_q(req) or quantity.parse(0), _q(lim) or quantity.parse(0), enforced]
    if any(q.int_value() > MAX_MILLI for q in qs):
        r, li, e = (q.int_value() for q in qs)
    else:
        r, li, e = (q.milli_value() for q in qs)
    return r, li, e


def min_constraint(kind: str, name: str, enforced: quantity.Quantity, request: Mapping[str, Any],
                   limit: Mapping[str, Any]) -> str:
    req, lim = request.get(name), limit.get(name)
    r, li, e = _observed(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if r < e:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and li < e:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return ""


def max_constraint(kind: str, name: str, enforced: quantity.Quantity, request: Mapping[str, Any],
                   limit: Mapping[str, Any]) -> str:
    req, lim = request.get(name), limit.get(name)
    r, li, e = _observed(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if li > e:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return ""


def max_request_constraint(kind: str, name: str, enforced: quantity.Quantity, request: Mapping[str, Any]) -> str:
    req = request.get(name)
    r, _, e = _observed(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if r > e:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return ""


def ratio_constraint(kind: str, name: str, enforced: quantity.Quantity, request: Mapping[str, Any],
                     limit: Mapping[str, Any]) -> str:
    req, lim = request.get(name), limit.get(name)
    r, li, _ = _observed(req, lim, enforced)
    if req is None or r == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or "
                f"request is 0")
    if lim is None or li == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or "
                f"limit is 0")
    shown = li / r
    observed, allowed = shown, float(enforced.int_value())
    if enforced.int_value() <= MAX_MILLI:
        observed, allowed = shown * 1000, float(enforced.milli_value())
    if observed > allowed:
        return f"{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {shown:f}"
    return ""


def _bounds(item: Obj, kind: str, request: Mapping[str, Any], limit: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for part, check in (("min", min_constraint), ("max", max_constraint), ("maxLimitRequestRatio", ratio_constraint)):
        for name, value in sorted((item.get(part) or {}).items()):
            enforced = _q(value)
            if enforced is not None:
                out.append(check(kind, name, enforced, request, limit))
    return [m for m in out if m]


def validate_pod(limit_range: Obj, pod: Obj) -> list[str]:
    """Upstream's PodValidateLimitFunc for one LimitRange."""
    spec = pod.get("spec") or {}
    errs: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            for ctr in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
                res = ctr.get("resources") or {}
                errs += _bounds(item, "Container", res.get("requests") or {}, res.get("limits") or {})
        elif item.get("type") == "Pod":
            requests = {k: str(v) for k, v in resources.pod_quantities(pod, "requests").items()}
            limits = {k: str(v) for k, v in resources.pod_quantities(pod, "limits").items()}
            errs += _bounds(item, "Pod", requests, limits)
    return errs


def validate_claim(limit_range: Obj, claim: Obj) -> list[str]:
    """Upstream's PersistentVolumeClaimValidateLimitFunc: min/max on what the claim requests."""
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    errs: list[str] = []
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, value in sorted((item.get("min") or {}).items()):
            if (q := _q(value)) is not None:
                errs.append(min_constraint("PersistentVolumeClaim", name, q, requests, {}))
        for name, value in sorted((item.get("max") or {}).items()):
            if (q := _q(value)) is not None:
                errs.append(max_request_constraint("PersistentVolumeClaim", name, q, requests))
    return [m for m in errs if m]


def default_requirements(limit_range: Obj) -> tuple[Obj, Obj]:
    """(limits, requests) a container that states none gets: the Container items' default/defaultRequest."""
    limits: Obj = {}
    requests: Obj = {}
    for item in (limit_range.get("spec") or {}).get("limits") or []:
        if item.get("type") == "Container":
            limits.update(item.get("default") or {})
            requests.update(item.get("defaultRequest") or {})
    return limits, requests


def _merge_container(ctr: Obj, limits: Obj, requests: Obj, label: str) -> list[str]:
    res = ctr.get("resources")
    if not isinstance(res, dict):
        res = ctr["resources"] = {}
    notes: list[str] = []
    set_names: dict[str, list[str]] = {"limits": [], "requests": []}
    for part, defaults in (("limits", limits), ("requests", requests)):
        values = res.get(part)
        if not isinstance(values, dict):
            values = {}
        for name, value in defaults.items():
            if name not in values:
                values[name] = value
                set_names[part].append(name)
        if values:
            res[part] = values
    if set_names["requests"]:
        notes.append(", ".join(sorted(set_names["requests"])) + f" request for {label} {ctr.get('name')}")
    if set_names["limits"]:
        notes.append(", ".join(sorted(set_names["limits"])) + f" limit for {label} {ctr.get('name')}")
    return notes


def default_pod(limit_range: Obj, pod: Obj) -> None:
    """Upstream's mergePodResourceRequirements: containers first, then init containers."""
    limits, requests = default_requirements(limit_range)
    if not limits and not requests:
        return
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for key, label in (("containers", "container"), ("initContainers", "init container")):
        for ctr in spec.get(key) or []:
            if isinstance(ctr, dict):
                notes += _merge_container(ctr, limits, requests, label)
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def aggregate(messages: list[str]) -> str:
    """Go's utilerrors.NewAggregate(...).Error()."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


class LimitRanger(Plugin):
    name = NAME
    resources = frozenset({PODS, PVCS})

    static_handles = True  # operation, resource and subresource only

    def handles(self, attrs: Attributes) -> bool:
        if attrs.subresource:
            return False
        if attrs.resource == PODS:
            return attrs.operation == CREATE
        return attrs.resource == PVCS and attrs.operation in (CREATE, UPDATE)

    async def _ranges(self, registry: Registry, namespace: str) -> list[Obj]:
        store = registry.store("", "limitranges")
        return [] if store is None else await cachedreads.namespace_items(store, namespace)

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.resource != PODS:
            return
        for lr in await self._ranges(registry, attrs.namespace):
            default_pod(lr, attrs.obj)

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        check = validate_pod if attrs.resource == PODS else validate_claim
        errs: list[str] = []
        for lr in await self._ranges(registry, attrs.namespace):
            errs += check(lr, attrs.obj)
        if errs:
            raise attrs.forbidden(aggregate(errs))


def build(options: object) -> Plugin:
    return LimitRanger()
