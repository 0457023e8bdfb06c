"""Admission's lookups (the namespace, PriorityClasses, ServiceAccounts) come from the watch caches: a pod create
reads nothing from storage once they are warm, yet sees objects written a moment ago."""

import asyncio
from typing import Any

import orjson
import pytest

from pyk8s.apiserver.registry import Registry, cachedreads
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery.errors import StatusError

from .helpers import pod, store

PC_PREFIX = "/registry/scheduling.k8s.io/priorityclasses/"
SA_PREFIX = "/registry/core/serviceaccounts/"


class Reads:
    """Counts the storage reads (get, list) of keys under the given prefixes."""

    def __init__(self, registry: Registry, monkeypatch: pytest.MonkeyPatch, *prefixes: str) -> None:
        self.keys: list[str] = []
        storage = registry.storage
        get, lst = storage.get, storage.list

        async def counted_get(key: str, **kw: Any) -> Any:
            if key.startswith(prefixes):
                self.keys.append(key)
            return await get(key, **kw)

        async def counted_list(prefix: str, **kw: Any) -> Any:
            if prefix.startswith(prefixes):
                self.keys.append(prefix)
            return await lst(prefix, **kw)

        monkeypatch.setattr(storage, "get", counted_get)
        monkeypatch.setattr(storage, "list", counted_list)


async def settle(registry: Registry) -> None:
    """Let the watch caches apply what was written (they follow storage asynchronously)."""
    for plural, group in (("namespaces", ""), ("priorityclasses", "scheduling.k8s.io"), ("serviceaccounts", "")):
        s = store(registry, group, plural)
        cache = s.watch_cache()
        await cache.ensure_started()
        for _ in range(200):
            if cache.reflects(s.written):
                break
            await asyncio.sleep(0.005)


async def test_pod_create_reads_namespace_and_classes_from_the_caches(registry: Registry,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pods = store(registry, "", "pods")
    await pods.create("default", pod("warm"), WriteOptions())  # starts the caches (default/default: bootstrap's)
    await settle(registry)
    reads = Reads(registry, monkeypatch, "/registry/core/namespaces/", PC_PREFIX, SA_PREFIX)
    for i in range(5):
        created = await pods.create("default", pod(f"p{i}", ), WriteOptions())
        assert created["spec"]["priority"] == 0
    named = pod("critical")
    named["spec"]["priorityClassName"] = "system-node-critical"
    created = await pods.create("default", named, WriteOptions())
    assert created["spec"]["priority"] == 2000001000
    assert any(v["name"].startswith("kube-api-access-") for v in created["spec"]["volumes"])  # the account was found
    assert reads.keys == []


async def test_missing_namespace_is_read_from_storage(registry: Registry) -> None:
    """A namespace written past this server (another API server) is found by the live lookup."""
    pods = store(registry, "", "pods")
    nss = store(registry, "", "namespaces")
    await pods.create("default", pod("warm"), WriteOptions())
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}, "spec": {}}
    await registry.storage.create(nss.key("", "elsewhere"), orjson.dumps(body))
    await store(registry, "", "serviceaccounts").create("elsewhere", {"metadata": {"name": "default"}},
                                                        WriteOptions())  # the service-account controller's part
    assert (await pods.create("elsewhere", pod("p"), WriteOptions()))["metadata"]["namespace"] == "elsewhere"
    with pytest.raises(StatusError) as exc:
        await pods.create("nowhere", pod("p"), WriteOptions())
    assert exc.value.code == 404


async def test_own_writes_are_seen_at_once(registry: Registry) -> None:
    """What this server answered for is what the next request's admission sees, cache lag or not."""
    pods = store(registry, "", "pods")
    nss = store(registry, "", "namespaces")
    pcs = store(registry, "scheduling.k8s.io", "priorityclasses")
    await pods.create("default", pod("warm"), WriteOptions())
    await settle(registry)
    for i in range(3):
        ns = f"quick-{i}"
        await nss.create("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, WriteOptions())
        await store(registry, "", "serviceaccounts").create(ns, {"metadata": {"name": "default"}}, WriteOptions())
        await pcs.create("", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                              "metadata": {"name": ns}, "value": 10 + i, "globalDefault": i == 0}, WriteOptions())
        assert (await pods.create(ns, pod("a"), WriteOptions()))["spec"]["priority"] == 10
        named = pod("b")
        named["spec"]["priorityClassName"] = ns
        assert (await pods.create(ns, named, WriteOptions()))["spec"]["priority"] == 10 + i
        await nss.delete("", ns, DeleteOptions())
        with pytest.raises(StatusError) as exc:
            await pods.create(ns, pod("c"), WriteOptions())
        assert exc.value.code == 403


async def test_namespace_items_and_current_never_answer_behind_this_servers_writes(registry: Registry) -> None:
    """The synchronous fast path (``current``, and ``namespace_items`` taking it without an await) answers
    from the cache only once it has applied this server's last write to the resource."""
    ranges = store(registry, "", "limitranges")
    assert cachedreads.current(ranges) is None  # never started: not an answer
    assert await cachedreads.namespace_items(ranges, "default") == []  # starts the cache
    cache = ranges.watch_cache()
    assert cachedreads.current(ranges) is cache
    body = {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}
    for i in range(3):
        await ranges.create("default", {**body, "metadata": {"name": f"lr{i}"}}, WriteOptions())
        cached = cachedreads.current(ranges)  # None until the cache has applied the write: storage answers
        assert cached is None or cached.lookup(ranges.key("default", f"lr{i}")) is not None
        names = [o["metadata"]["name"] for o in await cachedreads.namespace_items(ranges, "default")]
        assert names == [f"lr{j}" for j in range(i + 1)]
    await ranges.delete("default", "lr1", DeleteOptions())
    names = [o["metadata"]["name"] for o in await cachedreads.namespace_items(ranges, "default")]
    assert names == ["lr0", "lr2"]
    for _ in range(200):
        if cachedreads.current(ranges) is not None:
            break
        await asyncio.sleep(0.005)
    assert [o["metadata"]["name"] for o in await cachedreads.namespace_items(ranges, "default")] == ["lr0", "lr2"]
