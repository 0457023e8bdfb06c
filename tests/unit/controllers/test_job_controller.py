"""The Job controller wired to a fake API server: back-off through the requeue delay, on a FakeClock."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import job_controller, jobpods
from pyk8s.controllers.ownwrites import OwnWrites
from pyk8s.util.clock import REAL_CLOCK
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

JOBS = "batch/v1/jobs"
PODS = "v1/pods"
LABELS = {"batch.kubernetes.io/controller-uid": "uid-j", "batch.kubernetes.io/job-name": "busybox"}


async def make_env(options: dict | None = None) -> tuple[Env, list]:
    e, tasks = await start_env(job_controller.new, options)
    e.ctl.recorder.clock = REAL_CLOCK  # event names come from the clock: keep them unique
    return e, tasks


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await make_env()
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def make_job(**spec: Any) -> dict[str, Any]:
    base = {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "uid-j"}},
            "template": {"metadata": {"labels": dict(LABELS)},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
            "parallelism": 1, "completions": 1, "backoffLimit": 2, "completionMode": "NonIndexed", "suspend": False}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "busybox", "namespace": "ns", "uid": "uid-j"},
            "spec": base, "status": {}}


def pods(env: Env) -> list[dict[str, Any]]:
    return [p for (res, _, _), p in env.srv.objects.items() if res == PODS]


def running(env: Env) -> list[dict[str, Any]]:
    return [p for p in pods(env) if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def job_status(env: Env) -> dict[str, Any]:
    return env.obj(JOBS, "ns", "busybox").get("status") or {}


async def fail(env: Env, pod: dict[str, Any]) -> None:
    pod = copy.deepcopy(pod)
    now = timestamps.format_time(env.clock.now())
    pod["status"] = {"phase": "Failed", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 1, "finishedAt": now}}}]}
    await env.srv.put(PODS, pod, "MODIFIED")


def counted(env: Env, failed: int) -> bool:
    """The failures are in ``status.failed`` and their pods released."""
    return job_status(env).get("failed") == failed and not any(jobpods.has_finalizer(p) for p in pods(env)
                                                                 if p["status"].get("phase") == "Failed")


async def test_backoff_waits_on_the_clock_then_limit_fails(env: Env) -> None:
    await env.srv.put(JOBS, make_job(), "ADDED")
    await eventually(lambda: len(running(env)) == 1)
    assert running(env)[0]["metadata"]["finalizers"] == [jobpods.TRACKING_FINALIZER]
    for failures, delay in ((1, 10), (2, 20)):
        await fail(env, running(env)[0])
        await eventually(lambda f=failures: counted(env, f))
        await env.clock.advance(delay - 0.5)
        assert not running(env)  # still backing off
        await env.clock.advance(0.6)
        await eventually(lambda: len(running(env)) == 1)
    await fail(env, running(env)[0])
    await eventually(lambda: any(c["type"] == "Failed" for c in job_status(env).get("conditions", [])))
    failed = next(c for c in job_status(env)["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert job_status(env)["failed"] == 3 and len(pods(env)) == 3
    await env.clock.advance(120)
    assert len(pods(env)) == 3


async def test_backoff_base_option() -> None:
    env, tasks = await make_env({"job_backoff_base": 1})
    try:
        await env.srv.put(JOBS, make_job(), "ADDED")
        await eventually(lambda: len(running(env)) == 1)
        await fail(env, running(env)[0])
        await eventually(lambda: counted(env, 1))
        await env.clock.advance(1.1)
        await eventually(lambda: len(running(env)) == 1)
    finally:
        await stop_env(env, tasks)


async def test_orphaned_pod_loses_the_tracking_finalizer(env: Env) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "left", "namespace": "ns", "uid": "uid-left", "labels": dict(LABELS),
                        "finalizers": [jobpods.TRACKING_FINALIZER, "example.com/keep"],
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "gone",
                                             "uid": "uid-gone", "controller": True}]},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Running"}}
    await env.srv.put(PODS, pod, "ADDED")
    await eventually(lambda: env.obj(PODS, "ns", "left")["metadata"].get("finalizers") == ["example.com/keep"])


def test_own_writes_answer_the_written_object_while_the_cache_lags() -> None:
    writes = OwnWrites()
    v1 = {"metadata": {"uid": "u", "resourceVersion": "1"}, "status": {}}
    v2 = {"metadata": {"uid": "u", "resourceVersion": "2"}, "status": {"failed": 1}}
    v3 = {"metadata": {"uid": "u", "resourceVersion": "3"}, "status": {"failed": 2}}
    assert writes.fresh("ns/j", v1) is v1
    writes.remember("ns/j", v1, v2)
    assert writes.fresh("ns/j", v1) is v2
    writes.remember("ns/j", v2, v3)  # a second write before the cache caught up with the first
    assert writes.fresh("ns/j", v1) is v3 and writes.fresh("ns/j", v2) is v3
    assert writes.fresh("ns/j", v3) is v3
    assert writes.fresh("ns/j", v1) is v1  # caught up once: the record is gone
    other = {"metadata": {"uid": "new", "resourceVersion": "1"}}
    writes.remember("ns/j", v1, v2)
    assert writes.fresh("ns/j", other) is other  # a new Job of the same name
