"""Node lifecycle: Unknown after the grace period, taints, evictions, recovery."""

from __future__ import annotations

import asyncio
import datetime

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.nodelifecycle import (  # noqa: E402
    NOT_READY,
    UNREACHABLE,
    NodeLifecycleController,
    desired_taints,
    eviction_time,
)
from tests.unit.controllers.controller_env import eventually, start_env, stop_env  # noqa: E402

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def node(ready: str) -> dict:
    return {"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def test_desired_taints_follow_ready_condition() -> None:
    keys = lambda n: sorted((t["key"], t["effect"]) for t in desired_taints(n, T0))  # noqa: E731
    assert keys(node("True")) == []
    assert keys(node("False")) == [(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")]
    assert keys(node("Unknown")) == [(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")]
    n = node("True")
    n["spec"] = {"taints": [{"key": UNREACHABLE, "effect": "NoExecute"}, {"key": "own", "effect": "NoSchedule"}]}
    assert keys(n) == [("own", "NoSchedule")]


def test_eviction_time_uses_shortest_toleration() -> None:
    taint = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}
    pod = {"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 30}]}}
    assert eviction_time(pod, [taint], 300) == T0 + datetime.timedelta(seconds=30)
    assert eviction_time({"spec": {}}, [taint], 300) == T0 + datetime.timedelta(seconds=300)
    forever = {"spec": {"tolerations": [{"operator": "Exists"}]}}
    assert eviction_time(forever, [taint], 300) is None
    other = {"key": "x", "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}
    assert eviction_time({"spec": {}}, [other], 300) == T0


async def test_silent_node_goes_unknown_tainted_pods_evicted_then_recovers() -> None:
    e, tasks = await start_env(NodeLifecycleController, {"node_monitor_grace_period": 40,
                                                         "default_toleration_seconds": 20, "node_monitor_period": 5})
    try:
        await e.srv.put("v1/nodes", {"metadata": {"name": "n", "uid": "un"}, "spec": {}, "status": {"conditions": [
            {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"},
            {"type": "MemoryPressure", "status": "False"}]}}, "ADDED")
        await e.srv.put("v1/pods", {"metadata": {"name": "p", "namespace": "ns", "uid": "up"},
                                    "spec": {"nodeName": "n"},
                                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
                        "ADDED")
        await asyncio.sleep(0.1)
        await e.clock.advance(30)
        await asyncio.sleep(0.05)
        assert e.obj("v1/nodes", "", "n")["status"]["conditions"][0]["status"] == "True"
        await e.clock.advance(15)
        await eventually(lambda: not e.obj("v1/nodes", "", "n")["status"]["conditions"][0]["status"] == "True")
        conds = {c["type"]: c for c in e.obj("v1/nodes", "", "n")["status"]["conditions"]}
        assert conds["Ready"]["status"] == "Unknown" and conds["Ready"]["reason"] == "NodeStatusUnknown"
        assert conds["Ready"]["message"] == "Kubelet stopped posting node status."
        assert conds["MemoryPressure"]["status"] == "Unknown" and conds["DiskPressure"]["status"] == "Unknown"
        await eventually(lambda: len(e.obj("v1/nodes", "", "n")["spec"].get("taints") or []) == 2)
        assert {t["key"] for t in e.obj("v1/nodes", "", "n")["spec"]["taints"]} == {UNREACHABLE}
        await eventually(lambda: e.obj("v1/pods", "ns", "p")["status"]["conditions"][0]["status"] == "False")
        # The node controller's events, worded as upstream's: one on the node, one on each of its pods.
        def not_ready_events() -> dict[str, dict]:
            return {o["involvedObject"]["name"]: o
                    for k, o in e.srv.objects.items() if k[0] == "v1/events" and o["reason"] == "NodeNotReady"}

        await eventually(lambda: len(not_ready_events()) == 2)
        events = not_ready_events()
        assert events["n"]["involvedObject"]["kind"] == "Node"
        assert (events["n"]["type"], events["n"]["message"]) == ("Normal", "Node n status is now: NodeNotReady")
        assert (events["p"]["type"], events["p"]["message"]) == ("Warning", "Node is not ready")
        assert {o["source"]["component"] for o in events.values()} == {"node-controller"}
        await e.clock.advance(10)
        await asyncio.sleep(0.05)
        assert e.obj("v1/pods", "ns", "p") is not None  # toleration (20 s) not yet used up
        await e.clock.advance(11)
        await eventually(lambda: e.obj("v1/pods", "ns", "p") is None)
        # The kubelet comes back.
        n = dict(e.obj("v1/nodes", "", "n"))
        n["status"] = {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:01:00Z"}]}
        await e.srv.put("v1/nodes", n, "MODIFIED")
        await eventually(lambda: not e.obj("v1/nodes", "", "n")["spec"].get("taints"))
    finally:
        await stop_env(e, tasks)
