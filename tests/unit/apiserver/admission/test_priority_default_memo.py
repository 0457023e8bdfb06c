"""Priority's remembered globalDefault class (per watch-cache revision): a pod create must resolve exactly as
scanning every PriorityClass would, right after a class is made, changed or deleted through this server, or
written past it (another API server) once the cache has it."""

import asyncio
from typing import Any

import orjson

from pyk8s.apiserver.admission import priority
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions

from .conftest import pod, store

GROUP = "scheduling.k8s.io"


def pc(name: str, value: int, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **fields}


async def priority_of(registry: Registry, name: str) -> tuple[int, str]:
    """The priority a new pod gets: at once (the cache may lag this server's last write, so storage
    answers), then once more after the cache has caught up (the remembered answer must have moved too)."""
    pods = store(registry, "", "pods")
    first = (await pods.create("default", pod(name), WriteOptions()))["spec"]
    classes = store(registry, GROUP, "priorityclasses")
    cache = classes.watch_cache()
    for _ in range(200):
        if cache.reflects(classes.written):
            break
        await asyncio.sleep(0.005)
    again = (await pods.create("default", pod(name + "-again"), WriteOptions()))["spec"]
    assert (again["priority"], again.get("priorityClassName", "")) == (first["priority"],
                                                                       first.get("priorityClassName", ""))
    return first["priority"], first.get("priorityClassName", "")


async def test_default_follows_this_servers_writes_at_once(registry: Registry) -> None:
    classes = store(registry, GROUP, "priorityclasses")
    assert await priority_of(registry, "a") == (0, "")  # no default: remembered as none
    assert await priority_of(registry, "b") == (0, "")
    await classes.create("", pc("high", 1000, globalDefault=True), WriteOptions())
    assert await priority_of(registry, "c") == (1000, "high")
    high = await classes.get("", "high")
    high["globalDefault"] = False
    await classes.update("", "high", high, WriteOptions())
    assert await priority_of(registry, "d") == (0, "")
    await classes.create("", pc("low", 10, globalDefault=True, preemptionPolicy="Never"), WriteOptions())
    created = (await store(registry, "", "pods").create("default", pod("e"), WriteOptions()))["spec"]
    assert (created["priority"], created["priorityClassName"], created["preemptionPolicy"]) == (10, "low", "Never")
    await classes.delete("", "low", DeleteOptions())
    assert await priority_of(registry, "f") == (0, "")


async def test_default_written_past_this_server_is_seen_once_the_cache_has_it(registry: Registry) -> None:
    classes = store(registry, GROUP, "priorityclasses")
    assert await priority_of(registry, "a") == (0, "")
    await registry.storage.create(classes.key("", "other"), orjson.dumps(pc("other", 7, globalDefault=True)))
    cache = classes.watch_cache()
    for _ in range(200):  # the cache follows storage asynchronously (as an informer would)
        if cache.lookup(classes.key("", "other")) is not None:
            break
        await asyncio.sleep(0.005)
    assert await priority_of(registry, "b") == (7, "other")
    # A second default let in by a race between servers: the lowest value wins, as upstream.
    await registry.storage.create(classes.key("", "lower"), orjson.dumps(pc("lower", 3, globalDefault=True)))
    for _ in range(200):
        if cache.lookup(classes.key("", "lower")) is not None:
            break
        await asyncio.sleep(0.005)
    assert await priority_of(registry, "c") == (3, "lower")


async def test_a_new_watch_cache_is_not_answered_from_the_old_ones_memo(registry: Registry) -> None:
    """The memo is kept per cache object: a store whose cache was replaced (restarted, say) at the same
    revision number scans again instead of trusting what the old cache held."""
    classes = store(registry, GROUP, "priorityclasses")
    assert await priority_of(registry, "a") == (0, "")
    cache = classes.watch_cache()
    stale = {"metadata": {"name": "ghost"}, "value": 99, "globalDefault": True}
    priority._DEFAULT_MEMO[classes] = (object(), cache.rev, stale)  # type: ignore[assignment]  # noqa: SLF001
    assert await priority_of(registry, "b") == (0, "")
    priority._DEFAULT_MEMO[classes] = (cache, cache.rev - 1, stale)  # noqa: SLF001 - an older revision's answer
    assert await priority_of(registry, "c") == (0, "")
