"""What an object costs against a ResourceQuota, as upstream's quota evaluators count it.

One home for the quota controller (which sums ``usage`` over a namespace into
``status.used``) and the ResourceQuota admission (which adds a new object's
``usage`` to ``status.used`` and refuses what would pass ``status.hard``).

Names and what counts:

* ``count/<resource>[.<group>]``: every object of that resource, whatever its state;
* the legacy names ``services``, ``configmaps``, ``secrets``,
  ``replicationcontrollers``, ``resourcequotas`` and ``persistentvolumeclaims`` count objects too;
* ``pods`` and the compute names (``cpu``/``requests.cpu``, ``memory``/``requests.memory``,
  ``ephemeral-storage``/``requests.ephemeral-storage``, ``limits.*``, ``requests.hugepages-*``,
  ``requests.<extended>``) count pods that are not terminal (Succeeded, Failed, or deleted past
  their grace period), from ``resources.pod_quantities``;
* ``services.loadbalancers`` and ``services.nodeports`` (the ports of NodePort and
  LoadBalancer services; with ``allocateLoadBalancerNodePorts: false`` only explicit node ports);
* ``requests.storage`` and ``<class>.storageclass.storage.k8s.io/requests.storage`` /
  ``.../persistentvolumeclaims`` for claims.

Scopes (``spec.scopes`` and ``spec.scopeSelector``) apply to pods only: a scoped quota never
matches other objects, as upstream.  Amounts are ``machinery.quantity.Quantity`` values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from pyk8s.api.core_v1.helpers import resources, timestamps
from pyk8s.machinery import quantity

Obj = Mapping[str, Any]
Usage = dict[str, quantity.Quantity]
GroupResource = tuple[str, str]

PODS: GroupResource = ("", "pods")
SERVICES: GroupResource = ("", "services")
PVCS: GroupResource = ("", "persistentvolumeclaims")
LEGACY_COUNTS: dict[str, GroupResource] = {
    "services": SERVICES, "configmaps": ("", "configmaps"), "secrets": ("", "secrets"),
    "replicationcontrollers": ("", "replicationcontrollers"), "resourcequotas": ("", "resourcequotas"),
    "persistentvolumeclaims": PVCS,
}
COMPUTE = ("cpu", "memory", "ephemeral-storage")
# The names a quota makes every container state (upstream's validationSet).
MUST_SPECIFY = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
ONE = quantity.parse(1)
ZERO = quantity.parse(0)
_COUNTS = [quantity.parse(n) for n in range(64)]


def _count(n: int) -> quantity.Quantity:
    return _COUNTS[n] if n < len(_COUNTS) else quantity.parse(n)


def count_name(group: str, plural: str) -> str:
    return f"count/{plural}" if not group else f"count/{plural}.{group}"


def resource_of(name: str) -> GroupResource | None:
    """The resource whose objects a quota name counts (None: unknown name, counts nothing)."""
    if name.startswith("count/"):
        plural, _, group = name[len("count/"):].partition(".")
        return (group, plural)
    if name in LEGACY_COUNTS:
        return LEGACY_COUNTS[name]
    if name in ("services.loadbalancers", "services.nodeports"):
        return SERVICES
    if name == "requests.storage" or STORAGE_CLASS_SUFFIX in name:
        return PVCS
    if name == "pods" or name in COMPUTE or name.startswith(("requests.", "limits.")):
        return PODS
    return None


def matching(names: Iterable[str], resource: GroupResource) -> set[str]:
    """The quota names that objects of ``resource`` count toward (upstream's MatchingResources)."""
    return {n for n in names if resource_of(n) == resource}


# ------------------------------------------------------------------ scopes

def scope_selectors(quota: Obj) -> list[Obj]:
    spec = quota.get("spec") or {}
    out: list[Obj] = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    out += list((spec.get("scopeSelector") or {}).get("matchExpressions") or [])
    return out


def is_terminating(pod: Obj) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    return isinstance(deadline, int) and deadline >= 0


def is_best_effort(pod: Obj) -> bool:
    """QoS BestEffort: no container asks for or caps cpu or memory."""
    spec = pod.get("spec") or {}
    for ctr in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = ctr.get("resources") or {}
        for part in ("requests", "limits"):
            values = res.get(part) or {}
            if any(k in values for k in ("cpu", "memory")):
                return False
    return True


def _scope_matches(selector: Obj, pod: Obj) -> bool:
    scope = selector.get("scopeName")
    if scope == "Terminating":
        return is_terminating(pod)
    if scope == "NotTerminating":
        return not is_terminating(pod)
    if scope == "BestEffort":
        return is_best_effort(pod)
    if scope == "NotBestEffort":
        return not is_best_effort(pod)
    if scope == "PriorityClass":
        name = (pod.get("spec") or {}).get("priorityClassName") or ""
        op, values = selector.get("operator"), selector.get("values") or []
        return {"Exists": name != "", "DoesNotExist": name == "", "In": name in values,
                "NotIn": name not in values}.get(str(op), False)
    return False  # CrossNamespacePodAffinity and VolumeAttributesClass are not evaluated here


def matches_scopes(quota: Obj, resource: GroupResource, obj: Obj) -> bool:
    selectors = scope_selectors(quota)
    if not selectors:
        return True
    return resource == PODS and all(_scope_matches(s, obj) for s in selectors)


def quota_matches(quota: Obj, resource: GroupResource, obj: Obj) -> bool:
    """Upstream's Matches: the quota's ``status.hard`` names something this resource counts, and scopes match."""
    hard = (quota.get("status") or {}).get("hard") or {}
    return bool(matching(hard, resource)) and matches_scopes(quota, resource, obj)


# ------------------------------------------------------------------ usage

def counts_against_quota(pod: Obj, now: datetime.datetime | None = None) -> bool:
    """Upstream's QuotaV1Pod: not terminal, and not deleted past its grace period."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    deleted, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if deleted and grace is not None:
        when = timestamps.parse_time(deleted)
        now = now or datetime.datetime.now(datetime.UTC)
        if when is not None and now > when + datetime.timedelta(seconds=int(grace)):
            return False
    return True


def pod_compute_usage(requests: Mapping[str, Any], limits: Mapping[str, Any]) -> Usage:
    """``pods: 1`` plus the compute names for given requests and limits (quantities or their strings)."""
    out: Usage = {"pods": ONE}
    for name, value in requests.items():
        q = resources.parse_quantity(value)
        if q is None:
            continue
        if name in COMPUTE:
            out[name] = q
            out[f"requests.{name}"] = q
        elif name.startswith("hugepages-") or "/" in name:
            out[f"requests.{name}"] = q
    for name, value in limits.items():
        q = resources.parse_quantity(value)
        if q is not None and (name in COMPUTE or name.startswith("hugepages-")):
            out[f"limits.{name}"] = q
    return out


def pod_usage(pod: Obj, now: datetime.datetime | None = None) -> Usage:
    out: Usage = {"count/pods": ONE}
    if not counts_against_quota(pod, now):
        return out
    out.update(pod_compute_usage(resources.pod_quantities(pod, "requests"), resources.pod_quantities(pod, "limits")))
    return out


def service_usage(svc: Obj) -> Usage:
    spec = svc.get("spec") or {}
    out: Usage = {"services": ONE, "count/services": ONE}
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    kind = spec.get("type")
    if kind == "NodePort":
        out["services.nodeports"] = _count(len(ports))
    elif kind == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            out["services.nodeports"] = _count(sum(1 for p in ports if p.get("nodePort")))
        else:
            out["services.nodeports"] = _count(len(ports))
        out["services.loadbalancers"] = ONE
    return out


def claim_usage(pvc: Obj) -> Usage:
    spec = pvc.get("spec") or {}
    out: Usage = {"persistentvolumeclaims": ONE, "count/persistentvolumeclaims": ONE}
    klass = spec.get("storageClassName") or ((pvc.get("metadata") or {}).get("annotations") or {}).get(
        "volume.beta.kubernetes.io/storage-class") or ""
    if klass:
        out[f"{klass}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
    storage = resources.parse_quantity(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if storage is not None:
        out["requests.storage"] = storage
        if klass:
            out[f"{klass}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return out


def usage(resource: GroupResource, obj: Obj, now: datetime.datetime | None = None) -> Usage:
    """What one object of ``resource`` costs, by quota name."""
    if resource == PODS:
        return pod_usage(obj, now)
    if resource == SERVICES:
        return service_usage(obj)
    if resource == PVCS:
        return claim_usage(obj)
    out: Usage = {count_name(*resource): ONE}
    for legacy, res in LEGACY_COUNTS.items():
        if res == resource:
            out[legacy] = ONE
    return out


def add(a: Mapping[str, quantity.Quantity], b: Mapping[str, quantity.Quantity]) -> Usage:
    """Sums; a zero takes the other's format, as Go's Quantity.Add (``0`` + ``64Mi`` is ``64Mi``)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out and not out[k].is_zero() else v
    return out


def subtract_non_negative(a: Mapping[str, quantity.Quantity], b: Mapping[str, quantity.Quantity]) -> Usage:
    out: Usage = {}
    for k, v in a.items():
        diff = v - b[k] if k in b else v
        out[k] = diff if ZERO < diff else ZERO
    return out


def missing_requirements(pod: Obj, required: Iterable[str]) -> str:
    """Upstream's pod Constraints: each container must state what a quota on cpu/memory covers.
    Returns ``""`` or ``"must specify limits.cpu for: app; requests.cpu for: app,init"``."""
    need = set(required) & MUST_SPECIFY
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for ctr in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = ctr.get("resources") or {}
        have = set(pod_compute_usage(res.get("requests") or {}, res.get("limits") or {}))
        for name in need - have:
            missing.setdefault(name, set()).add(str(ctr.get("name")))
    if not missing:
        return ""
    return "must specify " + "; ".join(f"{n} for: {','.join(sorted(missing[n]))}" for n in sorted(missing))


def parse_list(values: Mapping[str, Any] | None) -> Usage:
    """A ResourceList's parseable amounts (cached parsing)."""
    out: Usage = {}
    for k, v in (values or {}).items():
        q = resources.parse_quantity(v)
        if q is not None:
            out[k] = q
    return out


def pretty(values: Mapping[str, Any]) -> str:
    """``a=1,b=2`` in name order (upstream's prettyPrint)."""
    return ",".join(f"{k}={values[k]}" for k in sorted(values))
