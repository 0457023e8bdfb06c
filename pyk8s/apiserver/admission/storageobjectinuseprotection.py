"""StorageObjectInUseProtection: new claims and volumes get the ``kubernetes.io/pvc-protection`` /
``kubernetes.io/pv-protection`` finalizers, which the protection controllers remove once nothing uses them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api.core_v1 import persistentvolume
from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "StorageObjectInUseProtection"
PVCS = ("", "persistentvolumeclaims")
PVS = ("", "persistentvolumes")


class StorageObjectInUseProtection(Plugin):
    name = NAME
    resources = frozenset({PVCS, PVS})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.operation != CREATE:
            return
        finalizer = (persistentvolume.PVC_PROTECTION_FINALIZER if (attrs.group, attrs.plural) == PVCS
                     else persistentvolume.PV_PROTECTION_FINALIZER)
        meta = attrs.obj.setdefault("metadata", {})
        if isinstance(meta, dict) and finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]


def build(options: object) -> Plugin:
    return StorageObjectInUseProtection()
