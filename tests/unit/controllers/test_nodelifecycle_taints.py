"""Node lifecycle: the NoSchedule taints that follow every condition (upstream's nodeConditionToTaintKeyStatusMap)
and ``spec.unschedulable``, and the admission's not-ready taint lifted once the node is Ready."""

from __future__ import annotations

import datetime

import pyk8s.api  # noqa: F401
from pyk8s.controllers.nodelifecycle import NOT_READY, UNREACHABLE, NodeLifecycleController, desired_taints
from tests.unit.controllers.controller_env import eventually, start_env, stop_env

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
STAMP = "2026-01-01T00:00:00Z"


def node(*conditions: tuple[str, str], **spec: object) -> dict:
    return {"metadata": {"name": "n"}, "spec": dict(spec),
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}


def keys(n: dict) -> list[tuple[str, str]]:
    return sorted((t["key"], t["effect"]) for t in desired_taints(n, T0))


def test_each_condition_has_its_no_schedule_taint() -> None:
    ready = ("Ready", "True")
    assert keys(node(ready, ("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False"),
                     ("NetworkUnavailable", "False"))) == []
    assert keys(node(ready, ("MemoryPressure", "True"))) == [("node.kubernetes.io/memory-pressure", "NoSchedule")]
    assert keys(node(ready, ("DiskPressure", "True"), ("PIDPressure", "True"), ("NetworkUnavailable", "True"))) == [
        ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/network-unavailable", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule")]
    assert keys(node(ready, unschedulable=True)) == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    # A silent node's pressure conditions are Unknown: only the unreachable taints.
    assert keys(node(("Ready", "Unknown"), ("MemoryPressure", "Unknown"))) == [
        (UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]


def test_added_taints_carry_time_added_and_others_stay() -> None:
    n = node(("Ready", "True"), ("DiskPressure", "True"))
    n["spec"]["taints"] = [{"key": "own", "effect": "NoSchedule"},
                           {"key": NOT_READY, "effect": "NoSchedule"},  # the admission's, now stale
                           {"key": "node.kubernetes.io/memory-pressure", "effect": "NoExecute"}]  # not ours
    assert desired_taints(n, T0) == [
        {"key": "own", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/memory-pressure", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule", "timeAdded": STAMP}]
    kept = node(("Ready", "True"), ("DiskPressure", "True"))
    kept["spec"]["taints"] = [{"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}]
    assert desired_taints(kept, T0) == kept["spec"]["taints"]  # already there: untouched


async def test_a_new_nodes_not_ready_taint_goes_once_ready_and_pressure_taints_follow() -> None:
    e, tasks = await start_env(NodeLifecycleController, {"node_monitor_grace_period": 40, "node_monitor_period": 5})
    try:
        registered = {"metadata": {"name": "n", "uid": "un"},
                      "spec": {"taints": [{"key": NOT_READY, "effect": "NoSchedule"}]},  # TaintNodesByCondition
                      "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": STAMP}]}}
        await e.srv.put("v1/nodes", registered, "ADDED")
        await eventually(lambda: not (e.obj("v1/nodes", "", "n") or {})["spec"].get("taints"))
        pressed = dict(e.obj("v1/nodes", "", "n") or {})
        pressed["status"] = {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": STAMP},
                                            {"type": "MemoryPressure", "status": "True"}]}
        await e.srv.put("v1/nodes", pressed, "MODIFIED")
        await eventually(lambda: [t["key"] for t in (e.obj("v1/nodes", "", "n") or {})["spec"].get("taints") or []]
                         == ["node.kubernetes.io/memory-pressure"])
    finally:
        await stop_env(e, tasks)
