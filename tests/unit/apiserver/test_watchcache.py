"""The watch cache over the memory driver: fan-out, resume, fallback, 410,
selector transitions, bookmarks, timeouts and slow watchers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from pyk8s.apiserver import watchcache
from pyk8s.apiserver.registry.rest import WatchEvent
from pyk8s.apiserver.watchcache import Filter, WatchCache
from pyk8s.machinery.errors import StatusError
from pyk8s.storage import open_storage
from pyk8s.storage.interface import KeyValue

PREFIX = "/registry/core/configmaps/"
Obj = dict[str, Any]


def decode(kv: KeyValue) -> Obj:
    obj: Obj = orjson.loads(kv.value)
    obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
    return obj


def cm(name: str, **labels: str) -> bytes:
    return orjson.dumps({"kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns", "labels": labels}})


def bookmark(rev: int) -> Obj:
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": str(rev)}}


def everything(_: Obj) -> bool:
    return True


@pytest.fixture
async def storage() -> AsyncIterator[Any]:
    s = open_storage("memory://")
    await s.start()
    yield s
    await s.close()


@pytest.fixture
async def cache(storage: Any) -> AsyncIterator[WatchCache]:
    c = WatchCache(storage, PREFIX, decode)
    await c.ensure_started()
    yield c
    await c.close()


async def take(it: AsyncIterator[WatchEvent], n: int, limit: float = 2.0) -> list[tuple[str, str]]:
    out = []
    async with asyncio.timeout(limit):
        for _ in range(n):
            ev = await it.__anext__()
            out.append((ev.type, ev.object["metadata"].get("name", ev.object["metadata"]["resourceVersion"])))
    return out


async def test_initial_added_then_changes(storage: Any, cache: WatchCache) -> None:
    await storage.create(PREFIX + "ns/a", cm("a"))
    await asyncio.sleep(0.05)
    it = cache.watch(Filter(PREFIX, everything), after=None)
    assert await take(it, 1) == [("ADDED", "a")]
    await storage.create(PREFIX + "ns/b", cm("b"))
    kv = await storage.get(PREFIX + "ns/a")
    await storage.update(PREFIX + "ns/a", cm("a", x="1"), expected_revision=kv.mod_revision)
    await storage.delete(PREFIX + "ns/b")
    assert await take(it, 3) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    await it.aclose()
    assert cache.watcher_count == 0


async def test_resume_from_buffer_and_storage_fallback(storage: Any) -> None:
    first = await storage.create(PREFIX + "ns/a", cm("a"))
    cache = WatchCache(storage, PREFIX, decode, capacity=2)
    await cache.ensure_started()
    try:
        for n in "bcde":
            await storage.create(PREFIX + f"ns/{n}", cm(n))
        await asyncio.sleep(0.05)
        assert cache.window_start > first.mod_revision  # the ring forgot the oldest events
        recent = cache.watch(Filter(PREFIX, everything), after=int(cache.buffer[0].revision) - 1)
        assert await take(recent, 2) == [("ADDED", "d"), ("ADDED", "e")]
        await recent.aclose()
        # From before the cache's own list: served by storage history (a resume across a restart).
        old = cache.watch(Filter(PREFIX, everything), after=first.mod_revision - 1)
        assert await take(old, 5) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("ADDED", "d"), ("ADDED", "e")]
        await old.aclose()
    finally:
        await cache.close()


async def test_compacted_resume_is_410(storage: Any) -> None:
    first = await storage.create(PREFIX + "ns/a", cm("a"))
    cache = WatchCache(storage, PREFIX, decode, capacity=1)
    await cache.ensure_started()
    try:
        for n in "bcd":
            await storage.create(PREFIX + f"ns/{n}", cm(n))
        await storage.compact(await storage.current_revision() - 1)
        await asyncio.sleep(0.05)
        it = cache.watch(Filter(PREFIX, everything), after=first.mod_revision)
        with pytest.raises(StatusError) as err:
            await take(it, 1)
        assert err.value.code == 410
        assert err.value.message.startswith(f"too old resource version: {first.mod_revision} (")
    finally:
        await cache.close()


async def test_selector_enter_and_leave(storage: Any, cache: WatchCache) -> None:
    def web(o: Obj) -> bool:
        return (o["metadata"].get("labels") or {}).get("app") == "web"

    it = cache.watch(Filter(PREFIX + "ns/", web), after=await storage.current_revision())
    kv = await storage.create(PREFIX + "ns/a", cm("a"))  # not selected: nothing
    kv = await storage.update(PREFIX + "ns/a", cm("a", app="web"), expected_revision=kv.mod_revision)
    kv = await storage.update(PREFIX + "ns/a", cm("a", app="web", v="2"), expected_revision=kv.mod_revision)
    await storage.update(PREFIX + "ns/a", cm("a", app="db"), expected_revision=kv.mod_revision)
    assert await take(it, 3) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    await it.aclose()


async def test_bookmarks_when_idle_and_timeout(storage: Any, cache: WatchCache) -> None:
    kv = await storage.create(PREFIX + "other/z", cm("z"))
    await asyncio.sleep(0.05)
    it = cache.watch(Filter(PREFIX + "ns/", everything), after=kv.mod_revision - 1, bookmarks=True,
                     bookmark_object=bookmark, timeout=5)
    ev = await asyncio.wait_for(it.__anext__(), 3)
    assert ev.type == "BOOKMARK" and ev.object["metadata"]["resourceVersion"] == str(kv.mod_revision)
    await it.aclose()
    short = cache.watch(Filter(PREFIX, everything), after=kv.mod_revision, timeout=0.2)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(short.__anext__(), 2)


async def test_slow_watcher_is_closed_without_blocking_others(storage: Any, cache: WatchCache,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchcache, "WATCHER_QUEUE", 3)
    rev = await storage.current_revision()
    slow = cache.watch(Filter(PREFIX, everything), after=rev)
    fast_events: list[str] = []

    async def fast_reader() -> None:
        monkeypatch.setattr(watchcache, "WATCHER_QUEUE", 1000)
        async for ev in cache.watch(Filter(PREFIX, everything), after=rev):
            fast_events.append(ev.object["metadata"]["name"])
            if len(fast_events) == 10:
                return

    # Register the slow watcher (first iteration subscribes) before the writes.
    first = asyncio.ensure_future(slow.__anext__())
    await asyncio.sleep(0.01)
    reader = asyncio.create_task(fast_reader())
    await asyncio.sleep(0.01)
    for i in range(10):
        await storage.create(PREFIX + f"ns/n{i}", cm(f"n{i}"))
    await asyncio.wait_for(reader, 2)
    assert fast_events == [f"n{i}" for i in range(10)]
    got = [(await first).object["metadata"]["name"]]
    with pytest.raises(StatusError) as exc:
        async with asyncio.timeout(2):
            async for ev in slow:
                got.append(ev.object["metadata"]["name"])
    assert len(got) < 10  # it was cut off, then ended with a 410 so the client lists again
    assert exc.value.code == 410 and exc.value.reason == "Expired" and "fell more than 3 events behind" in exc.value.message
    await slow.aclose()


async def test_bookmarks_never_pass_an_undelivered_event(storage: Any, cache: WatchCache,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Short watches of one namespace with bookmarks, each resumed from the last
    # resourceVersion it was sent (event or bookmark), while a writer updates keys in this
    # namespace and another one (bookmarks move past those): the idle wait keeps timing out
    # just as an event arrives.  Every event must still be delivered, once, in order.
    monkeypatch.setattr(watchcache, "BOOKMARK_IDLE", 0.005)
    keys = [PREFIX + f"{ns}/k{i}" for i in range(3) for ns in ("ns", "other")]
    for k in keys:
        await storage.create(k, cm(k))
    start = rv = await storage.current_revision()
    await asyncio.sleep(0.05)  # the cache has caught up
    written: list[int] = []
    writing = True

    async def writer() -> None:
        n = 0
        while writing:
            kv = await storage.update(keys[n % len(keys)], cm("k", v=str(n)), expected_revision=0)
            if kv.key.startswith(PREFIX + "ns/"):
                written.append(kv.mod_revision)
            n += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(writer())
    delivered: list[int] = []
    marks = 0
    try:
        for _ in range(60):
            async for ev in cache.watch(Filter(PREFIX + "ns/", everything), after=rv, bookmarks=True,
                                        bookmark_object=bookmark, timeout=0.01):
                rv = int(ev.object["metadata"]["resourceVersion"])
                if ev.type == "BOOKMARK":
                    marks += 1
                else:
                    delivered.append(rv)
    finally:
        writing = False
        await task
    assert marks > 0
    assert delivered == [r for r in written if start < r <= rv]


async def test_a_watch_never_idle_still_ends_with_a_bookmark(storage: Any, cache: WatchCache) -> None:
    # Events that keep coming (here: queued before the first read) mean the watch is never
    # idle; at its deadline it sends what is queued, then a bookmark past the other
    # namespace's changes, so a client resuming from it does not replay them.
    rv = await storage.current_revision()
    it = cache.watch(Filter(PREFIX + "ns/", everything), after=rv, bookmarks=True,
                     bookmark_object=bookmark, timeout=0.3)
    first = asyncio.ensure_future(it.__anext__())
    await asyncio.sleep(0.05)
    await storage.create(PREFIX + "ns/a", cm("a"))
    got = [(await asyncio.wait_for(first, 2)).type]
    await asyncio.sleep(0.4)  # past the deadline, with events queued meanwhile
    await storage.create(PREFIX + "ns/b", cm("b"))
    last = await storage.create(PREFIX + "other/c", cm("c"))
    await asyncio.sleep(0.05)
    events = [ev async for ev in it]
    got += [ev.type for ev in events]
    assert got == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[-1].object["metadata"]["resourceVersion"] == str(last.mod_revision)


async def test_watch_from_a_revision_the_cache_has_not_reached(storage: Any, cache: WatchCache) -> None:
    # A client may hold a resourceVersion newer than the cache (from a write or a GET):
    # events up to it must not be sent again once the cache catches up.
    await storage.create(PREFIX + "ns/old", cm("old"))
    rev = await storage.current_revision()
    assert cache.rev < rev  # the cache has not applied the create yet
    w, _, _ = cache.subscribe(PREFIX, rev)
    try:
        await asyncio.sleep(0.05)
        await storage.create(PREFIX + "ns/new", cm("new"))
        ev = await asyncio.wait_for(w.next(None), 2)
        assert ev is not None and ev.key == PREFIX + "ns/new"
    finally:
        cache.unsubscribe(w)


async def test_watch_older_than_the_ring_still_ends_at_its_timeout(storage: Any) -> None:
    first = await storage.create(PREFIX + "ns/a", cm("a"))
    cache = WatchCache(storage, PREFIX, decode, capacity=1)
    await cache.ensure_started()
    try:
        for n in "bc":
            await storage.create(PREFIX + f"ns/{n}", cm(n))
        await asyncio.sleep(0.05)
        it = cache.watch(Filter(PREFIX, everything), after=first.mod_revision - 1, timeout=0.2, bookmarks=True,
                         bookmark_object=bookmark)  # from before the cache's list: served by storage history
        got = [ev async for ev in _within(it, 2)]
        assert [(e.type, e.object["metadata"]["name"]) for e in got] == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    finally:
        await cache.close()


async def _within(it: AsyncIterator[WatchEvent], limit: float) -> AsyncIterator[WatchEvent]:
    async with asyncio.timeout(limit):
        async for ev in it:
            yield ev


async def test_watchers_share_each_recent_events_encodings(storage: Any, cache: WatchCache,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchcache, "ENCODED_EVENTS", 2)
    rev = await storage.current_revision()
    one = cache.watch(Filter(PREFIX, everything), after=rev)
    two = cache.watch(Filter(PREFIX + "ns/", everything), after=rev)
    for n in "abc":
        await storage.create(PREFIX + f"ns/{n}", cm(n))
    got_one = [await asyncio.wait_for(one.__anext__(), 2) for _ in range(3)]
    got_two = [await asyncio.wait_for(two.__anext__(), 2) for _ in range(3)]
    for x, y in zip(got_one, got_two, strict=True):
        assert x.object is y.object and x.encoded is y.encoded
    # Only the newest events keep theirs (memory stays bounded); older ones are encoded per watcher.
    assert [e.encoded for e in cache.buffer] == [None, {}, {}]
    await one.aclose()
    await two.aclose()


class Sink:
    """A client connection the cache may write to directly; ``accepting`` False plays a full buffer."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.accepting = True

    def write_event(self, kind: str, obj: Obj, encoded: dict[str, bytes] | None) -> bool:
        if self.accepting:
            self.lines.append((kind, obj["metadata"]["name"]))
        return self.accepting


async def test_a_parked_watcher_gets_events_written_directly_in_order(storage: Any, cache: WatchCache) -> None:
    """With a sink, a watcher waiting on an empty queue has events written from the cache's own pass;
    while the sink refuses, events queue and come through the iterator; order is kept throughout."""
    sink = Sink()
    token = watchcache.direct_sink.set(sink)
    try:
        rv = await storage.current_revision()
        it = cache.watch(Filter(PREFIX, lambda o: o["metadata"]["labels"].get("x") != "hide"), after=rv)
        pending = asyncio.ensure_future(it.__anext__())
        await asyncio.sleep(0.02)  # parked
        for name in ("a", "b"):
            await storage.create(PREFIX + f"ns/{name}", cm(name))
        await storage.create(PREFIX + "ns/hidden", cm("hidden", x="hide"))
        await asyncio.sleep(0.05)
        assert sink.lines == [("ADDED", "a"), ("ADDED", "b")] and not pending.done()
        sink.accepting = False
        await storage.create(PREFIX + "ns/c", cm("c"))
        await asyncio.sleep(0.05)
        sink.accepting = True
        await storage.create(PREFIX + "ns/d", cm("d"))  # behind a queued event: queued too, never written first
        ev = await asyncio.wait_for(pending, 2)
        assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "c")
        assert await take(it, 1) == [("ADDED", "d")]
        pending = asyncio.ensure_future(it.__anext__())
        await asyncio.sleep(0.02)
        await storage.create(PREFIX + "ns/e", cm("e"))  # parked on an empty queue again: direct again
        await asyncio.sleep(0.05)
        assert sink.lines[2:] == [("ADDED", "e")] and not pending.done()
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        await it.aclose()
    finally:
        watchcache.direct_sink.reset(token)
    assert cache.watcher_count == 0


async def test_bookmarks_follow_directly_written_events(storage: Any, cache: WatchCache,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchcache, "BOOKMARK_IDLE", 0.02)
    sink = Sink()
    token = watchcache.direct_sink.set(sink)
    try:
        rv = await storage.current_revision()
        it = cache.watch(Filter(PREFIX + "ns/", everything), after=rv, bookmarks=True, bookmark_object=bookmark)
        pending = asyncio.ensure_future(it.__anext__())
        await asyncio.sleep(0.005)
        await storage.create(PREFIX + "ns/a", cm("a"))
        await asyncio.sleep(0.1)  # idle past BOOKMARK_IDLE several times
        # Written directly; no bookmark at a revision the client already has.
        assert sink.lines == [("ADDED", "a")] and not pending.done()
        other = await storage.create(PREFIX + "other/z", cm("z"))  # bookmarks move past it
        ev = await asyncio.wait_for(pending, 2)
        assert ev.type == "BOOKMARK" and int(ev.object["metadata"]["resourceVersion"]) == other.mod_revision
        await it.aclose()
    finally:
        watchcache.direct_sink.reset(token)
