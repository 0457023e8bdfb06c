"""Rows for PersistentVolume, PersistentVolumeClaim and StorageClass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.api.core_v1.persistentvolume import storage_class_name
from pyk8s.api.storage_v1 import is_default_class
from pyk8s.apiserver.printers.cells import Obj, access_modes, dig, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

UNSET = "<unset>"
_class = storage_class_name  # the beta annotation first, as everywhere


def _phase(obj: Obj) -> str:
    if dig(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(dig(obj, "status", "phase", default=""))


def _age(obj: Obj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)


@register(
    "",
    "PersistentVolume",
    [
        name_column(),
        Column("Capacity", description="Storage capacity of the volume."),
        Column("Access Modes", description="Ways the volume can be mounted (RWO, ROX, RWX, RWOP)."),
        Column("Reclaim Policy", description="What happens to the volume when its claim is released."),
        Column("Status", description="Phase of the volume."),
        Column("Claim", description="The claim bound to the volume (namespace/name)."),
        Column("StorageClass", description="Storage class of the volume."),
        Column("VolumeAttributesClass", description="Volume attributes class of the volume."),
        Column("Reason", description="Why the volume is in its phase."),
        age_column(),
        wide("VolumeMode", "Filesystem or Block."),
    ],
)
def pv_row(pv: Obj, now: datetime) -> list[Any]:
    spec = pv.get("spec") or {}
    ref = spec.get("claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [
        name_of(pv),
        str(dig(spec, "capacity", "storage", default="0")),
        access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        _phase(pv),
        claim,
        _class(pv),
        spec.get("volumeAttributesClassName") or UNSET,
        dig(pv, "status", "reason", default=""),
        _age(pv, now),
        spec.get("volumeMode") or UNSET,
    ]


@register(
    "",
    "PersistentVolumeClaim",
    [
        name_column(),
        Column("Status", description="Phase of the claim."),
        Column("Volume", description="The volume bound to the claim."),
        Column("Capacity", description="Capacity of the bound volume."),
        Column("Access Modes", description="Access modes of the bound volume."),
        Column("StorageClass", description="Storage class requested by the claim."),
        Column("VolumeAttributesClass", description="Volume attributes class of the claim."),
        age_column(),
        wide("VolumeMode", "Filesystem or Block."),
    ],
)
def pvc_row(pvc: Obj, now: datetime) -> list[Any]:
    spec = pvc.get("spec") or {}
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str(dig(pvc, "status", "capacity", "storage", default="0"))
        modes = access_modes(dig(pvc, "status", "accessModes"))
    return [
        name_of(pvc),
        _phase(pvc),
        spec.get("volumeName", ""),
        capacity,
        modes,
        _class(pvc),
        spec.get("volumeAttributesClassName") or UNSET,
        _age(pvc, now),
        spec.get("volumeMode") or UNSET,
    ]


@register(
    "storage.k8s.io",
    "StorageClass",
    [
        name_column(),
        Column("Provisioner", description="Provisioner that creates volumes of this class."),
        Column("ReclaimPolicy", description="Reclaim policy given to provisioned volumes."),
        Column("VolumeBindingMode", description="When volumes are bound and provisioned."),
        Column("AllowVolumeExpansion", description="Whether claims of this class may grow."),
        age_column(),
    ],
)
def storageclass_row(sc: Obj, now: datetime) -> list[Any]:
    name = name_of(sc)
    if is_default_class(sc):
        name += " (default)"
    return [
        name,
        sc.get("provisioner", ""),
        sc.get("reclaimPolicy") or "Delete",
        sc.get("volumeBindingMode") or "Immediate",
        bool(sc.get("allowVolumeExpansion") or False),
        _age(sc, now),
    ]
