"""The automatic compactor, driven by a fake clock over the memory driver."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.storage import open_storage
from pyk8s.storage.compactor import Compactor
from pyk8s.storage.interface import CompactedError


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def write(store, n: int) -> None:
    for _ in range(n):
        await store.update("/k", b"x", expected_revision=0)


async def test_keeps_retention_window_and_min_revisions() -> None:
    store = open_storage("memory://")
    await store.start()
    await store.create("/k", b"x")
    t = FakeTime()
    c = Compactor(store, retention=300, min_revisions=10, interval=60, clock=t.clock, sleep=t.sleep)
    await write(store, 50)
    r0 = await store.current_revision()
    assert await c.tick() == 0  # nothing is 5 minutes old yet
    for _ in range(4):
        t.now += 60
        await write(store, 50)
        assert await c.tick() == 0
    t.now += 60  # now the first sample is 300 s old
    await write(store, 50)
    assert await c.tick() == r0
    assert await store.compacted_revision() == r0
    with pytest.raises(CompactedError):
        await store.get("/k", revision=r0 - 1)
    assert await c.tick() == 0  # same target again: nothing to do


async def test_min_revisions_caps_the_target() -> None:
    store = open_storage("memory://")
    await store.start()
    await store.create("/k", b"x")
    t = FakeTime()
    c = Compactor(store, retention=300, min_revisions=1000, clock=t.clock, sleep=t.sleep)
    await write(store, 200)
    await c.tick()
    t.now += 301
    await write(store, 900)
    cur = await store.current_revision()
    assert await c.tick() == cur - 1000  # the 5-minute-old sample is newer than that
    assert await store.compacted_revision() == cur - 1000


async def test_run_loop_uses_injected_sleep() -> None:
    store = open_storage("memory://")
    await store.start()
    await store.create("/k", b"x")
    t = FakeTime()
    c = Compactor(store, retention=120, min_revisions=0, interval=60, clock=t.clock, sleep=t.sleep)
    first = await store.current_revision()
    task = asyncio.create_task(c.run())
    try:
        await c.ready.wait()
        for _ in range(20):
            await write(store, 1)
            await asyncio.sleep(0)
        assert c.compacted >= first
        assert await store.compacted_revision() == c.compacted
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
