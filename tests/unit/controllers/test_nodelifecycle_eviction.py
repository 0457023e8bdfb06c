"""Node lifecycle eviction details that follow upstream's taint eviction controller.

- Several tolerations match one taint: the shortest ``tolerationSeconds`` wins; an unlimited one only
  means "forever" when none of the matching ones has a limit (``getMinTolerationTime``).
- ``--default-unreachable-toleration-seconds`` (option ``default_unreachable_toleration_seconds``)
  applies to the unreachable taint; it used to be ignored in favour of the not-ready one.
- An evicted pod gets a ``TaintManagerEviction`` event and the ``DisruptionTarget`` condition
  (reason ``DeletionByTaintManager``) before it is deleted.
"""

from __future__ import annotations

import asyncio
import datetime

import pyk8s.api  # noqa: F401
from pyk8s.controllers.nodelifecycle import NOT_READY, UNREACHABLE, NodeLifecycleController, eviction_time
from tests.unit.controllers.controller_env import eventually, start_env, stop_env

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ADDED = "2026-01-01T00:00:00Z"


def taint(key: str) -> dict:
    return {"key": key, "effect": "NoExecute", "timeAdded": ADDED}


def test_an_unlimited_toleration_does_not_outweigh_a_limited_one() -> None:
    pod = {"spec": {"tolerations": [
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"},
        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]}}
    assert eviction_time(pod, [taint(UNREACHABLE)], 300) == T0 + datetime.timedelta(seconds=10)
    forever = {"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists"}, {"operator": "Exists"}]}}
    assert eviction_time(forever, [taint(UNREACHABLE)], 300) is None


def test_unreachable_default_is_separate_from_not_ready_default() -> None:
    bare: dict = {"spec": {}}
    assert eviction_time(bare, [taint(UNREACHABLE)], 300, 7) == T0 + datetime.timedelta(seconds=7)
    assert eviction_time(bare, [taint(NOT_READY)], 300, 7) == T0 + datetime.timedelta(seconds=300)
    assert eviction_time(bare, [taint(UNREACHABLE)], 300) == T0 + datetime.timedelta(seconds=300)


def test_empty_key_equal_toleration_compares_values_as_upstream() -> None:
    # ToleratesTaint: an empty key matches every key and Equal compares the (empty) values, so this
    # toleration bounds the unreachable taint to 60 s.  The controller's old copy refused any empty-key
    # toleration that was not Exists and evicted after the 300 s default instead.
    pod = {"spec": {"tolerations": [{"operator": "Equal", "effect": "NoExecute", "tolerationSeconds": 60}]}}
    assert eviction_time(pod, [taint(UNREACHABLE)], 300) == T0 + datetime.timedelta(seconds=60)
    unknown_op = {"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Lt", "tolerationSeconds": 5}]}}
    assert eviction_time(unknown_op, [taint(UNREACHABLE)], 300) == T0 + datetime.timedelta(seconds=300)


async def test_eviction_marks_the_pod_and_records_an_event_before_deleting() -> None:
    e, tasks = await start_env(NodeLifecycleController, {
        "node_monitor_grace_period": 40, "node_monitor_period": 5,
        "default_toleration_seconds": 300, "default_unreachable_toleration_seconds": 20})
    try:
        await e.srv.put("v1/nodes", {"metadata": {"name": "n", "uid": "un"}, "spec": {}, "status": {"conditions": [
            {"type": "Ready", "status": "True", "lastHeartbeatTime": ADDED}]}}, "ADDED")
        await e.srv.put("v1/pods", {"metadata": {"name": "p", "namespace": "ns", "uid": "up"},
                                    "spec": {"nodeName": "n"},
                                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
                        "ADDED")
        await asyncio.sleep(0.1)
        await e.clock.advance(45)
        await eventually(lambda: any(t["key"] == UNREACHABLE
                                     for t in e.obj("v1/nodes", "", "n")["spec"].get("taints") or []))
        await e.clock.advance(15)
        await asyncio.sleep(0.05)
        assert e.obj("v1/pods", "ns", "p") is not None  # the unreachable default (20 s) is not used up
        await e.clock.advance(6)
        await eventually(lambda: e.obj("v1/pods", "ns", "p") is None)
        history = [(kind, obj) for _, res, kind, obj in e.srv.events
                   if res == "v1/pods" and obj["metadata"]["name"] == "p"]
        assert history[-1][0] == "DELETED"
        marked = [c for c in history[-2][1]["status"]["conditions"] if c["type"] == "DisruptionTarget"]
        assert [(c["status"], c["reason"], c["message"]) for c in marked] == [
            ("True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")]
        def evictions() -> list[dict]:
            return [o for k, o in e.srv.objects.items()
                    if k[0] == "v1/events" and o["reason"] == "TaintManagerEviction"]

        await eventually(evictions)
        (event,) = evictions()
        assert (event["reason"], event["type"], event["message"]) == (
            "TaintManagerEviction", "Normal", "Marking for deletion Pod ns/p")
        assert event["involvedObject"]["kind"] == "Pod" and event["involvedObject"]["name"] == "p"
        assert event["source"]["component"] == "taint-eviction-controller"
    finally:
        await stop_env(e, tasks)
