"""How authenticators read the objects a credential depends on (Secrets, ServiceAccounts, pods, nodes).

Reads go through the API server's own watch caches (``registry.cachedreads``),
as upstream's authenticators read through informers, so a token check costs
no storage round trip once the caches run; a name the cache lacks is read
from storage, so an object made a moment ago is found.
"""

from __future__ import annotations

from typing import Any, Protocol

from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.generic import MERGE_PATCH
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import Scheme

Obj = dict[str, Any]


class ObjectGetter(Protocol):
    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The core/v1 object ``resource``/``name`` (None if it does not exist)."""
        ...


class LabelWriter(Protocol):
    async def set_label(self, resource: str, namespace: str, name: str, key: str, value: str) -> None:
        """Set one label on a core/v1 object (upstream's legacy-token tracking patch)."""
        ...


class RegistryGetter:
    """Reads through ``registry.store(group, plural)``'s watch cache; a registry without stores of that shape
    (a test double offering only ``storage_for``) is read through its REST storage."""

    def __init__(self, registry: Any, scheme: Scheme | None = None) -> None:
        self.registry = registry
        self.scheme = scheme

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        if hasattr(self.registry, "store"):
            store = self.registry.store("", resource)
            return None if store is None else await cachedreads.get(store, namespace, name)
        rt = self.scheme.get("", "v1", resource) if self.scheme is not None else None
        if rt is None:
            return None
        try:
            obj: Obj = await self.registry.storage_for(rt).get(namespace, name)
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise
        return obj

    async def set_label(self, resource: str, namespace: str, name: str, key: str, value: str) -> None:
        store = self.registry.store("", resource) if hasattr(self.registry, "store") else None
        if store is None:
            return
        patch = {"metadata": {"labels": {key: value}}}
        await store.patch(namespace, name, MERGE_PATCH, patch, WriteOptions(user="system:apiserver",
                                                                             field_manager="kube-apiserver"))


class DictGetter:
    """A getter over a plain dict keyed by (resource, namespace, name): for tests and tools."""

    def __init__(self, objects: dict[tuple[str, str, str], Obj] | None = None) -> None:
        self.objects = objects if objects is not None else {}

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.objects.get((resource, namespace, name))

    async def set_label(self, resource: str, namespace: str, name: str, key: str, value: str) -> None:
        obj = self.objects.get((resource, namespace, name))
        if obj is not None:
            obj.setdefault("metadata", {}).setdefault("labels", {})[key] = value
