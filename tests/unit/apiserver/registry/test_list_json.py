"""GenericStore.list_json: the list answer encoded from the watch cache's per-object encodings must be
byte for byte what encoding ``list``'s answer gives, whatever the cache holds."""

import asyncio
from typing import Any

import orjson

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.storage.interface import KeyValue

from .helpers import configmap, store


async def _same(cms: GenericStore, namespace: str, opts: ListOptions) -> bytes:
    body = await cms.list_json(namespace, opts)
    assert body is not None
    assert body == orjson.dumps(await cms.list(namespace, opts))
    return body


async def _settle(cms: GenericStore) -> None:
    cache = cms.watch_cache()
    await cache.ensure_started()
    for _ in range(500):
        if cache.reflects(cms.written):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the watch cache did not catch up")


async def test_list_json_equals_encoded_list(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    for i in range(6):
        await cms.create("default", configmap(f"c{i}", labels={"n": str(i % 2)}), WriteOptions())
    await _same(cms, "default", ListOptions())  # starts the cache
    await _settle(cms)
    body = await _same(cms, "default", ListOptions())
    assert [i["metadata"]["name"] for i in orjson.loads(body)["items"]] == [f"c{i}" for i in range(6)]
    await _same(cms, "", ListOptions())
    await _same(cms, "default", ListOptions(label_selector="n=1"))
    await _same(cms, "default", ListOptions(field_selector="metadata.name=c3"))
    first = orjson.loads(await _same(cms, "default", ListOptions(limit=4)))
    assert len(first["items"]) == 4 and first["metadata"]["continue"]
    await _same(cms, "default", ListOptions(limit=4, continue_token=first["metadata"]["continue"]))


async def test_list_json_reads_storage_not_a_stale_cache(registry: Registry) -> None:
    """An object changed after the cache's copy (the cache not caught up yet) is answered as stored."""
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("a"), WriteOptions())
    await cms.create("default", configmap("b"), WriteOptions())
    await _same(cms, "default", ListOptions())
    await _settle(cms)
    cache = cms.watch_cache()
    key = cms.key("default", "a")
    cached = cache.lookup(key)
    assert cached is not None
    assert cache.stored_json(key, int(cached["metadata"]["resourceVersion"])) is not None
    # Pretend the cache has not seen the next writes: it keeps the old object for "a" and never had "c".
    await cache.stop()
    cache.ready.set()  # stopped but still "loaded": it answers from what it holds
    changed = dict(cached, data={"a": "2"})
    await cms.update("default", "a", changed, WriteOptions())
    await cms.create("default", configmap("c"), WriteOptions())
    await cms.delete("default", "b", DeleteOptions())
    body = orjson.loads(await _same(cms, "default", ListOptions()))
    assert [(i["metadata"]["name"], i["data"]) for i in body["items"]] == [("a", {"a": "2"}), ("c", {"a": "1"})]
    assert cache.stored_json(key, int(body["items"][0]["metadata"]["resourceVersion"])) is None


async def test_cached_encoding_follows_the_object(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    out = await cms.create("default", configmap("a"), WriteOptions())
    await _same(cms, "default", ListOptions())
    await _settle(cms)
    cache = cms.watch_cache()
    key = cms.key("default", "a")
    hit = cache.stored_json(key, int(out["metadata"]["resourceVersion"]))
    assert hit is not None and orjson.loads(orjson.dumps(hit[1])) == out
    assert cache.stored_json(key, int(out["metadata"]["resourceVersion"])) is hit  # encoded once
    new = await cms.update("default", "a", dict(out, data={"x": "y"}), WriteOptions())
    await _settle(cms)
    hit2 = cache.stored_json(key, int(new[0]["metadata"]["resourceVersion"]))
    assert hit2 is not None and orjson.loads(orjson.dumps(hit2[1]))["data"] == {"x": "y"}
    assert cache.stored_json(key, int(out["metadata"]["resourceVersion"])) is None


async def test_a_store_that_decodes_its_own_way_declines(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")

    class Decorating(GenericStore):
        def decode(self, kv: KeyValue) -> dict[str, Any]:
            obj = super().decode(kv)
            obj.setdefault("data", {})["extra"] = "1"
            return obj

    other = Decorating(cms.resource, cms.storage, cms.registry)
    try:
        assert await other.list_json("default", ListOptions()) is None
    finally:
        await other.close()
