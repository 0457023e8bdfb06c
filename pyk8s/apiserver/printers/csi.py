"""Rows for RuntimeClass (node.k8s.io) and storage.k8s.io's CSI kinds, with upstream's columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

STORAGE = "storage.k8s.io"


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


def _bool(value: Any) -> str:
    return "true" if value else "false"


@register("node.k8s.io", "RuntimeClass", [
    name_column(),
    Column("Handler", description="The CRI handler running pods of this class."),
    age_column(),
])
def runtimeclass_row(rc: Obj, now: datetime) -> list[Any]:
    return [name_of(rc), rc.get("handler") or "", _age(rc, now)]


@register(STORAGE, "CSIDriver", [
    name_column(),
    Column("AttachRequired", "boolean", "The driver needs an attach step."),
    Column("PodInfoOnMount", "boolean", "Pod details are passed on mount."),
    Column("StorageCapacity", "boolean", "The driver publishes storage capacity."),
    Column("TokenRequests", description="Audiences of the tokens the driver receives."),
    Column("RequiresRepublish", "boolean", "NodePublishVolume is called periodically."),
    Column("Modes", description="Volume lifecycle modes."),
    age_column(),
])
def csidriver_row(d: Obj, now: datetime) -> list[Any]:
    spec = d.get("spec") or {}
    tokens = ",".join(str(t.get("audience") or "") for t in spec.get("tokenRequests") or []) or "<unset>"
    modes = ",".join(spec.get("volumeLifecycleModes") or []) or "<none>"
    return [name_of(d), bool(spec.get("attachRequired")), bool(spec.get("podInfoOnMount")),
            bool(spec.get("storageCapacity")), tokens, bool(spec.get("requiresRepublish")), modes, _age(d, now)]


@register(STORAGE, "CSINode", [
    name_column(),
    Column("Drivers", "integer", "Number of CSI drivers on the node."),
    age_column(),
])
def csinode_row(n: Obj, now: datetime) -> list[Any]:
    return [name_of(n), len(dig(n, "spec", "drivers", default=[]) or []), _age(n, now)]


@register(STORAGE, "VolumeAttachment", [
    name_column(),
    Column("Attacher", description="The CSI driver that attaches."),
    Column("PV", description="The PersistentVolume attached."),
    Column("Node", description="The node it is attached to."),
    Column("Attached", "boolean", "Whether the volume is attached."),
    age_column(),
])
def volumeattachment_row(va: Obj, now: datetime) -> list[Any]:
    spec = va.get("spec") or {}
    return [name_of(va), spec.get("attacher") or "", dig(spec, "source", "persistentVolumeName", default="") or "",
            spec.get("nodeName") or "", bool(dig(va, "status", "attached", default=False)), _age(va, now)]


@register(STORAGE, "CSIStorageCapacity", [
    name_column(),
    Column("StorageClassName", description="The StorageClass the capacity is for."),
    Column("Capacity", description="Free capacity."),
    age_column(),
])
def csistoragecapacity_row(c: Obj, now: datetime) -> list[Any]:
    capacity = c.get("capacity")
    return [name_of(c), c.get("storageClassName") or "", "<unset>" if capacity is None else str(capacity),
            _age(c, now)]
