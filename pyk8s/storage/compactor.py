"""Automatic compaction: keep about ``retention`` seconds of history.

Like the Kubernetes API server's compactor, it samples the current revision
every ``interval`` seconds and compacts to the newest sample that is at least
``retention`` old, so watchers and paged lists can resume from anything newer
than about five minutes ago.  It never compacts away the last
``min_revisions`` revisions, so a burst of writes cannot outrun a client
that is only a few seconds behind.

Time is injected: ``clock`` returns monotonic seconds and ``sleep`` waits
(tests pass a fake pair; ``tick()`` can also be driven directly).  Compaction
failures are logged and retried at the next tick; they never stop ``run``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from pyk8s.storage.interface import Storage, StorageError

log = logging.getLogger(__name__)

DEFAULT_RETENTION = 300.0
DEFAULT_MIN_REVISIONS = 1000
DEFAULT_INTERVAL = 60.0


class Compactor:
    def __init__(
        self,
        storage: Storage,
        *,
        retention: float = DEFAULT_RETENTION,
        min_revisions: int = DEFAULT_MIN_REVISIONS,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.storage = storage
        self.retention = retention
        self.min_revisions = min_revisions
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._samples: deque[tuple[float, int]] = deque()
        self.compacted = 0  # the last revision this compactor compacted to
        self.ready = asyncio.Event()

    def target(self, now: float, current: int) -> int:
        """Record a sample and return the revision it is safe to compact to (0 = none)."""
        self._samples.append((now, current))
        # Keep only the newest sample past the retention window, and the ones after it.
        while len(self._samples) >= 2 and now - self._samples[1][0] >= self.retention:
            self._samples.popleft()
        t0, r0 = self._samples[0]
        old_enough = r0 if now - t0 >= self.retention else 0
        return max(0, min(old_enough, current - self.min_revisions))

    async def tick(self) -> int:
        """One step: compact if history is old enough.  Returns the revision
        compacted to, or 0 when nothing was done."""
        current = await self.storage.current_revision()
        target = self.target(self._clock(), current)
        if target <= self.compacted:
            return 0
        await self.storage.compact(target)
        self.compacted = target
        log.debug("compacted storage to revision %d (current %d)", target, current)
        return target

    async def run(self) -> None:
        self.ready.set()
        while True:
            try:
                await self.tick()
            except (StorageError, OSError) as e:
                log.warning("storage compaction failed, will retry: %s", e)
            await self._sleep(self.interval)
