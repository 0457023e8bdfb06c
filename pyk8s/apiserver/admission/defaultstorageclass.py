"""DefaultStorageClass: a new claim that names no class (neither ``spec.storageClassName`` nor the
beta annotation) gets the default one; with several defaults the newest wins (as 1.32)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api import storage_v1
from pyk8s.api.core_v1 import persistentvolume
from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin
from pyk8s.apiserver.registry.rest import ListOptions

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "DefaultStorageClass"
PVCS = ("", "persistentvolumeclaims")


class DefaultStorageClass(Plugin):
    name = NAME
    resources = frozenset({PVCS})

    async def admit(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.operation != CREATE or persistentvolume.has_storage_class(attrs.obj):
            return
        store = registry.store("storage.k8s.io", "storageclasses")
        if store is None:
            return
        defaults = [sc for sc in (await store.list("", ListOptions()))["items"] if storage_v1.is_default_class(sc)]
        if not defaults:
            return
        newest = max(defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp", ""),
                                              sc["metadata"]["name"]))
        spec = attrs.obj.get("spec")
        if isinstance(spec, dict):
            spec["storageClassName"] = newest["metadata"]["name"]


def build(options: object) -> Plugin:
    return DefaultStorageClass()
