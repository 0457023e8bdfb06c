"""How authenticators read the objects a credential depends on (Secrets, ServiceAccounts, pods, nodes).

Reads go through the API server's own watch caches (``registry.cachedreads``),
as upstream's authenticators read through informers, so a token check costs
no storage round trip once the caches run; a name the cache lacks is read
from storage, so an object made a moment ago is found.
"""

from __future__ import annotations

from typing import Any, Protocol

from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import Scheme

Obj = dict[str, Any]


class ObjectGetter(Protocol):
    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The core/v1 object ``resource``/``name`` (None if it does not exist)."""
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


class DictGetter:
    """A getter over a plain dict keyed by (resource, namespace, name): for tests and tools."""

    def __init__(self, objects: dict[tuple[str, str, str], Obj] | None = None) -> None:
        self.objects = objects if objects is not None else {}

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.objects.get((resource, namespace, name))
