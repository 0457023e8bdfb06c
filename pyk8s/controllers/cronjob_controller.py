"""The CronJob controller: ``cronjob.plan`` fed from the CronJob and Job informers.

A sync of ``namespace/name`` reads the CronJob (through ``OwnWrites``, so
the status we just wrote counts even before the CronJob cache shows it) and
the Jobs it controls, asks ``cronjob.plan`` and applies the result: Job
deletions (``concurrencyPolicy: Replace`` and history cleanup, background
propagation), the Job creation, then one status PUT (``active`` with the
created Job's reference, ``lastScheduleTime``, ``lastSuccessfulTime``).  The
sync returns the delay to just after the next schedule time, so the work
queue wakes the CronJob on schedule; with ``ctx.clock`` a fake clock drives
it in tests.

As upstream (``cronjob_controllerv2.go``), before planning the wiring
double-checks with the API server what a lagging cache could get wrong: an
active Job missing from the Job cache is looked up with a GET (only a 404
makes it "missing"), and a running Job that is not in ``status.active`` makes
it re-read the CronJob.  A create answered ``AlreadyExists`` adopts the
existing Job into ``active`` when this CronJob controls it (a status write
lost after an earlier create), and otherwise leaves the time unscheduled.

Job events enqueue their controlling CronJob.  A change of schedule or time
zone requeues the CronJob at its next schedule time rather than at once, so
an edit never fires a "missed" run.

Events as upstream: ``SuccessfulCreate`` "Created job <name>",
``FailedCreate`` "Error creating job: ...", ``SuccessfulDelete`` "Deleted job
<name>", ``FailedDelete``, and from the plan ``SawCompletedJob``,
``JobAlreadyActive``, ``MissSchedule``, ``MissingJob``, ``UnexpectedJob``,
``TooManyMissedTimes``, ``UnknownTimeZone``, ``UnparseableSchedule``,
``InvalidSchedule``.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import EventHandler
from pyk8s.client.tools.store import DeletedFinalStateUnknown, meta_key, split_key
from pyk8s.controllers import actions, cronjob, job, podtemplate, workload
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.ownwrites import OwnWrites

Obj = dict[str, Any]
# Events the wiring records itself, once the write they announce has succeeded.
_WRITE_EVENTS = ("SuccessfulCreate", "SuccessfulDelete")


class _Outcome:
    """What applying one plan changed: the status to write and the first error."""

    def __init__(self, status: Obj) -> None:
        self.status = status
        self.error: BaseException | None = None
        self.skip_status = False


class CronJobController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.cronjobs = ctx.factory.informer(workload.CRON_JOBS)
        self.jobs = ctx.factory.informer(workload.JOBS)
        self.writes = OwnWrites()
        self.controller = Controller("cronjob", self.sync, workers=int(ctx.option("cronjob_workers", 5)),
                                     informers=[self.cronjobs, self.jobs], clock=ctx.clock)
        self.recorder = EventRecorder(ctx.client, component="cronjob-controller", clock=ctx.clock)
        self.cronjobs.add_event_handler(EventHandler(
            on_add=self.controller.enqueue, on_update=self._cronjob_updated, on_delete=self.controller.enqueue))
        self.jobs.add_event_handler(EventHandler(
            on_add=self._job_changed, on_update=self._job_updated, on_delete=self._job_changed))
        self.ready = self.controller.ready

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    # --- handlers -------------------------------------------------------------------------

    def _cronjob_updated(self, old: Obj, new: Obj) -> None:
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        if (old_spec.get("schedule"), old_spec.get("timeZone")) == (new_spec.get("schedule"), new_spec.get("timeZone")):
            self.controller.enqueue(new)
            return
        delay = cronjob.next_schedule_delay(new, self.clock.now())
        if delay is None:
            self.recorder.event(new, "Warning", "UnParseableCronJobSchedule",
                                f"unparseable schedule for cronjob: {new_spec.get('schedule')}")
            return
        self.controller.queue.add_after(meta_key(new), delay)

    def _owner_key(self, obj: Obj) -> str | None:
        ref = podtemplate.controller_of(obj)
        if ref is None or ref.get("kind") != "CronJob":
            return None
        ns = obj["metadata"].get("namespace", "")
        owner = self.cronjobs.lister.get(ref.get("name", ""), ns)
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return meta_key(owner)

    def _job_changed(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        found = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if isinstance(found, dict) and "metadata" in found and (key := self._owner_key(found)):
            self.controller.queue.add(key)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return  # a resync
        if podtemplate.controller_of(old) != podtemplate.controller_of(new):
            self._job_changed(old)
        self._job_changed(new)

    # --- sync -----------------------------------------------------------------------------

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        cached = self.cronjobs.lister.get(name, ns)
        if cached is None:
            self.writes.forget(key)
            return None
        cj = self.writes.fresh(key, cached)
        jobs = [j for j in self.jobs.lister.list(ns) if podtemplate.is_controlled_by(j, cj)]
        jobs = await self._recheck_missing(cj, jobs)
        cj = await self._recheck_unexpected(key, cj, jobs)
        result = cronjob.plan(cj, jobs, self.clock.now())
        workload.record(self.recorder, cj, [e for e in result.events if e.reason not in _WRITE_EVENTS])
        outcome = _Outcome(copy.deepcopy(result.status))
        creating = result.job is not None  # deletions before the creation are Replace's, after it cleanup
        for act in result.actions:
            if isinstance(act, actions.Delete):
                await self._delete(cj, act, outcome, replacing=creating)
            elif isinstance(act, actions.Create):
                creating = False
                await self._create(cj, act.body, outcome)
            if outcome.skip_status:
                break
        if not outcome.skip_status and outcome.status != (cj.get("status") or {}):
            await self._write_status(key, cj, outcome.status)
        if outcome.error is not None:
            raise outcome.error
        return result.requeue_after

    async def _recheck_missing(self, cj: Obj, jobs: list[Obj]) -> list[Obj]:
        """Active Jobs the cache lacks are looked up live; only a 404 makes them missing."""
        known = {j["metadata"].get("uid") for j in jobs}
        found = list(jobs)
        for ref in (cj.get("status") or {}).get("active") or []:
            if ref.get("uid") in known:
                continue
            try:
                live = await self.client.get(workload.JOBS, ref.get("name", ""), namespace=cj["metadata"]["namespace"])
            except ApiError as exc:
                if is_not_found(exc):
                    continue
                raise
            if live["metadata"].get("uid") == ref.get("uid"):
                found.append(live)
        return found

    async def _recheck_unexpected(self, key: str, cj: Obj, jobs: list[Obj]) -> Obj:
        """A running Job not in ``active``: re-read the CronJob, whose cached status may lag."""
        active = {ref.get("uid") for ref in (cj.get("status") or {}).get("active") or []}
        strays = {j["metadata"].get("uid") for j in jobs if not job.is_finished(j)} - active
        if not strays:
            return cj
        live = await self.client.get(workload.CRON_JOBS, cj["metadata"]["name"], namespace=cj["metadata"]["namespace"])
        if live["metadata"].get("uid") != cj["metadata"].get("uid"):
            return cj
        live_active = {ref.get("uid") for ref in (live.get("status") or {}).get("active") or []}
        return live if strays & live_active else cj

    async def _delete(self, cj: Obj, act: actions.Delete, outcome: _Outcome, *, replacing: bool) -> None:
        try:
            await workload.execute(self.client, act)
        except ApiError as exc:
            self.recorder.event(cj, "Warning", "FailedDelete", f"Deleted job: {exc}")
            if replacing:
                # Upstream gives up on this run when a running Job cannot be replaced.
                outcome.error = exc
                outcome.skip_status = True
            return
        self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {act.name}")

    async def _create(self, cj: Obj, body: Obj, outcome: _Outcome) -> None:
        ns, name = cj["metadata"]["namespace"], body["metadata"]["name"]
        try:
            made = await self.client.create(workload.JOBS, body, namespace=ns)
        except ApiError as exc:
            if not is_already_exists(exc):
                self.recorder.event(cj, "Warning", "FailedCreate", f"Error creating job: {exc}")
                _unschedule(cj, outcome.status, name)
                outcome.error = exc
                return
            made = await self.client.get(workload.JOBS, name, namespace=ns)
            before = {ref.get("uid") for ref in (cj.get("status") or {}).get("active") or []}
            if not podtemplate.is_controlled_by(made, cj) or made["metadata"].get("uid") in before:
                _unschedule(cj, outcome.status, name)  # someone else's Job, or already recorded
                return
        else:
            self.recorder.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        for ref in outcome.status.get("active") or []:
            if ref.get("name") == name and not ref.get("uid"):
                ref["uid"] = made["metadata"].get("uid", "")
                ref["resourceVersion"] = made["metadata"].get("resourceVersion", "")

    async def _write_status(self, key: str, cj: Obj, status: Obj) -> None:
        body = copy.deepcopy(cj)
        body["status"] = status
        try:
            written = await self.client.update(workload.CRON_JOBS, body, namespace=cj["metadata"]["namespace"],
                                               subresource="status")
        except ApiError as exc:
            if is_not_found(exc):
                return
            raise
        self.writes.remember(key, cj, written)


def _unschedule(cj: Obj, status: Obj, name: str) -> None:
    """Undo the plan's bookkeeping for a Job that was not made by this sync."""
    active = [ref for ref in status.get("active") or [] if not (ref.get("name") == name and not ref.get("uid"))]
    if active:
        status["active"] = active
    else:
        status.pop("active", None)
    last = (cj.get("status") or {}).get("lastScheduleTime")
    if last:
        status["lastScheduleTime"] = last
    else:
        status.pop("lastScheduleTime", None)


def new(ctx: ControllerContext) -> CronJobController:
    return CronJobController(ctx)
