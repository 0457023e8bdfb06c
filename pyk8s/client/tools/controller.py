"""The generic controller loop (architecture principle 5).

Informer handlers only enqueue keys (``enqueue`` / ``handler()`` give the
standard ones); ``workers`` tasks take keys from the ``WorkQueue`` and call
``sync(key)``.  ``sync`` re-reads desired and actual state from caches and
converges; it must be idempotent.  When it raises, the key is re-queued with
rate limiting (``add_rate_limited``); when it succeeds the key's back-off is
forgotten.  A sync may also return a number of seconds to be called again
after that delay (e.g. a deadline it waits for).

``run()`` waits for the informers to sync, starts the workers, and on
cancellation shuts the queue down; the workers' tasks live in a TaskGroup, so
nothing outlives it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pyk8s.client.errors import is_conflict
from pyk8s.client.tools.informer import EventHandler, SharedInformer
from pyk8s.client.tools.store import DeletedFinalStateUnknown, deletion_key, meta_key
from pyk8s.client.tools.workqueue import WorkQueue
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SyncFunc = Callable[[str], Awaitable[float | None]]


class Controller:
    def __init__(self, name: str, sync: SyncFunc, *, workers: int = 1, informers: Sequence[SharedInformer] = (),
                 clock: Clock = REAL_CLOCK, queue: WorkQueue[str] | None = None,
                 max_retries: int | None = None) -> None:
        self.name = name
        self.sync = sync
        self.workers = workers
        self.informers = list(informers)
        self.queue: WorkQueue[str] = queue or WorkQueue(name=name, clock=clock)
        self.max_retries = max_retries
        self.ready = asyncio.Event()

    # --- handlers ---------------------------------------------------------------------

    def enqueue(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        self.queue.add(deletion_key(obj))

    def handler(self) -> EventHandler:
        """Enqueue the object's own key on add, update and delete."""
        return EventHandler(on_add=self.enqueue, on_update=lambda old, new: self.queue.add(meta_key(new)),
                            on_delete=self.enqueue)

    # --- loop -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            for inf in self.informers:
                await inf.wait_for_sync()
            self.ready.set()
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.workers):
                    tg.create_task(self._worker())
        finally:
            self.queue.shutdown(drain=False)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        """One sync of ``key`` with the requeue policy applied."""
        try:
            again = await self.sync(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any sync failure is retried
            if self.max_retries is not None and self.queue.num_requeues(key) >= self.max_retries:
                log.error("%s: dropping %s after %d retries: %s", self.name, key, self.max_retries, exc)
                self.queue.forget(key)
                return
            # A stale-cache conflict is routine (the next sync sees the newer object): keep it quiet.
            level = logging.DEBUG if is_conflict(exc) else logging.INFO
            log.log(level, "%s: sync %s failed: %s; requeueing", self.name, key, exc)
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        if again:
            self.queue.add_after(key, again)
