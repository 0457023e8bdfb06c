"""The disruption controller: expected/desired/current healthy and disruptionsAllowed for
minAvailable/maxUnavailable (ints and percentages), disrupted pods, SyncFailed, the condition."""

from __future__ import annotations

import datetime

import pyk8s.api  # noqa: F401
from pyk8s.controllers.disruption import PDBS, DisruptionController, Workloads, plan
from tests.unit.controllers.controller_env import eventually, start_env, stop_env

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
DEPLOY = {"metadata": {"name": "web", "uid": "d1"}, "spec": {"replicas": 4}}
RS = {"metadata": {"name": "web-1", "uid": "rs1",
                   "ownerReferences": [{"kind": "Deployment", "uid": "d1", "controller": True}]},
      "spec": {"replicas": 4}}
OWNERS = Workloads({"d1": DEPLOY, "rs1": RS})


def pod(name: str, *, ready: bool = True, owner: str = "rs1", **meta: object) -> dict:
    refs = [{"kind": "ReplicaSet", "uid": owner, "controller": True}] if owner else []
    return {"metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}, "ownerReferences": refs, **meta},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(generation: int = 1, status: dict | None = None, **spec: object) -> dict:
    return {"metadata": {"name": "b", "namespace": "ns", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}, "status": status or {}}


def counts(status: dict) -> tuple[int, int, int, int]:
    return (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"], status["disruptionsAllowed"])


def test_min_available_int() -> None:
    status, _ = plan(pdb(minAvailable=2), [pod("a"), pod("b"), pod("c", ready=False)], OWNERS, NOW)
    assert counts(status) == (3, 2, 2, 0)
    cond = status["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "False", "InsufficientPods")
    status, _ = plan(pdb(minAvailable=1), [pod("a"), pod("b")], OWNERS, NOW)
    assert counts(status) == (2, 1, 2, 1) and status["conditions"][0]["reason"] == "SufficientPods"
    assert status["observedGeneration"] == 1


def test_max_unavailable_and_percentages_use_the_controller_scale() -> None:
    pods = [pod(n) for n in "abc"]
    assert counts(plan(pdb(maxUnavailable=1), pods, OWNERS, NOW)[0]) == (4, 3, 3, 0)
    assert counts(plan(pdb(maxUnavailable="50%"), pods, OWNERS, NOW)[0]) == (4, 2, 3, 1)
    assert counts(plan(pdb(minAvailable="30%"), pods, OWNERS, NOW)[0]) == (4, 2, 3, 1)


def test_pod_without_controller_fails_the_sync() -> None:
    status, _ = plan(pdb(maxUnavailable=1), [pod("a", owner="")], OWNERS, NOW)
    cond = status["conditions"][0]
    assert status["disruptionsAllowed"] == 0
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "SyncFailed",
                                                                   'found no controller ref for pod "a"')


def test_disrupted_pods_are_not_healthy_until_they_expire() -> None:
    recent = (NOW - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (NOW - datetime.timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    budget = pdb(minAvailable=1, status={"disruptedPods": {"a": recent, "b": old, "gone": recent}})
    status, recheck = plan(budget, [pod("a"), pod("b"), pod("c")], OWNERS, NOW)
    assert status["disruptedPods"] == {"a": recent}
    assert counts(status) == (3, 1, 2, 1) and recheck == 90


async def test_controller_writes_status() -> None:
    e, tasks = await start_env(DisruptionController)
    try:
        for name in ("a", "b"):
            body = pod(name, owner="")
            body["metadata"]["uid"] = f"u{name}"
            await e.srv.put("v1/pods", body, "ADDED")
        await e.client.create(PDBS, {"metadata": {"name": "b", "namespace": "ns", "generation": 1},
                                     "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
                              namespace="ns")

        def status() -> dict:
            return (e.obj("policy/v1/poddisruptionbudgets", "ns", "b") or {}).get("status") or {}

        await eventually(lambda: status().get("disruptionsAllowed") == 1)
        assert counts(status()) == (2, 1, 2, 1)
    finally:
        await stop_env(e, tasks)


def test_events_as_upstream() -> None:
    events: list = []
    plan(pdb(minAvailable=1), [], OWNERS, NOW, events)
    assert events == [("Normal", "NoPods", "No matching pods found")]
    events.clear()
    plan(pdb(maxUnavailable=1), [pod("a", owner="gone")], OWNERS, NOW, events)
    assert events == [("Warning", "NoControllers", 'found no controllers for pod "a"'),
                      ("Warning", "CalculateExpectedPodCountFailed",
                       'Failed to calculate the number of expected pods: found no controllers for pod "a"')]
