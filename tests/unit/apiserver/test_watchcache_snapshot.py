"""WatchCache.snapshot keeps its key order between calls: it must still answer exactly the objects under
a prefix, sorted by key, as keys come and go and objects change."""

from __future__ import annotations

import asyncio

import orjson

from pyk8s.apiserver.watchcache import WatchCache
from pyk8s.storage import open_storage
from pyk8s.storage.interface import KeyValue

PREFIX = "/registry/core/limitranges/"


def decode(kv: KeyValue) -> dict[str, object]:
    obj = orjson.loads(kv.value)
    obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return obj  # type: ignore[no-any-return]


def value(name: str, n: int = 0) -> bytes:
    return orjson.dumps({"metadata": {"name": name}, "n": n})


def names(cache: WatchCache, prefix: str) -> list[tuple[str, int]]:
    return [(o["metadata"]["name"], o["n"]) for o in cache.snapshot(prefix)[0]]  # type: ignore[index]


async def _caught_up(cache: WatchCache, rev: int) -> None:
    for _ in range(500):
        if cache.reflects(rev):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the cache did not catch up")


async def test_snapshot_follows_adds_updates_and_deletes() -> None:
    storage = open_storage("memory://")
    await storage.start()
    cache = WatchCache(storage, PREFIX, decode)
    try:
        await storage.create(PREFIX + "b/x", value("bx"))
        await storage.create(PREFIX + "a/y", value("ay"))
        await cache.ensure_started()
        assert names(cache, PREFIX) == [("ay", 0), ("bx", 0)]
        assert names(cache, PREFIX + "b/") == [("bx", 0)]
        kv = await storage.create(PREFIX + "b/a", value("ba"))
        await _caught_up(cache, kv.mod_revision)
        assert names(cache, PREFIX + "b/") == [("ba", 0), ("bx", 0)]  # a new key takes its place
        kv = await storage.update(PREFIX + "b/x", value("bx", 1), expected_revision=kv.mod_revision - 2)
        await _caught_up(cache, kv.mod_revision)
        assert names(cache, PREFIX + "b/") == [("ba", 0), ("bx", 1)]  # an update is seen, order kept
        kv = await storage.delete(PREFIX + "a/y")
        await _caught_up(cache, kv.mod_revision)
        assert names(cache, PREFIX) == [("ba", 0), ("bx", 1)]
        assert names(cache, PREFIX + "a/") == []
        assert names(cache, PREFIX + "c/") == []
        kv = await storage.create(PREFIX + "c/z", value("cz"))
        await _caught_up(cache, kv.mod_revision)
        assert names(cache, PREFIX + "c/") == [("cz", 0)]
        assert names(cache, PREFIX) == [("ba", 0), ("bx", 1), ("cz", 0)]
    finally:
        await cache.stop()
        await storage.close()
