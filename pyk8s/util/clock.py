"""Injectable time (architecture principle 8).

Everything that waits, times out or stamps a time (work-queue delays, lease
renewals, back-off, event timestamps) asks a ``Clock`` instead of calling
``time``/``asyncio.sleep`` directly, so tests can drive time with
``pyk8s.testing.fake_clock.FakeClock`` and never sleep for real.

Three kinds of time are exposed: ``now()`` is wall time (UTC, for values
written into API objects), ``monotonic()`` is for measuring intervals, and
``sleep``/``call_later`` schedule on the monotonic axis.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime.datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` (synchronously, on the event loop) after ``seconds``."""
        ...


class RealClock:
    """The system clock and the running event loop's timers."""

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)


REAL_CLOCK = RealClock()
