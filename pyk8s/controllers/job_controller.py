"""The Job controller: ``job.plan`` fed from the Job and Pod informers.

One sync of ``namespace/name`` reads the Job (through ``OwnWrites``, so a
status we just wrote is not forgotten while the Job cache lags behind the
pod cache) and its namespace's pods, asks ``job.plan`` and applies the
result in upstream's order: pod deletions, then pod creations in slow-start
batches (``workload.create_pods``), then the status PUT to ``jobs/status``
and the events it implies, and last the removal of the
``batch.kubernetes.io/job-tracking`` finalizer from the pods that status
now records.  That order is what makes counting exact: a finished pod is
first listed in ``status.uncountedTerminatedPods``, only then released, and
moved into ``succeeded``/``failed`` by a later sync.

Expectations (raised before creations/deletions, lowered by the pod
handlers of ``workload.OwnedPods``) keep a stale pod cache from making the
Job create or delete twice; while unsatisfied the plan only updates the
status.  The back-off between failed retries is not a sleep: the plan
returns the remaining delay and the key is requeued after it.  The first
delay is the option ``job_backoff_base`` (seconds, default 10 as upstream).

Orphan pods still carrying the tracking finalizer (their Job deleted, or
finished, or no controller at all) go through a second queue that removes
the finalizer, as upstream's ``orphanQueue`` does; otherwise they could
never be deleted.

Events as upstream: ``SuccessfulCreate`` "Created pod: <name>",
``FailedCreate``, ``SuccessfulDelete`` "Deleted pod: <name>",
``FailedDelete``, and from the plan ``Completed``, ``BackoffLimitExceeded``,
``DeadlineExceeded``, ``Suspended``, ``Resumed``.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from typing import Any

from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import DeletedFinalStateUnknown, deletion_key, meta_key, split_key
from pyk8s.controllers import actions, job, jobpods, podtemplate, workload
from pyk8s.controllers.expectations import Expectations
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.ownwrites import OwnWrites
from pyk8s.machinery import labels

Obj = dict[str, Any]


def selects(owner: Obj, pod: Obj) -> bool:
    """Could ``owner`` adopt the orphan ``pod``? (a running Job whose selector matches)"""
    if job.is_finished(owner):
        return False
    selector = (owner.get("spec") or {}).get("selector")
    return bool(selector) and labels.matches_label_selector(selector, pod["metadata"].get("labels") or {})


class JobController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.backoff_base = timedelta(seconds=float(ctx.option("job_backoff_base", 10)))
        self.jobs = ctx.factory.informer(workload.JOBS)
        self.pods = ctx.factory.informer(workload.PODS)
        self.expectations = Expectations()
        self.writes = OwnWrites()
        informers = [self.jobs, self.pods]
        self.controller = Controller("job", self.sync, workers=int(ctx.option("job_workers", 5)),
                                     informers=informers, clock=ctx.clock)
        self.orphans = Controller("job-orphan-pod", self.sync_orphan, informers=informers, clock=ctx.clock)
        self.recorder = EventRecorder(ctx.client, component="job-controller", clock=ctx.clock)
        self.jobs.add_event_handler(EventHandler(
            on_add=self.controller.enqueue, on_update=lambda old, new: self.controller.enqueue(new),
            on_delete=self._job_deleted))
        owned = workload.OwnedPods(self.controller, self.jobs, "Job", self.expectations, selects)
        self.pods.add_event_handler(owned.handler())
        self.pods.add_event_handler(EventHandler(
            on_add=self._maybe_orphan, on_update=lambda old, new: self._maybe_orphan(new),
            on_delete=self._maybe_orphan))
        self.ready = self.controller.ready

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.recorder.run())
            tg.create_task(self.controller.run())
            tg.create_task(self.orphans.run())

    # --- handlers -------------------------------------------------------------------------

    def _job_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = deletion_key(obj)
        self.expectations.forget(key)
        self.writes.forget(key)
        self.controller.queue.add(key)
        gone = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        uid = (gone.get("metadata") or {}).get("uid") if isinstance(gone, dict) else None
        ns, _ = split_key(key)
        for pod in self.pods.lister.list(ns):
            if jobpods.has_finalizer(pod) and (podtemplate.controller_of(pod) or {}).get("uid") == uid:
                self.orphans.queue.add(meta_key(pod))

    def _maybe_orphan(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if isinstance(pod, dict) and jobpods.has_finalizer(pod) and self._orphaned(pod):
            self.orphans.queue.add(meta_key(pod))

    def _orphaned(self, pod: Obj) -> bool:
        """No running batch/v1 Job controls ``pod`` (``syncOrphanPod``'s test)."""
        ref = podtemplate.controller_of(pod)
        if ref is None:
            return True
        if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
            return False  # someone else's pod: not ours to touch
        owner = self.jobs.lister.get(ref.get("name", ""), pod["metadata"].get("namespace", ""))
        return owner is None or owner["metadata"].get("uid") != ref.get("uid") or job.is_finished(owner)

    # --- orphan pods ----------------------------------------------------------------------

    async def sync_orphan(self, key: str) -> float | None:
        ns, name = split_key(key)
        pod = self.pods.lister.get(name, ns)
        if pod is None or not jobpods.has_finalizer(pod) or not self._orphaned(pod):
            return None
        await self._release(pod)
        return None

    async def _release(self, pod: Obj) -> None:
        meta = pod["metadata"]
        remaining = [f for f in meta.get("finalizers") or [] if f != jobpods.TRACKING_FINALIZER]
        patch = {"metadata": {"finalizers": remaining or None, "resourceVersion": meta.get("resourceVersion")}}
        try:
            await self.client.patch(workload.PODS, meta["name"], patch, namespace=meta.get("namespace"),
                                    patch_type="merge")
        except ApiError as exc:
            if not is_not_found(exc):
                raise

    # --- jobs -----------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        cached = self.jobs.lister.get(name, ns)
        if cached is None:
            self.expectations.forget(key)
            self.writes.forget(key)
            return None
        current = self.writes.fresh(key, cached)
        now = self.clock.now()
        result = job.plan(current, self.pods.lister.list(ns), now, satisfied=self.expectations.satisfied(key, now),
                          backoff_base=self.backoff_base)
        error = await self._delete_pods(key, current, [a for a in result.actions if isinstance(a, actions.Delete)])
        made = len(result.create)
        if error is None and result.create:
            made, error = await self._create_pods(key, current, result.create)
        for act in result.actions:
            if isinstance(act, actions.Update):
                await self._write_status(key, current, act.body, uncreated=len(result.create) - made)
        workload.record(self.recorder, current, result.events)
        for act in result.actions:
            if isinstance(act, actions.Patch):
                await self._patch(act)
        if error is not None:
            raise error
        return result.requeue_after

    async def _create_pods(self, key: str, owner: Obj, bodies: list[Obj]) -> tuple[int, BaseException | None]:
        made: list[str] = []

        def created(pod: Obj) -> None:
            made.append(pod["metadata"]["name"])
            self.recorder.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

        error = await workload.create_pods(self.client, bodies, key=key, expectations=self.expectations,
                                           now=self.clock.now(), on_created=created)
        if error is not None:
            self.recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {error}")
        return len(made), error

    async def _delete_pods(self, key: str, owner: Obj, deletes: list[actions.Delete]) -> BaseException | None:
        if not deletes:
            return None
        self.expectations.expect_deletions(key, [f"{d.namespace}/{d.name}" for d in deletes], self.clock.now())
        outcomes = await asyncio.gather(*(self._delete_pod(key, owner, d) for d in deletes))
        return next((e for e in outcomes if e is not None), None)

    async def _delete_pod(self, key: str, owner: Obj, act: actions.Delete) -> BaseException | None:
        try:
            await self.client.delete(workload.PODS, act.name, namespace=act.namespace,
                                     preconditions={"uid": act.uid} if act.uid else None)
        except ApiError as exc:
            # The informer will not report a deletion that did not happen.
            self.expectations.deletion_observed(key, f"{act.namespace}/{act.name}")
            if is_not_found(exc) or is_conflict(exc):
                return None  # gone already (or replaced by a namesake): nothing left to delete
            self.recorder.event(owner, "Warning", "FailedDelete", f"Error deleting: {exc}")
            return exc
        self.recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {act.name}")
        return None

    async def _write_status(self, key: str, current: Obj, body: Obj, *, uncreated: int) -> None:
        body = copy.deepcopy(body)
        status = body["status"]
        if uncreated > 0:  # creations that failed are not active after all
            active = int(status.get("active") or 0) - uncreated
            if active > 0:
                status["active"] = active
            else:
                status.pop("active", None)
        written = await self.client.update(workload.JOBS, body, namespace=body["metadata"].get("namespace"),
                                           subresource="status")
        self.writes.remember(key, current, written)

    async def _patch(self, act: actions.Patch) -> None:
        try:
            await workload.execute(self.client, act)
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def new(ctx: ControllerContext) -> JobController:
    return JobController(ctx)
