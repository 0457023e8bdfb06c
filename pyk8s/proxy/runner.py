"""A bounded-frequency runner: sync soon after a change, never more than once per ``min_interval``,
and at least once per ``max_interval`` (upstream's ``BoundedFrequencyRunner``: 1 s and 30 s).

``request()`` is called from informer handlers; ``run()`` loops forever,
calling ``sync(full)`` where ``full`` is True when the periodic resync (not a
change) is due.  A failing sync is retried after ``min_interval`` as a full
one: after an error the backend's idea of what it wrote cannot be trusted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)


class BoundedFrequencyRunner:
    def __init__(self, sync: Callable[[bool], Awaitable[None]], *, min_interval: float = 1.0,
                 max_interval: float = 30.0, clock: Clock = REAL_CLOCK) -> None:
        self.sync = sync
        self.min_interval, self.max_interval = min_interval, max_interval
        self.clock = clock
        self._wanted = asyncio.Event()
        self.syncs = 0

    def request(self) -> None:
        self._wanted.set()

    async def _wait_for_request(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._wanted.wait(), seconds)
            return True
        except TimeoutError:
            return False

    async def run(self) -> None:
        full = True
        last_full = self.clock.monotonic()
        while True:
            started = self.clock.monotonic()
            self._wanted.clear()
            try:
                await self.sync(full)
                self.syncs += 1
                if full:
                    last_full = started
                full = False
            except Exception:  # noqa: BLE001 - keep proxying; the next sync is a full one
                log.exception("proxy sync failed; retrying with a full sync")
                full = True
            await self.clock.sleep(max(0.0, started + self.min_interval - self.clock.monotonic()))
            remaining = last_full + self.max_interval - self.clock.monotonic()
            if full or remaining <= 0:
                full = True
                continue
            if not await self._wait_for_request(remaining):
                full = True
