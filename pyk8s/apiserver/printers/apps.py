"""Rows for apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet,
ControllerRevision.  Replica counts are read from status (absent = 0) and the
desired count from spec.replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import (
    NONE,
    Obj,
    container_cells,
    dig,
    format_labels,
    format_selector,
    name_of,
    selector_string,
    template_spec,
)
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

CONTAINERS = wide("Containers", "Names of the containers in the pod template.")
IMAGES = wide("Images", "Images of the containers in the pod template.")
SELECTOR = wide("Selector", "Label selector of the pods this object manages.")


def _n(obj: Obj, *path: str) -> int:
    return int(dig(obj, *path, default=0) or 0)


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


@register(
    "apps",
    "Deployment",
    [
        name_column(),
        Column("Ready", description="Ready pods out of the desired number."),
        Column("Up-to-date", description="Pods that run the current pod template."),
        Column("Available", description="Pods that have been ready for at least minReadySeconds."),
        age_column(),
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
)
def deployment_row(d: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(template_spec(d))
    return [
        name_of(d),
        f"{_n(d, 'status', 'readyReplicas')}/{_n(d, 'spec', 'replicas')}",
        _n(d, "status", "updatedReplicas"),
        _n(d, "status", "availableReplicas"),
        _age(d, now),
        names,
        images,
        selector_string(dig(d, "spec", "selector")),
    ]


@register(
    "apps",
    "ReplicaSet",
    [
        name_column(),
        Column("Desired", "integer", "Desired number of pods."),
        Column("Current", "integer", "Number of pods that exist."),
        Column("Ready", "integer", "Number of ready pods."),
        age_column(),
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
)
def replicaset_row(rs: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(template_spec(rs))
    return [
        name_of(rs),
        _n(rs, "spec", "replicas"),
        _n(rs, "status", "replicas"),
        _n(rs, "status", "readyReplicas"),
        _age(rs, now),
        names,
        images,
        format_selector(dig(rs, "spec", "selector")),
    ]


@register(
    "apps",
    "StatefulSet",
    [
        name_column(),
        Column("Ready", description="Ready pods out of the desired number."),
        age_column(),
        CONTAINERS,
        IMAGES,
    ],
)
def statefulset_row(sts: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(template_spec(sts))
    ready = f"{_n(sts, 'status', 'readyReplicas')}/{_n(sts, 'spec', 'replicas')}"
    return [name_of(sts), ready, _age(sts, now), names, images]


@register(
    "apps",
    "DaemonSet",
    [
        name_column(),
        Column("Desired", "integer", "Nodes that should run the daemon pod."),
        Column("Current", "integer", "Nodes that run at least one daemon pod."),
        Column("Ready", "integer", "Nodes whose daemon pod is ready."),
        Column("Up-to-date", "integer", "Nodes that run the current pod template."),
        Column("Available", "integer", "Nodes whose daemon pod is available."),
        Column("Node Selector", description="Node labels the pods are restricted to."),
        age_column(),
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
)
def daemonset_row(ds: Obj, now: datetime) -> list[Any]:
    names, images = container_cells(template_spec(ds))
    return [
        name_of(ds),
        _n(ds, "status", "desiredNumberScheduled"),
        _n(ds, "status", "currentNumberScheduled"),
        _n(ds, "status", "numberReady"),
        _n(ds, "status", "updatedNumberScheduled"),
        _n(ds, "status", "numberAvailable"),
        format_labels(template_spec(ds).get("nodeSelector")),
        _age(ds, now),
        names,
        images,
        format_selector(dig(ds, "spec", "selector")),
    ]


def controller_of(obj: Obj) -> str:
    """``kind.group/name`` (lower-case kind) of the controlling owner, or ``<none>``."""
    for ref in dig(obj, "metadata", "ownerReferences", default=[]):
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = str(ref.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}"
    return NONE


@register(
    "apps",
    "ControllerRevision",
    [
        name_column(),
        Column("Controller", description="The object that owns this revision."),
        Column("Revision", description="Revision number of the recorded state."),
        age_column(),
    ],
)
def controllerrevision_row(cr: Obj, now: datetime) -> list[Any]:
    return [name_of(cr), controller_of(cr), int(cr.get("revision") or 0), _age(cr, now)]
