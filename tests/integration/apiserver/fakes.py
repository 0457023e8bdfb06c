"""A small in-memory RESTStorage for exercising the HTTP layer without the real registry.

It keeps objects in a dict, counts resourceVersions, supports merge patches,
label-free lists with limit/continue, and watches through per-watcher queues.
Enough to check routing, codes and shapes, not store semantics.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchEvent, WatchOptions, WriteOptions
from pyk8s.machinery import errors
from pyk8s.machinery.patch import apply_merge_patch
from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]


class FakeStore:
    def __init__(self, rt: ResourceType, clock: list[int]) -> None:
        self.resource = rt
        self.objects: dict[tuple[str, str], Obj] = {}
        self.clock = clock
        self.watchers: list[asyncio.Queue[WatchEvent]] = []
        self.last_write_opts: WriteOptions | None = None
        self.last_delete_opts: DeleteOptions | None = None
        self.closed_watchers = 0

    def _rv(self) -> str:
        self.clock[0] += 1
        return str(self.clock[0])

    def _emit(self, type_: str, obj: Obj) -> None:
        for q in self.watchers:
            q.put_nowait(WatchEvent(type_, copy.deepcopy(obj)))

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Obj:
        try:
            return copy.deepcopy(self.objects[(namespace, name)])
        except KeyError:
            raise errors.not_found(self.resource.plural, name, self.resource.group) from None

    async def list(self, namespace: str, opts: ListOptions) -> Obj:
        items = [copy.deepcopy(o) for (ns, _), o in sorted(self.objects.items()) if not namespace or ns == namespace]
        start = int(opts.continue_token or 0)
        end = start + opts.limit if opts.limit else len(items)
        cont = str(end) if end < len(items) else ""
        return {"kind": self.resource.list_kind, "apiVersion": self.resource.api_version,
                "metadata": {"resourceVersion": str(self.clock[0]), "continue": cont}, "items": items[start:end]}

    async def create(self, namespace: str, obj: Obj, opts: WriteOptions) -> Obj:
        self.last_write_opts = opts
        name = obj["metadata"].get("name") or obj["metadata"].get("generateName", "x-") + "abcde"
        obj["metadata"]["name"] = name
        if (namespace, name) in self.objects:
            raise errors.already_exists(self.resource.plural, name, self.resource.group)
        obj["metadata"]["resourceVersion"] = self._rv()
        obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
        if (obj["metadata"].get("labels") or {}).get("warn"):
            opts.warnings.append('the store says "hi"')
        if not opts.dry_run:
            self.objects[(namespace, name)] = copy.deepcopy(obj)
            self._emit("ADDED", obj)
        return obj

    async def update(self, namespace: str, name: str, obj: Obj, opts: WriteOptions,
                     *, subresource: str = "") -> tuple[Obj, bool]:
        self.last_write_opts = opts
        old = self.objects.get((namespace, name))
        if old is None:
            created = await self.create(namespace, obj, opts)
            return created, True
        want = obj["metadata"].get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            raise errors.conflict(self.resource.plural, name, self.resource.group)
        obj["metadata"]["resourceVersion"] = self._rv()
        obj["metadata"].setdefault("creationTimestamp", old["metadata"].get("creationTimestamp"))
        self.objects[(namespace, name)] = copy.deepcopy(obj)
        self._emit("MODIFIED", obj)
        return obj, False

    async def patch(self, namespace: str, name: str, patch_type: str, patch: Any, opts: WriteOptions,
                    *, subresource: str = "") -> tuple[Obj, bool]:
        self.last_write_opts = opts
        self.last_patch_type = patch_type
        old = await self.get(namespace, name)
        new = apply_merge_patch(old, patch)
        new["metadata"].pop("resourceVersion", None)
        return await self.update(namespace, name, new, opts)

    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        self.last_delete_opts = opts
        obj = await self.get(namespace, name)
        del self.objects[(namespace, name)]
        self._emit("DELETED", obj)
        return obj

    async def delete_collection(self, namespace: str, list_opts: ListOptions, opts: DeleteOptions) -> Obj:
        lst = await self.list(namespace, list_opts)
        for obj in lst["items"]:
            await self.delete(obj["metadata"].get("namespace", ""), obj["metadata"]["name"], opts)
        return lst

    async def watch(self, namespace: str, opts: WatchOptions) -> AsyncIterator[WatchEvent]:
        self.last_watch_opts = opts
        if opts.label_selector == "bad!!":
            raise errors.bad_request("unable to parse requirement")
        if opts.resource_version == "1":
            raise errors.gone()
        q: asyncio.Queue[WatchEvent] = asyncio.Queue()
        self.watchers.append(q)
        try:
            if not opts.resource_version or opts.resource_version == "0":
                for (ns, _), obj in sorted(self.objects.items()):
                    if not namespace or ns == namespace:
                        yield WatchEvent("ADDED", copy.deepcopy(obj))
            while True:
                yield await q.get()
        finally:
            self.watchers.remove(q)
            self.closed_watchers += 1


class FakeRegistry:
    def __init__(self) -> None:
        self.stores: dict[tuple[str, str, str], FakeStore] = {}
        self.clock = [10]

    def storage_for(self, rt: ResourceType) -> FakeStore:
        key = (rt.group, rt.version, rt.plural)
        if key not in self.stores:
            self.stores[key] = FakeStore(rt, self.clock)
        return self.stores[key]
