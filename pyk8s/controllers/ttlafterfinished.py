"""The TTL-after-finished controller: delete finished Jobs once their TTL has passed.

Follows ``pkg/controller/ttlafterfinished``: Jobs with
``spec.ttlSecondsAfterFinished`` that carry a true ``Complete`` or ``Failed``
condition are queued; a sync asks ``job.ttl_plan`` whether the TTL (counted
from ``completionTime``, else the terminal condition's transition) has run
out.  Not yet: the key is requeued at the expiry time (``ctx.clock``, so a
fake clock drives it in tests).  Expired: the Job is read again from the API
server (the cache or the TTL may be stale), checked once more, and deleted
with a UID precondition and foreground propagation, exactly as upstream (the
garbage collector then removes its pods before the Job disappears).  No
events are recorded, as upstream.
"""

from __future__ import annotations

from typing import Any

from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import split_key
from pyk8s.controllers import job, workload
from pyk8s.controllers.manager import ControllerContext

Obj = dict[str, Any]


def needs_cleanup(obj: Obj) -> bool:
    return (obj.get("spec") or {}).get("ttlSecondsAfterFinished") is not None and job.is_finished(obj)


class TTLAfterFinishedController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.jobs = ctx.factory.informer(workload.JOBS)
        self.controller = Controller("ttl-after-finished", self.sync,
                                     workers=int(ctx.option("ttl_after_finished_workers", 5)),
                                     informers=[self.jobs], clock=ctx.clock)
        self.jobs.add_event_handler(EventHandler(on_add=self._changed, on_update=lambda old, new: self._changed(new)))
        self.ready = self.controller.ready

    def _changed(self, obj: Obj) -> None:
        if needs_cleanup(obj):
            self.controller.enqueue(obj)

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        cached = self.jobs.lister.get(name, ns)
        if cached is None:
            return None
        result = job.ttl_plan(cached, self.clock.now())
        if not result.actions:
            return result.requeue_after
        # Final check on the live object: its TTL may have been changed (or the Job replaced).
        try:
            fresh = await self.client.get(workload.JOBS, name, namespace=ns)
        except ApiError as exc:
            if is_not_found(exc):
                return None
            raise
        result = job.ttl_plan(fresh, self.clock.now())
        for act in result.actions:
            try:
                await workload.execute(self.client, act)
            except ApiError as exc:
                if not is_conflict(exc):  # a UID mismatch: a new Job took the name
                    raise
        return result.requeue_after


def new(ctx: ControllerContext) -> TTLAfterFinishedController:
    return TTLAfterFinishedController(ctx)
