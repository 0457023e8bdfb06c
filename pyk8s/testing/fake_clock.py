"""A ``Clock`` whose time moves only when a test says so.

``advance(seconds)`` moves both wall and monotonic time forward and fires,
in deadline order, every timer and sleeper that became due.  Sleepers are
plain futures, so after ``advance`` a test usually yields to the loop once
(``await settle()``) to let the woken coroutines run.

    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    queue.add_after("ns/a", 5)
    await clock.advance(5)
"""

from __future__ import annotations

import asyncio
import datetime
import heapq
import itertools
from collections.abc import Callable


class _Timer:
    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: float, callback: Callable[[], object]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    def __init__(self, start: datetime.datetime | None = None) -> None:
        self._wall = start or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        self._mono = 1000.0
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()

    def now(self) -> datetime.datetime:
        return self._wall + datetime.timedelta(seconds=self._mono - 1000.0)

    def monotonic(self) -> float:
        return self._mono

    def call_later(self, seconds: float, callback: Callable[[], object]) -> _Timer:
        timer = _Timer(self._mono + max(0.0, seconds), callback)
        heapq.heappush(self._timers, (timer.deadline, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def pending(self) -> int:
        """Timers and sleepers not yet fired or cancelled."""
        return sum(1 for _, _, t in self._timers if not t.cancelled)

    def next_deadline(self) -> float | None:
        live = [d for d, _, t in self._timers if not t.cancelled]
        return min(live) - self._mono if live else None

    def step(self, seconds: float) -> None:
        """Move time forward and fire due timers, without yielding to the loop."""
        target = self._mono + seconds
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._mono = max(self._mono, deadline)
            timer.callback()
        self._mono = target

    async def advance(self, seconds: float) -> None:
        """Move time forward in deadline order, letting woken tasks run at each step.

        Tasks woken by one timer may schedule new timers that fall inside the
        same window; stepping deadline by deadline lets those fire too.
        """
        target = self._mono + seconds
        await settle()
        while True:
            live = [d for d, _, t in self._timers if not t.cancelled]
            nxt = min(live) if live else None
            if nxt is None or nxt > target:
                break
            self.step(max(0.0, nxt - self._mono))
            await settle()
        self._mono = target
        await settle()


async def settle(rounds: int = 10) -> None:
    """Yield to the event loop a few times so ready callbacks and tasks run."""
    for _ in range(rounds):
        await asyncio.sleep(0)
