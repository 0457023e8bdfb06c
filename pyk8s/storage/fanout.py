"""In-process watch fan-out with catch-up from history.

Drivers that own their history (memory, sqlite) publish every committed batch
of events here, in revision order, from the event loop.  ``watch_stream``
turns that into the ``Storage.watch`` iterator:

1. it subscribes first, so every event published from now on is buffered;
2. it then reads history (``read_history``) after the requested revision,
   page by page, until history is exhausted;
3. it drains the buffer, skipping anything at or below the last revision it
   already yielded.

Anything committed before the subscription is in history, anything published
after it is in the buffer, and revisions only grow, so the hand-over has no
gap and no duplicate.  A consumer that falls too far behind overflows its
buffer; instead of dropping events or growing without bound, the stream goes
back to step 2 from the last revision it yielded (which may then raise
``CompactedError`` if compaction got there first, like etcd cancelling a
slow watcher).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from pyk8s.storage.interface import Event

HistoryReader = Callable[[str, int, int], Awaitable[list[Event]]]
"""``read_history(prefix, after_revision, limit)``: events in revision order;
raises CompactedError when ``after_revision`` is too old."""

DEFAULT_BUFFER = 100_000
HISTORY_PAGE = 1000


class Subscription:
    """One watcher's buffer.  Filled by ``FanOut.publish``."""

    __slots__ = ("prefix", "events", "wakeup", "overflowed", "limit")

    def __init__(self, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self.events: deque[Event] = deque()
        self.wakeup = asyncio.Event()
        self.overflowed = False
        self.limit = limit


class FanOut:
    """Delivers committed events to every matching subscription."""

    def __init__(self, buffer_limit: int = DEFAULT_BUFFER) -> None:
        self._subs: set[Subscription] = set()
        self._buffer_limit = buffer_limit

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix, self._buffer_limit)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, events: list[Event]) -> None:
        """Must be called on the loop, once per commit, in revision order."""
        for sub in self._subs:
            if sub.overflowed:
                continue
            added = False
            for ev in events:
                if ev.kv.key.startswith(sub.prefix):
                    sub.events.append(ev)
                    added = True
            if len(sub.events) > sub.limit:
                sub.overflowed = True
                sub.events.clear()
                added = True
            if added:
                sub.wakeup.set()

    def close_all(self) -> None:
        """Wake every watcher so it notices the store is closing."""
        for sub in self._subs:
            sub.wakeup.set()

    @property
    def watcher_count(self) -> int:
        return len(self._subs)


async def watch_stream(
    fanout: FanOut, prefix: str, after_revision: int, read_history: HistoryReader, *, is_closed: Callable[[], bool]
) -> AsyncIterator[Event]:
    last = after_revision
    sub = fanout.subscribe(prefix)
    try:
        while True:
            # Catch up from history; the subscription buffers meanwhile.
            while True:
                page = await read_history(prefix, last, HISTORY_PAGE)
                for ev in page:
                    if ev.revision > last:
                        last = ev.revision
                        yield ev
                if len(page) < HISTORY_PAGE:
                    break
            # Live: drain the buffer, skipping what history already gave.
            while not sub.overflowed:
                while sub.events:
                    ev = sub.events.popleft()
                    if ev.revision > last:
                        last = ev.revision
                        yield ev
                if is_closed():
                    return
                sub.wakeup.clear()
                if sub.events or sub.overflowed:
                    continue
                await sub.wakeup.wait()
            # Overflowed: resubscribe, then catch up again from ``last``.
            fanout.unsubscribe(sub)
            sub = fanout.subscribe(prefix)
    finally:
        fanout.unsubscribe(sub)
