"""The CronJob controller: create Jobs on a cron schedule.

Follows ``pkg/controller/cronjob/cronjob_controllerv2.go`` and ``utils.go``:

* Schedules are standard five-field cron with the ``@yearly``...``@hourly``
  descriptors, parsed by ``api.cronspec``.  ``@every <duration>`` is not in
  the Kubernetes docs, but the robfig parser behind ``cron.ParseStandard``
  accepts it, so upstream validation and the controller do too; so do we.
  ``spec.timeZone`` is applied as the ``TZ=`` prefix, as upstream does; an
  unloadable zone gets the ``UnknownTimeZone`` warning and no Job.  Without a
  zone, schedules are evaluated in UTC (the controller-manager's local zone
  in a typical deployment).
* The schedule time considered is the most recent one at or before now and
  after ``lastScheduleTime`` (else ``creationTimestamp``), but never earlier
  than ``now - startingDeadlineSeconds``.  More than 100 missed times give a
  ``TooManyMissedTimes`` warning (only the latest is run).  A time older than
  the starting deadline is skipped with ``MissSchedule``.
* ``concurrencyPolicy``: Allow runs alongside; Forbid skips while a Job is
  active (``JobAlreadyActive``); Replace deletes the active Jobs first.
* Jobs are named ``<cronjob>-<scheduled unix time / 60>``, carry the job
  template's labels and annotations plus ``batch.kubernetes.io/cronjob-
  scheduled-timestamp`` (RFC 3339 in the CronJob's zone), and a controllerRef.
* Status: ``active`` (refs to running Jobs; finished or vanished ones are
  removed), ``lastScheduleTime``, ``lastSuccessfulTime``.  Finished Jobs past
  ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit`` are deleted,
  oldest start first, in the background.
* The plan asks to be woken 100 ms after the next schedule time.

A Job in ``status.active`` that is not in the Job list is treated as gone
(upstream double-checks with a GET; the wiring may do that before applying).
"""

from __future__ import annotations

import copy
import functools
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pyk8s.api import cronspec
from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import actions, job, podtemplate

Obj = Mapping[str, Any]
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1
MANY_MISSED = 100


@dataclass(slots=True)
class CronJobPlan(actions.Plan):
    status: dict[str, Any] = field(default_factory=dict)
    job: dict[str, Any] | None = None  # the Job to create, also in ``actions``


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def _schedule(cj: Obj) -> cronspec.Schedule:
    spec = cj.get("spec", {})
    tz = spec.get("timeZone")
    return cronspec.parse(f"TZ={tz} {spec['schedule']}" if tz else spec["schedule"])


def _next(schedule: cronspec.Schedule, after: datetime) -> datetime | None:
    if not schedule.timezone and not schedule.every_seconds:
        after = after.astimezone(UTC)
    if schedule.every_seconds:
        # robfig's ConstantDelaySchedule drops the sub-second part.
        return after.replace(microsecond=0) + timedelta(seconds=max(1, int(schedule.every_seconds)))
    return cronspec.next_time(schedule, after)


@dataclass(frozen=True, slots=True)
class _Recent:
    earliest: datetime
    latest: datetime | None
    missed: int


def most_recent(cj: Obj, schedule: cronspec.Schedule, now: datetime, *, with_deadline: bool) -> _Recent:
    """``mostRecentScheduleTime``: the latest unmet time at or before ``now``."""
    status = cj.get("status") or {}
    earliest = (timestamps.parse_time(status.get("lastScheduleTime"))
                or timestamps.parse_time(cj.get("metadata", {}).get("creationTimestamp")) or now)
    deadline = cj.get("spec", {}).get("startingDeadlineSeconds")
    if with_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    t1 = _next(schedule, earliest)
    if t1 is None or now < t1:
        return _Recent(earliest, None, 0)
    t2 = _next(schedule, t1)
    if t2 is None or now < t2:
        return _Recent(earliest, t1, 1)
    interval = round((t2 - t1).total_seconds())
    if interval < 1:
        raise ValueError("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // interval + 1
    latest, seen = t1, 1
    if missed > MANY_MISSED:  # jump near the end rather than walk decades of schedule times
        latest = t1 + timedelta(seconds=(missed - 3) * interval)
        latest = _next(schedule, latest - timedelta(seconds=1)) or latest
    while (following := _next(schedule, latest)) is not None and following <= now:
        latest, seen = following, seen + 1
    return _Recent(earliest, latest, missed if missed > MANY_MISSED else seen)


def _job_from_template(cj: Obj, scheduled: datetime) -> dict[str, Any]:
    template = cj.get("spec", {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    tz = cj.get("spec", {}).get("timeZone")
    local = scheduled.astimezone(zoneinfo.ZoneInfo(tz) if tz else UTC)
    stamp = local.isoformat().replace("+00:00", "Z")
    meta = cj.get("metadata", {})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(meta.get("name", ""), scheduled), "namespace": meta.get("namespace", ""),
                         "labels": dict(tmeta.get("labels") or {}),
                         "annotations": {**(tmeta.get("annotations") or {}), SCHEDULED_TIMESTAMP: stamp},
                         "ownerReferences": [podtemplate.controller_ref(cj, api_version="batch/v1", kind="CronJob")]},
            "spec": copy.deepcopy(template.get("spec") or {})}


def _ref(j: Obj) -> dict[str, Any]:
    meta = j.get("metadata", {})
    return {"kind": "Job", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def _finished_type(j: Obj) -> str | None:
    for ctype in ("Complete", "Failed"):
        if (job.condition(j, ctype) or {}).get("status") == "True":
            return ctype
    return None


class _Sync:
    def __init__(self, cj: Obj, jobs: Sequence[Obj], now: datetime) -> None:
        self.cj, self.now = cj, now
        self.ns = cj.get("metadata", {}).get("namespace", "")
        self.status: dict[str, Any] = copy.deepcopy(dict(cj.get("status") or {}))
        self.jobs = [j for j in jobs if podtemplate.is_controlled_by(j, cj)]
        self.plan = CronJobPlan()

    def event(self, kind: str, reason: str, message: str) -> None:
        self.plan.events.append(actions.Event(kind, reason, message))

    def reconcile_active(self) -> None:
        active = {ref.get("uid"): ref for ref in self.status.get("active") or []}
        for j in self.jobs:
            uid, finished = j["metadata"].get("uid"), _finished_type(j)
            if uid not in active and not finished:
                self.event("Warning", "UnexpectedJob",
                           f"Saw a job that the controller did not create or forgot: {j['metadata']['name']}")
            elif uid in active and finished:
                del active[uid]
                self.event("Normal", "SawCompletedJob",
                           f"Saw completed job: {j['metadata']['name']}, condition: {finished}")
            if finished == "Complete":
                done = timestamps.parse_time((j.get("status") or {}).get("completionTime"))
                last = timestamps.parse_time(self.status.get("lastSuccessfulTime"))
                if done is not None and (last is None or done > last):
                    self.status["lastSuccessfulTime"] = timestamps.format_time(done)
        present = {j["metadata"].get("uid") for j in self.jobs}
        for uid, ref in list(active.items()):
            if uid not in present:
                self.event("Normal", "MissingJob", f"Active job went missing: {ref.get('name')}")
                del active[uid]
        self._set_active(list(active.values()))

    def _set_active(self, refs: list[dict[str, Any]]) -> None:
        if refs:
            self.status["active"] = refs
        else:
            self.status.pop("active", None)

    def wake(self, schedule: cronspec.Schedule) -> None:
        """``nextScheduleTimeDuration``."""
        try:
            recent = most_recent(self.cj, schedule, self.now, with_deadline=False)
        except ValueError:
            self.plan.requeue_after = NEXT_SCHEDULE_DELTA
            return
        base = recent.latest or recent.earliest
        following = _next(schedule, base)
        if following is not None:
            self.plan.requeue_after = (following - self.now).total_seconds() + NEXT_SCHEDULE_DELTA


def _start(s: _Sync, schedule: cronspec.Schedule) -> None:
    spec = s.cj.get("spec", {})
    try:
        recent = most_recent(s.cj, schedule, s.now, with_deadline=True)
    except ValueError as err:
        s.event("Warning", "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {err}")
        return
    scheduled = recent.latest
    if scheduled is None or scheduled > s.now:
        s.wake(schedule)
        return
    if recent.missed > MANY_MISSED:
        s.event("Warning", "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and scheduled + timedelta(seconds=deadline) < s.now:
        s.event("Warning", "MissSchedule", "Missed scheduled time to start a job: "
                + scheduled.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"))
        s.wake(schedule)
        return
    name = job_name(s.cj["metadata"]["name"], scheduled)
    active = s.status.get("active") or []
    if any(ref.get("name") == name for ref in active) or \
            timestamps.parse_time(s.status.get("lastScheduleTime")) == scheduled:
        s.wake(schedule)
        return
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy == "Forbid" and active:
        s.event("Normal", "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid")
        s.wake(schedule)
        return
    if policy == "Replace":
        for ref in active:
            s.plan.actions.append(actions.Delete("jobs", s.ns, ref["name"], uid=ref.get("uid"),
                                                 propagation_policy="Background"))
            s.event("Normal", "SuccessfulDelete", f"Deleted job {ref['name']}")
        active = []
    new_job = _job_from_template(s.cj, scheduled)
    s.plan.job = new_job
    s.plan.actions.append(actions.Create("jobs", s.ns, new_job))
    s.event("Normal", "SuccessfulCreate", f"Created job {name}")
    # The uid is unknown until the create returns; the wiring fills it in the ref.
    s._set_active([*active, _ref(new_job)])
    s.status["lastScheduleTime"] = timestamps.format_time(scheduled)
    s.wake(schedule)


def _by_start(a: Obj, b: Obj) -> int:
    ta = timestamps.parse_time((a.get("status") or {}).get("startTime"))
    tb = timestamps.parse_time((b.get("status") or {}).get("startTime"))
    if ta != tb:
        if ta is None or tb is None:
            return 1 if ta is None else -1  # jobs that never started sort last
        return -1 if ta < tb else 1
    na, nb = a["metadata"]["name"], b["metadata"]["name"]
    return (na > nb) - (na < nb)


def _cleanup(s: _Sync) -> None:
    spec = s.cj.get("spec", {})
    for ctype, key, default in (("Complete", "successfulJobsHistoryLimit", 3), ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(key, default)
        if limit is None:
            continue
        finished = sorted((j for j in s.jobs if _finished_type(j) == ctype), key=functools.cmp_to_key(_by_start))
        for j in finished[: max(0, len(finished) - limit)]:
            s.plan.actions.append(actions.Delete("jobs", s.ns, j["metadata"]["name"], uid=j["metadata"].get("uid"),
                                                 propagation_policy="Background"))
            s.event("Normal", "SuccessfulDelete", f"Deleted job {j['metadata']['name']}")


def plan(cj: Obj, jobs: Sequence[Obj], now: datetime) -> CronJobPlan:
    """Decide one sync of CronJob ``cj``; ``jobs`` are the Jobs of its namespace."""
    s = _Sync(cj, jobs, now)
    s.reconcile_active()
    spec = cj.get("spec", {})
    if not cj.get("metadata", {}).get("deletionTimestamp"):
        _maybe_start(s, spec)
    _cleanup(s)
    s.plan.status = s.status
    if s.status != (cj.get("status") or {}):
        body = copy.deepcopy(dict(cj))
        body["status"] = s.status
        s.plan.actions.append(actions.Update("cronjobs", s.ns, body, subresource="status"))
    return s.plan


def _maybe_start(s: _Sync, spec: Obj) -> None:
    tz = spec.get("timeZone")
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            s.event("Warning", "UnknownTimeZone", f'invalid timeZone: "{tz}": {err}')
            return
    if spec.get("suspend"):
        return
    try:
        schedule = _schedule(s.cj)
    except cronspec.CronError as err:
        s.event("Warning", "UnparseableSchedule", f'unparseable schedule: "{spec.get("schedule")}" : {err}')
        return
    _start(s, schedule)


def next_schedule_delay(cj: Obj, now: datetime) -> float | None:
    """Seconds until just after the next schedule time (None when the schedule is unusable).

    The controller requeues a CronJob whose schedule or zone changed after
    this delay rather than at once, as upstream's ``updateCronJob`` does.
    """
    try:
        schedule = _schedule(cj)
    except cronspec.CronError:
        return None
    s = _Sync(cj, [], now)
    s.wake(schedule)
    return s.plan.requeue_after
