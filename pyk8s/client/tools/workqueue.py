"""The controller work queue (client-go's rate-limited delaying queue).

Guarantees, as upstream:

* **Dedup**: a key added many times before a worker takes it is processed once.
* **One worker per key**: while a key is being processed (between ``get`` and
  ``done``) re-adds only mark it dirty; ``done`` puts it back in the queue, so
  the next sync sees the latest state and two workers never hold the same key.
* **Fair order**: keys come out in the order they were first added.
* ``add_after(key, delay)``: add later; a key waiting several times keeps the
  earliest time.  ``add_rate_limited(key)``: add after the rate limiter's
  delay (per-item exponential back-off plus an overall bucket);
  ``forget(key)`` resets its back-off after a successful sync.
* ``shutdown()``: ``get`` returns None once the queue has drained
  (``shutdown(drain=False)``: at once); later adds are ignored.

All delays run on the injected ``Clock`` (timers, no background task), so a
fake clock drives the queue in tests.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from pyk8s.client.tools.ratelimit import RateLimiter, default_controller_rate_limiter
from pyk8s.util.clock import REAL_CLOCK, Clock, TimerHandle

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK, rate_limiter: RateLimiter | None = None) -> None:
        self.name = name
        self.clock = clock
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, tuple[float, TimerHandle]] = {}
        self._getters: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._drain = True

    # --- adding -----------------------------------------------------------------------

    def add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # done() re-queues it
        self._queue.append(key)
        self._notify()

    def add_after(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self.clock.monotonic() + delay
        existing = self._waiting.get(key)
        if existing is not None:
            if existing[0] <= ready_at:
                return
            existing[1].cancel()
        handle = self.clock.call_later(delay, lambda: self._fire(key))
        self._waiting[key] = (ready_at, handle)

    def _fire(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    # --- taking -----------------------------------------------------------------------

    async def get(self) -> K | None:
        """The next key, marked processing; None when shut down (and drained)."""
        while not self._queue and not self._shutting_down:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            finally:
                if fut in self._getters:
                    self._getters.remove(fut)
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        """Finish processing ``key``; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._notify()
        elif self._shutting_down and not self._processing:
            self._notify()

    # --- state ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._queue)

    def waiting(self) -> int:
        """Keys scheduled by add_after and not yet due."""
        return len(self._waiting)

    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def shutdown(self, *, drain: bool = True) -> None:
        """Stop accepting keys; wake every waiting ``get``."""
        self._shutting_down = True
        self._drain = drain
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        if not drain:
            self._queue.clear()
            self._dirty.clear()
        self._notify()

    def _notify(self) -> None:
        """Wake the waiting getters; each re-checks the queue (no lost wake-ups: no await in between)."""
        getters, self._getters = self._getters, []
        for fut in getters:
            if not fut.done():
                fut.set_result(None)
