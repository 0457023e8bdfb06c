"""Watch fan-out: a slow watcher that overflows its buffer resumes from history."""

from __future__ import annotations

import asyncio

from pyk8s.storage import fanout
from pyk8s.storage.drivers.memory import MemoryStorage
from pyk8s.storage.interface import Event, EventType, KeyValue


async def test_slow_watcher_overflow_resumes_from_history() -> None:
    store = MemoryStorage(watch_buffer=5)  # tiny buffer: the watcher below overflows it
    await store.start()
    start = await store.current_revision()
    it = store.watch("/p/", after_revision=start)
    got = []
    reader = asyncio.ensure_future(it.__anext__())
    await store.create("/p/0", b"x")
    got.append(await reader)
    for i in range(1, 50):  # written while nobody reads: overflows the 5-event buffer
        await store.create(f"/p/{i}", b"x")
    async with asyncio.timeout(5):
        while len(got) < 50:
            got.append(await it.__anext__())
    await it.aclose()  # type: ignore[attr-defined]
    assert [e.kv.key for e in got] == [f"/p/{i}" for i in range(50)]
    assert all(e.type is EventType.CREATE for e in got)


def test_buffer_overflow_is_flagged_not_grown() -> None:
    hub = fanout.FanOut(buffer_limit=5)
    sub = hub.subscribe("/p/")
    other = hub.subscribe("/q/")
    hub.publish([Event(EventType.CREATE, KeyValue(f"/p/{i}", b"", i, i), None) for i in range(3)])
    assert len(sub.events) == 3 and not sub.overflowed and not other.events
    hub.publish([Event(EventType.CREATE, KeyValue(f"/p/{i}", b"", i, i), None) for i in range(3, 10)])
    assert sub.overflowed and not sub.events and sub.wakeup.is_set()
    assert not other.overflowed
    hub.unsubscribe(sub)
    assert hub.watcher_count == 1
