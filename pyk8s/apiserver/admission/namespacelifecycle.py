"""NamespaceLifecycle: no new content in a namespace that is missing (404) or terminating (403).

It runs first of all, before the store checks the name and defaults the body (upstream's chain
starts with it), so the store calls ``Chain.admit_namespace`` on every namespaced create rather
than through the ordinary ``admit`` hook.  Deleting ``default``, ``kube-system`` and ``kube-public``
(upstream's immortal namespaces, also this plugin's upstream) is refused by the namespace store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.api.core_v1.helpers import namespaces
from pyk8s.apiserver.admission.interface import Plugin
from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "NamespaceLifecycle"


class NamespaceLifecycle(Plugin):
    name = NAME

    async def check(self, registry: Registry, namespace: str, resource: str = "", name: str = "",
                    group: str = "") -> None:
        """``resource``/``name``/``group`` word the 403 as upstream: ``configmaps "x" is forbidden: ...``."""
        ns_store = registry.store("", "namespaces")
        if ns_store is None:
            return
        ns = await cachedreads.get(ns_store, "", namespace)  # the watch cache, as upstream's informer
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if namespaces.is_terminating(ns):
            raise errors.forbidden(f"unable to create new content in namespace {namespace} because it is being "
                                   f"terminated", resource, name, group)


def build(options: object) -> Plugin:
    return NamespaceLifecycle()
