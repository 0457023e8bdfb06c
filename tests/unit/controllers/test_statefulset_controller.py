"""The StatefulSet controller wired to a fake API server: ordering, events, failures, hash collisions."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from pyk8s.controllers import statefulset, statefulset_controller
from pyk8s.util.clock import REAL_CLOCK
from tests.unit.client.client_fake_apiserver import FakeApiServer, status
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

STS = "apps/v1/statefulsets"
PODS = "v1/pods"
PVCS = "v1/persistentvolumeclaims"
REVISIONS = "apps/v1/controllerrevisions"
EVENTS = "v1/events"


class PodServer(FakeApiServer):
    """Pods get ``phase: Pending`` on creation (as the real API server sets); some creations can be refused."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    async def do_post(self, ctx: tuple[str, ...], query: dict[str, str], body: Any,
                      request: web.Request) -> web.Response:
        if ctx[2] == "pods" and not ctx[5]:
            if body["metadata"].get("name") in self.refuse:
                return status(403, "Forbidden", "refused by the test")
            body.setdefault("status", {}).setdefault("phase", "Pending")
        return await super().do_post(ctx, query, body, request)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(statefulset_controller.new, server=PodServer)
    e.ctl.recorder.clock = REAL_CLOCK  # event names come from the clock: keep them unique
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def make_sts(replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-s", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}]},
            "status": {}}


def names(env: Env, resource: str) -> set[str]:
    return {name for (res, _, name) in env.srv.objects if res == resource}


def messages(env: Env) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e["message"]) for (res, _, _), e in env.srv.objects.items() if res == EVENTS]


async def advance_until(env: Env, pred: Callable[[], bool]) -> None:
    """Step the fake clock (the rate limiter's back-off runs on it) until ``pred`` holds."""
    for _ in range(30):
        if pred():
            return
        await env.clock.advance(1)
    await eventually(pred)


async def make_ready(env: Env, name: str) -> None:
    pod = copy.deepcopy(env.obj(PODS, "ns", name))
    assert pod is not None
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    await env.srv.put(PODS, pod, "MODIFIED")


async def test_one_pod_at_a_time_with_claims_and_events(env: Env) -> None:
    await env.srv.put(STS, make_sts(2), "ADDED")
    await eventually(lambda: names(env, PODS) == {"web-0"})
    assert names(env, PVCS) == {"www-web-0"} and len(names(env, REVISIONS)) == 1
    await eventually(lambda: ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful")
                     in messages(env))
    assert ("Normal", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success") in messages(
        env)
    assert names(env, PODS) == {"web-0"}
    await make_ready(env, "web-0")
    await eventually(lambda: names(env, PODS) == {"web-0", "web-1"})
    await eventually(lambda: (env.obj(STS, "ns", "web").get("status") or {}).get("replicas") == 2)
    status = env.obj(STS, "ns", "web")["status"]
    assert status["readyReplicas"] == 1 and status["updateRevision"] in names(env, REVISIONS)


async def test_refused_create_records_failure_and_retries(env: Env) -> None:
    env.srv.refuse.add("web-0")
    await env.srv.put(STS, make_sts(1), "ADDED")
    await eventually(lambda: any(m[1] == "FailedCreate" for m in messages(env)))
    failed = next(m for m in messages(env) if m[1] == "FailedCreate")
    assert failed[0] == "Warning"
    assert failed[2].startswith("create Pod web-0 in StatefulSet web failed error: ") and "refused" in failed[2]
    assert names(env, PVCS) == {"www-web-0"}  # the claim came first and stays
    env.srv.refuse.clear()
    await advance_until(env, lambda: "web-0" in names(env, PODS))


async def test_revision_name_collision_bumps_collision_count(env: Env) -> None:
    sts = make_sts(1)
    taken = statefulset.new_revision(sts, 1)
    taken["data"] = {"spec": {"template": {"something": "else"}}}
    taken["metadata"]["ownerReferences"] = []
    await env.srv.put(REVISIONS, taken, "ADDED")
    await env.srv.put(STS, sts, "ADDED")
    await advance_until(env, lambda: "web-0" in names(env, PODS))
    assert env.obj(STS, "ns", "web")["status"]["collisionCount"] == 1
    label = env.obj(PODS, "ns", "web-0")["metadata"]["labels"][statefulset.REVISION_LABEL]
    assert label != taken["metadata"]["name"] and label in names(env, REVISIONS)
