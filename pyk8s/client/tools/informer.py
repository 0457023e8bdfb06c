"""Shared informers: one reflector per resource, a cache, many event handlers.

``SharedInformer`` keeps a ``Store`` (the cache, with indexers) fed by a
``Reflector`` and calls every registered handler on each change:

* ``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``, where a delete
  noticed only after a relist (the watch missed it) passes a
  ``DeletedFinalStateUnknown`` tombstone holding the last cached state;
* a relist re-delivers survivors as ``on_update(old, new)`` (level-triggered:
  handlers must tolerate updates with no change);
* ``resync_period`` re-delivers every cached object as an update periodically;
* a handler added after the informer synced first gets ``on_add`` for every
  cached object.

Handlers are plain synchronous callables and must not block: they should
only enqueue keys (architecture principle 5).  An exception in one handler is
logged and does not stop the others.

``SharedInformerFactory`` hands out one informer per (resource, namespace,
selectors) so many controllers share a watch, and runs them all in one
``run()``.  Cached objects are shared: copy before mutating.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyk8s.client.rest import Client, Resource
from pyk8s.client.tools.lister import Lister
from pyk8s.client.tools.reflector import ListerWatcher, ListWatch, Reflector
from pyk8s.client.tools.store import DeletedFinalStateUnknown, IndexFunc, Store
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class EventHandler:
    on_add: Callable[[Obj], object] | None = None
    on_update: Callable[[Obj, Obj], object] | None = None
    on_delete: Callable[[Obj | DeletedFinalStateUnknown], object] | None = None


class _NotifyingStore:
    """The reflector's sink: update the cache, then tell the handlers."""

    def __init__(self, informer: SharedInformer) -> None:
        self.informer = informer

    def add(self, obj: Obj) -> None:
        old = self.informer.store.add(obj)
        if old is None:
            self.informer._dispatch("add", obj)
        else:
            self.informer._dispatch("update", old, obj)

    update = add

    def delete(self, obj: Obj) -> None:
        self.informer.store.delete(obj)
        self.informer._dispatch("delete", obj)

    def replace(self, items: list[Obj], resource_version: str) -> None:
        store = self.informer.store
        new_keys = {store.key_func(o) for o in items}
        gone = [(k, store.get(k)) for k in store.keys() if k not in new_keys]
        for key, old in gone:
            store._remove(key)
            self.informer._dispatch("delete", DeletedFinalStateUnknown(key, old or {}))
        for obj in items:
            self.add(obj)


class SharedInformer:
    def __init__(self, lw: ListerWatcher, *, name: str = "", indexers: dict[str, IndexFunc] | None = None,
                 clock: Clock = REAL_CLOCK, resync_period: float = 0.0) -> None:
        self.name = name
        self.store = Store(indexers)
        self.lister = Lister(self.store)
        self.clock = clock
        self.resync_period = resync_period
        self.reflector = Reflector(lw, _NotifyingStore(self), name=name, clock=clock)
        self._handlers: list[EventHandler] = []

    # --- handlers -------------------------------------------------------------------

    def add_event_handler(self, handler: EventHandler | None = None, *,
                          on_add: Callable[[Obj], object] | None = None,
                          on_update: Callable[[Obj, Obj], object] | None = None,
                          on_delete: Callable[[Obj | DeletedFinalStateUnknown], object] | None = None) -> EventHandler:
        """Register a handler; returns it (pass to ``remove_event_handler``)."""
        handler = handler or EventHandler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if self.has_synced() and handler.on_add is not None:
            for obj in self.store.list():
                _call(handler.on_add, obj)
        return handler

    def remove_event_handler(self, handler: EventHandler) -> None:
        self._handlers.remove(handler)

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def _dispatch(self, kind: str, *args: Any) -> None:
        for handler in list(self._handlers):
            func = {"add": handler.on_add, "update": handler.on_update, "delete": handler.on_delete}[kind]
            if func is not None:
                _call(func, *args)

    # --- lifecycle ------------------------------------------------------------------

    def has_synced(self) -> bool:
        """True once the first list has been applied to the cache."""
        return self.reflector.synced.is_set()

    async def wait_for_sync(self) -> None:
        await self.reflector.synced.wait()

    @property
    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.reflector.run())
            if self.resync_period > 0:
                tg.create_task(self._resync_loop())

    async def _resync_loop(self) -> None:
        while True:
            await self.clock.sleep(self.resync_period)
            if self.has_synced():
                for obj in self.store.list():
                    self._dispatch("update", obj, obj)


def _call(func: Callable[..., object], *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - one bad handler must not starve the others
        log.exception("informer event handler %r failed", func)


def _selector_key(value: str | Mapping[str, str] | None) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return ",".join(f"{k}={v}" for k, v in sorted(value.items()))


class SharedInformerFactory:
    """One informer per (resource, namespace, selectors), all run by ``run()``."""

    def __init__(self, client: Client, *, namespace: str | None = None, clock: Clock = REAL_CLOCK,
                 resync_period: float = 0.0) -> None:
        self.client = client
        self.namespace = namespace
        self.clock = clock
        self.resync_period = resync_period
        self._informers: dict[tuple[Any, ...], SharedInformer] = {}
        self._changed = asyncio.Event()

    def informer(self, rt: Resource, *, namespace: str | None = None,
                 label_selector: str | Mapping[str, str] | None = None,
                 field_selector: str | Mapping[str, str] | None = None,
                 indexers: dict[str, IndexFunc] | None = None) -> SharedInformer:
        """The shared informer for ``rt`` (created on first request; indexers are merged in)."""
        ns = namespace if namespace is not None else self.namespace
        key = (rt.group, rt.version, rt.plural, ns or "", _selector_key(label_selector), _selector_key(field_selector))
        inf = self._informers.get(key)
        if inf is None:
            lw = ListWatch(self.client, rt, namespace=ns, label_selector=label_selector,
                           field_selector=field_selector)
            inf = SharedInformer(lw, name=f"{rt.plural}.{rt.group or 'core'}", clock=self.clock,
                                 resync_period=self.resync_period)
            self._informers[key] = inf
            self._changed.set()
        if indexers:
            inf.add_indexers(indexers)
        return inf

    def lister(self, rt: Resource, **kwargs: Any) -> Lister:
        return self.informer(rt, **kwargs).lister

    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def has_synced(self) -> bool:
        return all(inf.has_synced() for inf in self._informers.values())

    async def wait_for_cache_sync(self) -> None:
        """Wait until every informer requested so far has listed once."""
        for inf in list(self._informers.values()):
            await inf.wait_for_sync()

    async def run(self) -> None:
        """Run every informer, including ones requested while running, until cancelled."""
        started: set[int] = set()
        async with asyncio.TaskGroup() as tg:
            while True:
                self._changed.clear()
                for inf in list(self._informers.values()):
                    if id(inf) not in started:
                        started.add(id(inf))
                        tg.create_task(inf.run())
                await self._changed.wait()
