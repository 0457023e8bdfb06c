"""Work-queue semantics and rate limiters, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from pyk8s.client.tools.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    default_controller_rate_limiter,
)
from pyk8s.client.tools.workqueue import WorkQueue
from pyk8s.testing.fake_clock import FakeClock, settle


async def test_dedup_and_fifo(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    for key in ("a", "b", "a", "c", "b"):
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_key_held_by_one_worker(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add("a")
    key = await q.get()
    assert key == "a" and q.processing() == {"a"}
    q.add("a")  # changed while being processed: not handed to a second worker
    q.add("a")
    assert len(q) == 0
    second = asyncio.create_task(q.get())
    await settle()
    assert not second.done()
    q.done("a")  # now it comes back, once
    assert await asyncio.wait_for(second, 1) == "a"
    q.done("a")
    assert len(q) == 0 and not q.processing()


async def test_add_after_uses_clock_and_earliest_time(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 3)  # earlier wins
    q.add_after("a", 20)  # later is ignored
    assert q.waiting() == 1 and len(q) == 0
    await clock.advance(2.9)
    assert len(q) == 0
    await clock.advance(0.2)
    assert len(q) == 1 and q.waiting() == 0
    await clock.advance(30)
    assert len(q) == 1  # fired once only


async def test_getter_wakes_on_delayed_add(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    getter = asyncio.create_task(q.get())
    q.add_after("x", 5)
    await clock.advance(5)
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_rate_limited_requeue_backs_off_and_forget_resets(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    delays = []
    for _ in range(4):
        before = clock.monotonic()
        q.add_rate_limited("k")
        nxt = clock.next_deadline()
        delays.append(round(nxt, 6) if nxt is not None else 0)
        await clock.advance(nxt or 0)
        assert await q.get() == "k"
        q.done("k")
        assert clock.monotonic() >= before
    assert delays == [0.005, 0.01, 0.02, 0.04]
    assert q.num_requeues("k") == 4
    q.forget("k")
    assert q.num_requeues("k") == 0


def test_item_exponential_caps() -> None:
    lim = ItemExponentialFailureRateLimiter(0.005, 1000.0)
    seen = [lim.when("a") for _ in range(25)]
    assert seen[0] == 0.005 and seen[1] == 0.01
    assert seen[-1] == 1000.0 and max(seen) == 1000.0
    assert lim.when("b") == 0.005  # per item


def test_bucket_limits_overall_rate(clock: FakeClock) -> None:
    lim = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert all(lim.when(i) == 0 for i in range(100))
    assert lim.when("x") == pytest.approx(0.1)
    assert lim.when("y") == pytest.approx(0.2)
    clock.step(10)  # refills
    assert lim.when("z") == 0


def test_default_limiter_takes_max(clock: FakeClock) -> None:
    lim = default_controller_rate_limiter(clock)
    assert lim.when("a") == 0.005
    for i in range(200):
        lim.when(f"other{i}")
    assert lim.when("b") > 1.0  # the bucket dominates after a storm


async def test_shutdown(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    waiter = asyncio.create_task(q.get())
    await settle()
    q.add_after("later", 5)
    q.shutdown()
    assert await asyncio.wait_for(waiter, 1) is None
    q.add("ignored")
    assert len(q) == 0 and clock.pending() == 0
    assert await q.get() is None


async def test_shutdown_drains_queued_keys(clock: FakeClock) -> None:
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add("a")
    q.shutdown()
    assert await q.get() == "a"
    assert await q.get() is None
    q2: WorkQueue[str] = WorkQueue(clock=clock)
    q2.add("a")
    q2.shutdown(drain=False)
    assert await q2.get() is None
