"""Batched periodic work for many names (leases, node status heartbeats).

A ``Cadence`` keeps one due time per name in a heap; one loop wakes, takes
every name that is due and runs the action for them with bounded
concurrency, then schedules each again ``interval`` later (or ``retry`` later
after a failure).  First due times are spread over one interval so a
thousand nodes registered together do not renew in one burst.

This is what keeps the agent cheap: N nodes cost one task and a heap, not N
tasks each sleeping and doing HTTP.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable

from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

#: The longest the loop sleeps: names added or resumed meanwhile wait at most this long.
MAX_IDLE = 1.0


class Cadence:
    def __init__(self, name: str, action: Callable[[str], Awaitable[None]], *, interval: float,
                 retry: float = 1.0, concurrency: int = 32, clock: Clock = REAL_CLOCK) -> None:
        self.name = name
        self.action = action
        self.interval = interval
        self.retry = retry
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._members: set[str] = set()
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def __len__(self) -> int:
        return len(self._members)

    def add(self, name: str, delay: float = 0.0) -> None:
        """Make ``name`` a member, first due ``delay`` seconds from now."""
        self._members.add(name)
        self.schedule(name, delay)

    def schedule(self, name: str, delay: float = 0.0) -> None:
        """Bring a member's next run forward to ``delay`` from now (an earlier due time wins)."""
        if name not in self._members:
            return
        due = self.clock.monotonic() + max(0.0, delay)
        current = self._due.get(name)
        if current is not None and current <= due:
            return
        self._due[name] = due
        heapq.heappush(self._heap, (due, next(self._seq), name))

    def add_spread(self, names: list[str]) -> None:
        """Add many names with first due times spread evenly over one interval."""
        step = self.interval / max(1, len(names))
        for i, name in enumerate(names):
            self.add(name, i * step)

    def remove(self, name: str) -> None:
        self._members.discard(name)
        self._due.pop(name, None)  # the heap entry is skipped lazily

    def take_due(self) -> list[str]:
        now = self.clock.monotonic()
        out: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            due, _, name = heapq.heappop(self._heap)
            if self._due.get(name) == due:
                del self._due[name]
                out.append(name)
        return out

    def _next_wait(self) -> float:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale entry
        if not self._heap:
            return MAX_IDLE
        return min(MAX_IDLE, max(0.0, self._heap[0][0] - self.clock.monotonic()))

    async def run(self) -> None:
        while True:
            due = self.take_due()
            if due:
                await asyncio.gather(*(self._one(name) for name in due))
            else:
                await self.clock.sleep(self._next_wait())

    async def _one(self, name: str) -> None:
        async with self._limit:
            try:
                await self.action(name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed heartbeat is retried, never fatal
                log.info("%s: %s failed: %s", self.name, name, exc)
                self._reschedule(name, self.retry)
                return
        self._reschedule(name, self.interval)

    def _reschedule(self, name: str, delay: float) -> None:
        # schedule() ignores non-members, so a remove() during the action sticks.
        self.schedule(name, delay)
