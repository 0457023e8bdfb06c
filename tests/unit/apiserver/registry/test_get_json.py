"""GenericStore.get_json: a get's answer as JSON bytes, from the running watch cache's shared encoding
when it holds the object at the revision read; byte for byte what encoding ``get``'s answer gives,
never a stale copy (the read is a storage read)."""

from typing import Any

import orjson
import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.storage.interface import KeyValue

from .helpers import configmap, store
from .test_list_json import _settle


async def _same(cms: GenericStore, namespace: str, name: str) -> dict[str, Any]:
    body = await cms.get_json(namespace, name)
    assert body is not None
    assert body == orjson.dumps(await cms.get(namespace, name))
    obj: dict[str, Any] = orjson.loads(body)
    return obj


async def test_get_json_equals_the_encoded_get_without_and_with_a_cache(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    out = await cms.create("default", configmap("a", labels={"x": "1"}), WriteOptions())
    assert cms._cache is None or not cms._cache.ready.is_set()
    assert await _same(cms, "default", "a") == out  # decoded and encoded: no cache running
    assert cms._cache is None or not cms._cache.ready.is_set()  # a get does not start one
    await cms.list_json("default", ListOptions())  # starts the cache
    await _settle(cms)
    key = cms.key("default", "a")
    assert await _same(cms, "default", "a") == out
    hit = cms.watch_cache().stored_json(key, int(out["metadata"]["resourceVersion"]))
    assert hit is not None and orjson.dumps(hit[1]) == await cms.get_json("default", "a")


async def test_get_json_reads_storage_not_a_stale_cache(registry: Registry) -> None:
    """An object changed after the cache's copy (the cache not caught up) is answered as stored."""
    cms = store(registry, "", "configmaps")
    out = await cms.create("default", configmap("a"), WriteOptions())
    await cms.list_json("default", ListOptions())
    await _settle(cms)
    cache = cms.watch_cache()
    await cache.stop()
    cache.ready.set()  # stopped but still "loaded": it holds the old object and answers from it
    new, _ = await cms.update("default", "a", dict(out, data={"a": "2"}), WriteOptions())
    got = await _same(cms, "default", "a")
    assert got["data"] == {"a": "2"} and got["metadata"]["resourceVersion"] == new["metadata"]["resourceVersion"]
    await cms.delete("default", "a", DeleteOptions())
    with pytest.raises(StatusError) as err:
        await cms.get_json("default", "a")
    assert err.value.code == 404


async def test_a_store_that_decodes_its_own_way_declines(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")

    class Decorating(GenericStore):
        def decode(self, kv: KeyValue) -> dict[str, Any]:
            obj = super().decode(kv)
            obj.setdefault("data", {})["extra"] = "1"
            return obj

    other = Decorating(cms.resource, cms.storage, cms.registry)
    try:
        assert await other.get_json("default", "a") is None
    finally:
        await other.close()
