"""The DaemonSet controller wired to a fake API server: node events, events, history, hash collisions."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pyk8s.controllers import daemonset, daemonset_controller
from pyk8s.util.clock import REAL_CLOCK
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env

DS = "apps/v1/daemonsets"
PODS = "v1/pods"
NODES = "v1/nodes"
REVISIONS = "apps/v1/controllerrevisions"
EVENTS = "v1/events"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e, tasks = await start_env(daemonset_controller.new)
    e.ctl.recorder.clock = REAL_CLOCK  # event names come from the clock: keep them unique
    try:
        yield e
    finally:
        await stop_env(e, tasks)


def make_ds() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "ns", "uid": "uid-ds", "generation": 1,
                         "annotations": {daemonset.GENERATION_ANNOTATION: "1"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "revisionHistoryLimit": 10,
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "agent:1"}]}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}},
            "status": {}}


def node(name: str, taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}},
            "spec": {"taints": taints or []}}


def pods_by_node(env: Env) -> dict[str, str]:
    return {daemonset.target_node(p) or "": p["metadata"]["name"]
            for (res, _, _), p in env.srv.objects.items() if res == PODS}


def messages(env: Env) -> list[tuple[str, str]]:
    return [(e["reason"], e["message"]) for (res, _, _), e in env.srv.objects.items() if res == EVENTS]


async def advance_until(env: Env, pred: Callable[[], bool]) -> None:
    for _ in range(30):
        if pred():
            return
        await env.clock.advance(1)
    await eventually(pred)


async def test_follows_nodes_with_events_and_history(env: Env) -> None:
    for name in ("a", "b"):
        await env.srv.put(NODES, node(name), "ADDED")
    await env.srv.put(DS, make_ds(), "ADDED")
    await eventually(lambda: pods_by_node(env).keys() == {"a", "b"})
    await eventually(lambda: ("SuccessfulCreate", f"Created pod: {pods_by_node(env)['a']}") in messages(env))
    revs = [r for (res, _, _), r in env.srv.objects.items() if res == REVISIONS]
    assert len(revs) == 1 and revs[0]["metadata"]["name"] == f"agent-{daemonset.template_hash(make_ds())}"
    assert revs[0]["revision"] == 1 and revs[0]["metadata"]["ownerReferences"][0]["uid"] == "uid-ds"
    await eventually(lambda: (env.obj(DS, "ns", "agent").get("status") or {}).get("currentNumberScheduled") == 2)

    await env.srv.put(NODES, node("c"), "ADDED")  # joins
    await eventually(lambda: pods_by_node(env).keys() == {"a", "b", "c"})
    # A NoExecute taint the pod does not tolerate: the pod must go.
    victim = pods_by_node(env)["b"]
    await env.srv.put(NODES, node("b", [{"key": "dedicated", "effect": "NoExecute"}]), "MODIFIED")
    await eventually(lambda: pods_by_node(env).keys() == {"a", "c"})
    await eventually(lambda: ("SuccessfulDelete", f"Deleted pod: {victim}") in messages(env))
    await env.srv.remove(NODES, "", "c")  # leaves
    await eventually(lambda: pods_by_node(env).keys() == {"a"})
    await eventually(lambda: (env.obj(DS, "ns", "agent").get("status") or {}).get("desiredNumberScheduled") == 1)


async def test_node_change_that_keeps_the_verdict_does_not_sync(env: Env) -> None:
    await env.srv.put(NODES, node("a"), "ADDED")
    await env.srv.put(DS, make_ds(), "ADDED")
    await eventually(lambda: pods_by_node(env).keys() == {"a"})
    await eventually(lambda: (env.obj(DS, "ns", "agent").get("status") or {}).get("currentNumberScheduled") == 1)
    await asyncio.sleep(0.3)  # let the syncs caused by our own writes finish
    calls: list[str] = []
    original = env.ctl.sync

    async def counting(key: str) -> float | None:
        calls.append(key)
        return await original(key)

    env.ctl.controller.sync = counting
    heartbeat = copy.deepcopy(env.obj(NODES, "", "a"))
    heartbeat["status"] = {"conditions": [{"type": "Ready", "status": "True",
                                           "lastHeartbeatTime": "2026-01-01T00:00:10Z"}]}
    await env.srv.put(NODES, heartbeat, "MODIFIED")
    await asyncio.sleep(0.3)
    assert calls == []
    labelled = copy.deepcopy(heartbeat)
    labelled["spec"]["taints"] = [{"key": "x", "effect": "NoSchedule"}]
    await env.srv.put(NODES, labelled, "MODIFIED")
    await eventually(lambda: bool(calls))  # the taint changed the verdict (the pod may stay, it is NoSchedule)
    assert set(calls) == {"ns/agent"}


async def test_revision_name_collision_bumps_collision_count(env: Env) -> None:
    ds = make_ds()
    taken = daemonset.new_revision(ds, 1)
    taken["data"] = {"spec": {"template": {"something": "else"}}}
    taken["metadata"]["ownerReferences"] = []
    await env.srv.put(REVISIONS, taken, "ADDED")
    await env.srv.put(NODES, node("a"), "ADDED")
    await env.srv.put(DS, ds, "ADDED")
    await advance_until(env, lambda: bool(pods_by_node(env)))
    assert env.obj(DS, "ns", "agent")["status"]["collisionCount"] == 1
    pod = env.obj(PODS, "ns", pods_by_node(env)["a"])
    assert pod["metadata"]["labels"][daemonset.REVISION_LABEL] != taken["metadata"]["labels"][
        daemonset.REVISION_LABEL]
