"""The resource quota controller: status.hard/status.used recounted from the namespace's objects,
with scopes; usage rules shared with the admission (api/core_v1/helpers/quota.py)."""

from __future__ import annotations

import datetime

import pyk8s.api  # noqa: F401
from pyk8s.controllers.resourcequota import QUOTAS, ResourceQuotaController, compute_status
from tests.unit.controllers.controller_env import eventually, start_env, stop_env


def pod(name: str, *, phase: str = "Running", cpu: str = "", memory: str = "", **spec: object) -> dict:
    res: dict = {}
    if cpu:
        res.setdefault("requests", {})["cpu"] = cpu
        res.setdefault("limits", {})["cpu"] = cpu
    if memory:
        res.setdefault("requests", {})["memory"] = memory
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"containers": [{"name": "c", "resources": res}], **spec}, "status": {"phase": phase}}


def quota(hard: dict[str, str], **spec: object) -> dict:
    return {"metadata": {"name": "q", "namespace": "ns"}, "spec": {"hard": hard, **spec}}


def test_counts_compute_and_terminal_pods() -> None:
    pods = [pod("a", cpu="100m", memory="64Mi"), pod("b", cpu="250m"), pod("done", phase="Succeeded", cpu="1")]
    status = compute_status(quota({"pods": "10", "requests.cpu": "2", "limits.cpu": "2", "memory": "1Gi",
                                   "count/pods": "10"}), {("", "pods"): pods})
    assert status == {"hard": {"pods": "10", "requests.cpu": "2", "limits.cpu": "2", "memory": "1Gi",
                               "count/pods": "10"},
                      "used": {"pods": "2", "requests.cpu": "350m", "limits.cpu": "350m", "memory": "64Mi",
                               "count/pods": "3"}}


def test_pods_deleted_past_their_grace_period_do_not_count() -> None:
    gone = pod("gone")
    gone["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", deletionGracePeriodSeconds=30)
    now = datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.UTC)
    assert compute_status(quota({"pods": "5"}), {("", "pods"): [gone, pod("x")]}, now)["used"] == {"pods": "1"}


def test_scopes() -> None:
    pods = [pod("be"), pod("sized", cpu="1"), pod("job", cpu="1", activeDeadlineSeconds=30),
            pod("crit", cpu="1", priorityClassName="high")]
    by = {("", "pods"): pods}
    assert compute_status(quota({"pods": "9"}, scopes=["BestEffort"]), by)["used"] == {"pods": "1"}
    assert compute_status(quota({"pods": "9"}, scopes=["NotBestEffort", "NotTerminating"]), by)["used"] == \
        {"pods": "2"}
    assert compute_status(quota({"pods": "9"}, scopes=["Terminating"]), by)["used"] == {"pods": "1"}
    selector = {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}
    assert compute_status(quota({"pods": "9"}, scopeSelector=selector), by)["used"] == {"pods": "1"}
    # A scoped quota never counts other objects.
    assert compute_status(quota({"configmaps": "9"}, scopes=["BestEffort"]),
                          {("", "configmaps"): [{"metadata": {"name": "c"}}]})["used"] == {"configmaps": "0"}


def test_services_and_claims() -> None:
    services = [{"spec": {"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}},
                {"spec": {"type": "LoadBalancer", "ports": [{"port": 1}]}}, {"spec": {"ports": [{"port": 1}]}}]
    claims = [{"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1Gi"}}}},
              {"spec": {"resources": {"requests": {"storage": "512Mi"}}}}]
    status = compute_status(quota({"services": "9", "services.nodeports": "9", "services.loadbalancers": "9",
                                   "requests.storage": "9Gi", "persistentvolumeclaims": "9",
                                   "gold.storageclass.storage.k8s.io/requests.storage": "5Gi"}),
                            {("", "services"): services, ("", "persistentvolumeclaims"): claims})
    assert status["used"] == {"services": "3", "services.nodeports": "3", "services.loadbalancers": "1",
                              "requests.storage": "1536Mi", "persistentvolumeclaims": "2",
                              "gold.storageclass.storage.k8s.io/requests.storage": "1Gi"}


async def test_controller_writes_status_and_replenishes() -> None:
    e, tasks = await start_env(ResourceQuotaController)
    try:
        await e.srv.put("v1/pods", {**pod("a"), "metadata": {"name": "a", "namespace": "ns", "uid": "ua"}}, "ADDED")
        await e.client.create(QUOTAS, quota({"pods": "3"}), namespace="ns")

        def used() -> dict | None:
            q = e.obj("v1/resourcequotas", "ns", "q")
            return (q or {}).get("status", {}).get("used")

        await eventually(lambda: used() == {"pods": "1"})
        assert e.obj("v1/resourcequotas", "ns", "q")["status"]["hard"] == {"pods": "3"}
        await e.srv.put("v1/pods", {**pod("b"), "metadata": {"name": "b", "namespace": "ns", "uid": "ub"}}, "ADDED")
        await eventually(lambda: used() == {"pods": "2"})
        # A pod that finishes stops counting (its update changes what it costs).
        done = {**pod("b", phase="Succeeded"), "metadata": {"name": "b", "namespace": "ns", "uid": "ub"}}
        await e.srv.put("v1/pods", done, "MODIFIED")
        await eventually(lambda: used() == {"pods": "1"})
    finally:
        await stop_env(e, tasks)
