"""Watch cache: initial events, resume, 410, selector transitions, bookmarks, fan-out latency."""

import asyncio

import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WatchEvent, WatchOptions, WriteOptions
from pyk8s.apiserver.watchcache import WatchCache
from pyk8s.machinery.errors import StatusError

from .helpers import configmap, store


async def _next(it, limit: float = 2.0) -> WatchEvent:
    return await asyncio.wait_for(it.__anext__(), limit)


async def test_initial_events_then_live(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("a"), WriteOptions())
    it = cms.watch("default", WatchOptions())
    ev = await _next(it)
    assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "a")
    await cms.create("default", configmap("b"), WriteOptions())
    ev = await _next(it)
    assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "b")
    await cms.delete("default", "b", __import__("pyk8s.apiserver.registry.rest", fromlist=["x"]).DeleteOptions())
    ev = await _next(it)
    assert ev.type == "DELETED" and ev.object["metadata"]["name"] == "b"
    await it.aclose()


async def test_resume_from_resource_version(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    first = await cms.create("default", configmap("a"), WriteOptions())
    it = cms.watch("default", WatchOptions(resource_version=first["metadata"]["resourceVersion"]))
    second = await cms.create("default", configmap("b"), WriteOptions())
    ev = await _next(it)
    assert ev.object["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    await it.aclose()
    # A second watcher resuming from the first RV replays "b" out of the ring buffer.
    it = cms.watch("default", WatchOptions(resource_version=first["metadata"]["resourceVersion"]))
    ev = await _next(it)
    assert ev.object["metadata"]["name"] == "b"
    await it.aclose()


async def test_too_old_resource_version(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("a"), WriteOptions())
    await cms.watch_cache().ensure_started()
    for i in range(3):
        await cms.create("default", configmap(f"x{i}"), WriteOptions())
    current = await registry.storage.current_revision()
    await registry.storage.compact(current)
    cms.watch_cache().window_start = current  # as if the ring buffer had rolled over
    it = cms.watch("default", WatchOptions(resource_version="2"))
    # The store ends the stream with a 410 (an ERROR event, or a StatusError the HTTP layer turns into one).
    try:
        ev = await _next(it)
        status = ev.object
        assert ev.type == "ERROR"
    except StatusError as exc:
        status = exc.to_status()
    assert status["code"] == 410
    assert status["message"].startswith("too old resource version: 2 (")


async def test_selector_transitions(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    it = cms.watch("default", WatchOptions(label_selector="app=web"))
    obj = await cms.create("default", configmap("a", labels={"app": "db"}), WriteOptions())
    obj["metadata"]["labels"] = {"app": "web"}
    obj, _ = await cms.update("default", "a", obj, WriteOptions())
    ev = await _next(it)
    assert ev.type == "ADDED"
    obj["metadata"]["labels"] = {"app": "other"}
    await cms.update("default", "a", obj, WriteOptions())
    ev = await _next(it)
    assert ev.type == "DELETED"
    await it.aclose()


async def test_bookmarks_and_timeout(registry: Registry, monkeypatch) -> None:
    import pyk8s.apiserver.watchcache as wc

    monkeypatch.setattr(wc, "BOOKMARK_IDLE", 0.05)
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("a"), WriteOptions())
    it = cms.watch("default", WatchOptions(allow_bookmarks=True, send_initial_events=True, resource_version="",
                                           timeout_seconds=0.5))
    events = [ev async for ev in it]
    assert events[0].type == "ADDED"
    assert events[1].type == "BOOKMARK"
    assert events[1].object["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert any(e.type == "BOOKMARK" for e in events[2:])


async def test_fan_out_reaches_every_watcher(registry: Registry) -> None:
    # Delivery latency is measured by benchmarks/apiserver_bench.py, not asserted here.
    cms = store(registry, "", "configmaps")
    first = await cms.create("default", configmap("seed"), WriteOptions())
    rv = first["metadata"]["resourceVersion"]
    its = [cms.watch("default", WatchOptions(resource_version=rv)) for _ in range(100)]
    seen: list[str] = []

    async def consume(it) -> None:
        ev = await it.__anext__()
        seen.append(f"{ev.type} {ev.object['metadata']['name']}")

    tasks = [asyncio.create_task(consume(it)) for it in its]
    await asyncio.sleep(0.05)
    await cms.create("default", configmap("z"), WriteOptions())
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert seen == ["ADDED z"] * 100
    for it in its:
        await it.aclose()


async def test_slow_watcher_is_closed(registry: Registry, monkeypatch) -> None:
    import pyk8s.apiserver.watchcache as wc

    monkeypatch.setattr(wc, "WATCHER_QUEUE", 3)
    cms = store(registry, "", "configmaps")
    first = await cms.create("default", configmap("seed"), WriteOptions())
    it = cms.watch("default", WatchOptions(resource_version=first["metadata"]["resourceVersion"]))
    task = asyncio.create_task(it.__anext__())
    await asyncio.sleep(0.01)
    for i in range(10):
        await cms.create("default", configmap(f"s{i}"), WriteOptions())
    await asyncio.sleep(0.05)
    first_ev = await task
    delivered = [first_ev]
    # The stream must end (not block the cache) with a 410, so the client lists again.
    with pytest.raises(StatusError) as exc:
        async with asyncio.timeout(2):
            async for ev in it:
                delivered.append(ev)
    assert exc.value.code == 410
    assert len(delivered) < 10  # it was cut off, not fed everything
    assert isinstance(cms.watch_cache(), WatchCache)

