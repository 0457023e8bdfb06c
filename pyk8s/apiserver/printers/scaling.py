"""Rows for HorizontalPodAutoscaler (autoscaling v1 and v2), PodDisruptionBudget
and Lease.

HPA TARGETS shows at most two metrics as ``current/target`` (``<unknown>``
until the controller reports a value), then ``+ N more...``.  autoscaling/v1
objects carry only a CPU utilisation target, shown like the v2 resource metric.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, int_or_string, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

UNKNOWN = "<unknown>"
MAX_METRICS = 2


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def _value_metric(spec: Obj, status: Obj | None) -> str:
    """External/Object metrics: average value ``(avg)`` or plain value."""
    target = spec.get("target") or {}
    current = (status or {}).get("current") or {}
    if target.get("averageValue") is not None:
        return f"{current.get('averageValue', UNKNOWN) if status else UNKNOWN}/{target['averageValue']} (avg)"
    return f"{current.get('value', UNKNOWN) if status else UNKNOWN}/{target.get('value', '')}"


def _resource_metric(spec: Obj, status: Obj | None) -> str:
    target = spec.get("target") or {}
    current = (status or {}).get("current") or {}
    name = spec.get("name", "")
    if target.get("averageValue") is not None:
        return f"{name}: {current.get('averageValue', UNKNOWN) if status else UNKNOWN}/{target['averageValue']}"
    now_value = UNKNOWN
    if status and current.get("averageUtilization") is not None:
        now_value = f"{current['averageUtilization']}%"
    goal = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
    return f"{name}: {now_value}/{goal}"


def _metric(spec: Obj, status: Obj | None) -> str:
    kind = spec.get("type")
    if kind == "Pods":
        pods = spec.get("pods") or {}
        current = dig(status, "pods", "current", "averageValue") if status else None
        return f"{current or UNKNOWN}/{dig(pods, 'target', 'averageValue', default='')}"
    if kind in ("External", "Object"):
        key = kind.lower()
        return _value_metric(spec.get(key) or {}, (status or {}).get(key))
    if kind in ("Resource", "ContainerResource"):
        key = "resource" if kind == "Resource" else "containerResource"
        return _resource_metric(spec.get(key) or {}, (status or {}).get(key))
    return "<unknown type>"


def hpa_targets(hpa: Obj) -> str:
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    metrics = spec.get("metrics")
    statuses = status.get("currentMetrics") or []
    if metrics is None and "targetCPUUtilizationPercentage" in spec:  # autoscaling/v1
        metrics = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"averageUtilization": spec["targetCPUUtilizationPercentage"]}},
            }
        ]
        if status.get("currentCPUUtilizationPercentage") is not None:
            statuses = [{"resource": {"current": {"averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    if not metrics:
        return "<none>"
    shown = [_metric(m, statuses[i] if i < len(statuses) else None) for i, m in enumerate(metrics)]
    text = ", ".join(shown[:MAX_METRICS])
    if len(shown) > MAX_METRICS:
        return f"{text} + {len(shown) - MAX_METRICS} more..."
    return text


@register(
    "autoscaling",
    "HorizontalPodAutoscaler",
    [
        name_column(),
        Column("Reference", description="The scaled object (kind/name)."),
        Column("Targets", description="Current and target values of the metrics."),
        Column("MinPods", description="Lower bound of replicas."),
        Column("MaxPods", description="Upper bound of replicas."),
        Column("Replicas", description="Current number of replicas."),
        age_column(),
    ],
)
def hpa_row(hpa: Obj, now: datetime) -> list[Any]:
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    min_pods = spec.get("minReplicas")
    return [
        name_of(hpa),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        hpa_targets(hpa),
        str(min_pods) if min_pods is not None else "<unset>",
        int(spec.get("maxReplicas") or 0),
        int(dig(hpa, "status", "currentReplicas", default=0) or 0),
        _age(hpa, now),
    ]


@register(
    "policy",
    "PodDisruptionBudget",
    [
        name_column(),
        Column("Min Available", description="Pods that must stay available."),
        Column("Max Unavailable", description="Pods that may be unavailable."),
        Column("Allowed Disruptions", "integer", "Pods that may be disrupted right now."),
        age_column(),
    ],
)
def pdb_row(pdb: Obj, now: datetime) -> list[Any]:
    spec = pdb.get("spec") or {}
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        name_of(pdb),
        int_or_string(min_available) if min_available is not None else "N/A",
        int_or_string(max_unavailable) if max_unavailable is not None else "N/A",
        int(dig(pdb, "status", "disruptionsAllowed", default=0) or 0),
        _age(pdb, now),
    ]


@register(
    "coordination.k8s.io",
    "Lease",
    [name_column(), Column("Holder", description="Current holder of the lease."), age_column()],
)
def lease_row(lease: Obj, now: datetime) -> list[Any]:
    return [name_of(lease), dig(lease, "spec", "holderIdentity", default=""), _age(lease, now)]
