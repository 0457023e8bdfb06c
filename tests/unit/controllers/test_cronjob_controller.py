"""The CronJob controller wired to a fake API server, its timing driven by a FakeClock.

The fake server does no defaulting, so objects here carry the fields the
real API server would default.  Jobs are finished by writing their status
by hand (no Job controller runs).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import cronjob, cronjob_controller
from pyk8s.util.clock import REAL_CLOCK
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

CRONJOBS = "batch/v1/cronjobs"
JOBS = "batch/v1/jobs"
EVENTS = "v1/events"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(cronjob_controller.new)
    # Event names are "<object>.<clock nanoseconds>": under a frozen fake clock two events
    # of one sync would collide, so the recorder keeps real time.
    e.ctl.recorder.clock = REAL_CLOCK
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def make_cj(env: Env, schedule: str = "*/1 * * * *", **spec: Any) -> dict[str, Any]:
    base = {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                           "containers": [{"name": "hello", "image": "busybox"}]}}}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "ns", "uid": "uid-cj",
                         "creationTimestamp": timestamps.format_time(env.clock.now())},
            "spec": base, "status": {}}


def jobs(env: Env) -> dict[str, dict[str, Any]]:
    return {name: obj for (res, _, name), obj in env.srv.objects.items() if res == JOBS}


def events(env: Env, reason: str) -> list[str]:
    return [e["message"] for (res, _, _), e in env.srv.objects.items() if res == EVENTS and e["reason"] == reason]


def event_count(env: Env, reason: str) -> int:
    """Occurrences, repeats included (the recorder aggregates them into ``count``)."""
    return sum(e.get("count", 1) for (res, _, _), e in env.srv.objects.items() if res == EVENTS and e["reason"] == reason)


def cj_status(env: Env) -> dict[str, Any]:
    return env.obj(CRONJOBS, "ns", "hello").get("status") or {}


def idle(env: Env) -> bool:
    """The CronJob's sync ran and it waits for its next schedule time."""
    q = env.ctl.controller.queue
    return q.waiting() == 1 and not q.processing() and len(q) == 0


async def settled(env: Env) -> None:
    await eventually(lambda: idle(env))


async def finish(env: Env, name: str, ctype: str = "Complete") -> None:
    obj = copy.deepcopy(jobs(env)[name])
    now = timestamps.format_time(env.clock.now())
    obj["status"] = {"startTime": obj["metadata"]["creationTimestamp"], "succeeded" if ctype == "Complete" else "failed": 1,
                     "conditions": [{"type": ctype, "status": "True", "lastTransitionTime": now}]}
    if ctype == "Complete":
        obj["status"]["completionTime"] = now
    await env.srv.put(JOBS, obj, "MODIFIED")


def name_at(env: Env, minute: int) -> str:
    start = timestamps.parse_time(env.obj(CRONJOBS, "ns", "hello")["metadata"]["creationTimestamp"])
    return cronjob.job_name("hello", start + timedelta(minutes=minute))


async def test_every_minute_creates_jobs_on_schedule(env: Env) -> None:
    await env.srv.put(CRONJOBS, make_cj(env), "ADDED")
    await settled(env)
    assert not jobs(env)  # created at :00, first run at :01
    await env.clock.advance(30)
    assert not jobs(env)
    await env.clock.advance(30.1)
    await eventually(lambda: name_at(env, 1) in jobs(env))
    await settled(env)
    made = jobs(env)[name_at(env, 1)]
    assert made["metadata"]["ownerReferences"][0]["uid"] == "uid-cj"
    assert made["metadata"]["annotations"][cronjob.SCHEDULED_TIMESTAMP] == "2026-01-01T00:01:00Z"
    status = cj_status(env)
    assert status["lastScheduleTime"] == "2026-01-01T00:01:00Z"
    assert [(r["name"], r["uid"]) for r in status["active"]] == [(name_at(env, 1), made["metadata"]["uid"])]
    await eventually(lambda: events(env, "SuccessfulCreate") == [f"Created job {name_at(env, 1)}"])
    await env.clock.advance(60)
    await eventually(lambda: name_at(env, 2) in jobs(env))  # Allow: runs alongside the first
    await settled(env)
    assert len(cj_status(env)["active"]) == 2
    # Our own status writes are never mistaken for a stale view (upstream re-reads to avoid this).
    assert not events(env, "UnexpectedJob") and not events(env, "MissingJob")


async def test_forbid_skips_while_active_then_runs(env: Env) -> None:
    await env.srv.put(CRONJOBS, make_cj(env, concurrencyPolicy="Forbid"), "ADDED")
    await settled(env)
    await env.clock.advance(60.1)
    await eventually(lambda: len(jobs(env)) == 1)
    await settled(env)
    await env.clock.advance(60)
    await eventually(lambda: bool(events(env, "JobAlreadyActive")))
    await settled(env)
    assert list(jobs(env)) == [name_at(env, 1)]
    assert events(env, "JobAlreadyActive") == [
        "Not starting job because prior execution is running and concurrency policy is Forbid"]
    await env.clock.advance(30)
    await finish(env, name_at(env, 1))
    # With no starting deadline the skipped :02 run starts as soon as :01 is done, as upstream.
    await eventually(lambda: name_at(env, 2) in jobs(env))
    await settled(env)
    status = cj_status(env)
    assert (status["lastScheduleTime"], status["lastSuccessfulTime"]) == ("2026-01-01T00:02:00Z",
                                                                          "2026-01-01T00:02:30Z")
    assert [r["name"] for r in status["active"]] == [name_at(env, 2)]
    await eventually(lambda: events(env, "SawCompletedJob") == [
        f"Saw completed job: {name_at(env, 1)}, condition: Complete"])
    await env.clock.advance(30)
    await eventually(lambda: event_count(env, "JobAlreadyActive") == 2)  # :03 is skipped in turn
    assert set(jobs(env)) == {name_at(env, 1), name_at(env, 2)}


async def test_replace_deletes_the_running_job(env: Env) -> None:
    await env.srv.put(CRONJOBS, make_cj(env, concurrencyPolicy="Replace"), "ADDED")
    await settled(env)
    await env.clock.advance(60.1)
    await eventually(lambda: len(jobs(env)) == 1)
    await settled(env)
    await env.clock.advance(60)
    await eventually(lambda: list(jobs(env)) == [name_at(env, 2)])
    await settled(env)
    await eventually(lambda: events(env, "SuccessfulDelete") == [f"Deleted job {name_at(env, 1)}"])
    assert [r["name"] for r in cj_status(env)["active"]] == [name_at(env, 2)]


async def test_history_limits(env: Env) -> None:
    await env.srv.put(CRONJOBS, make_cj(env, successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1), "ADDED")
    await settled(env)
    for minute in (1, 2, 3):
        await env.clock.advance(60 if minute > 1 else 60.1)
        await eventually(lambda m=minute: name_at(env, m) in jobs(env))
        await settled(env)
        await finish(env, name_at(env, minute), "Failed" if minute == 2 else "Complete")
        await eventually(lambda m=minute: name_at(env, m) not in {r["name"] for r in cj_status(env).get("active", [])})
    # Completed :01 and :03, failed :02: only the newest success and the failure are kept.
    await eventually(lambda: set(jobs(env)) == {name_at(env, 2), name_at(env, 3)})
    await eventually(lambda: events(env, "SuccessfulDelete") == [f"Deleted job {name_at(env, 1)}"])


async def test_starting_deadline_and_suspend(env: Env) -> None:
    cj = make_cj(env, "0 * * * *", startingDeadlineSeconds=10, suspend=True)  # @hourly in cron syntax
    await env.srv.put(CRONJOBS, cj, "ADDED")
    await eventually(lambda: not env.ctl.controller.queue.processing() and len(env.ctl.controller.queue) == 0)
    await env.clock.advance(3600 + 30)
    assert not jobs(env)  # suspended: no wake-ups, no jobs
    # Resumed 30 s after the hour: past the 10 s starting deadline, that run is missed.
    cj = copy.deepcopy(env.obj(CRONJOBS, "ns", "hello"))
    cj["spec"]["suspend"] = False
    await env.srv.put(CRONJOBS, cj, "MODIFIED")
    await settled(env)
    assert not jobs(env)
    await env.clock.advance(3600 - 30 + 0.1)
    await eventually(lambda: name_at(env, 120) in jobs(env))


async def test_schedule_change_waits_for_the_next_time(env: Env) -> None:
    await env.srv.put(CRONJOBS, make_cj(env, "0 * * * *"), "ADDED")
    await settled(env)
    await env.clock.advance(600)
    cj = copy.deepcopy(env.obj(CRONJOBS, "ns", "hello"))
    cj["spec"]["schedule"] = "@every 5m"
    await env.srv.put(CRONJOBS, cj, "MODIFIED")
    await env.clock.advance(1)
    assert not jobs(env)  # no immediate run for the times the new schedule "missed"
    await env.clock.advance(298)
    assert not jobs(env)
    await env.clock.advance(1.2)
    await eventually(lambda: list(jobs(env)) == [name_at(env, 15)])
