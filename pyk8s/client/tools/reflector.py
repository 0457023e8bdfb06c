"""The reflector: keep a store equal to the server's state for one resource.

Protocol (client-go's ListAndWatch):

1. **List** (paged, ``limit`` 500, following ``continue``) and ``replace`` the
   store with the result; remember the list's ``metadata.resourceVersion``.
2. **Watch** from that version with bookmarks on and a random server-side
   timeout (300-600 s).  Every event (including ``BOOKMARK``) moves the
   remembered version forward.  When the stream ends normally, watch again
   from the last version: no relist, no lost or repeated events.
3. On **410 Gone** (a watch ``ERROR`` event or an HTTP 410 from the watch or a
   continue token) the version is too old: list again from scratch.
   List items get ``kind``/``apiVersion`` filled in from the list when the
   server leaves them out, so cached objects are complete.
4. Any other failure backs off (jittered exponential, through the injected
   clock) before the next list-and-watch; a successful list resets it.

The store is any object with ``add/update/delete/replace``: a plain ``Store``
or the informer's notifying wrapper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from pyk8s.client.errors import ApiError, is_gone
from pyk8s.client.rest import Client, Resource
from pyk8s.client.tools.backoff import Backoff
from pyk8s.client.tools.store import resource_version
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class ListerWatcher(Protocol):
    async def list(self, *, resource_version: str | None, limit: int | None, continue_: str | None) -> Obj: ...

    def watch(self, *, resource_version: str, timeout_seconds: int | None,
              allow_bookmarks: bool) -> AsyncIterator[tuple[str, Obj]]: ...


class ReflectorStore(Protocol):
    def add(self, obj: Obj) -> object: ...
    def update(self, obj: Obj) -> object: ...
    def delete(self, obj: Obj) -> object: ...
    def replace(self, items: list[Obj], resource_version: str) -> object: ...


class ListWatch:
    """List and watch one resource (optionally one namespace, selectors) through a ``Client``."""

    def __init__(self, client: Client, rt: Resource, *, namespace: str | None = None,
                 label_selector: str | Mapping[str, str] | None = None,
                 field_selector: str | Mapping[str, str] | None = None) -> None:
        self.client = client
        self.rt = rt
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector

    async def list(self, *, resource_version: str | None, limit: int | None, continue_: str | None) -> Obj:
        return await self.client.list(self.rt, namespace=self.namespace, label_selector=self.label_selector,
                                      field_selector=self.field_selector, limit=limit, continue_=continue_,
                                      resource_version=resource_version)

    def watch(self, *, resource_version: str, timeout_seconds: int | None,
              allow_bookmarks: bool) -> AsyncIterator[tuple[str, Obj]]:
        return self.client.watch(self.rt, namespace=self.namespace, resource_version=resource_version,
                                 label_selector=self.label_selector, field_selector=self.field_selector,
                                 allow_bookmarks=allow_bookmarks, timeout_seconds=timeout_seconds)


class Reflector:
    def __init__(self, lw: ListerWatcher, store: ReflectorStore, *, name: str = "", clock: Clock = REAL_CLOCK,
                 page_size: int = 500, min_watch_timeout: int = 300, backoff: Backoff | None = None) -> None:
        self.lw = lw
        self.store = store
        self.name = name or type(lw).__name__
        self.clock = clock
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.backoff = backoff or Backoff(initial=0.8, cap=30.0)
        self.last_sync_resource_version = ""
        self.synced = asyncio.Event()
        # Counters, for tests and metrics.
        self.lists = 0
        self.watches = 0

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            try:
                await self.list_and_watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: back off and retry
                delay = self.backoff.next()
                log.warning("reflector %s: %s; retrying in %.2fs", self.name, exc, delay)
                await self.clock.sleep(delay)

    async def list_and_watch(self) -> None:
        """One list followed by watches until the version expires (returns) or a failure (raises)."""
        await self._list()
        self.backoff.reset()
        while True:
            started = self.clock.monotonic()
            try:
                got_events = await self._watch_once()
            except ApiError as exc:
                if is_gone(exc):
                    log.info("reflector %s: resourceVersion %s expired; relisting", self.name,
                             self.last_sync_resource_version)
                    self.last_sync_resource_version = ""
                    return
                raise
            if not got_events and self.clock.monotonic() - started < 1.0:
                # A stream that closes at once with nothing in it: do not spin.
                await self.clock.sleep(self.backoff.next())
            else:
                self.backoff.reset()

    async def _list(self) -> None:
        items: list[Obj] = []
        token: str | None = None
        list_rv = ""
        while True:
            try:
                page = await self.lw.list(resource_version=None, limit=self.page_size, continue_=token)
            except ApiError as exc:
                if not (is_gone(exc) and token):
                    raise
                # The continue token expired mid-list: take one unpaged consistent list instead.
                items, token = [], None
                page = await self.lw.list(resource_version=None, limit=None, continue_=None)
                list_rv = ""
            meta = page.get("metadata") or {}
            list_rv = list_rv or str(meta.get("resourceVersion") or "")
            items.extend(_with_type(page))
            token = meta.get("continue") or None
            if not token:
                break
        self.lists += 1
        self.store.replace(items, list_rv)
        self.last_sync_resource_version = list_rv
        self.synced.set()

    async def _watch_once(self) -> bool:
        timeout = int(self.min_watch_timeout * (1 + random.random()))
        self.watches += 1
        seen = False
        stream = self.lw.watch(resource_version=self.last_sync_resource_version, timeout_seconds=timeout,
                               allow_bookmarks=True)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for kind, obj in stream:
                seen = True
                self._apply(kind, obj)
        return seen

    def _apply(self, kind: str, obj: Obj) -> None:
        if kind == "ADDED":
            self.store.add(obj)
        elif kind == "MODIFIED":
            self.store.update(obj)
        elif kind == "DELETED":
            self.store.delete(obj)
        elif kind != "BOOKMARK":
            log.warning("reflector %s: unknown watch event %r", self.name, kind)
            return
        rv = resource_version(obj)
        if rv:
            self.last_sync_resource_version = rv


def _with_type(page: Obj) -> list[Obj]:
    """List items may omit kind/apiVersion; fill them from the list so cached objects are whole."""
    items: list[Obj] = page.get("items") or []
    list_kind = str(page.get("kind") or "")
    kind = list_kind[:-4] if list_kind.endswith("List") else ""
    api_version = page.get("apiVersion")
    for item in items:
        if kind and not item.get("kind"):
            item["kind"] = kind
        if api_version and not item.get("apiVersion"):
            item["apiVersion"] = api_version
    return items
