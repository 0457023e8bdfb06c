"""The registry: one store per resource type, built on demand over one storage.

``build_registry(scheme, storage)`` returns a ``Registry`` whose
``storage_for(rt)`` gives the ``RESTStorage`` the HTTP layer calls.  Most
kinds get the ``GenericStore``; kinds with extra behaviour get a subclass
listed in ``special.SPECIAL``; resources served at several versions share one
stored form (``versions.py``).  Stores are created lazily because kinds may be added to
the scheme at run time (CRDs).  ``admit``/``validate`` run the admission plugins that need
other objects (``admission.py``), reading them from the watch caches (``cachedreads.py``);
``close()`` stops the watch caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyk8s.api.core_v1.helpers import namespaces
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.admission import Attributes, Plugin, default_plugins
from pyk8s.machinery import errors
from pyk8s.machinery.scheme import ResourceType, Scheme
from pyk8s.storage.interface import Storage

if TYPE_CHECKING:
    from pyk8s.apiserver.registry.generic import GenericStore


class Registry:
    def __init__(self, scheme: Scheme, storage: Storage, *, service_cidr: str = "10.96.0.0/12",
                 node_port_range: tuple[int, int] | str = (30000, 32767),
                 admission_plugins: list[Plugin] | None = None) -> None:
        self.scheme = scheme
        self.storage = storage
        self.service_cidr = service_cidr
        if isinstance(node_port_range, str):
            lo, _, hi = node_port_range.partition("-")
            node_port_range = (int(lo), int(hi or lo))
        self.node_port_range = node_port_range
        self._stores: dict[tuple[str, str, str], GenericStore] = {}
        self.admission: list[Plugin] = default_plugins() if admission_plugins is None else admission_plugins

    def storage_for(self, rt: ResourceType) -> GenericStore:
        key = (rt.group, rt.version, rt.plural)
        store = self._stores.get(key)
        if store is None:
            from pyk8s.apiserver.registry.special import store_class

            store = store_class(rt)(rt, self.storage, self)
            self._stores[key] = store
        return store

    def store(self, group: str, plural: str) -> GenericStore | None:
        """The store of a resource by group and plural, at the group's preferred version."""
        for version in self.scheme.versions(group):
            rt = self.scheme.get(group, version, plural)
            if rt is not None:
                return self.storage_for(rt)
        return None

    def subresource(self, rt: ResourceType, sub: str) -> Any:
        """Registry-side subresource implementations; None lets the HTTP layer do its generic one."""
        if (rt.group, rt.plural, sub) == ("", "pods", "binding"):
            from pyk8s.apiserver.registry.core.pod import PodBinding

            return PodBinding(self.storage_for(rt))
        return None

    async def admit_namespace(self, namespace: str, resource: str = "", name: str = "", group: str = "") -> None:
        """404 for a missing namespace, 403 for a terminating one (the NamespaceLifecycle admission);
        ``resource``/``name``/``group`` word the 403 as upstream: ``configmaps "x" is forbidden: ...``."""
        ns_store = self.store("", "namespaces")
        if ns_store is None:
            return
        ns = await cachedreads.get(ns_store, "", namespace)  # the watch cache, as upstream's informer
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if namespaces.is_terminating(ns):
            raise errors.forbidden(f"unable to create new content in namespace {namespace} because it is being "
                                   f"terminated", resource, name, group)

    async def admit(self, attrs: Attributes) -> None:
        """The mutating admission phase (may change ``attrs.obj``; raises StatusError to refuse)."""
        for plugin in self.admission:
            if (attrs.group, attrs.plural) in plugin.resources:
                await plugin.admit(self, attrs)

    async def validate(self, attrs: Attributes) -> None:
        """The validating admission phase, after the strategy's validation passed."""
        for plugin in self.admission:
            if (attrs.group, attrs.plural) in plugin.resources:
                await plugin.validate(self, attrs)

    async def close(self) -> None:
        for store in list(self._stores.values()):
            await store.close()


def build_registry(scheme: Scheme, storage: Storage, *, service_cidr: str = "10.96.0.0/12",
                   node_port_range: tuple[int, int] | str = (30000, 32767), not_ready_toleration_seconds: int = 300,
                   unreachable_toleration_seconds: int = 300) -> Registry:
    plugins = default_plugins(not_ready_seconds=not_ready_toleration_seconds,
                              unreachable_seconds=unreachable_toleration_seconds)
    return Registry(scheme, storage, service_cidr=service_cidr, node_port_range=node_port_range,
                    admission_plugins=plugins)


__all__ = ["Registry", "build_registry"]
