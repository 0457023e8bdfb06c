"""PersistentVolumeClaimResize: a claim may grow only when it is Bound and its StorageClass (unchanged)
says ``allowVolumeExpansion: true``; refused otherwise with upstream's 403 messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api.core_v1 import persistentvolume
from pyk8s.apiserver.admission.interface import UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import quantity

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "PersistentVolumeClaimResize"
PVCS = ("", "persistentvolumeclaims")


def _size(claim: Obj) -> quantity.Quantity | None:
    return quantity.try_parse((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
        "storage"))


class PersistentVolumeClaimResize(Plugin):
    name = NAME
    resources = frozenset({PVCS})

    def handles(self, attrs: Attributes) -> bool:
        return attrs.resource == PVCS and attrs.operation == UPDATE and attrs.old is not None and not attrs.subresource

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        old = attrs.old or {}
        new_size, old_size = _size(attrs.obj), _size(old)
        if new_size is None or old_size is None or not old_size < new_size:
            return
        if (old.get("status") or {}).get("phase") != "Bound":
            raise attrs.forbidden("Only bound persistent volume claims can be expanded")
        if not await self._allows_resize(registry, attrs.obj, old):
            raise attrs.forbidden("only dynamically provisioned pvc can be resized and the storageclass that "
                                  "provisions the pvc must support resize")

    @staticmethod
    async def _allows_resize(registry: Registry, new: Obj, old: Obj) -> bool:
        name = persistentvolume.storage_class_name(new)
        if not name or name != persistentvolume.storage_class_name(old):
            return False
        store = registry.store("storage.k8s.io", "storageclasses")
        sc = None if store is None else await cachedreads.get(store, "", name)
        return bool(sc is not None and sc.get("allowVolumeExpansion") is True)


def build(options: object) -> Plugin:
    return PersistentVolumeClaimResize()
