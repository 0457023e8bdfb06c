"""The generic controller loop: workers, requeue with back-off, one key per worker."""

from __future__ import annotations

import asyncio

from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.testing.fake_clock import FakeClock, settle


async def test_failures_requeue_with_backoff_then_forget(clock: FakeClock) -> None:
    calls: list[float] = []

    async def sync(key: str) -> None:
        calls.append(clock.monotonic())
        if len(calls) < 4:
            raise RuntimeError("not yet")

    ctl = Controller("t", sync, workers=2, clock=clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ctl.run())
        ctl.queue.add("ns/a")
        for _ in range(10):
            await settle()
            if clock.next_deadline() is None:
                break
            await clock.advance(clock.next_deadline() or 0)
        assert len(calls) == 4
        gaps = [round(b - a, 6) for a, b in zip(calls, calls[1:], strict=False)]
        assert gaps == [0.005, 0.01, 0.02]
        assert ctl.queue.num_requeues("ns/a") == 0  # forgotten after success
        task.cancel()


async def test_one_worker_per_key_and_requeue_after(clock: FakeClock) -> None:
    active: set[str] = set()
    overlaps = 0
    runs: dict[str, int] = {}
    gate = asyncio.Event()

    async def sync(key: str) -> float | None:
        nonlocal overlaps
        if key in active:
            overlaps += 1
        active.add(key)
        runs[key] = runs.get(key, 0) + 1
        await gate.wait()
        active.discard(key)
        return 5.0 if key == "again" and runs[key] == 1 else None

    ctl = Controller("t", sync, workers=4, clock=clock)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(ctl.run())
        await ctl.ready.wait()
        for key in ("a", "b", "again"):
            ctl.queue.add(key)
        await settle()
        for _ in range(5):
            ctl.queue.add("a")  # arrives while "a" is being synced
        await settle()
        assert active == {"a", "b", "again"}
        gate.set()
        await settle(30)
        assert runs == {"a": 2, "b": 1, "again": 1} and overlaps == 0
        await clock.advance(5)
        await settle(30)
        assert runs["again"] == 2
        task.cancel()
    assert ctl.queue.shutting_down


async def test_handler_enqueues_keys(clock: FakeClock) -> None:
    async def sync(key: str) -> None:
        return None

    ctl = Controller("t", sync, clock=clock)
    h = ctl.handler()
    assert h.on_add and h.on_update and h.on_delete
    h.on_add({"metadata": {"name": "x", "namespace": "n"}})
    h.on_update({"metadata": {"name": "x", "namespace": "n"}}, {"metadata": {"name": "x", "namespace": "n"}})
    h.on_delete(DeletedFinalStateUnknown("n/y", {}))
    assert len(ctl.queue) == 2
    assert await ctl.queue.get() == "n/x" and await ctl.queue.get() == "n/y"
