"""Retrying a read-modify-write on 409 Conflict (client-go's ``retry.RetryOnConflict``).

``await retry_on_conflict(update)`` calls ``update()`` (which should GET the
latest object, change it and PUT it) until it does not raise a Conflict, at
most ``steps`` times, waiting ``delay`` (jittered, on the injected clock) in
between.  Other errors, and the last Conflict, propagate.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pyk8s.client.errors import is_conflict
from pyk8s.util.clock import REAL_CLOCK, Clock

T = TypeVar("T")


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], *, steps: int = 5, delay: float = 0.01,
                            jitter: float = 0.1, clock: Clock = REAL_CLOCK) -> T:
    for attempt in range(steps):
        try:
            return await fn()
        except Exception as exc:
            if not is_conflict(exc) or attempt == steps - 1:
                raise
        await clock.sleep(delay * (1 + jitter * random.random()))
    raise AssertionError("unreachable")  # pragma: no cover
