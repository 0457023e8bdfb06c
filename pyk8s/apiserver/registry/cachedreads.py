"""Admission's reads of other objects, answered from the API server's own watch caches.

Upstream's admission plugins (NamespaceLifecycle, Priority, ServiceAccount)
read namespaces, PriorityClasses and ServiceAccounts from informer caches, not
from etcd: a pod create then costs one storage round trip (the write), not
three or four.  Here the store's ``WatchCache`` plays the informer.

Freshness, as upstream and a little better:

* a name the cache does not hold is read from storage (upstream's live
  lookup), so an object created a moment ago is still found;
* the cache answers only once it has applied every write this server made to
  that resource (``GenericStore.written``): a client that created a
  PriorityClass or marked a namespace Terminating through this server and got
  its answer sees that in the very next request's admission.  Writes through
  another server reach the cache a watch delay later, as with upstream's
  informers.

Objects returned from the cache are shared: read-only.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry.rest import ListOptions

if TYPE_CHECKING:
    from pyk8s.apiserver.registry.generic import GenericStore
    from pyk8s.apiserver.watchcache import WatchCache

Obj = dict[str, Any]


def current(store: GenericStore) -> WatchCache | None:
    """The store's watch cache if it is loaded and reflects this server's writes, else None; synchronous
    (no await, so no coroutine per read: admission makes about ten of these per pod create)."""
    cache = store.watch_cache()
    return cache if cache.reflects(store.written) else None


async def _caught_up(store: GenericStore) -> WatchCache | None:
    """``current``, starting the cache on first use."""
    cache = current(store)
    if cache is None:
        await store.watch_cache().ensure_started()
        cache = current(store)
    return cache


async def get(store: GenericStore, namespace: str, name: str) -> Obj | None:
    """One object (None if it does not exist): from the cache, else from storage."""
    key = store.key(namespace, name)
    cache = current(store) or await _caught_up(store)
    if cache is not None:
        obj = cache.lookup(key)
        if obj is not None:
            return obj
    kv = await store.storage.get(key)
    return None if kv is None else store.decode(kv)


async def items(store: GenericStore) -> list[Obj]:
    """Every object of a cluster-scoped resource, sorted by name: from the cache when it is caught up.
    (An object missing from a caught-up cache was made through another server a moment ago;
    upstream's listers miss it too.)"""
    cache = current(store) or await _caught_up(store)
    if cache is not None:
        return cache.snapshot(store.prefix)[0]
    listed: list[Obj] = (await store.list("", ListOptions()))["items"]
    return listed


async def namespace_items(store: GenericStore, namespace: str, *, settle: int = 0) -> list[Obj]:
    """Every object of a namespaced resource in ``namespace``, sorted by name (as ``items``).
    ``settle``: first yield to the event loop up to that many times for the cache to apply this
    server's latest writes (a caller that itself writes the resource on every request would
    otherwise always find it a moment behind and read storage)."""
    cache = store.watch_cache()
    if cache.reflects(store.written):  # the usual case: no await at all
        return cache.snapshot(f"{store.prefix}{namespace}/")[0]
    await cache.ensure_started()
    for _ in range(settle):
        if cache.reflects(store.written):
            break
        await asyncio.sleep(0)
    if cache.reflects(store.written):
        return cache.snapshot(f"{store.prefix}{namespace}/")[0]
    listed: list[Obj] = (await store.list(namespace, ListOptions()))["items"]
    return listed


__all__ = ["current", "get", "items", "namespace_items"]
