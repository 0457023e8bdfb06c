"""Pod GC: terminated pods over the threshold, orphans, unscheduled terminating pods."""

from __future__ import annotations

import asyncio

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.podgc import NODES, PODS, PodGCController  # noqa: E402
from tests.unit.controllers.controller_env import eventually, start_env, stop_env  # noqa: E402


async def test_podgc_rules() -> None:
    e, tasks = await start_env(PodGCController, {"terminated_pod_gc_threshold": 2, "podgc_period": 10})
    try:
        await e.client.create(NODES, {"metadata": {"name": "n1"}})
        for i, phase in enumerate(["Succeeded", "Failed", "Succeeded", "Running"]):
            await e.srv.put("v1/pods", {"metadata": {"name": f"p{i}", "namespace": "ns", "uid": f"u{i}",
                                                     "creationTimestamp": f"2026-01-01T00:00:0{i}Z"},
                                        "spec": {"nodeName": "n1"}, "status": {"phase": phase}}, "ADDED")
        await e.srv.put("v1/pods", {"metadata": {"name": "orphan", "namespace": "ns", "uid": "uo"},
                                    "spec": {"nodeName": "gone-node"}, "status": {"phase": "Running"}}, "ADDED")
        await e.srv.put("v1/pods", {"metadata": {"name": "stuck", "namespace": "ns", "uid": "us",
                                                 "deletionTimestamp": "2026-01-01T00:00:00Z"},
                                    "spec": {}, "status": {"phase": "Pending"}}, "ADDED")
        await e.srv.put("v1/pods", {"metadata": {"name": "pending", "namespace": "ns", "uid": "up"},
                                    "spec": {}, "status": {"phase": "Pending"}}, "ADDED")
        await asyncio.sleep(0.1)
        await e.clock.advance(10)
        left = lambda: sorted(n for (r, _, n) in e.srv.objects if r == "v1/pods")  # noqa: E731
        await eventually(lambda: left() == ["p1", "p2", "p3", "pending"])
        assert any(m == "GET" and p == "/api/v1/nodes/gone-node" for m, p, _, _ in e.srv.requests)
    finally:
        await stop_env(e, tasks)
    assert PODS.plural == "pods"
