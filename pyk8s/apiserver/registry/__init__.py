"""The registry: one store per resource type, built on demand over one storage.

``build_registry(scheme, storage)`` returns a ``Registry`` whose
``storage_for(rt)`` gives the ``RESTStorage`` the HTTP layer calls.  Most
kinds get the ``GenericStore``; kinds with extra behaviour get a subclass
listed in ``special.SPECIAL``; resources served at several versions share one
stored form (``versions.py``).  Stores are created lazily because kinds may be added to
the scheme at run time (CRDs).  ``admit``/``validate`` run the admission chain
(``pyk8s/apiserver/admission/``), whose plugins read other objects from the watch caches (``cachedreads.py``);
``close()`` stops the watch caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.admission.chain import Chain, Options, build_chain
from pyk8s.apiserver.admission.interface import Attributes, Plugin
from pyk8s.apiserver.registry.bundle import ResourceBundle
from pyk8s.machinery.scheme import ResourceType, Scheme
from pyk8s.storage.interface import Storage

if TYPE_CHECKING:
    from pyk8s.apiserver.registry.generic import GenericStore


class Registry:
    def __init__(self, scheme: Scheme, storage: Storage, *, service_cidr: str = "10.96.0.0/12",
                 node_port_range: tuple[int, int] | str = (30000, 32767),
                 admission_plugins: list[Plugin] | Chain | None = None) -> None:
        self.scheme = scheme
        self.storage = storage
        self.service_cidr = service_cidr
        if isinstance(node_port_range, str):
            lo, _, hi = node_port_range.partition("-")
            node_port_range = (int(lo), int(hi or lo))
        self.node_port_range = node_port_range
        self._stores: dict[tuple[str, str, str], GenericStore] = {}
        self._bundles: dict[tuple[str, str, str], ResourceBundle] = {}
        self._preferred_types: dict[tuple[str, str], ResourceType | None] = {}
        self._preferred_generation: tuple[int, int | None] | None = None
        if admission_plugins is None:
            admission_plugins = build_chain()
        self.admission = admission_plugins if isinstance(admission_plugins, Chain) else Chain(admission_plugins)

    def storage_for(self, rt: ResourceType) -> GenericStore:
        key = (rt.group, rt.version, rt.plural)
        store = self._stores.get(key)
        if store is None:
            store = self.bundle(rt).make_store(rt, self.storage, self)
            self._stores[key] = store
        return store

    def bundle(self, rt: ResourceType) -> ResourceBundle:
        """The resource's storage bundle: installed at run time (CRDs), else the built-in one."""
        bundle = self._bundles.get((rt.group, rt.version, rt.plural))
        if bundle is None:
            from pyk8s.apiserver.registry.special import builtin_bundle

            bundle = builtin_bundle(rt)
        return bundle

    async def install(self, rt: ResourceType, bundle: ResourceBundle) -> None:
        """Serve ``rt`` through ``bundle`` (the scheme entry is the caller's business).

        A store built for an earlier install closes (its watchers' streams end, as
        upstream ends them when a CRD changes)."""
        key = (rt.group, rt.version, rt.plural)
        self._bundles[key] = bundle
        old = self._stores.pop(key, None)
        if old is not None:
            await old.close()

    async def uninstall(self, rt: ResourceType) -> None:
        """Stop serving ``rt``: its store and watch cache close (watchers see their stream end)."""
        key = (rt.group, rt.version, rt.plural)
        self._bundles.pop(key, None)
        store = self._stores.pop(key, None)
        if store is not None:
            await store.close()

    def store(self, group: str, plural: str) -> GenericStore | None:
        """The store of a resource by group and plural, at the group's preferred version."""
        rt = self._preferred(group, plural)
        return None if rt is None else self.storage_for(rt)

    def _preferred(self, group: str, plural: str) -> ResourceType | None:
        # Admission asks about a handful of resources on every write: the answer is kept until the
        # scheme changes (a CRD served or withdrawn, a group's version order set).
        generation = getattr(self.scheme, "generation", None)
        stamp = (id(self.scheme), generation)
        if generation is None or stamp != self._preferred_generation:
            self._preferred_types.clear()
            self._preferred_generation = stamp
        key = (group, plural)
        if key in self._preferred_types:
            return self._preferred_types[key]
        found = None
        for version in self.scheme.versions(group):
            found = self.scheme.get(group, version, plural)
            if found is not None:
                break
        if generation is not None:
            self._preferred_types[key] = found
        return found

    def subresource(self, rt: ResourceType, sub: str) -> Any:
        """What the resource's bundle declares for ``sub`` (None: the resource has no such subresource)."""
        make = self.bundle(rt).subresources.get(sub)
        return make(self.storage_for(rt)) if make is not None else None

    async def admit_namespace(self, namespace: str, resource: str = "", name: str = "", group: str = "") -> None:
        """404 for a missing namespace, 403 for a terminating one (the NamespaceLifecycle admission)."""
        await self.admission.admit_namespace(self, namespace, resource, name, group)

    async def admit(self, attrs: Attributes) -> None:
        """The mutating admission phase (may change ``attrs.obj``; raises StatusError to refuse)."""
        await self.admission.admit(self, attrs)

    async def validate(self, attrs: Attributes) -> None:
        """The validating admission phase, after the strategy's validation passed."""
        await self.admission.validate(self, attrs)

    async def close(self) -> None:
        for store in list(self._stores.values()):
            await store.close()


def build_registry(scheme: Scheme, storage: Storage, *, service_cidr: str = "10.96.0.0/12",
                   node_port_range: tuple[int, int] | str = (30000, 32767), not_ready_toleration_seconds: int = 300,
                   unreachable_toleration_seconds: int = 300, enable_admission_plugins: tuple[str, ...] = (),
                   disable_admission_plugins: tuple[str, ...] = (), admission_control_config_file: str = "",
                   ) -> Registry:
    chain = build_chain(Options(enable=enable_admission_plugins, disable=disable_admission_plugins,
                                not_ready_toleration_seconds=not_ready_toleration_seconds,
                                unreachable_toleration_seconds=unreachable_toleration_seconds,
                                extra={"admission_control_config_file": admission_control_config_file}))
    return Registry(scheme, storage, service_cidr=service_cidr, node_port_range=node_port_range,
                    admission_plugins=chain)


__all__ = ["Registry", "ResourceBundle", "build_registry"]
